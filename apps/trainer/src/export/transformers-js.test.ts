// The exported checkpoint folder loads in transformers.js offline (SPEC: "must load in transformers.js as a
// Qwen2ForCausalLM"), and its greedy generate gives the tokens of our own KV-cache loop on onnxruntime-node
// and of the trainer's tfjs generate (no ONNX at all).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { AutoModelForCausalLM, AutoTokenizer, env, Tensor } from "@huggingface/transformers";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initBackend } from "../backend";
import { exportCheckpoint } from "../commands/export";
import { generate } from "../model/generate";
import { disposeParams, type Params } from "../model/params";
import type { Tokenizer } from "../tokenizer/tokenizer";
import { createSession, greedyDecode } from "./ort-decode";
import { randomModel, tinyConfig, writeTinyCheckpoint } from "../../../../test/support/checkpoint-fixtures";

const NEW_TOKENS = 12;
const STOP_IDS = [0, 2]; // generation_config.json of the character tokenizer: <|endoftext|>, <|im_end|>

describe("transformers.js loads the export offline", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-tfjs-"));
  // Untied head: with a tied one, random weights mostly echo the last token (its embedding dominates x).
  const c = { ...tinyConfig(), tieWordEmbeddings: false };
  let params: Params;
  let tok: Tokenizer;
  beforeAll(async () => {
    await initBackend();
    params = randomModel(c, 21).params;
    for (const variant of ["standard", "fused"] as const) {
      tok = writeTinyCheckpoint(join(root, variant), c, params).tok;
      await exportCheckpoint(parseTrainerConfig({ command: "export", input: join(root, variant), onnxVariant: variant }), () => {});
    }
    env.allowRemoteModels = false;
    env.allowLocalModels = true;
    env.localModelPath = root;
  });
  afterAll(() => {
    disposeParams(params);
    rmSync(root, { recursive: true, force: true });
  });

  for (const variant of ["standard", "fused"] as const) {
    it(`${variant}: AutoModelForCausalLM greedy generate = our ORT KV-cache loop = tfjs generate`, async () => {
      const model = await AutoModelForCausalLM.from_pretrained(variant, { dtype: "fp32" });
      const tokenizer = await AutoTokenizer.from_pretrained(variant);
      expect(model.constructor.name).toBe("Qwen2ForCausalLM");
      const prompts = ["12+7=", "40-13=", "Hello"];
      for (const text of prompts) {
        const prompt = tok.encode(text);
        expect(Array.from(tokenizer.encode(text, { add_special_tokens: false }))).toEqual(prompt);
        const ids = new Tensor("int64", BigInt64Array.from(prompt, (v) => BigInt(v)), [1, prompt.length]);
        const mask = new Tensor("int64", new BigInt64Array(prompt.length).fill(1n), [1, prompt.length]);
        const out = (await model.generate({ input_ids: ids, attention_mask: mask, max_new_tokens: NEW_TOKENS, do_sample: false })) as Tensor;
        const hf = Array.from(out.data as BigInt64Array, Number).slice(prompt.length);

        const session = await createSession(join(root, variant, "onnx", "model.onnx"));
        const ours = await greedyDecode(session, c, prompt, NEW_TOKENS, STOP_IDS);
        await session.release();
        const trainer = generate(params, c, [prompt], { temperature: 0, maxNewTokens: NEW_TOKENS, seed: 0, stopIds: STOP_IDS, padId: 0 });

        expect(hf, text).toEqual(ours);
        expect(ours.filter((t) => !STOP_IDS.includes(t)), text).toEqual(trainer.completions[0]);
        expect(new Set(ours).size, text).toBeGreaterThan(2); // a varied continuation, not one repeated token
      }
      await model.dispose();
    });
  }
});
