// JSONL readers: good files parse, every bad line fails with the exact one-line message.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { DataLineError, grpoLineSchema, parseJsonl, readGrpoJsonl, readSftJsonl, sftLineSchema, writeJsonl } from "./jsonl";

const dir = mkdtempSync(join(tmpdir(), "tether-jsonl-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function sftError(content: string): string {
  try {
    parseJsonl(content, sftLineSchema, "data.jsonl");
  } catch (error) {
    expect(error).toBeInstanceOf(DataLineError);
    return (error as Error).message;
  }
  throw new Error("expected a DataLineError");
}

describe("SFT lines", () => {
  it("parses objects, skipping blank lines, CRLF, a BOM and extra fields", () => {
    const content = '\uFEFF{"prompt":"1+1=","completion":"2"}\r\n\n  \n{"prompt":"","completion":"text","id":7}\n';
    expect(parseJsonl(content, sftLineSchema, "data.jsonl")).toEqual([
      { prompt: "1+1=", completion: "2" },
      { prompt: "", completion: "text" },
    ]);
  });

  it("names file, line and problem in one line", () => {
    const ok = '{"prompt":"a","completion":"b"}\n';
    expect(sftError(ok + '{"prompt":"a","completion":17}\n')).toBe('data.jsonl:2: "completion" must be a string');
    expect(sftError(ok + "\n" + '{"prompt":"a"}')).toBe('data.jsonl:3: "completion" is missing');
    expect(sftError('{"prompt":1,"completion":"b"}')).toBe('data.jsonl:1: "prompt" must be a string');
    expect(sftError('{"prompt":"a","completion":""}')).toBe('data.jsonl:1: "completion" must not be empty');
    expect(sftError('["a","b"]')).toBe("data.jsonl:1: expected a JSON object, got an array");
    expect(sftError("null")).toBe("data.jsonl:1: expected a JSON object, got null");
    expect(sftError('"text"')).toBe("data.jsonl:1: expected a JSON object, got a string");
    expect(sftError(ok + '{"prompt":"a",')).toMatch(/^data\.jsonl:2: not valid JSON \(.+\)$/);
    expect(sftError("\n\n")).toBe("data.jsonl: contains no examples");
    for (const message of [sftError('{"prompt":"a",'), sftError("{}")]) expect(message).not.toContain("\n");
  });

  it("carries file, line and problem as fields", () => {
    try {
      parseJsonl('{"prompt":"a","completion":"b"}\n{"prompt":"a","completion":false}', sftLineSchema, "x.jsonl");
      expect.unreachable();
    } catch (error) {
      expect(error).toMatchObject({ name: "DataLineError", file: "x.jsonl", line: 2, problem: '"completion" must be a string' });
    }
  });
});

describe("GRPO lines", () => {
  it("reads answers as text, integers included", () => {
    const rows = parseJsonl('{"prompt":"7*8=","answer":"56"}\n{"prompt":"6*7=","answer":42}', grpoLineSchema, "g.jsonl");
    expect(rows).toEqual([
      { prompt: "7*8=", answer: "56" },
      { prompt: "6*7=", answer: "42" },
    ]);
  });

  it("rejects missing, empty and non-integer answers", () => {
    const run = (line: string) => () => parseJsonl(line, grpoLineSchema, "g.jsonl");
    expect(run('{"prompt":"a"}')).toThrow('g.jsonl:1: "answer" is missing');
    expect(run('{"prompt":"a","answer":""}')).toThrow('g.jsonl:1: "answer" must not be empty');
    expect(run('{"prompt":"a","answer":1.5}')).toThrow('g.jsonl:1: "answer" must be a string or an integer');
    expect(run('{"prompt":"","answer":"1"}')).toThrow('g.jsonl:1: "prompt" must not be empty');
    expect(run('{"answer":"1"}')).toThrow('g.jsonl:1: "prompt" is missing');
  });
});

describe("files", () => {
  it("writeJsonl → readers round trip, creating directories", () => {
    const sft = [
      { prompt: "12+7=", completion: "19" },
      { prompt: 'quote " and \n newline', completion: "ok" },
    ];
    const path = join(dir, "nested", "sft.jsonl");
    writeJsonl(path, sft);
    expect(readSftJsonl(path)).toEqual(sft);
    const grpoPath = join(dir, "grpo.jsonl");
    writeJsonl(grpoPath, [{ prompt: "7*8=", answer: "56" }]);
    expect(readGrpoJsonl(grpoPath)).toEqual([{ prompt: "7*8=", answer: "56" }]);
  });

  it("reports a bad line with the path as given, and a missing file", () => {
    const path = join(dir, "bad.jsonl");
    writeFileSync(path, '{"prompt":"a","completion":"b"}\n{"prompt":"a","completion":["b"]}\n');
    expect(() => readSftJsonl(path)).toThrow(`${path}:2: "completion" must be a string`);
    expect(() => readSftJsonl(join(dir, "missing.jsonl"))).toThrow(`${join(dir, "missing.jsonl")}: no such file`);
  });
});
