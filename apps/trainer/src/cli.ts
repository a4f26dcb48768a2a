#!/usr/bin/env -S npx tsx
// `tether-train <command> [flags]`: parses argv into the shared TrainerConfig and runs the command.
// Bad input (unknown flag, β < 0, missing reference, unreadable data line…) ends with one clear line and exit 2.
import { ConfigError } from "@tether/shared/schemas/common";
import type { TrainerCommand, parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { pretrain } from "./commands/pretrain";
import { sft } from "./commands/sft";
import { grpo } from "./commands/grpo";
import { sweep } from "./commands/sweep";
import { exportCheckpoint } from "./commands/export";
import { importHf } from "./commands/import-hf";
import { parseCommandLine } from "./cli-args";

const RUNNERS: Partial<Record<TrainerCommand, (cfg: ReturnType<typeof parseTrainerConfig>) => Promise<unknown>>> = {
  pretrain,
  sft,
  grpo,
  sweep,
  export: exportCheckpoint,
  "import-hf": importHf,
};

export async function main(argv: string[]): Promise<number> {
  const parsed = parseCommandLine(argv);
  if (parsed.kind === "help") {
    console.log(parsed.text);
    return 0;
  }
  if (parsed.kind === "error") {
    console.error(parsed.message);
    return 2;
  }
  try {
    const runner = RUNNERS[parsed.command];
    if (!runner) throw new Error("this command is not in this build yet (see the README's status table)");
    await runner(parsed.config);
    return 0;
  } catch (e) {
    const message = e instanceof ConfigError ? e.problems.join("\n") : (e as Error).message;
    console.error(`tether-train ${parsed.command}: ${message}`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
