// Node entry of the gateway: configuration (TETHER_CONFIG file + environment), the two ONNX engines, the
// drift log (PGlite under data_dir, or PostgreSQL when DATABASE_URL is set), the Hono app on
// @hono/node-server, and a graceful SIGTERM/SIGINT: stop accepting, let in-flight requests finish, flush the
// drift log (what cannot reach the database stays in the spill file and is replayed at the next start).
//
// 1) config → 2) engines (manifests verified) → 3) database, migrations, checkpoint rows → 4) drift writer
//    (replays spill files left by an earlier run) → 5) app + listen → 6) signals
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { checkpoints, createDb, insertDriftBatch, migrate, type DbHandle } from "@tether/db";
import { ConfigError } from "@tether/shared/schemas/common";
import { loadGatewayConfig, type GatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createApp } from "./app";
import { driftLogTarget, readConfigFile } from "./config-file";
import { loadDashboardAssets } from "./dashboard/node-assets";
import { OrtNodeEngine } from "./engine/ort-node";
import { BatchedDriftWriter, spillDirFor } from "./store/batched-writer";
import { startMonitoring } from "./monitor/monitoring";

export { readConfigFile };

export interface RunningGateway {
  url: string;
  config: GatewayConfig;
  /** Stop accepting, drain in-flight requests, flush the drift log, release engines and database. */
  close(): Promise<void>;
}

async function registerCheckpoints(handle: DbHandle, engines: OrtNodeEngine[]): Promise<void> {
  const rows = engines.map(({ checkpoint: c }) => ({
    id: c.manifest.id,
    kind: c.manifest.kind,
    parentId: c.manifest.parent_id,
    referenceId: c.manifest.reference_id,
    path: c.dir,
    manifest: c.manifest,
    eval: c.evalReport,
  }));
  await handle.db.insert(checkpoints).values(rows).onConflictDoNothing();
}

/**
 * Build and start the gateway from a validated config.
 * @example const gw = await startGateway(loadGatewayConfig({ port: 0 }, process.env)); … await gw.close();
 */
export async function startGateway(config: GatewayConfig, log: (line: string) => void = console.error): Promise<RunningGateway> {
  const threads = Number(process.env.TETHER_ORT_THREADS) || undefined;
  const policy = await OrtNodeEngine.load(resolve(config.policy), { intraOpNumThreads: threads });
  const reference = await OrtNodeEngine.load(resolve(config.reference), { intraOpNumThreads: threads }).catch(async (e: unknown) => {
    await policy.dispose();
    throw e;
  });
  const handle = await createDb(driftLogTarget(config));
  try {
    await migrate(handle);
    await registerCheckpoints(handle, [policy, reference]);
  } catch (e) {
    await handle.close();
    throw e;
  }
  const store = await BatchedDriftWriter.open({ write: (batch) => insertDriftBatch(handle.db, batch), log: config.log, spillDir: spillDirFor(config) });
  const app = createApp({
    policy,
    reference,
    store,
    db: handle.db, // alerts persist there; the monitor rebuilds its windows from it
    config,
    evalReport: policy.checkpoint.evalReport,
    // The served policy's activations are scored against the REFERENCE's calibration statistics (the export
    // gives both checkpoints the same projections), so a percentile says how unlike the reference it looks.
    sketch: reference.checkpoint.sketch ?? policy.checkpoint.sketch,
    dashboardAssets: loadDashboardAssets(),
  });
  try {
    await app.context.monitoring.start(); // windows from the last hour of the log, open alerts resumed
  } catch (e) {
    await store.close();
    await Promise.all([policy.dispose(), reference.dispose()]);
    await handle.close();
    throw e;
  }
  const stopMonitoring = startMonitoring(app.context.monitoring, config.alerts.evaluate_interval_s, app.context.logError);
  let server: ServerType;
  try {
    server = await new Promise<ServerType>((ready, fail) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => ready(s));
      s.once("error", (e: NodeJS.ErrnoException) => fail(new Error(e.code === "EADDRINUSE" ? `port ${config.port} on ${config.host} is in use (set PORT)` : e.message)));
    });
  } catch (e) {
    stopMonitoring();
    await store.close();
    await Promise.all([policy.dispose(), reference.dispose()]);
    await handle.close();
    throw e;
  }
  // While draining, every response says `Connection: close`, so a keep-alive client cannot keep a
  // connection (and the process) alive by sending more requests on it.
  let draining = false;
  const open = new Set<ServerResponse>();
  server.on("request", (_req: IncomingMessage, res: ServerResponse) => {
    if (draining) res.setHeader("connection", "close");
    open.add(res);
    res.once("close", () => open.delete(res));
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${config.host.includes(":") ? `[${config.host}]` : config.host}:${port}`;
  log(`tether: serving ${app.context.modelName} on ${url} (policy ${config.policy}, reference ${config.reference}, drift log: ${handle.kind})`);

  let closing: Promise<void> | null = null;
  const close = () =>
    (closing ??= (async () => {
      draining = true;
      app.context.monitoring.streams.closeAll();
      for (const res of open) if (!res.headersSent) res.setHeader("connection", "close");
      const http = server as Server;
      // In-flight requests get the request deadline (plus a margin) to finish; then connections are cut.
      const deadline = setTimeout(() => http.closeAllConnections(), (config.limits.request_timeout_s + 5) * 1000);
      await new Promise<void>((done) => {
        http.close(() => done()); // stops accepting; resolves once every connection has ended
        http.closeIdleConnections();
      });
      clearTimeout(deadline);
      stopMonitoring();
      await app.context.monitoring.webhooks.close();
      await store.close(); // flush; the rest stays in the spill file for the next start
      await Promise.all([policy.dispose(), reference.dispose()]);
      await handle.close();
    })());
  return { url, config, close };
}

async function main(): Promise<number> {
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig(await readConfigFile(process.env.TETHER_CONFIG), process.env);
  } catch (e) {
    for (const line of e instanceof ConfigError ? e.problems : [(e as Error).message]) console.error(`tether: ${line}`);
    return 2;
  }
  let gateway: RunningGateway;
  try {
    gateway = await startGateway(config);
  } catch (e) {
    const lines = e instanceof ConfigError ? e.problems : [(e as Error).message.split("\n")[0]!];
    for (const line of lines) console.error(`tether: ${line}`);
    if (/models\/demo/.test(lines.join(" "))) console.error("tether: make the demo pair with `npm run train:demo`, or set TETHER_POLICY / TETHER_REFERENCE");
    return 1;
  }
  let stopping = false;
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    // process.on, not once: a second signal (Ctrl-C twice) must not reach Node's default handler mid-flush.
    process.on(signal, () => {
      if (stopping) return void console.error(`tether: ${signal}: already draining`);
      stopping = true;
      console.error(`tether: ${signal}: draining requests and flushing the drift log`);
      gateway.close().then(
        () => process.exit(0),
        (e: unknown) => {
          console.error(`tether: shutdown: ${(e as Error).message}`);
          process.exit(1);
        },
      );
    });
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const code = await main();
  if (code !== 0) process.exit(code);
}
