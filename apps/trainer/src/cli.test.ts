import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";

// The real binary in a child process: exit code and the one line on stderr.
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "apps/trainer/src/cli.ts", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

describe("tether-train CLI", () => {
  it("bad flags and configs exit 2 with one line naming the problem", () => {
    const cases: [string[], RegExp][] = [
      [["pretrain", "--bogus", "1"], /^tether-train pretrain: unknown flag --bogus/],
      [["pretrain", "--beta", "-1"], /^tether-train pretrain: --beta: must be a number in \[0, 1000\] \(got -1\)$/],
      [["sft"], /^tether-train sft: --reference: is required for sft/],
      [["pretrain", "--steps", "abc"], /--steps: must be an integer/],
      [["pretrain", "--freeze", "0:2"], /--freeze/],
      [["frob"], /unknown command "frob"/],
    ];
    for (const [args, message] of cases) {
      const r = cli(...args);
      expect(r.status, args.join(" ")).toBe(2);
      expect(r.stderr.split("\n")).toHaveLength(1);
      expect(r.stderr).toMatch(message);
    }
  });

  it("--help lists the commands; <command> --help its flags", () => {
    expect(cli("--help").stdout).toMatch(/pretrain .*\n.*sft/);
    expect(cli("pretrain", "--help").stdout).toMatch(/--preset tiny\|small/);
  });
});
