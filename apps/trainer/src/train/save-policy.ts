// Saving a fine-tuned policy (sft, grpo): the checkpoint with lineage, the reference's tokenizer files
// and eval.json naming the new checkpoint's content-addressed id.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Manifest } from "@tether/shared/schemas/manifest";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { saveCheckpoint, type LoadedCheckpoint } from "../checkpoint/save-load";
import { BASE_DATASET, NEW_TASK_DATASET } from "../data/bundled";
import { buildEvalReport } from "./eval-report";
import type { PolicyEval } from "./policy-eval";

export interface SavePolicyOptions {
  cfg: TrainerConfig;
  command: "sft" | "grpo";
  dir: string;
  reference: LoadedCheckpoint;
  policy: LoadedCheckpoint;
  backend: string;
  tokens: number;
  started: number;
  last: Record<string, number>;
  result: PolicyEval;
  evalMaxTokens: number;
}

/** @example savePolicy({ cfg, command: "sft", dir, reference, policy, backend, tokens, started, last, result, evalMaxTokens: 8 }) */
export function savePolicy(o: SavePolicyOptions): Manifest {
  const copy = (name: string) => readFileSync(join(o.reference.dir, name), "utf8");
  return saveCheckpoint({
    dir: o.dir,
    kind: "policy",
    config: o.policy.config,
    params: o.policy.params,
    files: {
      "tokenizer.json": copy("tokenizer.json"),
      "tokenizer_config.json": copy("tokenizer_config.json"),
      "generation_config.json": copy("generation_config.json"),
    },
    training: {
      command: o.command,
      config: { ...o.cfg },
      seed: o.cfg.seed,
      backend: o.backend,
      steps: o.cfg.steps,
      tokens: o.tokens,
      duration_s: (Date.now() - o.started) / 1000,
      metrics: { ...o.last, heldout_kl: o.result.meanTokenKl, task_accuracy: o.result.taskAccuracy, base_accuracy: o.result.baseAccuracy },
    },
    parentId: o.policy.manifest.id,
    referenceId: o.reference.manifest.id,
    name: `${o.command} policy (β = ${o.cfg.beta}, kl-on ${o.cfg.klOn})`,
    filesNamingId: (id) => {
      const report = buildEvalReport({
        checkpointId: id,
        referenceId: o.reference.manifest.id,
        backend: `tfjs-${o.backend}`,
        source: `bundled:${NEW_TASK_DATASET}/heldout`, // what fine-tune-run.ts evaluates on, whatever --data trained on
        seed: o.cfg.seed,
        maxTokens: o.evalMaxTokens,
        taskName: NEW_TASK_DATASET,
        baseName: BASE_DATASET,
        baseSamples: o.cfg.evalSamples,
        result: o.result,
      });
      return { "eval.json": `${JSON.stringify(report, null, 2)}\n` };
    },
  });
}
