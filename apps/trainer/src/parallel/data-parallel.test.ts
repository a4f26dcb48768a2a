// Data parallelism (pretrain, sft and grpo objectives): the shards' summed gradients equal the full batch's (computed in one thread, and checked
// against a finite difference of the full-batch loss), the sum is bitwise reproducible, a short pretrain with
// --workers 2 follows the --workers 1 run, and a replica that throws or dies fails the step with a message.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { initBackend, type BackendName } from "../backend";
import { loadCheckpoint } from "../checkpoint/save-load";
import { validateModelConfig } from "../model/config";
import { disposeParams, initParams, type Params } from "../model/params";
import { pretrain } from "../commands/pretrain";
import { forward } from "../model/qwen2";
import { batchGrads, type RowBatch, type StepObjective } from "../train/batch-grads";
import { tokenLogprobs } from "../train/losses";
import { DataParallel, physicalCores, shardBatch } from "./data-parallel";

const CONFIG = validateModelConfig({
  vocabSize: 20, hiddenSize: 16, intermediateSize: 32, numLayers: 2, numHeads: 4, numKvHeads: 2, headDim: 4,
  maxPositions: 16, rmsNormEps: 1e-6, ropeTheta: 10000, tieWordEmbeddings: true, bosTokenId: 0, eosTokenId: 1,
});

/** B rows of length T, right-padded to different lengths, loss from position `from` on (sft-like). */
function rows(B: number, T: number, salt: number, from: number): RowBatch {
  const n = B * T;
  const length = (b: number) => T - ((b * 3 + salt) % 4);
  return {
    inputIds: Int32Array.from({ length: n }, (_, i) => (i * 7 + salt) % 20),
    targetIds: Int32Array.from({ length: n }, (_, i) => (i * 5 + 2 * salt + 1) % 20),
    lossMask: Float32Array.from({ length: n }, (_, i) => (i % T >= from && i % T < length(Math.floor(i / T)) ? 1 : 0)),
    attentionMask: Int32Array.from({ length: n }, (_, i) => (i % T < length(Math.floor(i / T)) ? 1 : 0)),
    shape: [B, T],
  };
}

const hostGrads = (grads: tf.NamedTensorMap, vars: tf.Variable[]) => vars.map((v) => Float32Array.from(grads[v.name]!.dataSync()));

