// The dashboard's link to the gateway: the admin token (sessionStorage, never the URL), JSON reads of the admin
// API with `Authorization: Bearer`, and the alert stream read with fetch() (EventSource cannot send headers)
// that reconnects with Last-Event-ID and a growing delay.
import { createSseParser } from "./sse-parser.js";

const TOKEN_KEY = "tether.adminToken";

export const token = {
  get: () => sessionStorage.getItem(TOKEN_KEY),
  set: (value) => sessionStorage.setItem(TOKEN_KEY, value),
  clear: () => sessionStorage.removeItem(TOKEN_KEY),
};

/** Thrown for 401/403: the page asks for a token again with the server's message. */
export class AuthError extends Error {}

async function errorMessage(res) {
  try {
    const body = await res.json();
    return body?.error?.message ?? `HTTP ${res.status}`;
  } catch {
    return `HTTP ${res.status}`;
  }
}

/** GET an admin route as JSON. */
export async function getJson(path, signal) {
  const res = await fetch(path, { headers: { authorization: `Bearer ${token.get()}` }, signal });
  if (res.status === 401 || res.status === 403) throw new AuthError(await errorMessage(res));
  if (!res.ok) throw new Error(`${path}: ${await errorMessage(res)}`);
  return res.json();
}

/**
 * Reads /admin/alerts/stream until stop(); calls on.alert(json, id), on.drift(json), on.status("live" |
 * "retrying" | "offline", detail) and on.auth(message) (then stops: a new token is needed).
 * @example const stream = openStream({ alert: upsert, drift: plot, status: show, auth: login }); stream.stop();
 */
export function openStream(on) {
  const controller = new AbortController();
  let lastId = "";
  let delay = 1000;
  let stopped = false;

  async function once() {
    const headers = { authorization: `Bearer ${token.get()}`, accept: "text/event-stream" };
    if (lastId) headers["last-event-id"] = lastId; // resume: the server replays retained alert events after it
    const res = await fetch("/admin/alerts/stream", { headers, signal: controller.signal, cache: "no-store" });
    if (res.status === 401 || res.status === 403) {
      stopped = true;
      on.auth(await errorMessage(res));
      return;
    }
    if (!res.ok || !res.body) throw new Error(await errorMessage(res));
    on.status("live");
    delay = 1000;
    const parser = createSseParser((e) => {
      if (e.id) lastId = e.id;
      try {
        if (e.event === "alert") on.alert(JSON.parse(e.data));
        else if (e.event === "drift") on.drift(JSON.parse(e.data));
      } catch (error) {
        console.warn("tether dashboard: bad event", e.event, error);
      }
    });
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.push(value);
    }
  }

  (async () => {
    while (!stopped) {
      try {
        await once();
      } catch (error) {
        if (controller.signal.aborted) return;
        on.status("retrying", error.message);
      }
      if (stopped) return;
      on.status("retrying", `reconnecting in ${Math.round(delay / 1000)} s`);
      await new Promise((r) => setTimeout(r, delay));
      delay = Math.min(delay * 2, 30_000);
    }
  })();

  return {
    stop() {
      stopped = true;
      controller.abort();
    },
  };
}
