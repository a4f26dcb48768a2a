// Node side of the workerd tests (vitest globalSetup, runs in Node before the Worker tests): the same createApp
// on the onnxruntime-node engines answers every case of cases.ts — the values the Worker must reproduce — and
// TEST_DATABASE_URL is migrated for the Worker's drift log. Both reach the tests through provide/inject.
import { createDb, migrate } from "@tether/db";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import type { TestProject } from "vitest/node";
import { createApp } from "../../apps/gateway/src/app";
import { OrtNodeEngine } from "../../apps/gateway/src/engine/ort-node";
import { MemoryDriftStore } from "../../apps/gateway/src/store/memory-store";
import { loadDashboardAssets } from "../../apps/gateway/src/dashboard/node-assets";
import { DEMO_POLICY, DEMO_REFERENCE, manifestId, sketchLayerCount } from "../gateway-helpers";
import { sql } from "drizzle-orm";
import { BAD, CONFIG, GOLDEN, readAnswer, requestInit, STREAMED, workerDatabaseUrl, type Answer } from "./cases";

declare module "vitest" {
  export interface ProvidedContext {
    nodeAnswers: Record<string, Answer>;
    model: string;
    sketchLayers: number;
    databaseUrl: string | null;
    dashboardAssets: Record<string, string>;
  }
}

/** The Node gateway's answer to every case, keyed by case name. */
async function nodeAnswers(): Promise<Record<string, Answer>> {
  const policy = await OrtNodeEngine.load(DEMO_POLICY, { intraOpNumThreads: 1 });
  const reference = await OrtNodeEngine.load(DEMO_REFERENCE, { intraOpNumThreads: 1 });
  try {
    const config = loadGatewayConfig(CONFIG, {});
    const app = createApp({ policy, reference, store: new MemoryDriftStore(), config, evalReport: policy.checkpoint.evalReport, sketch: reference.checkpoint.sketch ?? policy.checkpoint.sketch });
    const answers: Record<string, Answer> = {};
    for (const c of [...GOLDEN, ...STREAMED, ...BAD]) answers[c.name] = await readAnswer(await app.request(c.path, requestInit(c, app.context.modelName)));
    return answers;
  } finally {
    await Promise.all([policy.dispose(), reference.dispose()]);
  }
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide("nodeAnswers", await nodeAnswers());
  project.provide("model", manifestId(DEMO_POLICY));
  project.provide("sketchLayers", sketchLayerCount(DEMO_REFERENCE));
  project.provide("dashboardAssets", { ...loadDashboardAssets() }); // the files as Node reads them from disk
  const server = process.env.TEST_DATABASE_URL || null;
  if (server === null && process.env.CI) throw new Error("TEST_DATABASE_URL is unset on CI: the Worker tests need PostgreSQL");
  const url = server === null ? null : await freshDatabase(server);
  project.provide("databaseUrl", url);
  // miniflare's local Hyperdrive proxy leaves its sockets without an error listener: when workerd shuts
  // down after the last test, a reset connection would otherwise crash the run after every test passed.
  process.on("uncaughtException", ignoreProxyReset);
}

/** Recreates the Worker tests' database (workerDatabaseUrl) empty and migrated; returns its URL. */
async function freshDatabase(server: string): Promise<string> {
  const url = workerDatabaseUrl(server);
  const name = new URL(url).pathname.slice(1);
  const admin = await createDb(server);
  try {
    await admin.db.execute(sql.raw(`drop database if exists "${name}" with (force)`));
    await admin.db.execute(sql.raw(`create database "${name}"`));
  } finally {
    await admin.close();
  }
  const handle = await createDb(url);
  try {
    await migrate(handle);
  } finally {
    await handle.close();
  }
  return url;
}

function ignoreProxyReset(error: NodeJS.ErrnoException): void {
  if (error.code === "ECONNRESET" && error.syscall === "read") return;
  throw error;
}
