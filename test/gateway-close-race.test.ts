// startGateway().close() while a client that already left still has a job decoding (the race issue #12 noticed):
// the drain must wait for the scheduler's jobs, not only the sockets. Otherwise the engines are released under
// the running job and the drift log is closed before the job's own row (status 499) is written — that row is
// what this test looks for after close(), on the in-process engine and on the worker-thread pool.
import { join } from "node:path";
import { sql } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { createDb, selectRows } from "@tether/db";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { startGateway } from "../apps/gateway/src/server.node";
import { DEMO_POLICY, DEMO_REFERENCE, manifestId, tempDir } from "./gateway-helpers";

describe("gateway close() with an aborted client's job still decoding", () => {
  for (const workers of [0, 2]) {
    it(`engine.workers = ${workers}: close waits for the job; its 499 row reaches the drift log; nothing else fails`, async () => {
      const data = tempDir("tether-close-race-");
      const lines: string[] = [];
      try {
        const config = loadGatewayConfig(
          { port: 0, policy: DEMO_POLICY, reference: DEMO_REFERENCE, data_dir: data.dir, drift_guard: { allow_disable: true }, engine: { workers }, drift_log: { durability: "memory" } },
          {},
        );
        const gw = await startGateway(config, (line) => void lines.push(line));
        const client = new AbortController();
        // guard off: chunks stream per step; 16 prompts run one after the other, 8 sequences each at temperature 2
        const res = await fetch(`${gw.url}/v1/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model: manifestId(DEMO_POLICY), prompt: Array(16).fill("7+8="), max_tokens: 120, temperature: 2, n: 8, seed: 5, stream: true, drift_guard: false }),
          signal: client.signal,
        });
        expect(res.status).toBe(200);
        const reader = res.body!.getReader();
        const first = await reader.read();
        expect(new TextDecoder().decode(first.value)).toMatch(/^data: /);
        client.abort(); // the client leaves mid-stream …
        await gw.close(); // … and the gateway shuts down at once
        const handle = await createDb(join(data.dir, "pgdata"));
        try {
          const rows = await selectRows<{ status: number; error_code: string | null }>(handle.db, sql`select status, error_code from requests`);
          expect(rows).toEqual([{ status: 499, error_code: "client_closed_request" }]);
        } finally {
          await handle.close();
        }
        expect(lines.filter((l) => /"level":"error"|internal error|releasing an engine/.test(l))).toEqual([]);
      } finally {
        data.remove();
      }
    });
  }
});
