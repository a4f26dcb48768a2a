// Node entry of the gateway: configuration (TETHER_CONFIG file + environment), the two ONNX engines, the
// drift log (PGlite under data_dir, or PostgreSQL when DATABASE_URL is set), the Hono app on
// @hono/node-server, and a graceful SIGTERM/SIGINT: stop accepting, let in-flight requests finish, flush the
// drift log (what cannot reach the database stays in the spill file and is replayed at the next start).
//
// 0) checks that create nothing: Node version, port free, checkpoint dirs exist, data dir writable (startup-checks.ts)
// 1) config → 2) engines (manifests verified) → 3) database, migrations, checkpoint rows → 4) drift writer
//    (replays spill files left by an earlier run) → 5) app + listen → 6) signals
import type { IncomingMessage, Server, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { createHash } from "node:crypto";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { serve, type ServerType } from "@hono/node-server";
import { createDb, insertDriftBatch, migrate, type DbHandle } from "@tether/db";
import { ConfigError } from "@tether/shared/schemas/common";
import { loadGatewayConfig, type GatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createApp } from "./app";
import { driftLogTarget, readConfigFile } from "./config-file";
import { loadDashboardAssets } from "./dashboard/node-assets";
import type { InferenceEngine } from "./engine/engine";
import type { OnnxWeights, ServingCheckpoint } from "./engine/checkpoint";
import { OrtNodeEngine } from "./engine/ort-node";
import { EnginePool } from "./engine/pool-node";
import { checkCheckpointDir, checkDataDir, checkPortFree, databaseProblem, nodeVersionProblem } from "./startup-checks";
import { BatchedDriftWriter, spillDirFor } from "./store/batched-writer";
import { bootstrapAuthenticator } from "./admin/auth";
import { namedTokenAuthenticator } from "./admin/named-tokens";
import { registryId, tokenizerSha256 } from "./serving/checkpoint-loader";
import { registerCheckpoints } from "./serving/checkpoint-rows";
import { nodeCheckpointLoader, type OpenEngine } from "./serving/node-loader";
import { RegistryStore } from "./serving/registry-store";
import { startReplicaSync } from "./serving/replica-sync";
import { withId } from "./serving/served-policy";
import { availableParallelism } from "node:os";
import { setFlagsFromString } from "node:v8";

const sha256Hex = (text: string) => createHash("sha256").update(text).digest("hex");
import { startMonitoring } from "./monitor/monitoring";
import { lockDataDir } from "./store/data-dir-lock";
import { jsonLogger, redact } from "./observability/log";

export { readConfigFile };

type Engine = InferenceEngine & { checkpoint: ServingCheckpoint };

export interface RunningGateway {
  url: string;
  config: GatewayConfig;
  /** Stop accepting, drain in-flight requests, flush the drift log, release engines and database. */
  close(): Promise<void>;
}

/**
 * Build and start the gateway from a validated config.
 * @example const gw = await startGateway(loadGatewayConfig({ port: 0 }, process.env)); … await gw.close();
 */
export async function startGateway(config: GatewayConfig, log: (line: string) => void = console.error): Promise<RunningGateway> {
  await checkPortFree(config.host, config.port); // before anything is created or loaded
  checkCheckpointDir("policy", config.policy);
  checkCheckpointDir("reference", config.reference);
  checkDataDir(config.data_dir); // PGlite data and spill files
  const threads = Number(process.env.TETHER_ORT_THREADS) || undefined;
  const unlock = lockDataDir(config.data_dir); // one gateway per data dir (write-ahead log, PGlite)
  // Engines: in worker threads (engine/pool-node.ts) unless engine.workers is 0; the registry opens promoted
  // checkpoints the same way. Ids are the registry's content-addressed ones, as before.
  const workers = config.engine.workers ?? availableParallelism();
  const pool = workers > 0 ? await EnginePool.start({ workers, intraOpNumThreads: threads ?? 1, log }) : null;
  const name = (c: ServingCheckpoint) => registryId(c.manifest, sha256Hex);
  const openEngine = (dir: string, weights: OnnxWeights): Promise<Engine> =>
    pool ? pool.load(dir, { weights, name }) : OrtNodeEngine.load(dir, { intraOpNumThreads: threads, weights });
  const policy = await openEngine(resolve(config.policy), config.policy_onnx).catch(async (e: unknown) => {
    await pool?.close();
    unlock();
    throw e;
  });
  const reference = await openEngine(resolve(config.reference), config.reference_onnx).catch(async (e: unknown) => {
    await policy.dispose();
    await pool?.close();
    unlock();
    throw e;
  });
  const releaseEngines = async () => {
    await Promise.all([policy.dispose(), reference.dispose()]);
    await pool?.close();
  };
  let handle: DbHandle;
  try {
    // Embedded PGlite runs in its own worker thread (packages/db/src/pglite-thread.ts): its wasm leaves the
    // serving thread. TETHER_PGLITE_THREAD=0 keeps it in process (the peer of `npm run bench -- concurrency`).
    handle = await createDb(driftLogTarget(config), { thread: process.env.TETHER_PGLITE_THREAD !== "0" });
  } catch (e) {
    await releaseEngines();
    unlock();
    throw e;
  }
  try {
    await migrate(handle);
    await registerCheckpoints(handle.db, [policy.checkpoint, reference.checkpoint], (m) => registryId(m, sha256Hex)); // ids as POST /admin/checkpoints names them
    // The first start on an empty registry makes the configured policy active; afterwards the table decides.
    await new RegistryStore(handle.db).activateIfNone(registryId(policy.checkpoint.manifest, sha256Hex));
  } catch (e) {
    await handle.close().catch(() => {});
    await releaseEngines();
    unlock();
    throw config.database_url === undefined ? e : new Error(databaseProblem(config.database_url, e));
  }
  // Request lines and drift-log warnings as JSON on stderr; the admin token and URL passwords are masked.
  const logger = jsonLogger(log, { secrets: [config.admin_token ?? ""] });
  const warn = (msg: string) => logger({ level: "warn", msg });
  const store = await BatchedDriftWriter.open({ write: (batch) => insertDriftBatch(handle.db, batch), log: config.drift_log, spillDir: spillDirFor(config), warn });
  const app = createApp({
    policy: withId(policy, registryId(policy.checkpoint.manifest, sha256Hex)),
    reference,
    adminAuth: namedTokenAuthenticator(handle.db, bootstrapAuthenticator(config.admin_token)),
    checkpoints: {
      loader: nodeCheckpointLoader(config.promotion.checkpoint_root ?? dirname(resolve(config.policy)), { intraOpNumThreads: threads }, pool ? ((dir) => pool.load(dir, { name })) satisfies OpenEngine : undefined),
      reference: { id: reference.info.id, tokenizerSha256: tokenizerSha256(reference.checkpoint.manifest), sketch: reference.checkpoint.sketch },
    },
    store,
    db: handle.db, // alerts persist there; the monitor rebuilds its windows from it
    config,
    log: logger,
    evalReport: policy.checkpoint.evalReport,
    // The served policy's activations are scored against the REFERENCE's calibration statistics (the export
    // gives both checkpoints the same projections), so a percentile says how unlike the reference it looks.
    sketch: reference.checkpoint.sketch ?? policy.checkpoint.sketch,
    dashboardAssets: loadDashboardAssets(),
    ...(pool ? { runJob: pool.runJob, enginePool: pool } : {}),
  });
  try {
    await app.context.monitoring.start(); // windows from the last hour of the log, open alerts resumed
  } catch (e) {
    await store.close();
    await releaseEngines();
    await handle.close();
    throw e;
  }
  const stopMonitoring = startMonitoring(app.context.monitoring, config.alerts.evaluate_interval_s, app.context.logError);
  let server: ServerType;
  let stopSync = async () => {};
  try {
    // Serve what the registry says is active (another replica may have promoted while this one was down).
    await app.context.registry!.sync().catch((e: unknown) => log(`tether: serving ${config.policy}: the registry's active checkpoint cannot be loaded (${(e as Error).message})`));
    stopSync = await startReplicaSync(app.context.registry!, handle.listen, config.promotion.sync_interval_ms);
    server = await new Promise<ServerType>((ready, fail) => {
      const s = serve({ fetch: app.fetch, port: config.port, hostname: config.host }, () => ready(s));
      s.once("error", (e: NodeJS.ErrnoException) => fail(new Error(e.code === "EADDRINUSE" ? `port ${config.port} on ${config.host} is in use (set PORT)` : e.message)));
    });
  } catch (e) {
    await stopSync();
    stopMonitoring();
    await store.close();
    await app.context.serving.close();
    await releaseEngines();
    await handle.close();
    unlock();
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
  log(`tether: serving ${app.context.modelName} on ${url} (policy ${app.context.serving.state.active.id}, reference ${config.reference}, drift log: ${handle.kind})`);

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
      // A client that left (or was cut) aborts its job, but the engine stops only at its next graph run: wait for
      // every admitted request to end before the engines are released.
      await app.context.scheduler.idle();
      await stopSync();
      stopMonitoring();
      await app.context.monitoring.webhooks.close();
      await store.close(); // flush; the rest stays in the spill file for the next start
      await app.context.serving.close();
      await releaseEngines();
      await handle.close();
      unlock();
    })());
  return { url, config, close };
}

