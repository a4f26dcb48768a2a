import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

// The real binary in a child process: exit code and the one line on stderr.
function cli(...args: string[]) {
  return cliWith({}, ...args);
}

function cliWith(env: Record<string, string>, ...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "apps/trainer/src/cli.ts", ...args], { encoding: "utf8", env: { ...process.env, ...env } });
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
    expect(cli("pretrain", "--help").stdout).toMatch(/--preset tiny\|demo\|small/);
  });

  it("the GPU image (TETHER_REQUIRE_GPU=1) refuses to start without tfjs-node-gpu unless TETHER_ALLOW_CPU=1", () => {
    // This machine has no libtensorflow (the optional dependency fails offline), so the binding is absent.
    const out = mkdtempSync(join(tmpdir(), "tether-gpu-check-"));
    try {
      const args = ["pretrain", "--preset", "tiny", "--steps", "1", "--batch", "2", "--eval-every", "0", "--out", join(out, "run")];
      const refused = cliWith({ TETHER_REQUIRE_GPU: "1" }, ...args);
      expect(refused.status).toBe(2);
      expect(refused.stderr).toMatch(/^tether-train pretrain: TETHER_REQUIRE_GPU=1 but @tensorflow\/tfjs-node-gpu did not load \(.+\); set TETHER_ALLOW_CPU=1/);
      expect(readdirSync(out)).toEqual([]); // refused before writing anything
      const allowed = cliWith({ TETHER_REQUIRE_GPU: "1", TETHER_ALLOW_CPU: "1" }, ...args);
      expect(allowed.stderr).toMatch(/backend (wasm|cpu|tensorflow)/);
      expect(allowed.status).toBe(0);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
