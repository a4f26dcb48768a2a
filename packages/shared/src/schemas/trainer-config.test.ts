import { describe, expect, it } from "vitest";
import { ConfigError } from "./common";
import { parseNumberList, parseTrainerConfig, trainerConfig } from "./trainer-config";

function problemsOf(raw: unknown): string[] {
  try {
    parseTrainerConfig(raw);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  return [];
}

const sft = { command: "sft", reference: "models/demo/reference" };

describe("trainerConfig defaults", () => {
  it("fills every field for a bare sft run", () => {
    const c = parseTrainerConfig(sft);
    expect(c).toMatchObject({
      preset: "tiny",
      steps: 1000,
      batch: 16,
      lr: 3e-4,
      seed: 42,
      beta: 0.1,
      kl: "reverse",
      klMix: 0.5,
      klEstimator: "k3",
      klIn: "loss",
      klOn: "task",
      betaController: "fixed",
      groupSize: 8,
      clipEps: 0.2,
      gradClip: 1,
      backend: "auto",
      workers: 1,
      freeze: { layers: {}, rest: 1 },
    });
    expect(c.warmupSteps).toBe(100); // min(100, 1000/10)
    expect(c.replayBatch).toBe(16);
  });

  it("derives warmup from a short run and replay batch from batch", () => {
    const c = parseTrainerConfig({ ...sft, steps: 30, batch: 4 });
    expect(c.warmupSteps).toBe(3);
    expect(c.replayBatch).toBe(4);
  });

  it("accepts the strings util.parseArgs produces", () => {
    const c = parseTrainerConfig({ ...sft, steps: "200", lr: "1e-3", beta: "0.5", seed: "7", resume: "true", freeze: "0:0,*:1" });
    expect(c).toMatchObject({ steps: 200, lr: 1e-3, beta: 0.5, seed: 7, resume: true, freeze: { layers: { "0": 0 }, rest: 1 } });
  });

  it("re-parses its own output (a config stored in manifest.json)", () => {
    const c = parseTrainerConfig({ ...sft, freeze: "0-1:0", warmupSteps: 5 });
    expect(trainerConfig.parse(JSON.parse(JSON.stringify(c)))).toEqual(c);
  });
});

describe("trainerConfig ranges", () => {
  it("rejects β < 0 naming the flag", () => {
    expect(problemsOf({ ...sft, beta: -1 })).toEqual(["--beta: must be a number in [0, 1000] (got -1)"]);
    expect(problemsOf({ ...sft, beta: 0 })).toEqual([]);
  });

  it("checks each numeric flag's range at its boundary", () => {
    expect(problemsOf({ ...sft, groupSize: 1 })).toEqual(["--group-size: must be an integer in [2, 256] (got 1)"]);
    expect(problemsOf({ ...sft, groupSize: 2 })).toEqual([]);
    expect(problemsOf({ ...sft, klMix: 1.01 })).toEqual(["--kl-mix: must be a number in [0, 1] (got 1.01)"]);
    expect(problemsOf({ ...sft, clipEps: 0 })).toEqual(["--clip-eps: must be a number in (0, 1) (got 0)"]);
    expect(problemsOf({ ...sft, lr: 0 })).toEqual(["--lr: must be a number in (0, 1] (got 0)"]);
    expect(problemsOf({ ...sft, steps: "ten" })).toEqual(['--steps: must be an integer in [1, 10000000] (got "ten")']);
    expect(problemsOf({ ...sft, batch: 0 })).toEqual(["--batch: must be an integer in [1, 4096] (got 0)"]);
    expect(problemsOf({ ...sft, workers: "0" })).toEqual(["--workers: must be an integer in [1, 256] (got 0)"]);
    expect(problemsOf({ ...sft, workers: "many" })).toHaveLength(1);
    expect(parseTrainerConfig({ ...sft, workers: "auto" }).workers).toBe("auto");
    expect(parseTrainerConfig({ ...sft, workers: "2" }).workers).toBe(2);
    expect(parseTrainerConfig({ ...sft, taskMaxLeft: "999", taskLeftDigits: "balanced" })).toMatchObject({ taskMaxLeft: 999, taskLeftDigits: "balanced" });
    expect(parseTrainerConfig(sft).taskMaxLeft).toBeUndefined(); // unset: the bundled task's own default (0–99, uniform)
    expect(problemsOf({ ...sft, taskMaxLeft: -1 })).toEqual(["--task-max-left: must be an integer in [0, 10000000] (got -1)"]);
    expect(problemsOf({ ...sft, taskLeftDigits: "log" })).toHaveLength(1);
    expect(parseTrainerConfig({ ...sft, taskExamples: "50000" }).taskExamples).toBe(50_000);
    expect(problemsOf({ ...sft, taskExamples: 0 })).toEqual(["--task-examples: must be an integer in [1, 10000000] (got 0)"]);
  });

  it("reports several problems at once, one line each", () => {
    const lines = problemsOf({ command: "grpo", beta: -1, kl: "sideways", groupSize: 0, bogus: 1 });
    expect(lines).toEqual(
      expect.arrayContaining([
        "--beta: must be a number in [0, 1000] (got -1)",
        '--kl: must be one of "forward", "reverse", "mixed" (got "sideways")',
        "--group-size: must be an integer in [2, 256] (got 0)",
        "--bogus: is not a known option",
      ]),
    );
  });

  it("enforces cross-field rules", () => {
    expect(problemsOf({ command: "grpo" })).toEqual(["--reference: is required for grpo (the KL anchor)"]);
    expect(problemsOf({ command: "export" })).toEqual(["<input>: is required: tether-train export <ckpt>"]);
    expect(problemsOf({ command: "pretrain" })).toEqual([]);
    expect(problemsOf({ command: "train" })[0]).toMatch(/^<command>: must be one of "pretrain", "sft", "grpo", "sweep", "export", "import-hf"/);
    expect(problemsOf({ ...sft, betaController: "target", beta: 0 })[0]).toMatch(/^--beta: must be > 0 with --beta-controller target/);
    expect(problemsOf({ ...sft, klIn: "reward" })[0]).toMatch(/^--kl-in: must be "loss" for sft/);
    expect(problemsOf({ ...sft, steps: 10, warmupSteps: 11 })).toEqual(["--warmup-steps: must be ≤ steps (11 > 10)"]);
  });

  it("reports a bad --freeze entry by name", () => {
    expect(problemsOf({ ...sft, freeze: "0:0,1:2" })).toEqual(['--freeze: entry "1:2": scale must be a number in [0, 1]']);
  });
});

describe("sweep", () => {
  it("reads --beta and --kl-on as lists", () => {
    const c = parseTrainerConfig({ command: "sweep", reference: "r", beta: "0,0.1,0.5,2", klOn: "task,replay" });
    expect(c.sweepBetas).toEqual([0, 0.1, 0.5, 2]);
    expect(c.sweepKlOn).toEqual(["task", "replay"]);
    expect(c.beta).toBe(0.1);
  });

  it("defaults to the SPEC's β list and names a bad entry", () => {
    expect(parseTrainerConfig({ command: "sweep", reference: "r" }).sweepBetas).toEqual([0, 0.1, 0.2, 0.3, 0.5, 1, 2]);
    expect(problemsOf({ command: "sweep", reference: "r", beta: "0,-1" })).toEqual(["--beta[1]: must be a number in [0, 1000] (got -1)"]);
    expect(problemsOf({ command: "sweep", reference: "r", klOn: "task,nope" })[0]).toMatch(/^--kl-on\[1\]: must be one of/);
  });

  it("reads --kl-variants as estimator:placement pairs, only for a grpo sweep", () => {
    const c = parseTrainerConfig({ command: "sweep", sweepCommand: "grpo", reference: "r", klVariants: "k3:loss, k1:reward" });
    expect(c.klVariants).toEqual([{ estimator: "k3", in: "loss" }, { estimator: "k1", in: "reward" }]);
    expect(parseTrainerConfig({ command: "sweep", reference: "r" }).klVariants).toBeUndefined();
    expect(problemsOf({ command: "sweep", sweepCommand: "grpo", reference: "r", klVariants: "k3:loss,k4:reward" })).toEqual([
      '--kl-variants[1]: entry "k4:reward" must be <k1|k2|k3>:<loss|reward>, e.g. k3:loss',
    ]);
    expect(problemsOf({ command: "sweep", reference: "r", klVariants: "k3:loss" })[0]).toMatch(/^--kl-variants: is a sweep axis for --sweep-command grpo/);
    expect(problemsOf({ command: "grpo", reference: "r", klVariants: "k3:loss" })[0]).toMatch(/^--kl-variants: is a sweep axis/);
  });
});

describe("parseNumberList", () => {
  it("parses and range-checks each entry", () => {
    expect(parseNumberList("beta", "0, 0.1,2", 0)).toEqual([0, 0.1, 2]);
    expect(() => parseNumberList("beta", "0,x", 0)).toThrow('beta entry "x" must be a number ≥ 0');
    expect(() => parseNumberList("beta", "0,-1", 0)).toThrow('beta entry "-1" must be a number ≥ 0');
    expect(() => parseNumberList("mix", "0.5,2", 0, 1)).toThrow('mix entry "2" must be a number in [0, 1]');
    expect(() => parseNumberList("beta", "", 0)).toThrow(/beta must be a comma-separated list/);
  });
});
