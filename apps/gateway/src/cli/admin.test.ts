// tether-admin: token create prints the secret once and stores only its sha256; list shows names without
// hashes; revoke; the HTTP commands reach the admin API with the bearer token (a served test app).
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { serve } from "@hono/node-server";
import { adminTokens, apiKeys, createDb } from "@tether/db";
import { afterAll, describe, expect, it } from "vitest";
import { testApp } from "../../../../test/support/gateway-app";
import { runAdmin } from "./admin";

const dir = mkdtempSync(join(tmpdir(), "tether-admin-cli-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("tether-admin", () => {
  it("token create / list / revoke on the gateway's database; the secret is printed once and stored hashed", async () => {
    const env = { TETHER_DATA_DIR: dir, DATABASE_URL: "" };
    const lines: string[] = [];
    expect(await runAdmin(["token", "create", "ci-bot"], env, (l) => lines.push(l))).toBe(0);
    const secret = lines.join("\n").split("\n").pop()!;
    expect(secret).toMatch(/^tether_admin_[A-Za-z0-9_-]{43}$/);
    expect(await runAdmin(["token", "list"], env, (l) => lines.push(l))).toBe(0);
    const listed = JSON.parse(lines.at(-1)!) as Array<Record<string, unknown>>;
    expect(listed).toEqual([expect.objectContaining({ name: "ci-bot", revokedAt: null })]);
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(await runAdmin(["token", "revoke", "ci-bot"], env, (l) => lines.push(l))).toBe(0);
    const handle = await createDb(join(dir, "pgdata"));
    try {
      const [row] = await handle.db.select().from(adminTokens);
      expect(row!.sha256).toBe(createHash("sha256").update(secret).digest("hex"));
      expect(row!.revokedAt).not.toBeNull();
    } finally {
      await handle.close();
    }
  }, 60_000);

  it("api-key create / list / revoke: printed once, stored hashed, optional expiry, bad flags refused", async () => {
    const env = { TETHER_DATA_DIR: join(dir, "keys"), DATABASE_URL: "" };
    const lines: string[] = [];
    const err: string[] = [];
    const t0 = Date.now();
    expect(await runAdmin(["api-key", "create", "mobile", "--expires-in", "30"], env, (l) => lines.push(l))).toBe(0);
    const secret = lines.join("\n").split("\n").pop()!;
    expect(secret).toMatch(/^tether_key_[A-Za-z0-9_-]{43}$/);
    expect(await runAdmin(["api-key", "create", "mobile"], env, () => {}, (l) => err.push(l))).toBe(1); // live name
    expect(err.at(-1)).toMatch(/exists; revoke it first/);
    expect(await runAdmin(["api-key", "create", "x", "--expires-in", "-1"], env, () => {}, (l) => err.push(l))).toBe(1);
    expect(err.at(-1)).toMatch(/--expires-in must be a positive number of days/);
    expect(await runAdmin(["api-key", "list"], env, (l) => lines.push(l))).toBe(0);
    const listed = JSON.parse(lines.at(-1)!) as Array<Record<string, unknown>>;
    expect(listed).toEqual([expect.objectContaining({ name: "mobile", revokedAt: null })]);
    expect(JSON.stringify(listed)).not.toContain(secret);
    expect(await runAdmin(["api-key", "revoke", "mobile"], env, (l) => lines.push(l))).toBe(0);
    expect(await runAdmin(["api-key", "revoke", "mobile"], env, () => {}, (l) => err.push(l))).toBe(1);
    const handle = await createDb(join(dir, "keys", "pgdata"));
    try {
      const [row] = await handle.db.select().from(apiKeys);
      expect(row!.sha256).toBe(createHash("sha256").update(secret).digest("hex"));
      expect(row!.revokedAt).not.toBeNull();
      const days = (row!.expiresAt!.getTime() - t0) / 86_400_000;
      expect(days).toBeGreaterThanOrEqual(30);
      expect(days).toBeLessThan(30 + 1 / 24); // within the hour the test ran in
    } finally {
      await handle.close();
    }
  }, 60_000);

  it("wraps the admin HTTP API with TETHER_URL and TETHER_ADMIN_TOKEN", async () => {
    const token = "cli-test-admin-token-0123";
    const { app } = testApp({ config: { admin_token: token } });
    const server = await new Promise<ReturnType<typeof serve>>((ready) => {
      const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, () => ready(s));
    });
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const out: string[] = [];
      expect(await runAdmin(["checkpoints"], { TETHER_URL: url, TETHER_ADMIN_TOKEN: token }, (l) => out.push(l))).toBe(0);
      expect(JSON.parse(out[0]!).data.map((c: { id: string }) => c.id)).toEqual(["fake-policy", "fake-reference"]);
      const err: string[] = [];
      expect(await runAdmin(["checkpoints", "show", "fake-policy"], { TETHER_URL: url, TETHER_ADMIN_TOKEN: "wrong-token-0123456789" }, () => {}, (l) => err.push(l))).toBe(1);
      expect(JSON.parse(err[0]!).error.code).toBe("forbidden");
      expect(await runAdmin(["promote"], { TETHER_URL: url }, () => {}, () => {})).toBe(2); // usage
    } finally {
      server.close();
    }
  });
});
