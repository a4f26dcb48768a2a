// A policy checkpoint the gateway can serve: its engine, eval.json and sketch, the checks that it pairs with
// the frozen reference, and the request context derived from it (guard defaults, chat template, sketch).
import { driftGuardDefaults } from "@tether/shared/schemas/drift-guard";
import type { EvalReport } from "@tether/shared/schemas/eval";
import type { SketchReference } from "@tether/shared/sketch/reference";
import { ChatTemplate } from "../chat/template";
import type { GatewayContext } from "../context";
import type { InferenceEngine, ModelInfo } from "../engine/engine";

export type Arm = "active" | "canary";

export interface ServedPolicy {
  id: string; // registry id = engine.info.id (what the drift log and x-tether-checkpoint name)
  engine: InferenceEngine;
  evalReport: EvalReport | null; // the guard's default max_kl is a percentile of it
  sketch: SketchReference | null; // calibration its activations are scored against (the reference's when it has one)
}

/**
 * Why a policy cannot be served against a reference; [] when it can. One implementation for startup
 * (createContext) and registration (POST /admin/checkpoints).
 * @example pairProblems(policy.info, reference.info, sketch) // ["reference: vocabulary size 50 differs …"]
 */
export function pairProblems(policy: ModelInfo, reference: ModelInfo, sketch: SketchReference | null): string[] {
  const problems: string[] = [];
  if (policy.vocabSize !== reference.vocabSize) {
    problems.push(`reference: vocabulary size ${reference.vocabSize} differs from the policy's ${policy.vocabSize} (KL needs one vocabulary)`);
  }
  // The reference scores prompt + completion of every policy answer: it must see at least as far.
  if (reference.contextWindow < policy.contextWindow) {
    problems.push(`reference: context window ${reference.contextWindow} is shorter than the policy's ${policy.contextWindow} (it scores every policy answer)`);
  }
  const layers = policy.sketchLayers;
  if (sketch && layers.length > 0 && layers.join() !== sketch.spec.layers.join()) {
    problems.push(`sketch: the policy emits layers [${layers.join(", ")}] but sketch.json monitors [${sketch.spec.layers.join(", ")}]`);
  }
  return problems;
}

/**
 * The context a request served by `policy` runs with: the app's context with the policy's engine and
 * everything derived from it. Throws ConfigError when the guard has no max_kl (no eval.json, none configured).
 */
export function servedContext(base: GatewayContext, policy: ServedPolicy): GatewayContext {
  const info = policy.engine.info;
  return {
    ...base,
    policy: policy.engine,
    sketch: policy.sketch,
    evalReport: policy.evalReport,
    guardDefaults: driftGuardDefaults(base.config.drift_guard, policy.evalReport),
    chatTemplate: info.chatTemplate ? new ChatTemplate(info.chatTemplate, { bos_token: info.bosToken, eos_token: info.eosToken }) : null,
  };
}

/** The engine under another id (a registry id that differs from the manifest id); everything else delegates. */
export function withId(engine: InferenceEngine, id: string): InferenceEngine {
  if (engine.info.id === id) return engine;
  return {
    info: { ...engine.info, id },
    tokenizer: engine.tokenizer,
    startDecode: (prompt, batchSize, options) => engine.startDecode(prompt, batchSize, options),
    score: (prompt, completions, options) => engine.score(prompt, completions, options),
    dispose: () => engine.dispose(),
  };
}
