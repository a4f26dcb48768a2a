// config.json of a Hugging Face folder → ModelConfig. Settings Tether's Qwen2 forward pass does not
// implement (scaled RoPE, sliding-window attention, other architectures) are refused by name rather than
// imported into a model that would silently compute something else.
import { join } from "node:path";
import { hfQwen2Config } from "@tether/shared/schemas/hf-config";
import { issueLines } from "@tether/shared/schemas/common";
import { fromHfConfig, type ModelConfig } from "../model/config";
import { readJsonObject } from "./folder";

/** The one architecture import-hf reads, as said in every refusal. */
export const SUPPORTED = "import-hf supports qwen2 (Qwen2ForCausalLM)";

// {"rope_type": "default"} (or the older {"type": "default"}) is how transformers spells "no scaling".
function isPlainRope(value: unknown): boolean {
  if (value === null || value === undefined) return true;
  const v = value as { rope_type?: unknown; type?: unknown };
  return typeof value === "object" && (v.rope_type ?? v.type) === "default";
}

/** One line per setting the model code does not implement (empty when all is supported). */
export function unsupportedSettings(hf: Record<string, unknown>): string[] {
  const problems: string[] = [];
  // 1) RoPE: the model rotates by pos·θ^(−2i/D) exactly; yarn, linear, dynamic, longrope, llama3… rescale it.
  for (const key of ["rope_scaling", "rope_parameters"]) {
    if (!isPlainRope(hf[key])) {
      problems.push(`${key} ${JSON.stringify(hf[key])} is not supported: Tether's Qwen2 implements plain RoPE (rope_scaling null)`);
    }
  }
  // 2) Attention: full causal attention in every layer; Qwen2's sliding window changes which keys a query sees.
  if (hf.use_sliding_window === true) {
    problems.push(`use_sliding_window true (sliding_window ${JSON.stringify(hf.sliding_window ?? null)}) is not supported: Tether's Qwen2 uses full attention in every layer`);
  }
  if (Array.isArray(hf.layer_types)) {
    const other = [...new Set(hf.layer_types.filter((t) => t !== "full_attention"))];
    if (other.length) problems.push(`layer_types ${other.map((t) => JSON.stringify(t)).join(", ")} is not supported: Tether's Qwen2 uses "full_attention" in every layer`);
  }
  return problems;
}

/**
 * Reads and checks `<dir>/config.json`; throws one line naming the file and each problem.
 * @example readModelConfig("Qwen2.5-0.5B").hiddenSize // 896
 */
export function readModelConfig(dir: string): ModelConfig {
  const path = join(dir, "config.json");
  const hf = readJsonObject(dir, "config.json");
  // 1) the architecture, before anything else: a llama config would fail later checks for the wrong reason
  if (hf.model_type !== "qwen2") throw new Error(`${path}: model_type ${String(hf.model_type ?? "(missing)")} is not supported: ${SUPPORTED}`);
  const archs = hf.architectures;
  if (Array.isArray(archs) && !archs.includes("Qwen2ForCausalLM")) {
    throw new Error(`${path}: architectures ${archs.join(", ")} is not supported: ${SUPPORTED}`);
  }
  // 2) settings the forward pass does not implement
  const unsupported = unsupportedSettings(hf);
  if (unsupported.length) throw new Error(`${path}: ${unsupported.join("; ")}`);
  // 3) the schema (shapes, ranges); transformers ≥ 5 moves rope_theta into rope_parameters
  const ropeParameters = hf.rope_parameters as { rope_theta?: unknown } | null | undefined;
  const normalized = { ...hf, rope_theta: hf.rope_theta ?? ropeParameters?.rope_theta ?? 10000 };
  const parsed = hfQwen2Config.safeParse(normalized);
  if (!parsed.success) throw new Error(`${path}: ${issueLines(parsed.error).join("; ")}`);
  try {
    return fromHfConfig(parsed.data as Record<string, unknown>);
  } catch (e) {
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}
