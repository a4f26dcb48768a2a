// End-to-end test of writeSweepReport on a synthetic sweep with a torn metrics file and a missing run folder.
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { writeSweepReport } from "./index";
import { writeSyntheticSweep } from "./synthetic";

describe("writeSweepReport", () => {
  const dirs: string[] = [];
  const tempDir = () => {
    dirs.push(mkdtempSync(join(tmpdir(), "tether-sweep-")));
    return dirs.at(-1)!;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it("writes report.md and the plots, tolerating a torn line and a missing run", async () => {
    const dir = tempDir();
    const runs = writeSyntheticSweep(dir, { betas: [0, 0.1, 0.5, 2], steps: 40 });
    appendFileSync(join(dir, "runs", runs[1]!.id, "metrics.jsonl"), '{"step":41,"loss":1.2,"kl":0.0');
    const ghost = { ...runs[3]!, id: "beta-5_kl-on-task", beta: 5 };
    const command = "tether-train sweep --beta 0,0.1,0.5,2,5 --steps 40";
    const out = await writeSweepReport({ dir, runs: [...runs, ghost], command, environment: "test · cpu" });
    expect(out.reportPath).toBe(join(dir, "report.md"));
    for (const p of Object.values(out.plots)) expect(existsSync(p)).toBe(true);
    const md = readFileSync(out.reportPath, "utf8");
    expect(md).toContain(command);
    expect(md).toContain("`beta-0.1_kl-on-task`: skipped 1 malformed line(s)");
    expect(md).toContain("`beta-5_kl-on-task`: no metrics.jsonl");
    expect(md).toContain("| 5 | ");
    const one = out.findings.find((f) => f.claim === "i")!;
    expect(one.verdict).toBe("SUPPORTED");
    expect(md).toContain(`- KL on task: **SUPPORTED** — ${one.detail}`);
  });

  it("rejects bad summaries with a message naming the field", async () => {
    const dir = tempDir();
    const [r] = writeSyntheticSweep(dir, { betas: [0] });
    await expect(writeSweepReport({ dir, runs: [], command: "x", environment: "y" })).rejects.toThrow(/at least one/);
    await expect(writeSweepReport({ dir, runs: [r!, r!], command: "x", environment: "y" })).rejects.toThrow(/duplicate run id/);
    await expect(writeSweepReport({ dir, runs: [{ ...r!, beta: -1 }], command: "x", environment: "y" })).rejects.toThrow(/beta must be ≥ 0, got -1/);
  });
});
