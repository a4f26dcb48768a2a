// postgres.js fetches the server's array types on every new connection (fetch_types). When the server goes away
// while that query runs, postgres.js 3.4.9 left the query's rejection unhandled, which ends a Node process (the
// gateway's, during a PostgreSQL restart; seen in test/gateway-outage.test.ts). patches/postgres+3.4.9.patch
// handles it. Here a TCP proxy in front of the real PostgreSQL cuts the connection exactly when the types query
// passes through and refuses new connections (the server is down): the caller's query must fail through its own
// promise, with no unhandled rejection, and once the proxy listens again a query must work.
import { createServer, connect, type Socket } from "node:net";
import postgres from "postgres";
import { afterAll, describe, expect, it } from "vitest";

const url = process.env.TEST_DATABASE_URL;

describe.skipIf(!url && !process.env.CI)("postgres.js: the server lost during the array-types query", () => {
  const target = new URL(url ?? "postgres://127.0.0.1:5432/postgres");
  let cutNext = true; // cut the first connection that sends the types query; let later ones through
  const sockets = new Set<Socket>();
  const proxy = createServer((client) => {
    const server = connect(Number(target.port || 5432), target.hostname);
    sockets.add(client).add(server);
    client.on("data", (chunk: Buffer) => {
      if (cutNext && chunk.includes("pg_catalog.pg_type")) {
        cutNext = false;
        proxy.close(); // the server is "down": postgres.js's reconnect gets ECONNREFUSED, as in a restart
        client.destroy();
        server.destroy();
        return;
      }
      server.write(chunk);
    });
    server.on("data", (chunk: Buffer) => client.write(chunk));
    for (const s of [client, server]) s.on("error", () => {}).on("close", () => (client.destroy(), server.destroy()));
  });
  const listening = new Promise<number>((r) => proxy.listen(0, "127.0.0.1", () => r((proxy.address() as { port: number }).port)));
  afterAll(() => {
    for (const s of sockets) s.destroy();
    proxy.close();
  });

  it("fails the caller's query through its own promise, leaves nothing unhandled, and serves a query once the server is back", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (e: unknown) => void unhandled.push(e);
    process.on("unhandledRejection", onUnhandled);
    const via = new URL(target);
    via.hostname = "127.0.0.1";
    via.port = String(await listening);
    const sql = postgres(via.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 });
    try {
      const first = await sql`select 1 as x`.then((rows) => rows[0]!.x, (e: Error) => e);
      await new Promise((r) => setTimeout(r, 200)); // unhandled rejections are reported after a turn
      expect(unhandled).toEqual([]);
      expect(cutNext).toBe(false); // the proxy did cut the types query
      expect(first).toBeInstanceOf(Error); // the caller hears of the outage through its own query
      await new Promise<void>((r) => proxy.listen(Number(via.port), "127.0.0.1", () => r())); // the server is back
      expect((await sql`select 2 as x`)[0]!.x).toBe(2);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      await sql.end({ timeout: 1 });
    }
  });
});
