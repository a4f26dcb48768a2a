// A worker thread running a module of this workspace, whether the process runs the TypeScript sources (through
// tsx, as `npm start` and the tests do) or compiled JavaScript. Node 20 does not apply a parent's `--import tsx`
// hooks inside a worker, so a two-line bootstrap registers tsx there first. Used by the gateway's engine pool
// and by the embedded PGlite's thread; it lives here because packages/db is the Node-only package both reach.
import { Worker } from "node:worker_threads";

const BOOTSTRAP = `const { workerData } = require("node:worker_threads");
(async () => { if (workerData.tsx) (await import(workerData.tsx)).register(); await import(workerData.entry); })();`;

/**
 * Starts `<name>.ts` (or `<name>.js` when `from` is compiled) next to the module `from`, with `workerData`
 * plus the bootstrap's own fields `entry` and `tsx`.
 * @example startModuleWorker(import.meta.url, "./pool-worker", { intraOpNumThreads: 1 })
 */
export function startModuleWorker(from: string, name: string, workerData: Record<string, unknown>): Worker {
  const ts = from.endsWith(".ts");
  const entry = new URL(`${name}${ts ? ".ts" : ".js"}`, from).href;
  // the parent's loader flags (--import tsx) do not work in a worker: drop them, keep the rest (--cpu-prof, …)
  const execArgv: string[] = [];
  for (let i = 0; i < process.execArgv.length; i++) {
    const a = process.execArgv[i]!;
    if (/^--(import|loader|require)$/.test(a) && /tsx/.test(process.execArgv[i + 1] ?? "")) i++;
    else if (!/^--(import|loader|require)=.*tsx/.test(a)) execArgv.push(a);
  }
  const tsx = ts ? import.meta.resolve("tsx/esm/api") : null;
  return new Worker(BOOTSTRAP, { eval: true, execArgv, workerData: { ...workerData, entry, tsx } });
}
