// Qwen2 parameters under Hugging Face tensor names, their shapes, and seeded initialisation.
import * as tf from "@tensorflow/tfjs";
import { Pcg32 } from "@tether/shared/sampling/prng";
import type { ModelConfig } from "./config";

/** Trainable tensors keyed by Hugging Face Qwen2 name (Linear weights in [out, in] layout). */
export type Params = Map<string, tf.Variable>;

export type ParamKind = "embedding" | "linear" | "bias" | "norm";

export interface ParamSpec {
  name: string;
  shape: number[];
  kind: ParamKind;
  /** Decoder block index, or −1 for embedding, final norm and head. */
  layer: number;
}

/**
 * Every parameter of the architecture in Hugging Face order.
 * @example parameterSpecs(cfg).find((p) => p.name === "model.norm.weight")!.shape // [d]
 */
export function parameterSpecs(c: ModelConfig): ParamSpec[] {
  const d = c.hiddenSize;
  const q = c.numHeads * c.headDim;
  const kv = c.numKvHeads * c.headDim;
  const specs: ParamSpec[] = [{ name: "model.embed_tokens.weight", shape: [c.vocabSize, d], kind: "embedding", layer: -1 }];
  for (let l = 0; l < c.numLayers; l++) {
    const p = `model.layers.${l}.`;
    specs.push(
      { name: `${p}input_layernorm.weight`, shape: [d], kind: "norm", layer: l },
      { name: `${p}self_attn.q_proj.weight`, shape: [q, d], kind: "linear", layer: l },
      { name: `${p}self_attn.q_proj.bias`, shape: [q], kind: "bias", layer: l },
      { name: `${p}self_attn.k_proj.weight`, shape: [kv, d], kind: "linear", layer: l },
      { name: `${p}self_attn.k_proj.bias`, shape: [kv], kind: "bias", layer: l },
      { name: `${p}self_attn.v_proj.weight`, shape: [kv, d], kind: "linear", layer: l },
      { name: `${p}self_attn.v_proj.bias`, shape: [kv], kind: "bias", layer: l },
      { name: `${p}self_attn.o_proj.weight`, shape: [d, q], kind: "linear", layer: l },
      { name: `${p}post_attention_layernorm.weight`, shape: [d], kind: "norm", layer: l },
      { name: `${p}mlp.gate_proj.weight`, shape: [c.intermediateSize, d], kind: "linear", layer: l },
      { name: `${p}mlp.up_proj.weight`, shape: [c.intermediateSize, d], kind: "linear", layer: l },
      { name: `${p}mlp.down_proj.weight`, shape: [d, c.intermediateSize], kind: "linear", layer: l },
    );
  }
  specs.push({ name: "model.norm.weight", shape: [d], kind: "norm", layer: -1 });
  if (!c.tieWordEmbeddings) specs.push({ name: "lm_head.weight", shape: [c.vocabSize, d], kind: "linear", layer: -1 });
  return specs;
}

/**
 * Seeded initialisation (GPT-2/Qwen2 style): weights ~ N(0, 0.02²), output projections (o_proj, down_proj)
 * scaled by 1/√(2L) as in GPT-2, biases 0, norm gains 1. Normals come from PCG32 + Box–Muller in JS,
 * so the same seed gives the same weights on every backend.
 * @example const params = initParams(cfg, 42);
 */
export function initParams(c: ModelConfig, seed: number): Params {
  const rng = new Pcg32(seed, 0x5eed);
  const params: Params = new Map();
  for (const spec of parameterSpecs(c)) {
    const size = spec.shape.reduce((a, b) => a * b, 1);
    const values = new Float32Array(size);
    if (spec.kind === "norm") values.fill(1);
    if (spec.kind === "embedding" || spec.kind === "linear") {
      const residualOut = /(o_proj|down_proj)\.weight$/.test(spec.name);
      const std = 0.02 / (residualOut ? Math.sqrt(2 * c.numLayers) : 1);
      for (let i = 0; i < size; i += 2) {
        const r = Math.sqrt(-2 * Math.log(1 - rng.nextFloat()));
        const theta = 2 * Math.PI * rng.nextFloat();
        values[i] = std * r * Math.cos(theta);
        if (i + 1 < size) values[i + 1] = std * r * Math.sin(theta);
      }
    }
    // Unnamed: tfjs variable names are global, and a policy and its reference coexist in one process.
    params.set(spec.name, tf.variable(tf.tensor(values, spec.shape), true));
  }
  return params;
}

/** Total number of scalar parameters. */
export function countParams(c: ModelConfig): number {
  return parameterSpecs(c).reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}

/** Release every variable (pairs with initParams / loadParams). */
export function disposeParams(params: Params): void {
  for (const v of params.values()) v.dispose();
  params.clear();
}
