import { describe, expect, it } from "vitest";
import { ConfigError } from "./common";
import { gatewayConfig, loadGatewayConfig } from "./gateway-config";

function problemsOf(file: unknown, env: Record<string, string | undefined> = {}): string[] {
  try {
    loadGatewayConfig(file, env);
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return [...(e as ConfigError).problems];
  }
  throw new Error("loadGatewayConfig did not throw");
}

describe("gatewayConfig defaults", () => {
  it("serves models/demo on 127.0.0.1:8787 with PGlite when nothing is configured", () => {
    const c = loadGatewayConfig(undefined, {});
    expect(c).toMatchObject({
      port: 8787,
      host: "127.0.0.1",
      policy: "models/demo/policy",
      reference: "models/demo/reference",
      data_dir: ".tether",
      retention_days: 30,
    });
    expect(c.database_url).toBeUndefined();
    expect(c.admin_token).toBeUndefined();
    expect(c.drift_guard).toMatchObject({ enabled: true, max_kl_percentile: 99, candidates: 4, max_rounds: 2, mode: "hard", fallback: "reference", allow_disable: false });
    expect(c.limits).toMatchObject({ max_n: 8, max_candidates: 8, max_body_bytes: 1048576, queue_size: 64, max_concurrent: 4 });
    expect(c.drift_log).toMatchObject({ batch_rows: 500, buffer_rows: 10000, durability: "fsync" });
    expect(c.promotion.retention_floor).toBe(0.9);
  });

  it("fills defaults inside a partly given section", () => {
    const c = gatewayConfig.parse({ drift_guard: { mode: "soft" } });
    expect(c.drift_guard).toMatchObject({ mode: "soft", candidates: 4 });
  });
});

describe("loadGatewayConfig", () => {
  const file = { port: 9000, host: "0.0.0.0", policy: "ckpt/p", drift_guard: { max_kl: 0.2 } };

  it("lets every SPEC environment variable override the file", () => {
    const c = loadGatewayConfig(file, {
      PORT: "8123",
      HOST: "::1",
      TETHER_POLICY: "/m/policy",
      TETHER_REFERENCE: "/m/reference",
      TETHER_DATA_DIR: "/var/tether",
      DATABASE_URL: "postgres://u:p@db:5432/tether",
      TETHER_ADMIN_TOKEN: "0123456789abcdef0123",
    });
    expect(c).toMatchObject({
      port: 8123,
      host: "::1",
      policy: "/m/policy",
      reference: "/m/reference",
      data_dir: "/var/tether",
      database_url: "postgres://u:p@db:5432/tether",
      admin_token: "0123456789abcdef0123",
    });
    expect(c.drift_guard.max_kl).toBe(0.2);
  });

  it("runs embedded PGlite's wasm on the baseline compiler unless told otherwise (TETHER_PGLITE_WASM)", () => {
    expect(loadGatewayConfig({}, {}).pglite_wasm).toBe("baseline");
    expect(loadGatewayConfig({ pglite_wasm: "baseline" }, { TETHER_PGLITE_WASM: "optimizing" }).pglite_wasm).toBe("optimizing");
    expect(() => loadGatewayConfig({}, { TETHER_PGLITE_WASM: "turbofan" })).toThrow(/pglite_wasm/);
  });

  it("keeps the file's value when an env variable is unset or empty", () => {
    const c = loadGatewayConfig(file, { PORT: "", HOST: undefined, UNRELATED: "x" });
    expect(c.port).toBe(9000);
    expect(c.host).toBe("0.0.0.0");
  });

  it("reports every problem at once, naming the env variable a value came from", () => {
    const lines = problemsOf(
      { drift_guard: { candidates: 0, mode: "strict", max_kl_percentile: 101 }, limits: { max_n: 0 }, retention_days: 0, drift_gaurd: {} },
      { PORT: "eighty", DATABASE_URL: "mysql://root:hunter2@db/x", TETHER_ADMIN_TOKEN: "short" },
    );
    expect(lines).toEqual(
      expect.arrayContaining([
        'port (PORT): must be an integer in [0, 65535] (got "eighty")',
        "database_url (DATABASE_URL): must be a postgres:// or postgresql:// URL (unset = embedded PGlite under data_dir)",
        "admin_token (TETHER_ADMIN_TOKEN): must be at least 16 characters (it is a bearer credential)",
        "drift_guard.candidates: must be an integer in [1, 64] (got 0)",
        'drift_guard.mode: must be one of "hard", "soft" (got "strict")',
        "drift_guard.max_kl_percentile: must be a number in (0, 100] (got 101)",
        "limits.max_n: must be an integer in [1, 128] (got 0)",
        "retention_days: must be an integer in [1, 3650] (got 0)",
        "drift_gaurd: is not a known option",
      ]),
    );
    expect(lines).toHaveLength(9);
    // secrets are never echoed
    expect(lines.join("\n")).not.toContain("hunter2");
    expect(lines.join("\n")).not.toContain("short");
  });

  it("puts one problem per line in the thrown message", () => {
    expect(() => loadGatewayConfig({ port: 70000 }, {})).toThrow("invalid gateway config:\n  port: must be an integer in [0, 65535] (got 70000)");
  });

  it("checks port boundaries and cross-field limits", () => {
    expect(loadGatewayConfig({}, { PORT: "0" }).port).toBe(0);
    expect(loadGatewayConfig({}, { PORT: "65535" }).port).toBe(65535);
    expect(problemsOf({}, { PORT: "65536" })).toEqual(["port (PORT): must be an integer in [0, 65535] (got 65536)"]);
    expect(problemsOf({ drift_log: { batch_rows: 100, buffer_rows: 50 } })).toEqual(["drift_log.batch_rows: must be ≤ buffer_rows (100 > 50)"]);
    expect(problemsOf({ limits: { max_n: 128, max_candidates: 64 } })[0]).toMatch(/^limits\.max_candidates: max_n · max_candidates must be ≤ 1024/);
  });

  it("rejects a config file that is not an object", () => {
    expect(problemsOf([1, 2])).toEqual(["(config file): must be a JSON object"]);
    expect(problemsOf("port=1")).toEqual(["(config file): must be a JSON object"]);
  });
});
