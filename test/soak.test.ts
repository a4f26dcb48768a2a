// The soak (bench/soak.ts) in short form: a real gateway on the demo pair overloaded by autocannon through
// a PostgreSQL outage (throwaway cluster; skipped with PGlite), a SIGKILL + restart and a SIGTERM + restart,
// a couple of seconds per phase. Checked: only 2xx/429 while a process is up (no 5xx, no connection errors
// outside the kill and SIGTERM windows), overload answered with 429, every 2xx request a drift-log row, once.
import { describe, expect, it } from "vitest";
import { formatSoak, runSoak } from "../bench/soak";

describe("soak (short)", () => {
  it("faults under overload: nothing answered is missing from the drift log, no 5xx outside the kill window", async () => {
    const result = await runSoak({ seconds: 10, connections: 32, log: () => {} });
    console.log(formatSoak(result));
    expect(result.missing).toBe(0);
    expect(result.duplicates).toBe(0);
    expect(result.answered).toBeGreaterThan(0);
    for (const p of result.phases) {
      if (!p.phase.startsWith("sigkill")) expect(p.server, `${p.phase}: 5xx`).toBe(0);
      if (!p.phase.startsWith("sig")) expect(p.errors, `${p.phase}: connection errors`).toBe(0);
    }
    // 32 connections against 4 running + 16 queued: the overload is answered with 429, not by queueing forever.
    expect(result.phases.reduce((a, p) => a + p.limited, 0)).toBeGreaterThan(0);
  }, 600_000);
});
