import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { decodeSafetensors, encodeSafetensors, toFloat32 } from "./safetensors";

// An independent reader: Python's standard library (struct + json), no safetensors package.
const PYTHON_READER = `
import json, struct, sys
raw = sys.stdin.buffer.read()
(n,) = struct.unpack("<Q", raw[:8])
header = json.loads(raw[8:8 + n])
data = raw[8 + n:]
out = {"metadata": header.pop("__metadata__", {}), "aligned": (8 + n) % 8 == 0, "tensors": {}}
for name, t in header.items():
    b, e = t["data_offsets"]
    vals = struct.unpack("<%df" % ((e - b) // 4), data[b:e])
    out["tensors"][name] = {"dtype": t["dtype"], "shape": t["shape"], "values": list(vals)}
print(json.dumps(out))
`;

describe("safetensors", () => {
  const tensors = {
    "model.embed_tokens.weight": { shape: [3, 2], data: Float32Array.of(1, -2, 3.5, 0.25, -0.125, 7) },
    "model.norm.weight": { shape: [2], data: Float32Array.of(1, 1) },
    "model.layers.0.self_attn.q_proj.bias": { shape: [1], data: Float32Array.of(-3) },
  };

  it("is read back by an independent reader (Python stdlib) with the same names, shapes and values", () => {
    const bytes = encodeSafetensors(tensors, { format: "pt" });
    const py = spawnSync("python3", ["-c", PYTHON_READER], { input: bytes });
    expect(py.status, py.stderr?.toString()).toBe(0);
    const parsed = JSON.parse(py.stdout.toString());
    expect(parsed.metadata).toEqual({ format: "pt" });
    expect(parsed.aligned).toBe(true);
    for (const [name, { shape, data }] of Object.entries(tensors)) {
      expect(parsed.tensors[name]).toEqual({ dtype: "F32", shape, values: Array.from(data) });
    }
  });

  it("round-trips through decode", () => {
    const file = decodeSafetensors(encodeSafetensors(tensors));
    expect([...file.tensors.keys()]).toEqual(Object.keys(tensors));
    for (const [name, { shape, data }] of Object.entries(tensors)) {
      expect(file.tensors.get(name)!.shape).toEqual(shape);
      expect(toFloat32(file.tensors.get(name)!)).toEqual(data);
    }
  });

  it("widens bf16 and fp16 exactly (hand-encoded bit patterns)", () => {
    // bf16: 0x3F80 = 1, 0xC020 = −2.5, 0x0000 = 0; fp16: 0x3C00 = 1, 0xC100 = −2.5, 0x0001 = 2^−24, 0x7C00 = ∞
    const bf = new Uint8Array(new Uint16Array([0x3f80, 0xc020, 0x0000]).buffer);
    const half = new Uint8Array(new Uint16Array([0x3c00, 0xc100, 0x0001, 0x7c00]).buffer);
    expect([...toFloat32({ dtype: "BF16", shape: [3], bytes: bf })]).toEqual([1, -2.5, 0]);
    expect([...toFloat32({ dtype: "F16", shape: [4], bytes: half })]).toEqual([1, -2.5, 2 ** -24, Infinity]);
  });

  it("rejects truncated files, bad offsets and unknown dtypes with a clear message", () => {
    const good = encodeSafetensors(tensors);
    expect(() => decodeSafetensors(good.subarray(0, 4))).toThrow(/shorter than its 8-byte header/);
    expect(() => decodeSafetensors(good.subarray(0, good.length - 4))).toThrow(/data_offsets must span/);
    const header = new TextEncoder().encode(JSON.stringify({ x: { dtype: "Q4", shape: [1], data_offsets: [0, 1] } }));
    const bad = new Uint8Array(8 + header.length + 1);
    new DataView(bad.buffer).setBigUint64(0, BigInt(header.length), true);
    bad.set(header, 8);
    expect(() => decodeSafetensors(bad)).toThrow(/x has an unsupported dtype/);
    expect(() => encodeSafetensors({ y: { shape: [2, 2], data: new Float32Array(3) } })).toThrow(/y data length must equal/);
  });
});
