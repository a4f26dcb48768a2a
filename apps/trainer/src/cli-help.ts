// Help text of tether-train and the list of accepted flags (derived from the shared config schema).
import { TRAINER_FLAG_KEYS, type TrainerCommand } from "@tether/shared/schemas/trainer-config";

/** Every accepted --flag, kebab-case. */
export const FLAG_NAMES: readonly string[] = TRAINER_FLAG_KEYS.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`));

const COMMON = `common flags:
  --preset tiny|demo|small|<config.json>   model shape (tiny ≈ 100k params, demo: d=128, 3 layers, small: d=256, 4 layers)
  --steps N  --batch N  --lr X  --seed N  --out <dir>  --warmup-steps N  --grad-clip X  --weight-decay X
  --backend auto|node-gpu|node|wasm|cpu  (auto: tfjs-node-gpu, else tfjs-node, else wasm, else cpu)
  --workers N|auto  data-parallel replicas on worker threads for pretrain, sft and grpo (default 1; auto = physical cores)
  --eval-every N  --eval-samples N  --freeze "0:0,1:0.1,*:1"  (per-layer update scales α_l)
  --fingerprint-at N  (log the weights' sha256 after step N to metrics.jsonl, to check a rerun of the prefix)`;

export const COMMAND_HELP: Record<TrainerCommand, string> = {
  pretrain: `tether-train pretrain [flags]
  Train a reference model from scratch on the bundled arithmetic corpus (or --data <file.jsonl> with
  {"prompt","completion"} lines). Writes a reference checkpoint to --out (default runs/pretrain-<preset>-s<seed>).
${COMMON}`,
  sft: `tether-train sft --reference <ckpt> [flags]
  Supervised fine-tuning: cross-entropy + β·KL to the reference. --kl forward|reverse|mixed (--kl-mix λ),
  --beta X, --beta-controller fixed|target|ratio, --kl-on task|replay|both.
  Without --data: the bundled products; --task-max-left N (default 99) and --task-left-digits uniform|balanced
  widen the training problems (balanced: each left-operand length equally likely), --task-examples N (default
  10000) draws more of them; held-out stays 0–99 × one digit.
${COMMON}`,
  grpo: `tether-train grpo --reference <ckpt> [flags]
  Group-relative policy optimisation with a verifiable reward: --group-size G, --clip-eps ε,
  --kl-estimator k1|k2|k3, --kl-in loss|reward, --beta X, --beta-controller fixed|target|ratio.
${COMMON}`,
  sweep: `tether-train sweep --reference <ckpt> --beta 0,0.1,0.5 --kl-on task,replay [flags]
  One training per (β, kl-on); writes report/ with metrics.jsonl per run, PNG plots and report.md.
  --sweep-command sft|grpo; with grpo, --kl-variants k3:loss,k1:reward adds an estimator:placement axis.
  --resume reads finished runs (eval.json) back and rewrites the report.
${COMMON}`,
  export: `tether-train export <ckpt> [--onnx-variant auto|standard|fused] [--quantize none|int8|int4] [--reference <ckpt>] [--seed N]
  Writes <ckpt>/onnx/model.onnx: the decoder with KV cache under Optimum's I/O names (input_ids,
  attention_mask, position_ids, past_key_values.{i}.key|value → logits, present.{i}.key|value) plus
  sketch.{l} outputs, then <ckpt>/sketch.json from 256 held-out base-corpus requests (--seed picks them),
  onnx/export.json (variant, opsets, parity and timings) and a rehashed manifest.json. When <ckpt> has
  eval.json, its sketch section: the held-out prompts decoded by the new model and scored as the gateway
  does (in --reference's sketch.json, else its own), the base of the gateway's default sketch alert.
  --onnx-variant standard: ai.onnx opset 17 only (any runtime, left padding); fused: ONNX Runtime's
  com.microsoft GroupQueryAttention + SkipSimplifiedLayerNormalization (no left padding, head_dim % 16 = 0);
  auto (default): both checked against the float64 forward pass and timed, the faster one kept.
  --reference <ckpt>: reuse that checkpoint's sketch spec (same projections) and rank eval.json's sketch
  percentiles in its sketch.json, when it has one.
  --data <file.jsonl>: {"prompt","completion"} calibration requests for sketch.json (first 256; use text
  like the traffic you will serve), or bundled:<task>/<split>[,…] (e.g.
  bundled:arithmetic/train,multiplication/train); default: bundled:arithmetic/heldout.`,
  "import-hf": `tether-train import-hf <dir> --out <ckpt>
  A local Hugging Face Qwen2 folder (Qwen2ForCausalLM: config.json, model.safetensors or sharded
  model-0000i-of-0000N.safetensors + model.safetensors.index.json in bf16/fp16/fp32, tokenizer.json,
  tokenizer_config.json, optional generation_config.json) into a float32 reference checkpoint for
  sft/grpo --reference and export. --out must be new or empty (default runs/import-hf-<dir name>).
  Refused with one line: other architectures, rope_scaling, sliding-window attention, missing, extra or
  mis-shaped tensors, other dtypes, a tied LM head that differs from the embedding.`,
};

export function usage(): string {
  return `tether-train <command> [flags]

commands:
  pretrain   train a reference from scratch
  sft        KL-regularised supervised fine-tuning
  grpo       KL-regularised group-relative policy optimisation
  sweep      β × kl-on sweep with a report
  export     ONNX + sketch statistics
  import-hf  Hugging Face Qwen2 folder → checkpoint

\`tether-train <command> --help\` lists a command's flags.`;
}
