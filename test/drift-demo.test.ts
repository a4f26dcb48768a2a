// models/demo/drifted (the over-tuned β = 0 policy) and `npm run drift:demo`: the committed files match their
// manifest (node:crypto), it is anchored to the committed reference, its eval.json shows the forgetting that
// makes it drift, and the demo, run as a process with --exit-after-alert, prints a firing alert whose
// threshold is the approved demo policy's eval.json percentile, and the dashboard URL.
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEMO_POLICY, DEMO_REFERENCE, REPO } from "./gateway-helpers";

const DRIFTED = join(REPO, "models", "demo", "drifted");
type Manifest = { id: string; reference_id: string | null; files: Record<string, { sha256: string; bytes: number }> };
type Eval = { kl: { per_request_kl_mean: { mean: number; quantiles: { q: number; value: number }[] } }; base: { retention: number } };
const json = <T>(path: string) => JSON.parse(readFileSync(path, "utf8")) as T;
const quantile = (ev: Eval, q: number) => ev.kl.per_request_kl_mean.quantiles.find((x) => x.q === q)!.value;

describe("models/demo/drifted", () => {
  it("every file is listed in manifest.json with its sha256 and size; anchored to the demo reference", () => {
    const manifest = json<Manifest>(join(DRIFTED, "manifest.json"));
    for (const file of ["config.json", "model.safetensors", "tokenizer.json", "sketch.json", "eval.json", "onnx/model.onnx"]) expect(manifest.files[file], file).toBeDefined();
    for (const [path, { sha256, bytes }] of Object.entries(manifest.files)) {
      const buffer = readFileSync(join(DRIFTED, path));
      expect(buffer.length, path).toBe(bytes);
      expect(createHash("sha256").update(buffer).digest("hex"), path).toBe(sha256);
    }
    expect(manifest.reference_id).toBe(json<Manifest>(join(DEMO_REFERENCE, "manifest.json")).id);
  });

  // Both policies learnt "*", so on eval.json's held-out multiplication prompts their KL to the reference is of
  // the same size (there the reference never learnt the task, and KL(π‖ref) ≈ −log ref(y) is bounded by its
  // uncertainty: 7.03 vs 7.53 nats/token mean for the committed pair). The drifted policy differs where the
  // reference is confident — the base task it forgot — which is what the demo's arithmetic traffic exercises
  // and the alert below measures.
  it("is over-tuned: it forgot the base task the approved policy kept", () => {
    const drifted = json<Eval>(join(DRIFTED, "eval.json"));
    const approved = json<Eval>(join(DEMO_POLICY, "eval.json"));
    expect(drifted.base.retention).toBeLessThan(0.1);
    expect(approved.base.retention).toBeGreaterThan(0.95);
  });
});

describe("npm run drift:demo", () => {
  it("fires an alert over the approved policy's budget, prints it and the dashboard URL, exits with --exit-after-alert", async () => {
    const { DATABASE_URL: _u, TETHER_DATA_DIR: _d, TETHER_CONFIG: _c, PORT: _p, ...env } = process.env;
    const run = await new Promise<{ code: number | null; out: string }>((done, fail) => {
      const child = spawn(process.execPath, ["--import", "tsx", "apps/gateway/src/demo/drift-demo.ts", "--exit-after-alert", "--timeout-s", "150"], { cwd: REPO, env, stdio: ["ignore", "pipe", "pipe"] });
      let out = "";
      child.stdout.on("data", (d: Buffer) => (out += d.toString()));
      child.stderr.on("data", (d: Buffer) => (out += d.toString()));
      child.on("error", fail);
      child.on("close", (code) => done({ code, out }));
    });
    expect(run.code, run.out).toBe(0);
    const approved = json<Eval>(join(DEMO_POLICY, "eval.json"));
    const alert = /drift:demo: ALERT after ([\d.]+) s — FIRING \w+ "([\w-]+)": \w+\(kl_mean, 1m\) = ([\d.]+) > ([\d.]+) nats\/token/.exec(run.out);
    expect(alert, run.out).not.toBeNull();
    const [value, threshold] = [Number(alert![3]), Number(alert![4])];
    // The threshold is the approved policy's held-out p50 (3 decimals as printed), and the window median exceeded it.
    expect(threshold.toFixed(3)).toBe(quantile(approved, 0.5).toFixed(3));
    expect(value).toBeGreaterThan(threshold);
    expect(run.out).toMatch(/drift:demo: dashboard: http:\/\/127\.0\.0\.1:\d+\/dashboard/);
    expect(run.out).toMatch(/admin token for this run \(shown once\): [\w-]{32}/);
    expect(run.out).not.toMatch(/internal error/);
  }, 240_000);
});
