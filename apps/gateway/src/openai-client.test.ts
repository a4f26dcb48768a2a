// The official `openai` client (v6) against the app served by @hono/node-server on a free port:
// completions, chat, streaming, and errors raised as the client's typed exceptions.
import { serve, type ServerType } from "@hono/node-server";
import OpenAI from "openai";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { testApp } from "../../../test/support/gateway-app";

describe("openai npm client", () => {
  const { app, store } = testApp({ config: { model_name: "tether-demo" } });
  let server: ServerType;
  let client: OpenAI;

  beforeAll(async () => {
    const port = await new Promise<number>((resolve) => {
      server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info: AddressInfo) => resolve(info.port));
    });
    client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: "unused", maxRetries: 0 });
  });
  afterAll(async () => {
    (server as import("node:http").Server).closeAllConnections(); // keep-alive sockets would hold close() open
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it("lists models and creates a completion with drift", async () => {
    const models = await client.models.list();
    expect(models.data.map((m) => m.id)).toEqual(["tether-demo", "fake-policy"]); // the served name, then the checkpoint behind it
    const res = await client.completions.create({ model: "tether-demo", prompt: "1+1=", max_tokens: 5, seed: 1, logprobs: 2 });
    expect(res.object).toBe("text_completion");
    expect(res.choices[0]!.logprobs!.tokens!.join("")).toBe(res.choices[0]!.text);
    expect((res.choices[0] as unknown as { drift: { accepted: boolean } }).drift.accepted).toBe(true);
    expect(res.usage!.prompt_tokens).toBe(4);
  });

  it("creates a chat completion and reads the request id header", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "tether-demo", messages: [{ role: "user", content: "hi" }], max_tokens: 4, logprobs: true, top_logprobs: 1 })
      .withResponse();
    expect(data.choices[0]!.message.role).toBe("assistant");
    expect(data.choices[0]!.logprobs!.content!.length).toBeGreaterThan(0);
    expect(response.headers.get("x-tether-request-id")).toBe(data.id.replace("chatcmpl-", ""));
  });

  it("streams a chat completion with usage", async () => {
    const stream = await client.chat.completions.create({
      model: "tether-demo",
      messages: [{ role: "user", content: "hi" }],
      max_tokens: 5,
      seed: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = "";
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? "";
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    const plain = await client.chat.completions.create({ model: "tether-demo", messages: [{ role: "user", content: "hi" }], max_tokens: 5, seed: 2 });
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(finish).toBe(plain.choices[0]!.finish_reason);
    expect(usage!.completion_tokens).toBe(plain.usage!.completion_tokens);
  });

  it("raises typed errors: 404 model, 400 parameter, 422 drift guard", async () => {
    await expect(client.completions.create({ model: "nope", prompt: "a" })).rejects.toBeInstanceOf(OpenAI.NotFoundError);
    const bad = await client.completions.create({ model: "tether-demo", prompt: "a", temperature: -1 }).catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(OpenAI.BadRequestError);
    expect((bad as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("temperature");
    const body = { model: "tether-demo", prompt: "a", max_tokens: 3, drift_guard: { max_kl: 1e-9, fallback: "reject" } };
    const refused = await client.completions.create(body as OpenAI.CompletionCreateParamsNonStreaming).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.UnprocessableEntityError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe("drift_limit_exceeded");
    expect(store.entries.at(-1)!.request.status).toBe(422);
  });
});
