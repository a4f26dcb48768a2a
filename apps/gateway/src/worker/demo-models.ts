// The demo pair (models/demo) bundled into the Worker: wrangler.toml's [[rules]] import every file under
// models/demo as Data (an ArrayBuffer, byte for byte), so manifest hashes can be checked as in a directory.
// Larger checkpoints come from R2 (engine/checkpoint-r2.ts); these two cost ~2.2 MB of the script size.
import policyConfig from "../../../../models/demo/policy/config.json";
import policyEval from "../../../../models/demo/policy/eval.json";
import policyGeneration from "../../../../models/demo/policy/generation_config.json";
import policyManifest from "../../../../models/demo/policy/manifest.json";
import policyMetrics from "../../../../models/demo/policy/metrics.jsonl";
import policyWeights from "../../../../models/demo/policy/model.safetensors";
import policyExport from "../../../../models/demo/policy/onnx/export.json";
import policyOnnx from "../../../../models/demo/policy/onnx/model.onnx";
import policySketch from "../../../../models/demo/policy/sketch.json";
import policyTokenizer from "../../../../models/demo/policy/tokenizer.json";
import policyTokenizerConfig from "../../../../models/demo/policy/tokenizer_config.json";
import referenceConfig from "../../../../models/demo/reference/config.json";
import referenceGeneration from "../../../../models/demo/reference/generation_config.json";
import referenceManifest from "../../../../models/demo/reference/manifest.json";
import referenceMetrics from "../../../../models/demo/reference/metrics.jsonl";
import referenceWeights from "../../../../models/demo/reference/model.safetensors";
import referenceExport from "../../../../models/demo/reference/onnx/export.json";
import referenceOnnx from "../../../../models/demo/reference/onnx/model.onnx";
import referenceSketch from "../../../../models/demo/reference/sketch.json";
import referenceTokenizer from "../../../../models/demo/reference/tokenizer.json";
import referenceTokenizerConfig from "../../../../models/demo/reference/tokenizer_config.json";

/** Bundled checkpoint → its files. TypeScript types the .json imports as parsed JSON; under the Data rule they are bytes. */
type Files = Record<string, ArrayBuffer>;
const bytes = (files: Record<string, unknown>) => files as Files;

export const BUNDLED_CHECKPOINTS: Record<string, Files> = {
  "models/demo/policy": bytes({
    "config.json": policyConfig,
    "eval.json": policyEval,
    "generation_config.json": policyGeneration,
    "manifest.json": policyManifest,
    "metrics.jsonl": policyMetrics,
    "model.safetensors": policyWeights,
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
    "metrics.jsonl": referenceMetrics,
    "model.safetensors": referenceWeights,
    "onnx/export.json": referenceExport,
    "onnx/model.onnx": referenceOnnx,
    "sketch.json": referenceSketch,
    "tokenizer.json": referenceTokenizer,
    "tokenizer_config.json": referenceTokenizerConfig,
  }),
};
