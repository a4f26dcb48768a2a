// tether-train's command line → what to do: print help, refuse with one line, or run a command with its
// validated TrainerConfig. Pure (no I/O), so the docs test checks every documented command line with it.
import { parseArgs } from "node:util";
import { ConfigError } from "@tether/shared/schemas/common";
import { TRAINER_COMMANDS, parseTrainerConfig, type TrainerCommand, type TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { COMMAND_HELP, FLAG_NAMES, usage } from "./cli-help";

export type ParsedCommandLine =
  | { kind: "help"; text: string }
  | { kind: "error"; message: string } // one line for stderr; exit 2
  | { kind: "run"; command: TrainerCommand; config: TrainerConfig };

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

/**
 * @example parseCommandLine(["sft", "--reference", "runs/ref", "--beta", "0.5"]) // { kind: "run", command: "sft", config }
 */
export function parseCommandLine(argv: readonly string[]): ParsedCommandLine {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") return { kind: "help", text: usage() };
  if (!(TRAINER_COMMANDS as readonly string[]).includes(command)) {
    return { kind: "error", message: `tether-train: unknown command "${command}" (commands: ${TRAINER_COMMANDS.join(", ")}; see --help)` };
  }
  const cmd = command as TrainerCommand;
  if (rest.includes("--help") || rest.includes("-h")) return { kind: "help", text: COMMAND_HELP[cmd] };
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
    return { kind: "error", message: `tether-train ${cmd}: ${unknown ? `unknown flag ${unknown[1]} (see tether-train ${cmd} --help)` : message.split(". ")[0]}` };
  }
  const raw: Record<string, unknown> = { command };
  for (const [flag, value] of Object.entries(parsed.values)) raw[camel(flag)] = value;
  if (parsed.positionals.length > 1) {
    return { kind: "error", message: `tether-train ${cmd}: expected at most one positional argument, got ${parsed.positionals.join(" ")}` };
  }
  if (parsed.positionals[0] !== undefined) raw.input = parsed.positionals[0];
  try {
    return { kind: "run", command: cmd, config: parseTrainerConfig(raw) };
  } catch (e) {
    return { kind: "error", message: `tether-train ${cmd}: ${e instanceof ConfigError ? e.problems.join("\n") : (e as Error).message}` };
  }
}
