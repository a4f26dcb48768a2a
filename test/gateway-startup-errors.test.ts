// The mistakes a user makes when starting the gateway, through the real entry (`node --import tsx
// server.node.ts`, as `npm start`): each ends the process with one stderr line naming the setting, and a busy
// port is found before anything is created (no PGlite folder). The password of DATABASE_URL is never printed.
import { spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { nodeVersionProblem, satisfiesRange } from "../apps/gateway/src/startup-checks";
import { REPO, tempDir } from "./gateway-helpers";

function startGatewayProcess(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ["--import", "tsx", "apps/gateway/src/server.node.ts"], {
      cwd: REPO,
      env: { ...process.env, PORT: "0", DATABASE_URL: "", TETHER_CONFIG: "", ...env },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill("SIGKILL"), 60_000); // it must exit by itself; this only stops a hang
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stderr: stderr.trim() });
    });
  });
}

describe("gateway startup errors", () => {
  const tmp = tempDir("tether-startup-");
  afterAll(() => tmp.remove());

  it("bad DATABASE_URL, busy port, unwritable data dir, missing model dir: one line each, naming the setting", async () => {
    const busy = createServer();
    const port = await new Promise<number>((r) => busy.listen(0, "127.0.0.1", () => r((busy.address() as AddressInfo).port)));
    const file = join(tmp.dir, "a-file");
    writeFileSync(file, "");
    try {
      const [database, portInUse, dataDir, model] = await Promise.all([
        startGatewayProcess({ DATABASE_URL: "postgres://tether:s3cret-pw@127.0.0.1:1/tether", TETHER_DATA_DIR: join(tmp.dir, "db") }),
        startGatewayProcess({ PORT: String(port), TETHER_DATA_DIR: join(tmp.dir, "port") }),
        startGatewayProcess({ TETHER_DATA_DIR: join(file, "data") }), // under a file: cannot be a directory
        startGatewayProcess({ TETHER_POLICY: join(tmp.dir, "no-such-checkpoint"), TETHER_DATA_DIR: join(tmp.dir, "model") }),
      ]);
      expect(database.code).toBe(1);
      expect(database.stderr).toMatch(/^tether: DATABASE_URL \(database_url\) postgres:\/\/tether:\*\*\*@127\.0\.0\.1:1\/tether: cannot use the database: .*ECONNREFUSED/);
      expect(database.stderr).not.toContain("s3cret-pw");
      expect(portInUse.code).toBe(1);
      expect(portInUse.stderr.split("\n")[0]).toBe(`tether: PORT (port): port ${port} on 127.0.0.1 is in use; set PORT to a free port`);
      expect(existsSync(join(tmp.dir, "port"))).toBe(false); // nothing was created
      expect(dataDir.code).toBe(1);
      expect(dataDir.stderr.split("\n")[0]).toMatch(/^tether: TETHER_DATA_DIR \(data_dir\): .*a-file\/data is not a writable directory \(ENOTDIR\)/);
      expect(model.code).toBe(1);
      expect(model.stderr.split("\n")[0]).toMatch(/^tether: TETHER_POLICY \(policy\): .*no-such-checkpoint does not exist/);
      expect(existsSync(join(tmp.dir, "model"))).toBe(false);
      for (const r of [database, portInUse, dataDir, model]) expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
    } finally {
      busy.close();
    }
  });

  it("Node outside package.json engines is refused by name", () => {
    expect(satisfiesRange("20.19.0", ">=20.19 <23")).toBe(true);
    expect(satisfiesRange("22.99.1", ">=20.19 <23")).toBe(true);
    expect(satisfiesRange("20.18.3", ">=20.19 <23")).toBe(false);
    expect(satisfiesRange("23.0.0", ">=20.19 <23")).toBe(false);
    expect(() => satisfiesRange("18.0.0", "^16")).toThrow(/unsupported comparator/);
    expect(satisfiesRange("18.2.0", "<17 || >=18.1")).toBe(true);
    expect(nodeVersionProblem(process.versions.node)).toBeNull(); // the Node running this test is supported
    expect(nodeVersionProblem("18.20.4")).toBe('Node 18.20.4 is not supported: package.json engines.node is ">=20.19 <23" (install Node 20 LTS, e.g. `nvm install 20`)');
  });
});
