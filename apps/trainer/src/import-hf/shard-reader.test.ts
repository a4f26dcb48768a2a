import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { safetensorsBytes } from "../../../../test/support/hf-fixture";
import { readShardHeader, streamShard } from "./shard-reader";

describe("streaming shard reader", () => {
  const dir = mkdtempSync(join(tmpdir(), "tether-shard-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const tensors = [
    { name: "b", shape: [2], dtype: "F32" as const, values: Float64Array.of(1.5, -2) },
    { name: "a", shape: [3], dtype: "BF16" as const, values: Float64Array.of(1, -2.5, 0) },
  ];

  it("hands over each tensor's bytes in file order and hashes the whole file", () => {
    const bytes = safetensorsBytes(tensors);
    writeFileSync(join(dir, "s.safetensors"), bytes);
    const header = readShardHeader(dir, "s.safetensors");
    expect([...header.entries.keys()]).toEqual(["a", "b"]);
    const seen: [string, number[]][] = [];
    const sha = streamShard(header, (name, _e, b) => seen.push([name, [...b]]));
    expect(sha).toBe(createHash("sha256").update(readFileSync(join(dir, "s.safetensors"))).digest("hex"));
    // bf16 1 = 0x3f80, −2.5 = 0xc020, 0 = 0 (little-endian); f32 1.5 = 0x3fc00000, −2 = 0xc0000000
    expect(seen).toEqual([
      ["a", [0x80, 0x3f, 0x20, 0xc0, 0, 0]],
      ["b", [0, 0, 0xc0, 0x3f, 0, 0, 0, 0xc0]],
    ]);
  });

  it("a truncated shard is refused naming the file", () => {
    const bytes = safetensorsBytes(tensors);
    writeFileSync(join(dir, "cut.safetensors"), bytes.subarray(0, bytes.length - 3));
    expect(() => readShardHeader(dir, "cut.safetensors")).toThrow(/^cut\.safetensors: b data_offsets must span 8 bytes inside the 11-byte data section/);
    writeFileSync(join(dir, "tiny.safetensors"), bytes.subarray(0, 5));
    expect(() => readShardHeader(dir, "tiny.safetensors")).toThrow(/^tiny\.safetensors: is 5 bytes, shorter than the 8-byte header length/);
  });
});
