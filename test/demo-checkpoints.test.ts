// The committed demo pair (models/demo): every file matches its manifest hash, computed here with node:crypto
// rather than the trainer's own verifier; each checkpoint's training record is `npm run train:demo`'s recipe;
// and the recipe, rerun with the same seed on the same backend, goes through the committed runs' weights.
//
// The whole recipe takes longer than CI allows, so the rerun is its prefix: both runs warm up for exactly
// DEMO_RECIPE.fingerprintAt steps and log the weights' sha256 after them (metrics.jsonl, hashed into the
// manifest). Warmup learning rates do not depend on the run's length, so a run of just those steps takes the
// same steps: its saved model.safetensors must hash to the committed runs' fingerprints, and its per-step
// losses must equal theirs. The policy's prefix starts from the committed reference (the full recipe starts
// it from the reference it just made, which the fingerprint ties to the same seeded run).
// TETHER_DEMO_FULL=1 reruns the whole recipe instead and compares the final model.safetensors bytes.
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TrainerConfig } from "@tether/shared/schemas/trainer-config";
import { pretrain } from "../apps/trainer/src/commands/pretrain";
import { sft } from "../apps/trainer/src/commands/sft";
import { DEMO_RECIPE, policyConfig, referenceConfig, trainDemo } from "../apps/trainer/src/demo/train-demo";
import { learningRate } from "../apps/trainer/src/train/schedule";

const DEMO = join(import.meta.dirname, "..", "models", "demo");
const sha256 = (path: string) => createHash("sha256").update(readFileSync(path)).digest("hex");
type Manifest = { id: string; reference_id: string | null; files: Record<string, { sha256: string; bytes: number }>; training: { config: Record<string, unknown>; steps: number } };
const manifestOf = (dir: string) => JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as Manifest;
type Line = { step: number; loss?: number; grad_norm?: number; weights_sha256?: string };
const metricsOf = (dir: string) => readFileSync(join(dir, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line);

/** The per-step losses and grad norms of steps 1..n, in order (eval and fingerprint lines dropped). */
const stepLines = (lines: Line[], n: number) => lines.filter((l) => l.loss !== undefined && l.step <= n).map(({ step, loss, grad_norm }) => ({ step, loss, grad_norm }));

/** The recipe's config as the trainer records it (JSON round trip: undefined fields dropped), minus the output folder. */
const recorded = (cfg: TrainerConfig) => {
  const { out: _out, reference: _ref, ...rest } = JSON.parse(JSON.stringify(cfg)) as Record<string, unknown>;
  return rest;
};

describe("models/demo", () => {
  const scratch = mkdtempSync(join(tmpdir(), "tether-demo-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));
  const reference = join(DEMO, "reference");
  const policy = join(DEMO, "policy");

  it.each(["reference", "policy"])("%s: every file is listed in manifest.json with its sha256 and size", (name) => {
    const dir = join(DEMO, name);
    const { files } = manifestOf(dir);
    // eval.json (held-out KL to the reference, task accuracy, retention) exists for policies only
    const required = ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "generation_config.json", "sketch.json", "onnx/model.onnx", "metrics.jsonl"];
    for (const file of name === "policy" ? [...required, "eval.json"] : required) {
      expect(files[file], `${name}/${file}`).toBeDefined();
    }
    for (const [path, { sha256: expected, bytes }] of Object.entries(files)) {
      const buffer = readFileSync(join(dir, path));
      expect(buffer.length, path).toBe(bytes);
      expect(sha256(join(dir, path)), path).toBe(expected);
    }
  });

  it("the policy is anchored to the committed reference", () => {
    expect(manifestOf(policy).reference_id).toBe(manifestOf(reference).id);
  });

  it("each checkpoint was trained with DEMO_RECIPE's config, the fingerprint step inside its warmup", () => {
    const { out: _o, reference: _r, ...ref } = manifestOf(reference).training.config;
    expect(ref).toEqual(recorded(referenceConfig(DEMO_RECIPE, "x")));
    const { out: _o2, reference: _r2, ...pol } = manifestOf(policy).training.config;
    expect(pol).toEqual(recorded(policyConfig(DEMO_RECIPE, "x", "y")));
    // the prefix rerun below relies on this: the first fingerprintAt learning rates of a long run and of a
    // run of just fingerprintAt steps are the same numbers
    for (const cfg of [referenceConfig(DEMO_RECIPE, "x"), policyConfig(DEMO_RECIPE, "x", "y")]) {
      const long = { peak: cfg.lr, floor: cfg.lr * cfg.minLrRatio, warmup: cfg.warmupSteps, total: cfg.steps };
      const short = { ...long, total: DEMO_RECIPE.fingerprintAt };
      expect(cfg.warmupSteps).toBe(DEMO_RECIPE.fingerprintAt);
      for (let t = 0; t < DEMO_RECIPE.fingerprintAt; t++) expect(learningRate(short, t)).toBe(learningRate(long, t));
    }
  });

  // ~1 min on one core: fingerprintAt steps of pretrain and of sft, each with its final evaluation.
  it("rerunning the recipe's first steps with its seed on the wasm backend reaches the committed runs' fingerprints", async () => {
    const n = DEMO_RECIPE.fingerprintAt;
    const runs = [
      { committed: reference, cfg: (out: string) => referenceConfig(DEMO_RECIPE, out), train: pretrain },
      { committed: policy, cfg: (out: string) => policyConfig(DEMO_RECIPE, reference, out), train: sft },
    ] as const;
    for (const [i, run] of runs.entries()) {
      const out = join(scratch, `prefix-${i}`);
      const full = run.cfg(out);
      await run.train({ ...full, steps: n }, () => {});
      const committed = metricsOf(run.committed);
      const fingerprint = committed.find((l) => l.weights_sha256 !== undefined);
      expect(fingerprint?.step, `${run.committed}: fingerprint line`).toBe(n);
      // the prefix's weights, as its checkpoint saved them, are the committed run's weights after step n
      expect(sha256(join(out, "model.safetensors")), `${run.committed} after step ${n}`).toBe(fingerprint!.weights_sha256);
      expect(metricsOf(out).find((l) => l.weights_sha256 !== undefined)?.weights_sha256).toBe(fingerprint!.weights_sha256);
      expect(stepLines(metricsOf(out), n)).toEqual(stepLines(committed, n));
    }
  }, 600_000);

  it.runIf(process.env.TETHER_DEMO_FULL === "1")("TETHER_DEMO_FULL=1: the whole recipe reproduces the committed weights byte for byte", async () => {
    const out = join(scratch, "demo");
    await trainDemo({ ...DEMO_RECIPE, out }, () => {});
    for (const name of ["reference", "policy"]) {
      expect(sha256(join(out, name, "model.safetensors")), `${name}/model.safetensors`).toBe(manifestOf(join(DEMO, name)).files["model.safetensors"]!.sha256);
    }
  }, 3_600_000);
});
