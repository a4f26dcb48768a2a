// OrtNodeEngine on a real exported checkpoint (both graph variants), against computations that share no code
// with it: the trainer's float64 reference forward (logits), its tfjs forward + the shared sketchTokens
// (sketch rows), its tfjs generate (golden greedy tokens), and the engine's own batch-1 decode (batching).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { sampleToken } from "@tether/shared/sampling/sample";
import { createLayerProjections, sketchTokens } from "@tether/shared/sketch/index";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generate } from "../../../trainer/src/model/generate";
import { referenceLogits } from "../../../trainer/src/model/reference-forward";
import type { StepOutput } from "./engine";
import { OrtNodeEngine } from "./ort-node";
import { hiddenStates, makeTestCheckpoint, type TestCheckpoint } from "../../../../test/test-checkpoint";

const TOL = 1e-4;
const STEPS = [22, 16, 5, 70, 34, 4]; // fed after the prompt, one per step
const STOP_IDS = [0, 2]; // generation_config.json: <|endoftext|>, <|im_end|>

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

const row = (x: Float32Array, r: number, width: number) => x.subarray(r * width, (r + 1) * width);

describe.each(["standard", "fused"] as const)("OrtNodeEngine (%s variant)", (variant) => {
  const root = mkdtempSync(join(tmpdir(), `tether-ort-${variant}-`));
  let ckpt: TestCheckpoint;
  let engine: OrtNodeEngine;
  let prompt: number[];
  const V = 100;
  beforeAll(async () => {
    ckpt = await makeTestCheckpoint(join(root, "ckpt"), variant, 21);
    engine = await OrtNodeEngine.load(ckpt.dir, { intraOpNumThreads: 1 });
    prompt = engine.tokenizer.encode("<|im_start|>user\n12+7=<|im_end|>\n");
  });
  afterAll(async () => {
    await engine.dispose();
    ckpt.dispose();
    rmSync(root, { recursive: true, force: true });
  });

  it("loads the export's variant, vocabulary, stop ids and sketch layers", () => {
    expect(engine.checkpoint.onnx.variant).toBe(variant);
    expect(engine.info).toMatchObject({ vocabSize: V, contextWindow: 128, eosTokenIds: STOP_IDS, sketchLayers: [1, 2], eosToken: "<|endoftext|>" });
    expect(prompt.slice(0, 2)).toEqual([1, 90]); // "<|im_start|>" is one token
  });

  it("prefill + steps give the float64 reference forward's logits at every position", async () => {
    const session = await engine.startDecode(prompt, 1);
    const got: StepOutput[] = [await session.prefill()];
    for (const t of STEPS) got.push(await session.step(Int32Array.of(t)));
    session.close();
    const ref = referenceLogits(ckpt.weights, ckpt.config, [...prompt, ...STEPS]);
    const diff = Math.max(...got.map((out, k) => maxAbsDiff(out.logits, ref[prompt.length - 1 + k]!)));
    console.log(`[${variant}] decode vs float64 reference: max |Δlogit| ${diff.toExponential(2)} over ${got.length} positions`);
    expect(diff).toBeLessThanOrEqual(TOL);
    expect(Math.max(...ref.flatMap((r) => Array.from(r, Math.abs)))).toBeGreaterThan(1); // logits that can be wrong
  });

  it("a batch of B sequences gives each row what a batch-1 decode of it gives, also after rows finish", async () => {
    const B = 3;
    const tokens = STEPS.map((t, k) => Int32Array.from({ length: B }, (_, b) => (t + 7 * b + k) % V));
    const live = STEPS.map((_, k) => Uint8Array.from({ length: B }, (_, b) => (b === 1 && k >= 2 ? 0 : 1))); // row 1 finishes at step 2
    const batched = await engine.startDecode(prompt, B);
    const outs = [await batched.prefill()];
    for (let k = 0; k < STEPS.length; k++) outs.push(await batched.step(tokens[k]!, live[k]!));
    batched.close();
    let diff = 0;
    for (let b = 0; b < B; b++) {
      const single = await engine.startDecode(prompt, 1);
      diff = Math.max(diff, maxAbsDiff(row(outs[0]!.logits, b, V), (await single.prefill()).logits));
      for (let k = 0; k < STEPS.length && live[k]![b]; k++) {
        const out = await single.step(Int32Array.of(tokens[k]![b]!));
        diff = Math.max(diff, maxAbsDiff(row(outs[k + 1]!.logits, b, V), out.logits));
        const sk = outs[k + 1]!.sketch!;
        diff = Math.max(diff, ...sk.map((s, l) => maxAbsDiff(row(s, b, s.length / B), out.sketch![l]!)));
      }
      single.close();
    }
    console.log(`[${variant}] batch-3 decode (row 1 finishing at step 2) vs batch-1: max |Δ| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    expect(Array.from(row(outs.at(-1)!.logits, 1, V)).every((x) => x === 0)).toBe(true); // finished: not run
    expect(engine.openSessions).toBe(0);
  });

  it("prefill at batch B gives the same numbers as the tiled batch-1 prefill", async () => {
    const tiled = await engine.startDecode(prompt, 2);
    const a = await tiled.prefill();
    const b = await tiled.step(Int32Array.of(5, 9));
    tiled.close();
    const other = await OrtNodeEngine.load(ckpt.dir, { intraOpNumThreads: 1, prefill: "batched" });
    const batched = await other.startDecode(prompt, 2);
    const c = await batched.prefill();
    const d = await batched.step(Int32Array.of(5, 9));
    batched.close();
    await other.dispose();
    expect(maxAbsDiff(a.logits, c.logits)).toBeLessThanOrEqual(1e-5);
    expect(maxAbsDiff(b.logits, d.logits)).toBeLessThanOrEqual(1e-5);
  });

  it("score() returns the reference forward's rows P−1 … P+L−2 for each completion, right-padded in one run", async () => {
    const completions = [[22, 16, 5, 70, 2], [34], [], [4, 99, 0]];
    const { logits } = await engine.score(prompt, completions);
    const P = prompt.length;
    let diff = 0;
    completions.forEach((c, i) => {
      expect(logits[i]!.length).toBe(c.length * V);
      const ref = referenceLogits(ckpt.weights, ckpt.config, [...prompt, ...c]);
      for (let t = 0; t < c.length; t++) diff = Math.max(diff, maxAbsDiff(row(logits[i]!, t, V), ref[P - 1 + t]!));
    });
    console.log(`[${variant}] score vs float64 reference: max |Δlogit| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(TOL);
  });

  it("score() split by a small logits budget gives the same rows", async () => {
    const completions = [[22, 16, 5], [34, 9], [4]];
    const whole = await engine.score(prompt, completions);
    const small = await OrtNodeEngine.load(ckpt.dir, { intraOpNumThreads: 1, maxLogitsPerRun: (prompt.length + 2) * V });
    const split = await small.score(prompt, completions);
    await small.dispose();
    completions.forEach((_, i) => expect(maxAbsDiff(split.logits[i]!, whole.logits[i]!)).toBeLessThanOrEqual(1e-5));
  });

  it("shared-prefix scoring equals per-candidate scoring to 1e-5, also in parts and with the prompt in chunks", async () => {
    if (variant === "fused") {
      // GroupQueryAttention takes several new tokens over a past only at batch 1: the fused graph scores batched
      expect(engine.scoreMode).toBe("batched");
      await expect(OrtNodeEngine.load(ckpt.dir, { score: "shared-prefix" })).rejects.toThrow(/needs the standard graph/);
      return;
    }
    const completions = [[22, 16, 5, 70, 2], [34], [], [4, 99, 0], [7, 7], [22, 16, 5, 9, 9, 9, 1]];
    const shared = await OrtNodeEngine.load(ckpt.dir, { intraOpNumThreads: 1, score: "shared-prefix" });
    const tight = await OrtNodeEngine.load(ckpt.dir, { intraOpNumThreads: 1, score: "shared-prefix", maxLogitsPerRun: 7 * V });
    const batched = await OrtNodeEngine.load(ckpt.dir, { intraOpNumThreads: 1, score: "batched" });
    const a = await shared.score(prompt, completions);
    const b = await tight.score(prompt, completions); // prompt in 7-token chunks, chunk rows in several runs
    let diff = 0;
    for (const [i, c] of completions.entries()) {
      const single = (await batched.score(prompt, [c])).logits[0]!; // per candidate: prompt + c in its own run
      expect(a.logits[i]!.length).toBe(c.length * V);
      diff = Math.max(diff, maxAbsDiff(a.logits[i]!, single), maxAbsDiff(b.logits[i]!, single));
    }
    await Promise.all([shared.dispose(), tight.dispose(), batched.dispose()]);
    console.log(`[${variant}] shared-prefix vs per-candidate score: max |Δlogit| ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-5);
    expect(engine.scoreMode).toBe("shared-prefix");
  });

  it("a prompt prefilled in chunks (small logits budget) gives the same logits, sketch rows and cache", async () => {
    const whole = await engine.startDecode(prompt, 2);
    const a = [await whole.prefill(), await whole.step(Int32Array.of(5, 9))];
    whole.close();
    const small = await OrtNodeEngine.load(ckpt.dir, { intraOpNumThreads: 1, maxLogitsPerRun: 3 * V }); // 3-token chunks
    const chunked = await small.startDecode(prompt, 2);
    const b = [await chunked.prefill(), await chunked.step(Int32Array.of(5, 9))];
    chunked.close();
    await small.dispose();
    for (let k = 0; k < 2; k++) {
      expect(maxAbsDiff(a[k]!.logits, b[k]!.logits)).toBeLessThanOrEqual(1e-5);
      a[k]!.sketch!.forEach((s, l) => expect(maxAbsDiff(s, b[k]!.sketch![l]!)).toBeLessThanOrEqual(1e-5));
    }
  });

  it("sketch blocks equal sketchTokens of the tfjs forward's hidden states (prefill [T, m], steps [B, m])", async () => {
    const spec = engine.checkpoint.sketch!.spec;
    const projections = createLayerProjections(spec);
    const session = await engine.startDecode(prompt, 1);
    const outs = [await session.prefill()];
    for (const t of STEPS) outs.push(await session.step(Int32Array.of(t)));
    session.close();
    const hidden = hiddenStates(ckpt, [...prompt, ...STEPS]);
    const P = prompt.length;
    let diff = 0;
    let scale = 0;
    spec.layers.forEach((layer, k) => {
      const want = sketchTokens(projections[k]!, hidden[layer]!, spec.eps); // [T, m]
      scale = Math.max(scale, ...Array.from(want, Math.abs));
      expect(outs[0]!.sketch![k]!.length).toBe(P * spec.m);
      diff = Math.max(diff, maxAbsDiff(outs[0]!.sketch![k]!, want.subarray(0, P * spec.m)));
      STEPS.forEach((_, s) => (diff = Math.max(diff, maxAbsDiff(outs[s + 1]!.sketch![k]!, row(want as unknown as Float32Array, P + s, spec.m)))));
    });
    console.log(`[${variant}] sketch vs sketchTokens(tfjs hidden): max |Δ| ${diff.toExponential(2)} (values up to ${scale.toFixed(2)})`);
    expect(diff).toBeLessThanOrEqual(TOL * Math.max(1, scale));
  });

  it("golden: greedy decoding at temperature 0 gives exactly the trainer's tfjs generate tokens", async () => {
    const seen: number[] = [];
    for (const text of ["12+7=", "40-13=", "Hello"]) {
      const ids = engine.tokenizer.encode(text);
      const ours: number[] = [];
      const session = await engine.startDecode(ids, 1);
      let out = await session.prefill();
      for (let t = 0; t < 16; t++) {
        const next = sampleToken(out.logits, { temperature: 0 }, 0);
        if (STOP_IDS.includes(next)) break;
        ours.push(next);
        out = await session.step(Int32Array.of(next));
      }
      session.close();
      const trainer = generate(ckpt.params, ckpt.config, [ids], { temperature: 0, maxNewTokens: 16, seed: 0, stopIds: STOP_IDS, padId: 0 });
      expect(ours, text).toEqual(trainer.completions[0]);
      console.log(`[${variant}] golden ${JSON.stringify(text)} → ${JSON.stringify(ours)}`);
      seen.push(...ours);
    }
    // The continuations switch tokens mid-way (e.g. 34 → 96 → 53): the argmax is tested at changing positions.
    expect(new Set(seen).size).toBeGreaterThanOrEqual(4);
  });

  it("rejects with the signal's reason when aborted, before any run and between steps", async () => {
    const reason = new Error("client went away");
    const before = new AbortController();
    before.abort(reason);
    await expect(engine.startDecode(prompt, 2, { signal: before.signal })).rejects.toBe(reason);
    await expect(engine.score(prompt, [[5]], { signal: before.signal })).rejects.toBe(reason);
    const during = new AbortController();
    const session = await engine.startDecode(prompt, 2, { signal: during.signal });
    await session.prefill();
    during.abort(reason);
    await expect(session.step(Int32Array.of(5, 6))).rejects.toBe(reason);
    session.close();
    session.close(); // idempotent
    await expect(session.step(Int32Array.of(5, 6))).rejects.toThrow(/closed/);
    expect(engine.openSessions).toBe(0);
  });

  it("gives the event loop turns during a long decode: an abort from a timer stops it part-way", async () => {
    // Runs skip the public API's per-run setImmediate but still yield every few ms (ort-node.ts): a timer (as a
    // client disconnect would) gets to run and abort well before 40 sessions × 60 steps are done.
    const reason = new Error("client went away");
    const controller = new AbortController();
    setTimeout(() => controller.abort(reason), 0);
    let steps = 0;
    const decodeAll = async () => {
      for (let s = 0; s < 40; s++) {
        const session = await engine.startDecode(prompt, 1, { signal: controller.signal });
        try {
          await session.prefill();
          for (let t = 0; t < 60; t++, steps++) await session.step(Int32Array.of(5));
        } finally {
          session.close();
        }
      }
    };
    await expect(decodeAll()).rejects.toBe(reason);
    expect(steps).toBeLessThan(40 * 60);
    expect(engine.openSessions).toBe(0);
  });

  it("close() while a step is running frees the cache when the run returns and rejects that step", async () => {
    const session = await engine.startDecode(prompt, 2);
    await session.prefill();
    const pending = session.step(Int32Array.of(5, 6));
    session.close();
    await expect(pending).rejects.toThrow(/closed during a step/);
    expect(engine.openSessions).toBe(0);
  });

  it("refuses bad arguments with the parameter named", async () => {
    await expect(engine.startDecode([], 1)).rejects.toThrow(/prompt length/);
    await expect(engine.startDecode([5, 100], 1)).rejects.toThrow(/prompt token ids must be integers in \[0, 99\]/);
    await expect(engine.startDecode([5], 0)).rejects.toThrow(/batchSize/);
    await expect(engine.score(prompt, [new Array(200).fill(5)])).rejects.toThrow(/context window/);
    const session = await engine.startDecode(prompt, 2);
    await expect(session.step(Int32Array.of(5, 6))).rejects.toThrow(/before prefill/);
    await session.prefill();
    await expect(session.step(Int32Array.of(5))).rejects.toThrow(/length 2/);
    await session.step(Int32Array.of(5, 6), Uint8Array.of(1, 0));
    await expect(session.step(Int32Array.of(5, 6), Uint8Array.of(1, 1))).rejects.toThrow(/cannot resume/);
    session.close();
  });
});

describe("OrtNodeEngine on the committed demo reference", () => {
  it("shared-prefix scoring equals per-candidate scoring to 1e-5", async () => {
    const dir = join(import.meta.dirname, "../../../../models/demo/reference");
    const shared = await OrtNodeEngine.load(dir, { intraOpNumThreads: 1 });
    const batched = await OrtNodeEngine.load(dir, { intraOpNumThreads: 1, score: "batched" });
    const V = shared.info.vocabSize;
    const prompt = shared.tokenizer.encode("<|im_start|>user\n23+19=<|im_end|>\n<|im_start|>assistant\n");
    const completions = ["42<|im_end|>", "41", "4", "", "1234567<|im_end|>"].map((t) => shared.tokenizer.encode(t));
    const { logits } = await shared.score(prompt, completions);
    let diff = 0;
    for (const [i, c] of completions.entries()) {
      const single = (await batched.score(prompt, [c])).logits[0]!;
      expect(logits[i]!.length).toBe(c.length * V);
      diff = Math.max(diff, maxAbsDiff(logits[i]!, single));
    }
    await Promise.all([shared.dispose(), batched.dispose()]);
    expect(shared.scoreMode).toBe("shared-prefix");
    expect(diff).toBeLessThanOrEqual(1e-5);
  });
});
