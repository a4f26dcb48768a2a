// Decode throughput of the gateway on Cloudflare's runtime against Node, side by side on the demo pair: the
// same HTTP requests to a local Worker (`wrangler dev`: workerd, onnxruntime-web wasm, one thread) and to the
// Node entry (startGateway: onnxruntime-node, TETHER_ORT_THREADS=1), both writing their drift log to a fresh
// PostgreSQL database. tokens/s = completion tokens / wall time over a round of SEEDS requests; the median of
// ROUNDS rounds, alternating Worker and Node so both see the same background load.
// `npm run bench -- worker-decode` (needs TEST_DATABASE_URL or DATABASE_URL).
import { loadavg } from "node:os";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { startGateway } from "../apps/gateway/src/server.node.ts";
import { benchDatabase, startLocalWorker } from "./worker-dev";
import { DEMO_POLICY, manifestId } from "../test/gateway-helpers";

const MODEL = manifestId(DEMO_POLICY); // the served name (model is required)

const ROUNDS = 5;
const SEEDS = 8; // requests per round (different seeds: different lengths, the same for both runtimes)
const CONFIG = { drift_guard: { allow_disable: true } };
const KINDS: { name: string; body: object }[] = [
  { name: "batch 1, guard off", body: { prompt: "Hello", max_tokens: 64, temperature: 1, drift_guard: false } },
  { name: "n = 4, guard off", body: { prompt: "Hello", max_tokens: 64, temperature: 1, n: 4, drift_guard: false } },
  { name: "guard on (k = 4, reference scores)", body: { prompt: "Hello", max_tokens: 64, temperature: 1 } },
];

/** Completion tokens per second over one round of SEEDS requests, and the texts (both runtimes must agree). */
async function round(url: string, body: object): Promise<{ rate: number; texts: string[] }> {
  let tokens = 0;
  const texts: string[] = [];
  const t0 = performance.now();
  for (let seed = 0; seed < SEEDS; seed++) {
    const res = await fetch(`${url}/v1/completions`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ model: MODEL, ...body, seed }) });
    const json = (await res.json()) as { usage: { completion_tokens: number }; choices: { text: string }[] };
    if (res.status !== 200) throw new Error(`${res.status}: ${JSON.stringify(json)}`);
    tokens += json.usage.completion_tokens;
    texts.push(...json.choices.map((c) => c.text));
  }
  return { rate: tokens / ((performance.now() - t0) / 1000), texts };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

export async function benchWorkerDecode(): Promise<void> {
  process.env.TETHER_ORT_THREADS = "1";
  const db = await benchDatabase("node");
  const node = await startGateway(loadGatewayConfig({ ...CONFIG, port: 0, database_url: db.url }, {}), () => {});
  const worker = await startLocalWorker(CONFIG);
  const lines: string[] = [];
  try {
    for (const { name, body } of KINDS) {
      await round(worker.url, body); // warm-up: the Worker builds its gateway on the first request
      await round(node.url, body);
      const rates = { worker: [] as number[], node: [] as number[] };
      for (let r = 0; r < ROUNDS; r++) {
        const w = await round(worker.url, body);
        const n = await round(node.url, body);
        if (w.texts.join("\u0000") !== n.texts.join("\u0000")) throw new Error(`${name}: the Worker and Node sampled different texts for the same seeds`);
        rates.worker.push(w.rate);
        rates.node.push(n.rate);
      }
      const [wr, nr] = [median(rates.worker), median(rates.node)];
      lines.push(`| ${name} | ${wr.toFixed(0)} | ${nr.toFixed(0)} | ${(wr / nr).toFixed(2)} |`);
    }
  } finally {
    await worker.close();
    await node.close();
    await db.drop();
  }
  const [load1] = loadavg();
  console.log(`worker-decode: completion tokens/s, median of ${ROUNDS} rounds × ${SEEDS} requests, demo pair, 1 thread each (load ${load1!.toFixed(2)})\n`);
  console.log("| request | Worker (workerd, ort-web wasm) | Node (onnxruntime-node) | Worker / Node |\n|---|---|---|---|");
  for (const line of lines) console.log(line);
}
