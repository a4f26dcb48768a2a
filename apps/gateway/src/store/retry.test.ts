// The writer's retry policy: backoff bounds against the closed form, which errors are the rows' fault, timeouts.
import { describe, expect, test } from "vitest";
import { backoffDelay, describeError, isRowError, withTimeout, WriteTimeoutError } from "./retry";

describe("backoffDelay", () => {
  test("equal jitter: between half and all of min(max, base·2^(n−1))", () => {
    for (let n = 1; n <= 12; n++) {
      const cap = Math.min(5000, 100 * 2 ** (n - 1));
      expect(backoffDelay(n, 100, 5000, 0)).toBe(cap / 2);
      expect(backoffDelay(n, 100, 5000, 0.999999)).toBeCloseTo(cap, 2);
      expect(backoffDelay(n, 100, 5000, 0.5)).toBe(0.75 * cap);
    }
    expect(backoffDelay(10_000, 100, 30_000, 0.5)).toBe(22_500); // no overflow for long outages
  });

  test("invalid parameters are named", () => {
    expect(() => backoffDelay(0, 100, 1000, 0)).toThrow(/attempt/);
    expect(() => backoffDelay(1, 0, 1000, 0)).toThrow(/baseMs/);
    expect(() => backoffDelay(1, 100, 10, 0)).toThrow(/maxMs/);
    expect(() => backoffDelay(1, 100, 1000, 1)).toThrow(/u must be in \[0, 1\)/);
  });
});

describe("isRowError", () => {
  const pg = (code: string) => Object.assign(new Error(`pg ${code}`), { code });
  const wrapped = (cause: unknown) => new Error("Failed query: insert … params: …", { cause });

  test("constraint and data errors are the rows' fault, also wrapped by drizzle", () => {
    expect(isRowError(pg("23514"))).toBe(true); // check_violation
    expect(isRowError(wrapped(pg("23502")))).toBe(true); // not_null_violation
    expect(isRowError(wrapped(pg("22P02")))).toBe(true); // invalid_text_representation
    expect(isRowError(new RangeError("insertDriftBatch: created_at must be a valid Date"))).toBe(true);
  });

  test("connection loss, shutdowns, timeouts and a missing table are retried", () => {
    expect(isRowError(wrapped(Object.assign(new Error("connect ECONNREFUSED"), { code: "ECONNREFUSED" })))).toBe(false);
    expect(isRowError(Object.assign(new Error("closed"), { code: "CONNECTION_CLOSED" }))).toBe(false);
    expect(isRowError(pg("57P01"))).toBe(false); // admin_shutdown
    expect(isRowError(pg("08006"))).toBe(false); // connection_failure
    expect(isRowError(pg("42P01"))).toBe(false); // undefined_table: migrate, then it passes
    expect(isRowError(new WriteTimeoutError("late"))).toBe(false);
    expect(isRowError(undefined)).toBe(false);
  });

  test("describeError skips drizzle's query text and keeps the codes", () => {
    const err = wrapped(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:1"), { code: "ECONNREFUSED" }));
    expect(describeError(err)).toBe("connect ECONNREFUSED 127.0.0.1:1 [ECONNREFUSED]");
  });
});

describe("withTimeout", () => {
  test("passes a prompt result through and rejects a late one", async () => {
    await expect(withTimeout(Promise.resolve(7), 50)).resolves.toBe(7);
    const late = new Promise((resolve) => setTimeout(resolve, 200, "late"));
    await expect(withTimeout(late, 20)).rejects.toBeInstanceOf(WriteTimeoutError);
  });
});
