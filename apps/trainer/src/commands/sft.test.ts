import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { evalReport } from "@tether/shared/schemas/eval";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { verifyCheckpoint } from "@tether/checkpoint/files";
import { pretrain } from "./pretrain";
import { sft } from "./sft";

describe("sft (tiny)", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-sft-"));
  const reference = join(root, "ref");
  const quiet = () => {};
  beforeAll(async () => {
    await pretrain(parseTrainerConfig({ command: "pretrain", steps: "60", batch: "32", lr: "3e-3", seed: "3", evalSamples: "16", evalEvery: "0", out: reference }), quiet);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  const run = (beta: string, klOn: string, out: string) =>
    sft(
      parseTrainerConfig({
        command: "sft", reference, beta, klOn, steps: "40", batch: "16", lr: "3e-3", seed: "5", evalSamples: "32", evalEvery: "0", out: join(root, out),
      }),
      quiet,
    );

  it("a strong KL anchor keeps the policy closer to the reference than no anchor", async () => {
    const free = await run("0", "task", "b0");
    const anchored = await run("5", "task", "b5");
    expect(free.eval.meanTokenKl).toBeGreaterThan(0.05);
    expect(anchored.eval.meanTokenKl).toBeLessThan(0.5 * free.eval.meanTokenKl);
  });

  it("writes a verified policy checkpoint whose eval.json names it and its reference", async () => {
    const result = await run("0.5", "both", "both");
    const m = verifyCheckpoint(result.dir);
    expect(m.kind).toBe("policy");
    expect(m.reference_id).toMatch(/^reference-pretrain-/);
    expect(m.parent_id).toBe(m.reference_id);
    const e = evalReport.parse(JSON.parse(readFileSync(join(result.dir, "eval.json"), "utf8")));
    expect(e.checkpoint_id).toBe(m.id);
    expect(e.held_out.samples).toBe(32);
    expect(e.kl.per_request_kl_mean.count).toBe(32);
    const metrics = readFileSync(join(result.dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(metrics.filter((x) => "kl" in x && "beta" in x)).toHaveLength(40);
  });

  it("eval.json names the held-out set it was measured on, also when --data trained on another file", async () => {
    const data = join(root, "products.jsonl");
    writeFileSync(data, Array.from({ length: 16 }, (_, i) => JSON.stringify({ prompt: `${i}*3=`, completion: String(i * 3) })).join("\n") + "\n");
    const result = await sft(
      parseTrainerConfig({ command: "sft", reference, data, steps: "2", batch: "8", lr: "1e-3", seed: "5", evalSamples: "8", evalEvery: "0", out: join(root, "with-data") }),
      quiet,
    );
    const e = evalReport.parse(JSON.parse(readFileSync(join(result.dir, "eval.json"), "utf8")));
    expect(e.held_out.source).toBe("bundled:multiplication/heldout");
    expect(e.held_out.samples).toBe(8);
  });

  it("refuses an --init whose architecture differs from the reference (and --preset takes a Qwen2 config.json)", async () => {
    const preset = join(root, "narrow.json");
    writeFileSync(preset, JSON.stringify({
      model_type: "qwen2", vocab_size: 100, hidden_size: 32, intermediate_size: 64, num_hidden_layers: 1,
      num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 64, tie_word_embeddings: true, eos_token_id: 0,
    }));
    const other = join(root, "narrow");
    await pretrain(parseTrainerConfig({ command: "pretrain", preset, steps: "2", batch: "4", evalSamples: "4", evalEvery: "0", out: other }), quiet);
    expect(JSON.parse(readFileSync(join(other, "config.json"), "utf8"))).toMatchObject({ hidden_size: 32, num_hidden_layers: 1, head_dim: 16 });
    await expect(sft(parseTrainerConfig({ command: "sft", reference, init: other, steps: "1" }), quiet)).rejects.toThrow(
      /^--init: architecture differs from the reference in hidden_size \(32 vs 64\)/,
    );
  });

  it("refuses a missing reference with one clear message", async () => {
    await expect(
      sft(parseTrainerConfig({ command: "sft", reference: join(root, "nope"), steps: "1" }), quiet),
    ).rejects.toThrow(/--reference: .*nope is not a checkpoint directory/);
  });
});
