import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { bf16Bits, bf16Value, f16Bits, f16Value } from "../../../../test/support/hf-fixture";

// The fixture's own bf16/fp16 rounding is what the import tests trust: check it against known bit
// patterns and against Python's struct "e" (IEEE binary16, round-half-even) format.
describe("hf-fixture number formats", () => {
  it("bf16 rounds float32 bits to nearest, ties to even", () => {
    expect(bf16Bits(1)).toBe(0x3f80);
    expect(bf16Bits(-2.5)).toBe(0xc020);
    expect(bf16Bits(bf16Value(0x3f80) + 2 ** -8)).toBe(0x3f80); // tie (0x3f808000) → even 0x3f80
    expect(bf16Bits(bf16Value(0x3f81) + 2 ** -8)).toBe(0x3f82); // tie (0x3f818000) → even 0x3f82
    expect(bf16Bits(1 + 2 ** -8 + 2 ** -20)).toBe(0x3f81); // above the tie → up
  });

  it("fp16 matches Python's struct 'e' on normals, subnormals, ties and overflow", () => {
    const xs = [0, 1, -2.5, 0.1, 1 / 3, 65504, 70000, 2 ** -14, 2 ** -24, 3 * 2 ** -26, 1 + 2 ** -11, 1 + 3 * 2 ** -11, -0.000123, 1234.567];
    for (let i = 0; i < 200; i++) xs.push(Math.sin(i * 12.9898) * 4 ** ((i % 11) - 5));
    const py = spawnSync("python3", ["-c", "import json,struct,sys\nprint(json.dumps([struct.unpack('<H', struct.pack('<e', x))[0] if abs(x) < 65520 else (0xfc00 if x < 0 else 0x7c00) for x in json.load(sys.stdin)]))"], {
      input: JSON.stringify(xs),
      encoding: "utf8",
    });
    expect(py.status, py.stderr).toBe(0);
    expect(xs.map(f16Bits)).toEqual(JSON.parse(py.stdout));
    expect([0x3c00, 0xc100, 0x0001, 0x7bff].map(f16Value)).toEqual([1, -2.5, 2 ** -24, 65504]);
  });
});
