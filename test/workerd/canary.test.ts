// A canary on the Worker (worker/gateway.ts splitCanary), inside workerd: the drifted demo model uploaded to
// miniflare's local R2 as the canary row's checkpoint takes its share of the traffic next to the bundled active
// policy, each user always on the same arm, the arm chosen by FNV-1a of `user` (recomputed here), as on Node;
// a canary the Worker cannot read is left out with a warning and the active policy serves everything.
import { env } from "cloudflare:test";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createApp } from "../../apps/gateway/src/app";
import { BundledCheckpointReader } from "../../apps/gateway/src/engine/checkpoint-bundled";
import { OrtWebEngine } from "../../apps/gateway/src/engine/ort-web";
import { MemoryDriftStore } from "../../apps/gateway/src/store/memory-store";
import { BUNDLED_CHECKPOINTS, NOT_BUNDLED } from "../../apps/gateway/src/worker/demo-models";
import { splitCanary } from "../../apps/gateway/src/worker/gateway";
import type { WorkerEnv } from "../../apps/gateway/src/worker/env";
import config from "../../models/demo/drifted/config.json";
import evalJson from "../../models/demo/drifted/eval.json";
import generation from "../../models/demo/drifted/generation_config.json";
import manifest from "../../models/demo/drifted/manifest.json";
import metrics from "../../models/demo/drifted/metrics.jsonl";
import weights from "../../models/demo/drifted/model.safetensors";
import exportJson from "../../models/demo/drifted/onnx/export.json";
import onnx from "../../models/demo/drifted/onnx/model.onnx";
import sketch from "../../models/demo/drifted/sketch.json";
import tokenizer from "../../models/demo/drifted/tokenizer.json";
import tokenizerConfig from "../../models/demo/drifted/tokenizer_config.json";
import { CONFIG } from "./cases";

// Under wrangler.toml's Data rule every models/demo file arrives as its bytes.
const DRIFTED = {
  "config.json": config, "eval.json": evalJson, "generation_config.json": generation, "manifest.json": manifest, "metrics.jsonl": metrics,
  "model.safetensors": weights, "onnx/export.json": exportJson, "onnx/model.onnx": onnx, "sketch.json": sketch, "tokenizer.json": tokenizer,
  "tokenizer_config.json": tokenizerConfig,
} as unknown as Record<string, ArrayBuffer>;
const PREFIX = "canary-test/drifted";
const workerEnv = { MODELS: env.MODELS, MODELS_BUCKET_NAME: "tether-models" } as WorkerEnv;

/** FNV-1a (32-bit) of the UTF-8 bytes over 2^32: the split Node and the Worker both use, written out again here. */
function fnv1aUnit(key: string): number {
  let h = 2166136261;
  for (const b of new TextEncoder().encode(key)) h = Number((BigInt((h ^ b) >>> 0) * 16777619n) % 4294967296n);
  return h / 4294967296;
}

describe("the Worker splits a canary off the active policy", () => {
  let policy: OrtWebEngine;
  let reference: OrtWebEngine;
  const canaryId = JSON.parse(new TextDecoder().decode(DRIFTED["manifest.json"])).id as string;
  beforeAll(async () => {
    for (const [name, data] of Object.entries(DRIFTED)) await env.MODELS.put(`${PREFIX}/${name}`, data);
    policy = await OrtWebEngine.load(new BundledCheckpointReader("models/demo/policy", BUNDLED_CHECKPOINTS["models/demo/policy"]!, NOT_BUNDLED));
    reference = await OrtWebEngine.load(new BundledCheckpointReader("models/demo/reference", BUNDLED_CHECKPOINTS["models/demo/reference"]!, NOT_BUNDLED));
  });
  afterAll(async () => {
    await Promise.all([policy.dispose(), reference.dispose()]);
  });

  const app = () =>
    createApp({
      policy, reference, store: new MemoryDriftStore(), config: loadGatewayConfig(CONFIG, {}), evalReport: policy.checkpoint.evalReport,
      sketch: reference.checkpoint.sketch ?? policy.checkpoint.sketch,
    });
  const servedBy = async (a: ReturnType<typeof app>, user: string) => {
    const res = await a.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: policy.info.id, prompt: "12+7=", max_tokens: 2, temperature: 0, user }) });
    expect(res.status).toBe(200);
    return res.headers.get("x-tether-checkpoint");
  };

  it("loads the canary row's checkpoint from R2 and sends each user to the arm FNV-1a(user) picks", async () => {
    const a = app();
    const warnings: string[] = [];
    await splitCanary(a, { id: canaryId, path: `r2://tether-models/${PREFIX}`, percent: 40 }, reference, workerEnv, (m) => void warnings.push(m));
    expect(warnings).toEqual([]);
    expect(a.context.serving.state.canaryPercent).toBe(40);
    const users = Array.from({ length: 24 }, (_, i) => `user-${i}`);
    const arms = await Promise.all(users.map((u) => servedBy(a, u)));
    users.forEach((u, i) => expect(arms[i], u).toBe(100 * fnv1aUnit(u) < 40 ? canaryId : policy.info.id));
    expect(new Set(arms).size).toBe(2); // both arms served
    expect(await servedBy(a, users[0]!)).toBe(arms[0]); // a user stays on their arm
  });

  it("leaves out a canary it cannot read, with a warning; the active policy serves everything", async () => {
    const a = app();
    const warnings: string[] = [];
    await splitCanary(a, { id: "policy-missing", path: "r2://tether-models/no/such/prefix", percent: 50 }, reference, workerEnv, (m) => void warnings.push(m));
    expect(warnings).toEqual([expect.stringMatching(/^promotion: canary policy-missing \(50%\) is not split off here: .*manifest\.json: not found.*the active policy serves everything$/)]);
    expect(a.context.serving.state.canary).toBeNull();
    for (const u of ["a", "b", "c", "d"]) expect(await servedBy(a, u)).toBe(policy.info.id);
  });
});
