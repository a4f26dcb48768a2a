import { describe, expect, it } from "vitest";
import { ParameterError } from "../errors";
import { formatFreezeSpec, freezeScales, NO_FREEZE, parseFreezeSpec } from "./freeze-spec";

function errorOf(text: string): ParameterError {
  try {
    parseFreezeSpec(text);
  } catch (e) {
    return e as ParameterError;
  }
  throw new Error(`parseFreezeSpec(${JSON.stringify(text)}) did not throw`);
}

describe("parseFreezeSpec", () => {
  it("parses the SPEC example into per-layer scales and a default", () => {
    expect(parseFreezeSpec("0:0,1:0.1,*:1")).toEqual({ layers: { "0": 0, "1": 0.1 }, rest: 1 });
    expect(freezeScales(parseFreezeSpec("0:0,1:0.1,*:1"), 4)).toEqual([0, 0.1, 1, 1]);
  });

  it("expands inclusive ranges, tolerates spaces, defaults * to 1", () => {
    expect(freezeScales(parseFreezeSpec(" 0-2 : 0 , 3:.5 "), 5)).toEqual([0, 0, 0, 0.5, 1]);
    expect(freezeScales(parseFreezeSpec("*:0.25"), 3)).toEqual([0.25, 0.25, 0.25]);
    expect(parseFreezeSpec("1:1e-1")).toEqual({ layers: { "1": 0.1 }, rest: 1 });
  });

  it("names the offending entry", () => {
    expect(errorOf("0:0,1:2").message).toBe('freeze entry "1:2": scale must be a number in [0, 1]');
    expect(errorOf("0:0,1:-0.5").message).toBe('freeze entry "1:-0.5": scale must be a number in [0, 1]');
    expect(errorOf("0:0,x:1").message).toBe('freeze entry "x:1": layer must be a non-negative integer, a range <from>-<to> or *');
    expect(errorOf("0:0,3").message).toBe('freeze entry "3": must be <layer>:<scale>, <from>-<to>:<scale> or *:<scale>');
    expect(errorOf("3-1:0").message).toBe('freeze entry "3-1:0": range start must be ≤ its end (3 > 1)');
    expect(errorOf("0-3:0,2:1").message).toBe('freeze entry "2:1": layer 2 is already set by "0-3:0"');
    expect(errorOf("*:0,*:1").message).toBe('freeze entry "*:1": "*" is given twice');
    expect(errorOf("0:0,").message).toBe('freeze entry "": must be <layer>:<scale>, <from>-<to>:<scale> or *:<scale>');
    expect(errorOf("1:abc").message).toBe('freeze entry "1:abc": scale must be a number in [0, 1]');
    expect(errorOf("1:0x1").message).toMatch(/scale must be/);
    expect(errorOf("").message).toMatch(/^freeze must not be empty/);
    expect(errorOf("1:2")).toBeInstanceOf(ParameterError);
    expect(errorOf("1:2").param).toBe("freeze");
  });

  it("refuses layers the model does not have", () => {
    expect(() => freezeScales(parseFreezeSpec("7:0"), 4)).toThrow("freeze names layer 7 but the model has 4 layers (0–3)");
    expect(freezeScales(NO_FREEZE, 2)).toEqual([1, 1]);
  });
});

describe("formatFreezeSpec", () => {
  it("collapses runs and round-trips through the parser", () => {
    const spec = parseFreezeSpec("0:0,1:0,2:0.1,4:0.1,*:0.5");
    const text = formatFreezeSpec(spec);
    expect(text).toBe("0-1:0,2:0.1,4:0.1,*:0.5");
    expect(parseFreezeSpec(text)).toEqual(spec);
  });
});
