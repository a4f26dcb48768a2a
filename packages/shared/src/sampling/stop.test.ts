import { describe, expect, it } from "vitest";
import { StopSequences } from "./stop";

describe("stop sequences", () => {
  it("finds the earliest match across stops, and the stop listed first at equal offsets", () => {
    const stops = new StopSequences(["END", "\n\n", "EN"]);
    expect(stops.find("abc\n\nxyz END")).toEqual({ index: 3, stop: "\n\n" });
    expect(stops.find("abc END")).toEqual({ index: 4, stop: "END" });
    expect(stops.find("no match here")).toBeNull();
  });

  it("incremental search from an offset still sees a stop that straddles it", () => {
    const stops = new StopSequences("STOP");
    const text = "hello ST" + "OP world";
    expect(stops.find(text, 8)).toEqual({ index: 6, stop: "STOP" });
    // every prefix checked incrementally gives the same first match as a full search
    let first = null;
    for (let n = 1; n <= text.length && !first; n++) first = stops.find(text.slice(0, n), n - 1);
    expect(first).toEqual(stops.find(text));
  });

  it("safePrefix holds back a tail that could still become a stop string", () => {
    const stops = new StopSequences(["</s>", "\n\n"]);
    expect(stops.safePrefix("hello </")).toBe(6);
    expect(stops.safePrefix("hello\n")).toBe(5);
    expect(stops.safePrefix("hello")).toBe(5);
    expect(new StopSequences(null).safePrefix("abc")).toBe(3);
  });

  it("rejects empty stop strings naming the index", () => {
    expect(() => new StopSequences(["ok", ""])).toThrow(/stop\[1\] must be a non-empty string/);
  });
});
