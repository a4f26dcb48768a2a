import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

const CLI = ["--import", "tsx", "apps/trainer/src/cli.ts"];
const ARGS = ["pretrain", "--preset", "tiny", "--steps", "150", "--batch", "16", "--lr", "3e-3", "--seed", "11", "--eval-every", "0", "--eval-samples", "8", "--save-every", "5"];

function weightsId(dir: string): string {
  return JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")).id;
}

describe("resumable training", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-resume-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("a run killed mid-way and resumed from its snapshot ends with the same weights as an uninterrupted run", async () => {
    const straight = join(root, "straight");
    expect(spawnSync(process.execPath, [...CLI, ...ARGS, "--out", straight]).status).toBe(0);

    const resumed = join(root, "resumed");
    const child = spawn(process.execPath, [...CLI, ...ARGS, "--out", resumed], { stdio: "ignore" });
    const state = join(resumed, "snapshot", "state.json");
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (existsSync(state)) {
          clearInterval(poll);
          child.kill("SIGKILL");
          resolve();
        }
      }, 20);
      child.on("exit", () => {
        clearInterval(poll);
        existsSync(state) ? resolve() : reject(new Error("the run ended before writing a snapshot"));
      });
    });
    await new Promise((r) => child.once("exit", r).once("close", r) && setTimeout(r, 500));
    const killedAt = JSON.parse(readFileSync(state, "utf8")).step;
    expect(killedAt).toBeGreaterThan(0);
    expect(killedAt).toBeLessThan(150);
    expect(existsSync(join(resumed, "manifest.json"))).toBe(false);

    const r = spawnSync(process.execPath, [...CLI, ...ARGS, "--out", resumed, "--resume"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(weightsId(resumed)).toBe(weightsId(straight));
    expect(existsSync(join(resumed, "snapshot"))).toBe(false);
  });

  it("--resume without a snapshot fails with one line", () => {
    const r = spawnSync(process.execPath, [...CLI, ...ARGS, "--out", join(root, "none"), "--resume"], { encoding: "utf8" });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split("\n").at(-1)).toMatch(/^tether-train pretrain: --resume: no snapshot in .*snapshot \(run with --save-every N first\)$/);
  });
});
