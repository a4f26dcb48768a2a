// Memory after hot swaps: 30 swaps on the real demo engines (promote a variant, roll back, …, each with
// completions in flight on the engine leaving) leave RSS within half a model's weights per swap of where it
// was after the warm-up swaps — old ONNX Runtime sessions are released once their last request ends. The
// same run with every release turned into a no-op (one warmed session stranded per swap) must exceed that
// bound, so the test can see the leak it guards against. Each run is a child process with --expose-gc
// (test/swap-memory.ts); the bound is in bytes of the served onnx/model.onnx, read from the checkpoint.
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { REPO } from "./gateway-helpers";
import type { SwapMemoryResult } from "./swap-memory";

const SWAPS = 30;

async function run(leak: boolean): Promise<SwapMemoryResult> {
  const args = ["--expose-gc", "--import", "tsx", "test/swap-memory.ts", "--swaps", String(SWAPS), ...(leak ? ["--leak"] : [])];
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: REPO, maxBuffer: 16 << 20 });
  return JSON.parse(stdout.trim().split("\n").at(-1)!) as SwapMemoryResult;
}

describe("memory across hot swaps", () => {
  it(`${SWAPS} swaps leave RSS within half a model per swap of its level before them; a stranded session per swap does not`, async () => {
    const healthy = await run(false);
    const leaking = await run(true);
    const mb = (b: number) => (b / 2 ** 20).toFixed(1);
    const bound = (SWAPS * healthy.modelBytes) / 2;
    console.log(`swap memory: ${SWAPS} swaps, RSS growth ${mb(healthy.growth)} MB (bound ${mb(bound)} MB); with a stranded session per swap ${mb(leaking.growth)} MB`);
    expect(healthy.failedRequests).toBe(0);
    expect(leaking.failedRequests).toBe(0);
    expect(healthy.growth).toBeLessThan(bound);
    expect(leaking.growth).toBeGreaterThan(bound); // the bound is tight enough to catch one session per swap
  }, 240_000);
});
