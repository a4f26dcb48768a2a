// Test support for promotion tests: copies of the demo checkpoints under a temporary checkpoint root —
// re-identified variants with their own eval.json (re-hashed like the trainer does), a tampered copy (one
// byte flipped, manifest untouched) and a tokenizer that differs by one byte — and an app over the real
// ONNX demo engines with an in-memory PGlite registry.
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { hashDirectory } from "@tether/checkpoint/files";
import { createDb, migrate, type DbHandle } from "@tether/db";
import { checkpoints } from "@tether/db/schema";
import { loadGatewayConfig, type GatewayConfigInput } from "@tether/shared/schemas/gateway-config";
import { createApp } from "../apps/gateway/src/app";
import { OrtNodeEngine } from "../apps/gateway/src/engine/ort-node";
import { nodeCheckpointLoader } from "../apps/gateway/src/serving/node-loader";
import { tokenizerSha256, type CheckpointLoader } from "../apps/gateway/src/serving/checkpoint-loader";
import { MemoryDriftStore } from "../apps/gateway/src/store/memory-store";
import { DEMO_POLICY, DEMO_REFERENCE } from "./gateway-helpers";

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export function readJsonFile(path: string): Json {
  return JSON.parse(readFileSync(path, "utf8")) as Json;
}

/** Rewrites manifest.json over the directory's current files (what saveCheckpoint does last). */
export function rehash(dir: string, id?: string): string {
  const manifest = readJsonFile(join(dir, "manifest.json"));
  if (id !== undefined) manifest.id = id;
  manifest.files = hashDirectory(dir);
  manifest.tokenizer.sha256 = manifest.files["tokenizer.json"].sha256;
  writeFileSync(join(dir, "manifest.json"), `${JSON.stringify(manifest, null, 2)}\n`);
  return manifest.id as string;
}

/** A copy of the demo policy named `id` whose eval.json reports the given KL and retention (`edit` changes more). */
export function policyVariant(root: string, name: string, id: string, numbers: { klMean: number; retention: number }, edit: (ev: Json) => void = () => {}): string {
  const dir = join(root, name);
  cpSync(DEMO_POLICY, dir, { recursive: true });
  const ev = readJsonFile(join(dir, "eval.json"));
  ev.checkpoint_id = id;
  ev.kl.mean_token_kl = numbers.klMean;
  ev.base.retention = numbers.retention;
  edit(ev);
  writeFileSync(join(dir, "eval.json"), `${JSON.stringify(ev, null, 2)}\n`);
  rehash(dir, id);
  return dir;
}

/** A copy of the demo policy with one byte of the weights flipped and the manifest left as it was. */
export function tamperedCopy(root: string): string {
  const dir = join(root, "tampered");
  cpSync(DEMO_POLICY, dir, { recursive: true });
  const weights = readFileSync(join(dir, "model.safetensors"));
  weights[weights.length - 3]! ^= 0x01;
  writeFileSync(join(dir, "model.safetensors"), weights);
  return dir;
}

/** A consistent checkpoint (manifest re-hashed) whose tokenizer.json differs from the reference's by one byte. */
export function otherTokenizerCopy(root: string): string {
  const dir = join(root, "other-tokenizer");
  cpSync(DEMO_POLICY, dir, { recursive: true });
  writeFileSync(join(dir, "tokenizer.json"), `${readFileSync(join(dir, "tokenizer.json"), "utf8")} `);
  rehash(dir, "policy-other-tokenizer");
  return dir;
}

/** The demo pair served by a real app with a registry on in-memory PGlite; root = checkpoint root. `wrapLoader` may wrap the checkpoint loader. */
export async function promotionApp(root: string, config: GatewayConfigInput = {}, wrapLoader: (loader: CheckpointLoader) => CheckpointLoader = (l) => l) {
  cpSync(DEMO_POLICY, join(root, "policy"), { recursive: true });
  cpSync(DEMO_REFERENCE, join(root, "reference"), { recursive: true });
  const policy = await OrtNodeEngine.load(join(root, "policy"), { intraOpNumThreads: 1 });
  const reference = await OrtNodeEngine.load(join(root, "reference"), { intraOpNumThreads: 1 });
  const handle: DbHandle = await createDb("memory://");
  await migrate(handle);
  const rows = [policy, reference].map(({ checkpoint: c }) => ({ id: c.manifest.id, kind: c.manifest.kind, path: c.dir, manifest: c.manifest, eval: c.evalReport, referenceId: c.manifest.reference_id }));
  await handle.db.insert(checkpoints).values(rows.map((r, i) => ({ ...r, status: i === 0 ? ("active" as const) : ("registered" as const) })));
  const store = new MemoryDriftStore();
  const errors: unknown[] = [];
  const app = createApp({
    policy,
    reference,
    store,
    db: handle.db,
    config: loadGatewayConfig({ drift_guard: { allow_disable: true }, admin_token: "bootstrap-token-0123456789", ...config }, {}),
    evalReport: policy.checkpoint.evalReport,
    sketch: reference.checkpoint.sketch,
    logError: (_m, e) => void errors.push(e),
    checkpoints: {
      loader: wrapLoader(nodeCheckpointLoader(root, { intraOpNumThreads: 1 })),
      reference: { id: reference.info.id, tokenizerSha256: tokenizerSha256(reference.checkpoint.manifest), sketch: reference.checkpoint.sketch },
    },
  });
  const close = async () => {
    await app.context.serving.close();
    await Promise.all([policy.dispose(), reference.dispose()]);
    await handle.close();
  };
  return { app, store, handle, errors, policy, reference, close };
}
