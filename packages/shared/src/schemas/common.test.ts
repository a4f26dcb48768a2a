import { describe, expect, it } from "vitest";
import { z } from "zod";
import { ConfigError, describeRange, formatPath, int, issueLines, oneOf, real } from "./common";

const messageOf = (schema: z.ZodType, value: unknown) => schema.safeParse(value).error?.issues[0]?.message;

describe("formatPath", () => {
  it("writes paths the way users write them", () => {
    expect(formatPath(["messages", 0, "role"])).toBe("messages[0].role");
    expect(formatPath(["drift_guard", "max_kl"])).toBe("drift_guard.max_kl");
    expect(formatPath([0, "x"])).toBe("[0].x");
    expect(formatPath([])).toBe("");
  });
});

describe("number helpers", () => {
  it("describe inclusive and exclusive bounds", () => {
    expect(describeRange({ value: 0, exclusive: true }, { value: 1 })).toBe("(0, 1]");
    expect(describeRange({ value: 0 })).toBe("≥ 0");
  });

  it("real() names the range and the value received", () => {
    const t = real(0, 2);
    expect(t.parse(0)).toBe(0);
    expect(t.parse(2)).toBe(2);
    expect(messageOf(t, 2.5)).toBe("must be a number in [0, 2] (got 2.5)");
    expect(messageOf(t, "1")).toBe('must be a number in [0, 2] (got "1")');
    expect(messageOf(real(), "x")).toBe('must be a finite number (got "x")');
    expect(messageOf(t, undefined)).toBe("is required");
    expect(t.safeParse(Number.NaN).success).toBe(false);
    expect(t.safeParse(Infinity).success).toBe(false);
  });

  it("real() honours exclusive bounds", () => {
    const p = real({ value: 0, exclusive: true }, 1);
    expect(p.safeParse(0).success).toBe(false);
    expect(p.safeParse(1e-9).success).toBe(true);
    expect(messageOf(p, 0)).toBe("must be a number in (0, 1] (got 0)");
  });

  it("int() rejects fractions and unsafe integers", () => {
    const n = int(1, 64);
    expect(messageOf(n, 0)).toBe("must be an integer in [1, 64] (got 0)");
    expect(messageOf(n, 1.5)).toBe("must be an integer in [1, 64] (got 1.5)");
    expect(int().safeParse(2 ** 60).success).toBe(false);
    expect(messageOf(int(0), -1)).toBe("must be an integer ≥ 0 (got -1)");
  });

  it("oneOf() lists the choices", () => {
    expect(messageOf(oneOf(["hard", "soft"]), "medium")).toBe('must be one of "hard", "soft" (got "medium")');
  });
});

describe("issueLines / ConfigError", () => {
  it("gives one line per problem and per unknown key", () => {
    const schema = z.strictObject({ a: int(0), b: z.strictObject({ c: real(0, 1) }) });
    const err = schema.safeParse({ a: -1, b: { c: 2, typo: 1 }, extra: true }).error!;
    const lines = issueLines(err);
    expect(lines).toEqual(
      expect.arrayContaining([
        "a: must be an integer ≥ 0 (got -1)",
        "b.c: must be a number in [0, 1] (got 2)",
        "b.typo: is not a known option",
        "extra: is not a known option",
      ]),
    );
    expect(lines).toHaveLength(4);
    const e = new ConfigError("thing", lines);
    expect(e.message.split("\n")[0]).toBe("invalid thing:");
    expect(e.message.split("\n")).toHaveLength(5);
    expect(e.problems).toBe(lines);
  });
});
