// Spill files without a database: the line codec, batch reads with torn and corrupt lines, group-fsync appends, the queue's cap and rotation.
import { appendFileSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { afterAll, describe, expect, test } from "vitest";
import { DriftLogFullError, entryRows } from "./drift-store";
import { decodeSpillLine, encodeSpillBytes, encodeSpillLine } from "./spill-codec";
import { readSpillBatch, SpillAppender } from "./spill-file";
import { SpillQueue } from "./spill-queue";
import { collectWarnings, makeEntry, tempDir } from "../../../../test/support/drift-log-helpers";

const tmp = tempDir("tether-spill-test-");
afterAll(() => tmp.remove());
const line = (prefix: string, i: number) => encodeSpillLine(makeEntry(prefix, i, 2, 1));
const decode = (text: string) => decodeSpillLine(Buffer.from(text.replace(/\n$/, ""), "utf8"));

describe("spill codec", () => {
  test("round-trips an entry exactly: Date, null, unicode, −0, ±Infinity, NaN", () => {
    const entry = makeEntry("codec", 5, 2, 1); // i = 5: an Infinity klMax
    entry.samples[0]!.klSum = NaN;
    entry.samples[1]!.logRatio = -Infinity;
    entry.request.endUser = 'a "quoted" \\ ü ✓ 🚀\nline {"$f":"NaN"}'; // a string that looks like the tag stays a string
    const text = encodeSpillLine(entry);
    expect(text.endsWith("\n")).toBe(true);
    expect(text.slice(0, -1)).not.toContain("\n");
    const back = decode(text)!;
    expect(back).toEqual(entry); // toEqual tells −0 from 0 and NaN equals NaN
    expect(back.request.createdAt).toBeInstanceOf(Date);
    expect(Object.is(back.samples[0]!.logRatio, -0)).toBe(true);
    expect(back.samples[1]!.klMax).toBe(Infinity);
  });

  test("encodeSpillBytes: the same line as bytes, with and without values that need the tagged encoding", () => {
    const plain = makeEntry("bytes", 1, 3, 2);
    for (const s of plain.samples) s.logRatio = 0.5; // finite numbers only: the fast path
    const tagged = makeEntry("bytes", 5, 3, 2); // an Infinity klMax
    tagged.samples[0]!.logRatio = -0;
    for (const entry of [plain, tagged]) {
      const bytes = encodeSpillBytes(entry);
      const json = JSON.stringify({ r: entry.request, s: entry.samples }, (_k, v: unknown) =>
        typeof v === "number" && (!Number.isFinite(v) || Object.is(v, -0)) ? { $f: Object.is(v, -0) ? "-0" : String(v) } : v,
      ); // an independent encoding: the replacer on every value
      expect(bytes.toString("utf8")).toBe(`${crc32(Buffer.from(json)).toString(16).padStart(8, "0")} ${json}\n`);
      expect(encodeSpillLine(entry)).toBe(bytes.toString("utf8"));
      expect(decodeSpillLine(bytes.subarray(0, -1))).toEqual(entry);
    }
    expect(encodeSpillLine(tagged)).toContain('{"$f":"-0"}');
    expect(encodeSpillLine(plain)).not.toContain("$f");
  });

  test("the checksum is zlib's CRC-32 of the JSON, and any damage is detected", () => {
    const text = line("crc", 1).slice(0, -1);
    const json = text.slice(9);
    expect(text.slice(0, 8)).toBe(crc32(Buffer.from(json)).toString(16).padStart(8, "0")); // an independent computation
    const flipped = text.slice(0, 30) + (text[30] === "x" ? "y" : "x") + text.slice(31);
    expect(decode(flipped)).toBeNull();
    expect(decode(text.slice(0, -5))).toBeNull(); // torn
    expect(decode("")).toBeNull();
    // A valid checksum over JSON of the wrong shape is refused too.
    const wrong = JSON.stringify({ r: { id: "x" }, s: [] }); // no createdAt
    expect(decode(`${crc32(Buffer.from(wrong)).toString(16).padStart(8, "0")} ${wrong}`)).toBeNull();
  });
});

describe("spill files", () => {
  test("readSpillBatch reads whole entries in batches of rows, skipping a corrupt line and a torn last line", async () => {
    const path = join(tmp.dir, "read.jsonl");
    const lines = Array.from({ length: 10 }, (_, i) => line("rd", i)); // 3 rows each
    lines[4] = lines[4]!.replace('"rd-4"', '"rd-X"'); // checksum no longer matches
    writeFileSync(path, lines.join("") + line("rd", 10).slice(0, 25)); // torn tail, no newline

    const ids: string[] = [];
    const skipped: string[] = [];
    let at = 0;
    let reads = 0;
    for (;;) {
      const r = await readSpillBatch(path, at, 7); // 7 rows → 3 entries of 3 rows per read
      reads++;
      ids.push(...r.entries.map((e) => e.request.id));
      expect(r.rows).toBe(r.entries.reduce((sum, e) => sum + entryRows(e), 0));
      skipped.push(...r.skipped.map((s) => `${s.reason}@${s.offset}+${s.bytes}`));
      at = r.next;
      if (r.eof) break;
    }
    expect(ids).toEqual(["rd-0", "rd-1", "rd-2", "rd-3", "rd-5", "rd-6", "rd-7", "rd-8", "rd-9"]);
    const offset4 = Buffer.byteLength(lines.slice(0, 4).join(""));
    const end = Buffer.byteLength(lines.join(""));
    expect(skipped).toEqual([`corrupt@${offset4}+${Buffer.byteLength(lines[4]!)}`, `torn@${end}+25`]);
    expect(at).toBe(end + 25);
    expect(reads).toBe(4);
  });

  test("concurrent appends share fsyncs and every acknowledged line is on disk in order", async () => {
    const path = join(tmp.dir, "append.jsonl");
    const file = await SpillAppender.create(path);
    const lines = Array.from({ length: 300 }, (_, i) => line("ap", i));
    await Promise.all(lines.map((l) => file.append(l)));
    await file.append(line("ap", 300)); // a second group
    await file.close();
    expect(readFileSync(path, "utf8")).toBe(lines.join("") + line("ap", 300));
    await expect(SpillAppender.create(path)).rejects.toThrow(/EEXIST/); // never appends to an earlier file
  });

  test.runIf(process.platform === "linux")("appends are O_DSYNC writes where the platform has it, write + fdatasync otherwise; same bytes", async () => {
    const flagsOf = (fdPath: string) => {
      // /proc/self/fdinfo of the appender's descriptor: the kernel's own record of the open flags (octal)
      for (const fd of readdirSync("/proc/self/fd")) {
        try {
          if (readlinkSync(`/proc/self/fd/${fd}`) === fdPath) return parseInt(/flags:\s+([0-7]+)/.exec(readFileSync(`/proc/self/fdinfo/${fd}`, "utf8"))![1]!, 8);
        } catch {
          // a descriptor closed meanwhile
        }
      }
      throw new Error(`no descriptor for ${fdPath}`);
    };
    const O_DSYNC = 0o10000; // Linux's value (asm-generic/fcntl.h), not read from node:fs
    const lines = Array.from({ length: 50 }, (_, i) => encodeSpillBytes(makeEntry("ds", i, 2, 1)));
    for (const dsync of [true, false]) {
      const path = join(tmp.dir, `dsync-${dsync}.jsonl`);
      const file = await SpillAppender.create(path, { dsync });
      expect((flagsOf(path) & O_DSYNC) !== 0).toBe(dsync);
      await Promise.all(lines.map((l) => file.append(l)));
      await file.close();
      expect(readFileSync(path)).toEqual(Buffer.concat(lines));
    }
  });
});

describe("spill queue", () => {
  // Lines of equal size (only the id's digit differs), so that the cap and rotation fall on known lines.
  const qLine = (i: number) => {
    const entry = makeEntry("q", 0, 2, 1);
    entry.request.id = `q-${i}`;
    return encodeSpillLine(entry);
  };
  test("refuses past its cap, rotates files, replays oldest first and deletes each file after its last batch", async () => {
    const dir = join(tmp.dir, "queue");
    const one = Buffer.byteLength(qLine(0));
    const warnings = collectWarnings();
    const queue = await SpillQueue.open({ dir, maxBytes: one * 5 + 2, rotateBytes: one * 2, warn: warnings.warn });
    for (let i = 0; i < 5; i++) await queue.append(qLine(i));
    expect(() => queue.append(qLine(5))).toThrow(DriftLogFullError);
    await queue.append(qLine(6), true); // close() may pass the cap with rows already acknowledged
    expect(queue.bytes).toBe(one * 6);
    await queue.close();
    expect(readdirSync(dir).sort()).toEqual(["spill-0000000001.jsonl", "spill-0000000002.jsonl", "spill-0000000003.jsonl"]);

    // A new process continues the numbering and replays the old files in order.
    appendFileSync(join(dir, "spill-0000000003.jsonl"), "torn"); // as a crash during an append would leave it
    const again = await SpillQueue.open({ dir, maxBytes: one * 100, warn: warnings.warn });
    expect(again.bytes).toBe(one * 6 + 4);
    await again.append(qLine(7));
    const ids: string[] = [];
    for (let batch = await again.nextBatch(4); batch; batch = await again.nextBatch(4)) {
      ids.push(...batch.entries.map((e) => e.request.id));
      await batch.done();
    }
    expect(ids).toEqual(["q-0", "q-1", "q-2", "q-3", "q-4", "q-6", "q-7"]);
    expect(readdirSync(dir)).toEqual([]);
    expect([again.bytes, again.files, again.pending, again.skippedLines]).toEqual([0, 0, false, 1]);
    expect(warnings.lines.join("\n")).toMatch(/torn last line .* of 4 bytes at offset \d+ of .*spill-0000000003\.jsonl/);
    await again.close();
  });
});
