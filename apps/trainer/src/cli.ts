#!/usr/bin/env -S npx tsx
// `tether-train <command> [flags]`: parses argv into the shared TrainerConfig and runs the command.
// Bad input (unknown flag, β < 0, missing reference, unreadable data line…) ends with one clear line and exit 2.
import { parseArgs } from "node:util";
import { ConfigError } from "@tether/shared/schemas/common";
import { TRAINER_COMMANDS, parseTrainerConfig, type TrainerCommand } from "@tether/shared/schemas/trainer-config";
import { pretrain } from "./commands/pretrain";
import { sft } from "./commands/sft";
import { grpo } from "./commands/grpo";
import { sweep } from "./commands/sweep";
import { exportCheckpoint } from "./commands/export";
import { importHf } from "./commands/import-hf";
import { COMMAND_HELP, FLAG_NAMES, usage } from "./cli-help";

const RUNNERS: Partial<Record<TrainerCommand, (cfg: ReturnType<typeof parseTrainerConfig>) => Promise<unknown>>> = {
  pretrain,
  sft,
  grpo,
  sweep,
  export: exportCheckpoint,
  "import-hf": importHf,
};

/** kebab-case flag → camelCase config key. */
function camel(flag: string): string {
  return flag.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

// "--beta -1" would read -1 as a flag: glue a negative number to its flag ("--beta=-1") so the
// schema, not the argv parser, reports the range.
function joinNegativeValues(args: string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const next = args[i + 1];
    if (args[i]!.startsWith("--") && !args[i]!.includes("=") && next !== undefined && /^-\d|^-\.\d/.test(next)) {
      out.push(`${args[i]}=${next}`);
      i++;
    } else out.push(args[i]!);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    console.log(usage());
    return 0;
  }
  if (!(TRAINER_COMMANDS as readonly string[]).includes(command)) {
    console.error(`tether-train: unknown command "${command}" (commands: ${TRAINER_COMMANDS.join(", ")}; see --help)`);
    return 2;
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(COMMAND_HELP[command as TrainerCommand]);
    return 0;
  }
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: joinNegativeValues(rest),
      allowPositionals: true,
      strict: true,
      options: Object.fromEntries(FLAG_NAMES.map((f) => [f, { type: f === "resume" ? "boolean" : "string" }] as const)),
    });
  } catch (e) {
    const message = (e as Error).message;
    const unknown = /Unknown option '([^']+)'/.exec(message);
    console.error(`tether-train ${command}: ${unknown ? `unknown flag ${unknown[1]} (see tether-train ${command} --help)` : message.split(". ")[0]}`);
    return 2;
  }
  const raw: Record<string, unknown> = { command };
  for (const [flag, value] of Object.entries(parsed.values)) raw[camel(flag)] = value;
  if (parsed.positionals.length > 1) {
    console.error(`tether-train ${command}: expected at most one positional argument, got ${parsed.positionals.join(" ")}`);
    return 2;
  }
  if (parsed.positionals[0] !== undefined) raw.input = parsed.positionals[0];
  try {
    const cfg = parseTrainerConfig(raw);
    const runner = RUNNERS[command as TrainerCommand];
    if (!runner) throw new Error("this command is not in this build yet (see the README's status table)");
    await runner(cfg);
    return 0;
  } catch (e) {
    const message = e instanceof ConfigError ? e.problems.join("\n") : (e as Error).message;
    console.error(`tether-train ${command}: ${message}`);
    return 2;
  }
}

process.exitCode = await main(process.argv.slice(2));
