// eval.json's sketch section: the exported policy's own sketch percentiles on its held-out requests, which the
// gateway's default sketch rule is relative to (apps/gateway/src/monitor/default-rules.ts says why).
//
// 1) requests: eval.json's held-out prompts (bundled task `task.name` (else `base.name`), split heldout, seed
//    held_out.seed, the first held_out.samples: the prompts its KL distribution was computed on), each answered
//    by the exported ONNX policy with eval's settings (temperature, top_p, max_tokens, eos) and the shared sampler,
//    request n drawing from Pcg32(held_out.seed, n). (The KL's completions came from the tfjs sampler, whose
//    stream ONNX cannot replay: these are fresh draws from the same policy with the same settings.)
// 2) pool as the gateway's decode loop does (apps/gateway/src/decode/batch.ts): batch 1 with the KV cache, the
//    prompt's sketch rows from prefill, then the row of every fed token; the last sampled token (eos or the
//    max_tokens-th) is never fed, so never pooled — shared MeanPool, float64
// 3) score with the shared scorePools → percentScore (0–100, as the gateway logs it) against the sketch.json the
//    gateway would rank the policy in: the reference's when --reference has one, else the checkpoint's own
// 4) per monitored layer, the distribution over requests (empirical(), like the KL distributions)
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type * as ort from "onnxruntime-node";
import { issueLines } from "@tether/shared/schemas/common";
import { evalReport, type EvalReport, type EvalSketch } from "@tether/shared/schemas/eval";
import { Pcg32 } from "@tether/shared/sampling/prng";
import { sampleToken, type SamplingParams } from "@tether/shared/sampling/sample";
import { MeanPool, percentScore, scorePools, SketchReference } from "@tether/shared/sketch/index";
import { bundledDataset, isBundledDatasetName } from "../data/bundled";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { empirical } from "../train/eval-report";
import { carryPast, createSession, runStep, type KvShape } from "./ort-decode";
import { sketchOutputName } from "./sketch-outputs";

/** How one held-out request is answered: eval.json's held_out settings. */
export interface HeldOutDecode {
  sampling: SamplingParams;
  maxTokens: number;
  eosIds: ReadonlySet<number>;
  seed: number;
}

/**
 * Held-out prompts (token ids) and decode settings of an eval.json, or a reason there are none.
 * @example heldOutRequests(ev, tok).prompts.length === ev.held_out.samples
 */
export function heldOutRequests(ev: EvalReport, tok: Tokenizer): { prompts: number[][]; decode: HeldOutDecode; dataset: string } | { skip: string } {
  const dataset = ev.task?.name ?? ev.base.name;
  if (!isBundledDatasetName(dataset)) return { skip: `eval.json's held-out task "${dataset}" is not a bundled dataset` };
  const h = ev.held_out;
  const prompts = bundledDataset(dataset, "heldout", h.seed, h.samples).map((e) => tok.encode(e.prompt));
  return { prompts, dataset, decode: { sampling: { temperature: h.temperature, topP: h.top_p }, maxTokens: h.max_tokens, eosIds: new Set([tok.eosId]), seed: h.seed } };
}

/**
 * One request through the policy as the gateway decodes it; returns its per-layer pools and the sampled tokens.
 * @example const { pools } = await decodeAndPool(session, config, [1, 2], [3, 4], settings, new Pcg32(1, 0));
 */
export async function decodeAndPool(
  session: ort.InferenceSession, c: KvShape & { vocabSize: number }, layers: readonly number[], m: number,
  prompt: readonly number[], d: HeldOutDecode, rng: Pcg32,
): Promise<{ pools: MeanPool[]; tokens: number[] }> {
  const pools = layers.map(() => new MeanPool(m));
  const tokens: number[] = [];
  const V = c.vocabSize;
  let ids = [...prompt];
  let length = 0;
  let past: Record<string, ort.Tensor> | undefined;
  while (tokens.length < d.maxTokens) {
    const positions = ids.map((_, i) => length + i);
    length += ids.length;
    const out = await runStep(session, c, { ids: [ids], mask: [new Array<number>(length).fill(1)], positions: [positions] }, past);
    // sketch.{l} [1, S, m]: the rows of the tokens this call fed (the prompt, then one sampled token)
    layers.forEach((l, k) => pools[k]!.addTokens(out[sketchOutputName(l)]!.data as Float32Array));
    const logits = out.logits!.data as Float32Array; // [1, S, V]: the last row predicts the next token
    const next = sampleToken(logits.subarray((ids.length - 1) * V, ids.length * V), d.sampling, rng.nextFloat());
    tokens.push(next);
    if (d.eosIds.has(next)) break;
    past = carryPast(c, out);
    ids = [next];
  }
  return { pools, tokens };
}

/**
 * eval.json's sketch section for the policy at `modelPath`, scored in `reference` (a loaded sketch.json).
 * @example const section = await evalSketchSection(modelPath, config, SketchReference.fromJson(json), prompts, decode);
 */
export async function evalSketchSection(
  modelPath: string, c: KvShape & { vocabSize: number }, reference: SketchReference, prompts: readonly number[][], d: HeldOutDecode,
): Promise<EvalSketch> {
  const { layers, m } = reference.spec;
  const percentiles: number[][] = layers.map(() => []); // [L][N]
  const session = await createSession(modelPath);
  try {
    for (const [n, prompt] of prompts.entries()) {
      const { pools } = await decodeAndPool(session, c, layers, m, prompt, d, new Pcg32(d.seed, n));
      const scores = scorePools(reference, pools);
      if (!scores) throw new Error(`eval sketch: held-out request ${n} pooled no token`);
      scores.forEach((s, k) => percentiles[k]!.push(percentScore(s)));
    }
  } finally {
    await session.release();
  }
  return { per_request_percentile: layers.map((layer, k) => ({ layer, distribution: empirical(percentiles[k]!) })) };
}

/**
 * Rewrites `<dir>/eval.json` with `sketch` set, every other field and the key order as they were (so a
 * re-export with the same inputs writes the same bytes), validated against the schema first.
 */
export function writeEvalSketch(dir: string, raw: Record<string, unknown>, sketch: EvalSketch): void {
  const next = { ...raw, sketch };
  const parsed = evalReport.safeParse(next);
  if (!parsed.success) throw new Error(`export: eval.json with its sketch section: ${issueLines(parsed.error).join("; ")}`);
  writeFileSync(join(dir, "eval.json"), `${JSON.stringify(next, null, 2)}\n`);
}

/** eval.json as stored (raw, for writeEvalSketch) and parsed; null when the checkpoint has none. */
export function readEvalJson(dir: string): { raw: Record<string, unknown>; report: EvalReport } | null {
  const path = join(dir, "eval.json");
  if (!existsSync(path)) return null;
  const raw = JSON.parse(readFileSync(path, "utf8")) as Record<string, unknown>;
  const parsed = evalReport.safeParse(raw);
  if (!parsed.success) throw new Error(`export: eval.json: ${issueLines(parsed.error).join("; ")}`);
  return { raw, report: parsed.data };
}
