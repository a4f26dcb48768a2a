// Server-sent events over fetch(): EventSource cannot send an Authorization header, so the dashboard reads
// the stream with fetch() and parses it here (the WHATWG "event stream interpretation", minus `retry`).
// Plain ES module, served as is to the browser (no build step) and imported by the unit test.

/**
 * Returns push(chunk) for decoded text chunks; calls onEvent({ event, data, id }) per dispatched event.
 * `lastEventId()` is the id to send as Last-Event-ID when reconnecting.
 * @example const p = createSseParser((e) => console.log(e.event, e.data)); p.push("event: a\ndata: 1\n\n");
 * @param {(e: { event: string, data: string, id: string }) => void} onEvent
 */
export function createSseParser(onEvent) {
  let buffer = "";
  let event = "";
  let data = [];
  let lastId = "";
  let sawBom = false;

  function line(text) {
    if (text === "") {
      // A blank line dispatches; an event with no data field is dropped (spec), but its id still counts.
      if (data.length > 0) onEvent({ event: event || "message", data: data.join("\n"), id: lastId });
      event = "";
      data = [];
      return;
    }
    if (text.startsWith(":")) return; // comment (": ping")
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    let value = colon < 0 ? "" : text.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id" && !value.includes("\0")) lastId = value;
  }

  return {
    /** @param {string} chunk */
    push(chunk) {
      if (!sawBom) {
        sawBom = true;
        if (chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      }
      buffer += chunk;
      // Lines end in \n, \r\n or \r; a trailing \r may be the first half of \r\n, so keep it for the next chunk.
      for (;;) {
        const m = /\r\n|\n|\r(?!$)/.exec(buffer);
        if (!m) break;
        line(buffer.slice(0, m.index));
        buffer = buffer.slice(m.index + m[0].length);
      }
    },
    lastEventId: () => lastId,
  };
}
