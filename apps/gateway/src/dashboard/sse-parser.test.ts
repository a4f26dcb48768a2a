// The dashboard's SSE parser (client/sse-parser.js) against hand-written event streams cut at every possible
// chunk boundary: events, ids, comments, multi-line data, CRLF and CR line ends, a BOM.
import { describe, expect, it } from "vitest";
import { createSseParser, type SseEvent } from "./client/sse-parser.js";

/** Feeds `text` to a fresh parser in chunks cut at `cuts` and returns the events and the final id. */
function parse(text: string, cuts: number[] = []): { events: SseEvent[]; last: string } {
  const events: SseEvent[] = [];
  const p = createSseParser((e) => events.push(e));
  let at = 0;
  for (const cut of [...cuts, text.length]) {
    p.push(text.slice(at, cut));
    at = cut;
  }
  return { events, last: p.lastEventId() };
}

const STREAM = '\uFEFF: ping\nid: 7\nevent: alert\ndata: {"id":1}\n\nevent: drift\ndata: a\ndata: b\n\n: ping\n\nid: 9\ndata:plain\n\n';
const WANT: SseEvent[] = [
  { event: "alert", data: '{"id":1}', id: "7" },
  { event: "drift", data: "a\nb", id: "7" }, // no id field: the last one stays
  { event: "message", data: "plain", id: "9" }, // no event field: "message"; no space after the colon
];

describe("SSE parser", () => {
  it("parses events, multi-line data, comments and ids", () => {
    expect(parse(STREAM)).toEqual({ events: WANT, last: "9" });
  });

  it("gives the same events whatever the chunk boundaries (every single cut, and every pair of cuts)", () => {
    for (let i = 0; i <= STREAM.length; i++) expect(parse(STREAM, [i]).events, `cut ${i}`).toEqual(WANT);
    for (let i = 0; i <= STREAM.length; i += 3) for (let j = i; j <= STREAM.length; j += 2) expect(parse(STREAM, [i, j]).events).toEqual(WANT);
  });

  it("accepts CRLF and lone CR line ends, also split between chunks", () => {
    const crlf = STREAM.replace(/\n/g, "\r\n");
    const cr = STREAM.replace(/\n/g, "\r");
    for (let i = 0; i <= crlf.length; i++) expect(parse(crlf, [i]).events, `crlf cut ${i}`).toEqual(WANT);
    // A lone CR at the very end of the input is only known to end a line once more text (or nothing) follows.
    expect(parse(cr + "\r").events).toEqual(WANT);
  });

  it("does not dispatch an unterminated event, nor one without data", () => {
    expect(parse("event: alert\ndata: x").events).toEqual([]);
    expect(parse("id: 3\nevent: alert\n\n")).toEqual({ events: [], last: "3" });
  });
});
