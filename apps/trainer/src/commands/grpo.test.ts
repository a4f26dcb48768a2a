import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseTrainerConfig } from "@tether/shared/schemas/trainer-config";
import { verifyCheckpoint } from "@tether/checkpoint/files";
import { grpo } from "./grpo";
import { pretrain } from "./pretrain";

describe("grpo (tiny)", () => {
  const root = mkdtempSync(join(tmpdir(), "tether-grpo-"));
  const reference = join(root, "ref");
  const quiet = () => {};
  beforeAll(async () => {
    await pretrain(parseTrainerConfig({ command: "pretrain", steps: "40", batch: "32", lr: "3e-3", seed: "4", evalSamples: "16", evalEvery: "0", out: reference }), quiet);
  });
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  for (const [klIn, klOn, estimator] of [["loss", "task", "k3"], ["reward", "both", "k1"]] as const) {
    it(`runs with --kl-in ${klIn} --kl-on ${klOn} --kl-estimator ${estimator}, logging reward, KL and clipping per step`, async () => {
      const out = join(root, `${klIn}-${klOn}`);
      const result = await grpo(
        parseTrainerConfig({
          command: "grpo", reference, klIn, klOn, klEstimator: estimator, beta: "0.2", steps: "6", batch: "4", groupSize: "4",
          lr: "1e-3", seed: "9", maxNewTokens: "5", evalSamples: "16", evalEvery: "0", out,
        }),
        quiet,
      );
      const steps = readFileSync(join(out, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((m) => "reward" in m);
      expect(steps).toHaveLength(6);
      for (const m of steps) {
        expect(m.reward).toBeGreaterThanOrEqual(0);
        expect(m.reward).toBeLessThanOrEqual(1);
        expect(m.kl).toBeGreaterThanOrEqual(0);
        expect(m.beta).toBe(0.2);
      }
      expect(steps[0].kl).toBeLessThan(1e-4); // first rollouts come from a copy of the reference
      const m = verifyCheckpoint(result.dir);
      expect(m.training.command).toBe("grpo");
      expect(m.reference_id).toMatch(/^reference-pretrain-/);
    });
  }
});
