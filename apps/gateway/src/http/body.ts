// Request bodies: a JSON content type (415 otherwise, as OpenAI), size-limited before parsing (413 also for
// chunked uploads without content-length), strict UTF-8 (400 on invalid bytes rather than silently replacing
// them), then JSON.
import { HttpError } from "./errors";

/** Reads at most `limit` bytes; stops reading and throws 413 as soon as the body is longer. */
export async function readLimited(request: Request, limit: number): Promise<Uint8Array> {
  const tooLarge = () => HttpError.of(413, `request body must be at most limits.max_body_bytes = ${limit} bytes`, null, "request_too_large");
  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw tooLarge();
  if (!request.body) return new Uint8Array(0);
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

function unsupportedType(type: string | null): HttpError {
  const got = type === null ? "no content-type header" : `content-type ${JSON.stringify(type.slice(0, 100))}`;
  return HttpError.of(415, `request body must be JSON with content-type: application/json (got ${got})`, null, "unsupported_media_type");
}

/**
 * The JSON value of a request body, or a 4xx naming what is wrong.
 * @example const body = await readJson(c.req.raw, config.limits.max_body_bytes);
 */
export async function readJson(request: Request, limit: number): Promise<unknown> {
  const type = request.headers.get("content-type");
  // application/json, with parameters (charset) or a structured suffix (application/merge-patch+json)
  const isJson = type !== null && /^application\/([\w.-]+\+)?json\s*(;|$)/i.test(type.trim());
  if (type !== null && !isJson) throw unsupportedType(type);
  const bytes = await readLimited(request, limit);
  if (type === null && bytes.byteLength > 0) throw unsupportedType(null);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw HttpError.of(400, "request body is not valid UTF-8", null, "invalid_encoding");
  }
  if (text.trim() === "") throw HttpError.of(400, "request body is empty; expected a JSON object", null, "invalid_json");
  try {
    return JSON.parse(text);
  } catch (error) {
    throw HttpError.of(400, `request body is not valid JSON (${(error as Error).message})`, null, "invalid_json");
  }
}
