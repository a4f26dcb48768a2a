// `tether-train import-hf <dir> --out <ckpt>`: a local Hugging Face Qwen2 folder (safetensors in bf16, fp16
// or fp32, one file or sharded) becomes a float32 reference checkpoint that sft/grpo can anchor to and
// export can turn into ONNX. The manifest's training lineage records the source folder, its storage
// dtype and the sha256 of every weight file read.
import { existsSync, readdirSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import * as tf from "@tensorflow/tfjs";
import type { Manifest } from "@tether/shared/schemas/manifest";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { initBackend } from "../backend";
import { saveCheckpoint } from "../checkpoint/save-load";
import { importHfFolder, type ImportedModel } from "../import-hf/import";
import { disposeParams, parameterSpecs, type Params } from "../model/params";

export interface ImportHfResult {
  dir: string;
  manifest: Manifest;
}

// The output folder must be new or empty: saveCheckpoint hashes everything in it into the manifest.
function checkOut(source: string, out: string): void {
  if (resolve(out) === resolve(source)) throw new Error(`--out: must differ from the source folder ${source}`);
  if (existsSync(out) && readdirSync(out).length > 0) throw new Error(`--out: ${out} already exists and is not empty`);
}

// Variables over the imported arrays, emptying the map as it goes: on the cpu backend a tensor keeps the
// Float32Array it is given (no copy), on others the JS array can be collected once copied.
function toParams(model: ImportedModel): Params {
  const params: Params = new Map();
  for (const spec of parameterSpecs(model.config)) {
    const values = model.weights.get(spec.name)!;
    model.weights.delete(spec.name);
    const t = tf.tensor(values, spec.shape);
    params.set(spec.name, tf.variable(t, false));
    t.dispose();
  }
  return params;
}

/**
 * @example await importHf(parseTrainerConfig({ command: "import-hf", input: "Qwen2.5-0.5B-Instruct", out: "models/qwen-ref" }))
 */
export async function importHf(cfg: TrainerConfig, log: (line: string) => void = console.error): Promise<ImportHfResult> {
  const started = Date.now();
  const source = cfg.input!; // the config schema requires <dir> for import-hf
  const dir = cfg.out ?? join("runs", `import-hf-${basename(resolve(source))}`);
  checkOut(source, dir);
  const model = importHfFolder(source, log);
  // No compute here, so --backend is not consulted: the pure-JS cpu backend holds the weights in JS memory
  // as they are (wasm would copy them into a heap capped at 4 GiB).
  log(`tether-train: backend ${await initBackend("cpu")}`);
  const params = toParams(model);
  try {
    const manifest = saveCheckpoint({
      dir,
      kind: "reference",
      config: model.config,
      params,
      files: model.files,
      training: {
        command: "import-hf",
        config: { ...cfg, import: { source: model.source.name, dtype: model.source.dtypes.join("+"), sha256: model.source.files } },
        seed: cfg.seed,
        backend: "none",
        steps: 0,
        duration_s: (Date.now() - started) / 1000,
        source: model.source.name,
        metrics: {},
      },
      name: `${model.source.name} (imported from Hugging Face, ${model.source.dtypes.join("+")})`,
    });
    log(`tether-train: saved ${manifest.id} to ${dir}`);
    return { dir, manifest };
  } finally {
    disposeParams(params);
  }
}
