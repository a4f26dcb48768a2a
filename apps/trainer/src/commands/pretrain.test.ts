import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { loadCheckpoint } from "../checkpoint/save-load";
import { disposeParams } from "../model/params";
import { pretrain } from "./pretrain";

describe("pretrain (tiny)", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-pretrain-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("really lowers held-out loss, writes metrics.jsonl and a loadable reference checkpoint", async () => {
    const out = join(root, "ref");
    const lines: string[] = [];
    const cfg = parseTrainerConfig({ command: "pretrain", preset: "tiny", steps: "120", batch: "32", lr: "3e-3", seed: "7", evalEvery: "60", evalSamples: "32", out });
    const result = await pretrain(cfg, (l) => lines.push(l));
    expect(lines[0]).toMatch(/^tether-train: backend (wasm|tensorflow|tensorflow-gpu|cpu)$/);
    // uniform over 100 tokens is ln 100 ≈ 4.6 nats; operand digits alone are irreducible (≈ ln 10 each)
    expect(result.initialLoss).toBeGreaterThan(4);
    expect(result.finalLoss).toBeLessThan(2.2);
    const metrics = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(metrics.filter((m) => "loss" in m)).toHaveLength(120);
    expect(metrics.filter((m) => "heldout_loss" in m).map((m) => m.step)).toEqual([0, 60, 120]);
    const ckpt = loadCheckpoint(out);
    expect(ckpt.manifest.kind).toBe("reference");
    expect(ckpt.manifest.training).toMatchObject({ command: "pretrain", seed: 7, steps: 120 });
    expect(Object.keys(ckpt.manifest.files).sort()).toEqual([
      "config.json", "generation_config.json", "metrics.jsonl", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
    ]);
    disposeParams(ckpt.params);
  });
});
