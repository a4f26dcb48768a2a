// A malformed alert rule stops startup with one line naming the rule and the field: from the config schema
// (through the real Node entry, before any model is loaded) and when a reference-relative threshold needs
// an eval.json the policy does not have.
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ConfigError } from "@tether/shared/schemas/common";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { describe, expect, test } from "vitest";
import { testApp } from "../../../../test/support/gateway-app";

const good = { name: "kl-high", metric: "kl_mean", window: "5m", statistic: "p95", comparison: ">", threshold: 0.3 } as const;

function problems(rules: unknown[]): readonly string[] {
  try {
    loadGatewayConfig({ alerts: { rules } }, {});
  } catch (e) {
    if (e instanceof ConfigError) return e.problems;
    throw e;
  }
  return [];
}

describe("malformed alert rules", () => {
  test.each([
    [{ ...good, window: "2m" }, /^alerts\.rules\[1\] \("kl-high"\)\.window: must be one of "1m", "5m", "1h" \(got "2m"\)$/],
    [{ ...good, statistic: "rate" }, /^alerts\.rules\[1\] \("kl-high"\)\.statistic: "rate" applies to/],
    [{ ...good, threshold: { from: "sketch", percentile: 99 } }, /^alerts\.rules\[1\] \("kl-high"\)\.threshold: \{from: "sketch"\} applies to metric sketch_percentile/],
    [{ ...good, for: "soon" }, /^alerts\.rules\[1\] \("kl-high"\)\.for: must be a duration/],
    [{ ...good, comparison: "=>" }, /^alerts\.rules\[1\] \("kl-high"\)\.comparison: must be one of/],
    [{ ...good, min_samples: -1 }, /^alerts\.rules\[1\] \("kl-high"\)\.min_samples: must be an integer ≥ 0/],
    [{ ...good, colour: "red" }, /^alerts\.rules\[1\] \("kl-high"\)\.colour: is not a known option$/],
  ])("%j → one line naming the rule and field", (bad, line) => {
    const lines = problems([{ ...good, name: "ok" }, bad]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(line);
  });

  test("duplicate names and unnamed rules are named by index", () => {
    expect(problems([good, good])).toEqual([`alerts.rules[1] ("kl-high").name: duplicates another rule's name "kl-high"`]);
    const { name: _name, ...unnamed } = good;
    expect(problems([unnamed])).toEqual(["alerts.rules[0] (#0).name: is required"]);
  });

  test("a reference-relative threshold without the policy's eval.json stops app creation with one line", () => {
    const rule = { ...good, threshold: { from: "eval", percentile: 99 } } as const;
    try {
      testApp({ config: { alerts: { rules: [rule] } } });
      expect.unreachable();
    } catch (e) {
      expect((e as ConfigError).problems).toEqual([`alerts.rules[0] ("kl-high").threshold: {from: "eval"} needs the policy's eval.json, which is not loaded`]);
    }
  });

  test("the Node entry exits 2 printing exactly that one line (before loading any model)", () => {
    const dir = mkdtempSync(join(tmpdir(), "tether-rules-"));
    try {
      const file = join(dir, "config.json");
      writeFileSync(file, JSON.stringify({ alerts: { rules: [{ ...good, window: "2m" }] } }));
      const root = resolve(__dirname, "../../../..");
      const run = spawnSync(process.execPath, ["--import", "tsx", "apps/gateway/src/server.node.ts"], {
        cwd: root, env: { ...process.env, TETHER_CONFIG: file, PORT: "0" }, encoding: "utf8", timeout: 60_000,
      });
      expect(run.status).toBe(2);
      expect(run.stderr.trim().split("\n")).toEqual([`tether: alerts.rules[0] ("kl-high").window: must be one of "1m", "5m", "1h" (got "2m")`]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