describe("data parallelism over worker threads", () => {
  let backend: BackendName;
  let policy: Params;
  let reference: Params;
  let dp: DataParallel;
  const sft: StepObjective = { kind: "sft", beta: 0.7, klOn: "both", kl: "mixed", klMix: 0.3 };
  const batch = { task: rows(5, 8, 1, 3), replay: rows(3, 8, 2, 1) }; // 5 and 3 rows: uneven shards
  const sftBatch = batch;

  beforeAll(async () => {
    backend = await initBackend();
    policy = initParams(CONFIG, 7);
    reference = initParams(CONFIG, 8);
    dp = await DataParallel.start({ workers: 2, backend, config: CONFIG, policy, reference, trainable: [...policy.keys()] });
  });
  afterAll(async () => {
    await dp.close();
    disposeParams(policy);
    disposeParams(reference);
  });

  it("cuts rows into contiguous shards that carry the whole batch's token counts", () => {
    const shards = shardBatch(batch, 2);
    expect(shards.map((s) => [s.task.shape[0], s.replay!.shape[0]])).toEqual([[2, 1], [3, 2]]);
    const count = (b: RowBatch) => b.lossMask.reduce((a, x) => a + x, 0);
    expect(shards[0]!.norms).toEqual({ task: count(batch.task), replay: count(batch.replay), sequences: 5 });
    expect(Array.from(shards[1]!.task.inputIds)).toEqual(Array.from(batch.task.inputIds.subarray(16)));
  });

  it("reads physical cores from /proc/cpuinfo, not hyperthreads", () => {
    const cpu = (p: number, c: number) => `processor\t: x\nphysical id\t: ${p}\ncore id\t\t: ${c}\n`;
    expect(physicalCores([cpu(0, 0), cpu(0, 1), cpu(0, 0), cpu(0, 1)].join("\n"))).toBe(2);
    expect(physicalCores([cpu(0, 0), cpu(1, 0)].join("\n"))).toBe(2);
  });

  const grpo: StepObjective = { kind: "grpo", beta: 0.3, klInLoss: true, klOn: "both", kl: "reverse", klMix: 0.5, clipEps: 0.2, estimator: "k3" };
  /** GRPO's constants for the task rows: log π_old = the policy's own (ratios start at 1), log π_ref, advantages. */
  const withRollout = () => {
    const ids = tf.tensor2d(batch.task.inputIds, batch.task.shape, "int32");
    const targets = tf.tensor2d(batch.task.targetIds, batch.task.shape, "int32");
    const attentionMask = tf.tensor2d(batch.task.attentionMask, batch.task.shape);
    const [oldLogp, refLogp] = [policy, reference].map((p) => tf.tidy(() => tokenLogprobs(forward(p, CONFIG, ids, { attentionMask }).logits, targets).dataSync() as Float32Array));
    tf.dispose([ids, targets, attentionMask]);
    return { ...batch, rollout: { oldLogp: oldLogp!, refLogp: refLogp!, advantages: Float32Array.from([0.9, -0.4, 1.3, -1.1, 0.2]) } };
  };

  for (const objective of [{ kind: "pretrain" } as StepObjective, sft, grpo]) {
    it(`${objective.kind}: shard gradients summed = full-batch gradient = finite difference of the full-batch loss`, async () => {
      const batch = objective.kind === "grpo" ? withRollout() : { task: sftBatch.task, replay: sftBatch.replay };
      const vars = [...policy.values()];
      const full = batchGrads({ policy, reference, config: CONFIG }, objective, batch, vars);
      const parallel = await dp.grads(objective, batch);
      expect(parallel.values.loss).toBeCloseTo(full.values.loss, 5);
      expect(parallel.values.kl).toBeCloseTo(full.values.kl, 6);
      expect(parallel.values.clipFraction).toBeCloseTo(full.values.clipFraction, 6);
      const [a, b] = [hostGrads(full.grads, vars), hostGrads(parallel.grads, vars)];
      let norm2 = 0;
      for (let i = 0; i < vars.length; i++) {
        const scale = Math.max(...a[i]!.map(Math.abs), 1e-3);
        for (let j = 0; j < a[i]!.length; j++) expect(Math.abs(a[i]![j]! - b[i]![j]!)).toBeLessThan(1e-5 * scale);
        norm2 += b[i]!.reduce((s, x) => s + x * x, 0);
      }
      // Independent check: (L(θ + εu) − L(θ − εu)) / 2ε along u = g/‖g‖ must be ‖g‖.
      const eps = 1e-2;
      const lossAt = (sign: number) => {
        vars.forEach((v, i) => v.assign(tf.add(v, tf.mul(tf.tensor(b[i]!, v.shape), (sign * eps) / Math.sqrt(norm2)))));
        const { grads, values } = batchGrads({ policy, reference, config: CONFIG }, objective, batch, vars);
        tf.dispose(Object.values(grads));
        vars.forEach((v, i) => v.assign(tf.sub(v, tf.mul(tf.tensor(b[i]!, v.shape), (sign * eps) / Math.sqrt(norm2)))));
        return values.loss;
      };
      const fd = (lossAt(1) - lossAt(-1)) / (2 * eps);
      expect(Math.abs(fd - Math.sqrt(norm2)) / Math.sqrt(norm2)).toBeLessThan(2e-2);
      tf.dispose([...Object.values(full.grads), ...Object.values(parallel.grads)]);
    });
  }

  it("sums in a fixed order: the same step twice gives the same bits", async () => {
    const vars = [...policy.values()];
    const first = await dp.grads(sft, batch);
    const second = await dp.grads(sft, batch);
    expect(hostGrads(second.grads, vars)).toEqual(hostGrads(first.grads, vars));
    expect(second.values).toEqual(first.values);
    tf.dispose([...Object.values(first.grads), ...Object.values(second.grads)]);
  });

  it("a replica that throws fails the step naming it; one that dies fails the next step, never a hang", async () => {
    const shards = shardBatch(batch, 2);
    const broken = { ...shards[1]!, task: { ...shards[1]!.task, inputIds: shards[1]!.task.inputIds.subarray(1) } }; // one id short
    await expect(dp.grads(sft, batch, [shards[0]!, broken])).rejects.toThrow(/data-parallel replica 1 failed: .*shape/);
    await dp.threads[0]!.terminate();
    await expect(dp.grads(sft, batch)).rejects.toThrow(/data-parallel replica 1 exited with code 1/);
  });
});

describe("pretrain --workers 2", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-ddp-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it("follows the --workers 1 loss curve and weights within float32 rounding", async () => {
    const run = async (workers: string) => {
      const out = join(root, `w${workers}`);
      const lines: string[] = [];
      const cfg = parseTrainerConfig({ command: "pretrain", preset: "tiny", steps: "6", batch: "8", lr: "3e-3", seed: "4", evalEvery: "0", evalSamples: "2", workers, out });
      const result = await pretrain(cfg, (l) => lines.push(l));
      const ckpt = loadCheckpoint(out, { trainable: false });
      const weights = new Map([...ckpt.params].map(([k, v]) => [k, Float32Array.from(v.dataSync())]));
      disposeParams(ckpt.params);
      const losses = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => "loss" in m).map((m) => m.loss as number);
      return { lines, weights, losses, finalLoss: result.finalLoss };
    };
    const one = await run("1");
    const two = await run("2");
    expect(two.lines).toContain("tether-train: data parallel over 2 workers (this thread + 1 replica thread)");
    expect(one.lines.some((l) => l.includes("data parallel"))).toBe(false);
    expect(two.losses).toHaveLength(6);
    two.losses.forEach((loss, i) => expect(Math.abs(loss - one.losses[i]!) / one.losses[i]!).toBeLessThan(1e-5));
    expect(two.finalLoss).toBeCloseTo(one.finalLoss, 4);
    let worst = 0;
    for (const [name, w] of one.weights) {
      const v = two.weights.get(name)!;
      for (let j = 0; j < w.length; j++) worst = Math.max(worst, Math.abs(w[j]! - v[j]!));
    }
    // 6 Adam steps of lr 3e-3 move a weight by ≤ ~0.018; rounding-level gradient differences move it by far less.
    expect(worst).toBeLessThan(1e-4);
  });
});
