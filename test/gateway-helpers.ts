// Test helper for the end-to-end gateway tests: the demo pair's paths and facts read from its files, a fetch
// that remembers every generation request the gateway answered (its x-tether-request-id and status), and a
// relative-tolerance comparison.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "vitest";

export const REPO = join(import.meta.dirname, "..");
export const DEMO_POLICY = join(REPO, "models", "demo", "policy");
export const DEMO_REFERENCE = join(REPO, "models", "demo", "reference");

/** manifest.json id of a checkpoint: the model id the gateway serves by default. */
export function manifestId(dir: string): string {
  return (JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as { id: string }).id;
}

/** Monitored layers of a checkpoint's sketch.json: one drift_samples row per candidate per layer. */
export function sketchLayerCount(dir: string): number {
  return (JSON.parse(readFileSync(join(dir, "sketch.json"), "utf8")) as { spec: { layers: number[] } }).spec.layers.length;
}

/** A temporary directory and its removal. */
export function tempDir(prefix: string): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface Answered {
  id: string; // x-tether-request-id
  status: number;
  path: string;
}

/**
 * A fetch for the openai client (or direct use) that records every POST to /completions or /chat/completions
 * the server answered, whatever the status; connection failures are not answers and are not recorded.
 * @example const answered: Answered[] = []; new OpenAI({ fetch: recordingFetch(answered), … })
 */
export function recordingFetch(answered: Answered[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const url = new URL(typeof input === "string" ? input : input instanceof URL ? input.href : input.url);
    if (/\/v1\/(chat\/)?completions$/.test(url.pathname)) answered.push({ id: res.headers.get("x-tether-request-id") ?? "(none)", status: res.status, path: url.pathname });
    return res;
  };
}

/** |actual − expected| ≤ rel·|expected| (+ 1e-9 so that exact zeros compare). */
export function expectRel(actual: number, expected: number, rel: number, label: string): void {
  expect(Math.abs(actual - expected), `${label}: ${actual} vs ${expected}`).toBeLessThanOrEqual(rel * Math.abs(expected) + 1e-9);
}

/** The value of one unlabelled series in Prometheus text (NaN when absent). */
export function metricValue(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(`${name} `));
  return line === undefined ? Number.NaN : Number(line.slice(name.length + 1));
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
