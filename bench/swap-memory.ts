// Memory across hot swaps (`npm run bench -- swap-memory`): the real registry on the demo engines swaps
// SWAPS times (promote a variant / roll back, completions in flight on the leaving engine), each run in a
// child process with --expose-gc (test/swap-memory.ts). Prints RSS before and after, the growth per swap in
// bytes and in model files (onnx/model.onnx), the time per swap (load + warm + commit + release), and the
// same run with every release a no-op (one stranded session per swap) as the peer the healthy growth is
// compared with. Memory numbers do not depend on load; the time per swap does (2 shared cores).
import { execFile } from "node:child_process";
import { loadavg } from "node:os";
import { promisify } from "node:util";
import { REPO } from "../test/gateway-helpers";
import type { SwapMemoryResult } from "../test/swap-memory";

const SWAPS = 60;

async function child(leak: boolean): Promise<SwapMemoryResult> {
  const args = ["--expose-gc", "--import", "tsx", "test/swap-memory.ts", "--swaps", String(SWAPS), ...(leak ? ["--leak"] : [])];
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: REPO, maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as SwapMemoryResult;
}

export async function benchSwapMemory(): Promise<void> {
  const mb = (b: number) => `${(b / 2 ** 20).toFixed(1)} MB`;
  const load = () => loadavg().map((l) => l.toFixed(2)).join(" ");
  const rows: Array<[string, SwapMemoryResult, string]> = [];
  for (const leak of [false, true]) {
    const before = load();
    rows.push([leak ? "stranded session per swap (peer)" : "tether (release at in-flight 0)", await child(leak), before]);
  }
  console.log(`swap-memory: ${SWAPS} swaps after the warm-up ones, demo policy (onnx ${mb(rows[0]![1].modelBytes)})`);
  for (const [label, r, before] of rows) {
    const perSwap = r.growth / r.swaps;
    console.log(
      `  ${label.padEnd(34)} RSS ${mb(r.baselineRss)} → ${mb(r.finalRss)}  growth ${mb(r.growth)} = ${(perSwap / 1024).toFixed(0)} KiB/swap = ${(perSwap / r.modelBytes).toFixed(2)} model files/swap;` +
        ` external ${mb(r.baselineExternal)} → ${mb(r.finalExternal)}; ${r.msPerSwap.toFixed(0)} ms/swap; failed requests ${r.failedRequests}; load ${before}`,
    );
  }
  const [healthy, leaking] = [rows[0]![1], rows[1]![1]];
  console.log(`  growth ratio tether / stranded-session peer: ${(healthy.growth / leaking.growth).toFixed(3)}`);
}
