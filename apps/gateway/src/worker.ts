// Cloudflare Worker entry of the gateway. The ONNX engine for workerd arrives with issue #5; until then
// the Worker answers health checks and tells clients, in OpenAI's error shape, that no model is loaded.
export default {
  async fetch(request: Request): Promise<Response> {
    const { pathname } = new URL(request.url);
    if (pathname === "/healthz") return Response.json({ status: "ok" });
    return Response.json(
      { error: { message: "no model is loaded in this Worker yet", type: "server_error", param: null, code: "model_not_loaded" } },
      { status: 503 },
    );
  },
};
