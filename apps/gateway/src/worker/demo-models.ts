// The demo pair (models/demo) bundled into the Worker: wrangler.toml's [[rules]] import these files as Data
// (an ArrayBuffer, byte for byte), so their manifest hashes are checked as in a directory. Only what serving
// reads is bundled: the ONNX graph and the small JSON files. model.safetensors (the trainer's weights, the same
// numbers as the graph's initializers) and metrics.jsonl (the training log) are listed in NOT_BUNDLED instead:
// with them the two 0.6M-parameter checkpoints took the script over Workers' 10 MiB gzip limit.
// Larger checkpoints come from R2 (engine/checkpoint-r2.ts), whole.
import policyConfig from "../../../../models/demo/policy/config.json";
import policyEval from "../../../../models/demo/policy/eval.json";
import policyGeneration from "../../../../models/demo/policy/generation_config.json";
import policyManifest from "../../../../models/demo/policy/manifest.json";
import policyExport from "../../../../models/demo/policy/onnx/export.json";
import policyOnnx from "../../../../models/demo/policy/onnx/model.onnx";
import policySketch from "../../../../models/demo/policy/sketch.json";
import policyTokenizer from "../../../../models/demo/policy/tokenizer.json";
import policyTokenizerConfig from "../../../../models/demo/policy/tokenizer_config.json";
import referenceConfig from "../../../../models/demo/reference/config.json";
import referenceGeneration from "../../../../models/demo/reference/generation_config.json";
import referenceManifest from "../../../../models/demo/reference/manifest.json";
import referenceExport from "../../../../models/demo/reference/onnx/export.json";
import referenceOnnx from "../../../../models/demo/reference/onnx/model.onnx";
import referenceSketch from "../../../../models/demo/reference/sketch.json";
import referenceTokenizer from "../../../../models/demo/reference/tokenizer.json";
import referenceTokenizerConfig from "../../../../models/demo/reference/tokenizer_config.json";

/**
 * Files a demo checkpoint's manifest lists that the Worker leaves out of the bundle: serving never reads them.
 * BundledCheckpointReader verifies every bundled file and accepts only these names as absent.
 */
export const NOT_BUNDLED: readonly string[] = ["model.safetensors", "metrics.jsonl"];

/** Bundled checkpoint → its files. TypeScript types the .json imports as parsed JSON; under the Data rule they are bytes. */
type Files = Record<string, ArrayBuffer>;
const bytes = (files: Record<string, unknown>) => files as Files;

export const BUNDLED_CHECKPOINTS: Record<string, Files> = {
  "models/demo/policy": bytes({
    "config.json": policyConfig,
    "eval.json": policyEval,
    "generation_config.json": policyGeneration,
    "manifest.json": policyManifest,
    "onnx/export.json": policyExport,
    "onnx/model.onnx": policyOnnx,
    "sketch.json": policySketch,
    "tokenizer.json": policyTokenizer,
    "tokenizer_config.json": policyTokenizerConfig,
  }),
  "models/demo/reference": bytes({
    "config.json": referenceConfig,
    "generation_config.json": referenceGeneration,
    "manifest.json": referenceManifest,
    "onnx/export.json": referenceExport,
    "onnx/model.onnx": referenceOnnx,
    "sketch.json": referenceSketch,
    "tokenizer.json": referenceTokenizer,
    "tokenizer_config.json": referenceTokenizerConfig,
  }),
};
