// Streaming safetensors reader for import: the header first (cheap, so every name/shape/dtype can be
// checked before any weight is converted), then one pass front to back that hands each tensor's bytes
// to a callback and hashes the whole file on the way. Memory: one tensor's raw bytes at a time, so a
// 4 GB shard (larger than readFileSync allows) is fine.
import { createHash } from "node:crypto";
import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { join } from "node:path";
import { MAX_HEADER_BYTES, parseSafetensorsHeader, type TensorEntry } from "@tether/shared/io/safetensors";

/** One shard's header, with where its data section starts. */
export interface ShardHeader {
  file: string;
  path: string;
  /** File size in bytes. */
  size: number;
  /** 8 + header length: offset of byte 0 of the data section. */
  dataStart: number;
  entries: Map<string, TensorEntry>;
}

/** Largest single read; readSync moves at most ~2 GiB per call, and hashing gaps needs no big buffer. */
const CHUNK = 64 << 20;

// Fill `buf` from file offset `position` (readSync may return short counts).
function readFully(fd: number, buf: Uint8Array, position: number): void {
  let done = 0;
  while (done < buf.length) {
    const n = readSync(fd, buf, done, Math.min(buf.length - done, 1 << 30), position + done);
    if (n === 0) throw new Error(`unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

function withFile<T>(path: string, use: (fd: number) => T): T {
  const fd = openSync(path, "r");
  try {
    return use(fd);
  } finally {
    closeSync(fd);
  }
}

/**
 * Reads and checks a shard's header (offsets inside the file, known dtypes); errors name the file.
 * @example readShardHeader("Qwen2.5-0.5B", "model.safetensors").entries.get("model.norm.weight")
 */
export function readShardHeader(dir: string, file: string): ShardHeader {
  const path = join(dir, file);
  try {
    return withFile(path, (fd) => {
      const size = fstatSync(fd).size;
      if (size < 8) throw new Error(`is ${size} bytes, shorter than the 8-byte header length`);
      const length = Buffer.alloc(8);
      readFully(fd, length, 0);
      const n = Number(length.readBigUInt64LE(0));
      if (n > size - 8 || n > MAX_HEADER_BYTES) throw new Error(`header length ${n} exceeds the file size ${size}`);
      const json = Buffer.alloc(n);
      readFully(fd, json, 8);
      const { entries } = parseSafetensorsHeader(json, size - 8 - n);
      return { file, path, size, dataStart: 8 + n, entries };
    });
  } catch (e) {
    throw new Error(`${file}: ${(e as Error).message}`);
  }
}

/**
 * Reads the shard once, in file order: `onTensor(name, entry, bytes)` per tensor (a fresh buffer each time,
 * dropped unless the callback keeps it), and returns the sha256 of the whole file.
 * @example const sha = streamShard(header, (name, e, bytes) => weights.set(name, toFloat32({ ...e, bytes })));
 */
export function streamShard(h: ShardHeader, onTensor: (name: string, entry: TensorEntry, bytes: Uint8Array) => void): string {
  const hash = createHash("sha256");
  return withFile(h.path, (fd) => {
    let at = 0; // bytes hashed so far
    // Hash [at, end) without keeping it: the header, and any bytes between tensors.
    const hashUpTo = (end: number) => {
      while (at < end) {
        const chunk = Buffer.allocUnsafe(Math.min(CHUNK, end - at));
        readFully(fd, chunk, at);
        hash.update(chunk);
        at += chunk.length;
      }
    };
    const ordered = [...h.entries].sort((a, b) => a[1].begin - b[1].begin);
    for (const [name, entry] of ordered) {
      const begin = h.dataStart + entry.begin;
      if (begin < at) throw new Error(`${h.file}: ${name} overlaps the tensor before it (data_offsets ${entry.begin}–${entry.end})`);
      hashUpTo(begin);
      const bytes = Buffer.allocUnsafe(entry.end - entry.begin);
      readFully(fd, bytes, begin);
      hash.update(bytes);
      at = begin + bytes.length;
      onTensor(name, entry, bytes);
    }
    hashUpTo(h.size);
    return hash.digest("hex");
  });
}