async function main(): Promise<number> {
  const tooOld = nodeVersionProblem();
  if (tooOld !== null) {
    console.error(`tether: ${tooOld}`);
    return 2;
  }
  let config: GatewayConfig;
  try {
    config = loadGatewayConfig(await readConfigFile(process.env.TETHER_CONFIG), process.env);
  } catch (e) {
    for (const line of e instanceof ConfigError ? e.problems : [(e as Error).message]) console.error(`tether: ${line}`);
    return 2;
  }
  // Before PGlite compiles its wasm (in startGateway); nothing else in this process runs wasm.
  if (config.database_url === undefined && config.pglite_wasm === "baseline") setFlagsFromString("--liftoff-only");
  // Signal handlers go in before startGateway: it prints "serving … on" once it listens, and a SIGTERM sent
  // right after that line must drain, not meet Node's default handler. A signal during startup waits for it.
  let stopping = false;
  let started: Promise<RunningGateway | null> = Promise.resolve(null);
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    // process.on, not once: a second signal (Ctrl-C twice) must not reach Node's default handler mid-flush.
    process.on(signal, () => {
      if (stopping) return void console.error(`tether: ${signal}: already draining`);
      stopping = true;
      console.error(`tether: ${signal}: draining requests and flushing the drift log`);
      started
        .then((gateway) => gateway?.close())
        .then(
          () => process.exit(0),
          (e: unknown) => {
            console.error(`tether: shutdown: ${(e as Error).message}`);
            process.exit(1);
          },
        );
    });
  }
  try {
    started = startGateway(config);
    await started;
  } catch (e) {
    const lines = e instanceof ConfigError ? e.problems : [(e as Error).message.split("\n")[0]!];
    for (const line of lines) console.error(`tether: ${redact(line, [config.admin_token ?? ""])}`); // a driver error may quote the URL
    if (/models\/demo/.test(lines.join(" "))) console.error("tether: make the demo pair with `npm run train:demo`, or set TETHER_POLICY / TETHER_REFERENCE");
    return 1;
  }
  return 0;
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === resolve(process.argv[1])) {
  const code = await main();
  if (code !== 0) process.exit(code);
}
