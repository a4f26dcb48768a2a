// Vitest reporter that ends the run with plain lines CI logs can be read by: how many tests ran against
// each database backend (test names carry "[pglite]" / "[postgres]"), then
// "tests: N passed, N failed, N skipped".
import type { Reporter, TestModule } from "vitest/node";

const BACKENDS = ["pglite", "postgres"] as const;

export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<unknown>): void {
    const counts = { passed: 0, failed: unhandledErrors.length, skipped: 0 };
    const perBackend = Object.fromEntries(BACKENDS.map((b) => [b, { passed: 0, failed: 0, skipped: 0 }]));
    for (const module of testModules) {
      const tests = [...module.children.allTests()];
      if (module.state() === "failed" && tests.length === 0) counts.failed++; // a file that failed to load
      for (const test of tests) {
        const state = test.result().state;
        const key = state === "passed" ? "passed" : state === "failed" ? "failed" : "skipped";
        counts[key]++;
        for (const backend of BACKENDS) if (test.fullName.includes(`[${backend}]`)) perBackend[backend]![key]++;
      }
    }
    const backends = BACKENDS.map((b) => `${b} ${perBackend[b]!.passed} passed, ${perBackend[b]!.failed} failed, ${perBackend[b]!.skipped} skipped`);
    process.stdout.write(`\ndatabase suites: ${backends.join("; ")}\n`);
    process.stdout.write(`tests: ${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
