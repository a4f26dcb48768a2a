// Test helper: a checkpoint's Qwen2 run in float64 by the trainer's plain-loop forward pass (referenceLogits),
// read straight from model.safetensors + config.json — the independent computation the served ONNX graphs,
// the gateway's greedy decode and its drift statistics are checked against. Nothing here touches the gateway.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { decodeSafetensors, toFloat32 } from "@tether/shared/io/safetensors";
import { fromHfConfig, type ModelConfig } from "../apps/trainer/src/model/config";
import { referenceLogits, type ParamValues } from "../apps/trainer/src/model/reference-forward";
import { logSoftmax64 } from "./float64-math";

export interface Float64Model {
  config: ModelConfig;
  /** Raw next-token logits [T, V] for every position of `ids`. */
  logits(ids: readonly number[]): Float64Array[];
}

/**
 * @example const policy = loadFloat64Model("models/demo/policy"); policy.logits([22, 23, 16])
 */
export function loadFloat64Model(dir: string): Float64Model {
  const config = fromHfConfig(JSON.parse(readFileSync(join(dir, "config.json"), "utf8")) as Record<string, unknown>);
  const file = decodeSafetensors(new Uint8Array(readFileSync(join(dir, "model.safetensors"))));
  const weights: ParamValues = new Map();
  for (const [name, tensor] of file.tensors) weights.set(name, toFloat32(tensor));
  return { config, logits: (ids) => referenceLogits(weights, config, [...ids]) };
}

/** Stop ids of a checkpoint: generation_config.json eos_token_id (one id or a list). */
export function eosIdsOf(dir: string): number[] {
  const { eos_token_id: eos } = JSON.parse(readFileSync(join(dir, "generation_config.json"), "utf8")) as { eos_token_id: number | number[] };
  return Array.isArray(eos) ? eos : [eos];
}

function argmax(row: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < row.length; i++) if (row[i]! > row[best]!) best = i;
  return best;
}

/**
 * Greedy decode: argmax of the last position's logits over every id of the vocabulary (ties → lowest id),
 * recomputing the whole prefix each step, until a stop id (kept as the last token) or `maxTokens` tokens.
 * @example greedyDecode(policy, tokenizer.encode("12+7="), 8, [0, 2]) // e.g. [23, 29, 0] = "28" + eos
 */
export function greedyDecode(model: Float64Model, prompt: readonly number[], maxTokens: number, eosIds: readonly number[]): number[] {
  const out: number[] = [];
  while (out.length < maxTokens) {
    const rows = model.logits([...prompt, ...out]);
    const next = argmax(rows[rows.length - 1]!);
    out.push(next);
    if (eosIds.includes(next)) break;
  }
  return out;
}

/** log π(completion[t] | prompt + completion[0 .. t)) for every t. */
export function tokenLogprobs(model: Float64Model, prompt: readonly number[], completion: readonly number[]): number[] {
  if (completion.length === 0) return [];
  const rows = model.logits([...prompt, ...completion].slice(0, -1));
  return completion.map((id, t) => logSoftmax64(rows[prompt.length - 1 + t]!)[id]!);
}

export interface KlStats {
  klSum: number; // Σ_t KL_t, nats
  klMean: number; // klSum / L, nats/token
  klMax: number; // max_t KL_t, nats
  logRatio: number; // Σ_t log π_θ(y_t) − log π_ref(y_t), nats
  perToken: number[]; // KL_t
}

/**
 * KL(π_θ‖π_ref) at every completion position t = 0 … L−1, from the full raw next-token distributions of both
 * models given prompt + completion[0 .. t):  KL_t = Σ_v p_θ(v)·(log p_θ(v) − log p_ref(v)).
 * Position t's distributions do not depend on completion[t] itself, so KL_t at a final eos is the same
 * whichever stop id it was; only logRatio needs the id.
 * @example klStats(policy, reference, promptIds, [23, 29, 0]).klMean
 */
export function klStats(policy: Float64Model, reference: Float64Model, prompt: readonly number[], completion: readonly number[]): KlStats {
  if (completion.length === 0) return { klSum: 0, klMean: 0, klMax: 0, logRatio: 0, perToken: [] };
  const fed = [...prompt, ...completion].slice(0, -1); // the last completion token is never fed
  const p = policy.logits(fed);
  const q = reference.logits(fed);
  const perToken: number[] = [];
  let logRatio = 0;
  for (let t = 0; t < completion.length; t++) {
    const at = prompt.length - 1 + t; // the row that predicts completion[t]
    const lp = logSoftmax64(p[at]!);
    const lq = logSoftmax64(q[at]!);
    let kl = 0;
    for (let v = 0; v < lp.length; v++) kl += Math.exp(lp[v]!) * (lp[v]! - lq[v]!);
    perToken.push(kl);
    logRatio += lp[completion[t]!]! - lq[completion[t]!]!;
  }
  const klSum = perToken.reduce((a, b) => a + b, 0);
  return { klSum, klMean: klSum / completion.length, klMax: Math.max(...perToken), logRatio, perToken };
}
