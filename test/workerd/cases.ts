// The requests the Worker and the Node gateway both answer in the workerd tests: the gateway config they share
// (TETHER_CONFIG of the Worker), generation requests with fixed seeds (golden: same tokens, same KL), and client
// mistakes (same OpenAI-shaped 4xx). Runtime-free: imported by global-setup.ts (Node) and the tests (workerd).

/**
 * The Worker tests' own database on TEST_DATABASE_URL's server (`<name>_worker`, recreated by global-setup.ts),
 * so that suites truncating the shared test database cannot race the Worker's drift-log and alert checks.
 * @example workerDatabaseUrl("postgres://postgres@127.0.0.1:5432/test") // "postgres://postgres@127.0.0.1:5432/test_worker"
 */
export function workerDatabaseUrl(url: string): string {
  const u = new URL(url);
  u.pathname = `/${u.pathname.slice(1) || "postgres"}_worker`;
  return u.toString();
}

/** Gateway config of both runtimes (guard: k = 4 candidates, 2 rounds; clients may switch it off). */
export const CONFIG = { drift_guard: { allow_disable: true, candidates: 4, max_rounds: 2 } };

export interface Case {
  name: string;
  method?: "GET" | "POST";
  path: string;
  /** JSON body, or raw text (malformed JSON). */
  body?: unknown;
  raw?: string;
}

/** Generation requests: every sampled token depends on the seed, every choice carries `drift`. */
export const GOLDEN: Case[] = [
  { name: "guarded, temperature 1, seed 11", path: "/v1/completions", body: { prompt: "Hello", max_tokens: 8, temperature: 1, seed: 11 } },
  { name: "guard off, n = 3, seed 9", path: "/v1/completions", body: { prompt: "23*4=", max_tokens: 8, temperature: 1, n: 3, seed: 9, drift_guard: false } },
  { name: "greedy with logprobs", path: "/v1/completions", body: { prompt: "12+7=", max_tokens: 8, temperature: 0, logprobs: 1 } },
  { name: "reference fallback", path: "/v1/completions", body: { prompt: "9*6=6", max_tokens: 1, temperature: 0 } },
  { name: "chat, guarded, seed 5", path: "/v1/chat/completions", body: { messages: [{ role: "user", content: "12+7=" }], max_tokens: 8, temperature: 1, seed: 5 } },
  { name: "chat, top_p and stop, seed 3", path: "/v1/chat/completions", body: { messages: [{ role: "user", content: "Hello" }], max_tokens: 10, top_p: 0.9, stop: ["0"], seed: 3 } },
];

/** Streamed requests (SSE): the chunks, less ids and timestamps, must be the same in both runtimes. */
export const STREAMED: Case[] = [
  { name: "stream completion, seed 21", path: "/v1/completions", body: { prompt: "40+2=", max_tokens: 8, temperature: 1, seed: 21, stream: true } },
  { name: "stream chat, seed 4", path: "/v1/chat/completions", body: { messages: [{ role: "user", content: "hi" }], max_tokens: 6, seed: 4, stream: true, stream_options: { include_usage: true } } },
];

/** Client mistakes: each must get the same status and the same error body from both runtimes. */
export const BAD: Case[] = [
  { name: "negative max_tokens", path: "/v1/completions", body: { prompt: "a", max_tokens: -8 } },
  { name: "temperature as text", path: "/v1/completions", body: { prompt: "a", temperature: "hot" } },
  { name: "missing prompt", path: "/v1/completions", body: {} },
  { name: "token id out of the vocabulary", path: "/v1/completions", body: { prompt: [1, 1000000] } },
  { name: "unknown model", path: "/v1/chat/completions", body: { model: "gpt-4", messages: [{ role: "user", content: "x" }] } },
  { name: "messages not a list", path: "/v1/chat/completions", body: { messages: "hi" } },
  { name: "drift guard candidates over the limit", path: "/v1/completions", body: { prompt: "a", drift_guard: { candidates: 999 } } },
  { name: "malformed JSON", path: "/v1/completions", raw: '{"prompt": "a",' },
  { name: "GET on a POST route", method: "GET", path: "/v1/completions" },
  { name: "unknown route", method: "GET", path: "/v1/engines" },
];

/** What a runtime answered, less what differs between any two answers (ids, timestamps). */
export interface Answer {
  status: number;
  body: unknown;
  /** SSE: the parsed data chunks, "[DONE]" as the string. */
  chunks?: unknown[];
}

/**
 * The request of a case, for app.request (Node) or fetch (workerd); `model` (the served name, required by the
 * API) is added to JSON bodies that do not name one.
 * @example const res = await app.request(c.path, requestInit(c, app.context.modelName));
 */
export function requestInit(c: Case, model: string): RequestInit {
  const method = c.method ?? "POST";
  if (method === "GET") return { method };
  const body = c.body !== null && typeof c.body === "object" && !Array.isArray(c.body) && !("model" in c.body) ? { model, ...c.body } : c.body;
  return { method, headers: { "content-type": "application/json" }, body: c.raw ?? JSON.stringify(body) };
}

/** Drops response ids ("cmpl-…", "chatcmpl-…": random per request) and `created` (a clock), keeping the rest. */
export function normalize(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalize);
  if (value === null || typeof value !== "object") return value;
  const random = ([k, v]: [string, unknown]) => k === "created" || (k === "id" && typeof v === "string" && /^(chat)?cmpl-/.test(v));
  return Object.fromEntries(Object.entries(value).filter((e) => !random(e)).map(([k, v]) => [k, normalize(v)]));
}

/**
 * Reads a response into an Answer (SSE bodies parsed chunk by chunk).
 * @example const answer = await readAnswer(await fetch(url, requestInit(c)));
 */
export async function readAnswer(res: Response): Promise<Answer> {
  const text = await res.text();
  if ((res.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
    const chunks = text
      .split("\n\n")
      .map((event) => event.replace(/^data: /, "").trim())
      .filter((data) => data !== "")
      .map((data) => (data === "[DONE]" ? data : normalize(JSON.parse(data))));
    return { status: res.status, body: null, chunks };
  }
  return { status: res.status, body: normalize(JSON.parse(text)) };
}
