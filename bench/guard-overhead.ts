// Drift-guard overhead on a real ONNX pair (onnxruntime-node, one intra-op thread), through app.request()
// with no socket: unguarded vs guarded k = 1 vs guarded k = 4, one round each (max_kl far above any KL),
// fixed prompt and max_tokens, temperature 1. Prints median latency per variant, the ratios k=1/unguarded
// (goal ≤ 1.10, issue #12) and k=4/k=1 (goal ≤ 1.5), the share of each request spent in the reference's scoring
// pass, and the load. The machine is shared: besides the ratio of median wall times, the ratios of median process
// CPU time per request (ORT runs on the calling thread at one intra-op thread, so a request's work is this
// process's CPU time; other jobs add wall time, much less CPU time) and the median of the per-seed paired ratios
// (unguarded and k=1 decode the same tokens for a seed) are printed. Pair: models/demo/{policy,reference} when exported, else (or with --random-pair) two
// random-init `small`-preset checkpoints (d=256, 4 layers) exported into a temp dir, as the engine tests do.
// `npm run bench -- guard [--random-pair]`
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { loadGatewayConfig } from "@tether/shared/schemas/gateway-config";
import { createApp } from "../apps/gateway/src/app";
import { makeTestCheckpoint } from "../test/test-checkpoint";
import { OrtNodeEngine } from "../apps/gateway/src/engine/ort-node";
import { MemoryDriftStore } from "../apps/gateway/src/store/memory-store";
import { PRESETS, validateModelConfig } from "../apps/trainer/src/model/config";

const MAX_TOKENS = 32; // completion tokens per request: the decode length every variant is timed on
const PROMPT = "Once upon a time, ";
const REPEATS = 31; // timed requests per variant, interleaved, one seed each
const WARMUP = 3; // untimed rounds of all three variants first (ORT allocations, JIT)
const SCREEN_S = 30; // longest search for seeds whose answer runs the full max_tokens
const MAX_KL = 1e6; // nats/token: far above any kl_mean, so round 1 always accepts and one round is timed
const DEMO = { policy: "models/demo/policy", reference: "models/demo/reference" };

type Variant = "unguarded" | "k=1" | "k=4";
const VARIANTS: Variant[] = ["unguarded", "k=1", "k=4"];
const GUARD: Record<Variant, unknown> = {
  unguarded: false,
  "k=1": { candidates: 1, max_rounds: 1, max_kl: MAX_KL },
  "k=4": { candidates: 4, max_rounds: 1, max_kl: MAX_KL },
};

interface Sample {
  ms: number; // request → parsed JSON body, client side
  cpuMs: number; // this process's CPU time over the same span (all threads)
  seed: number;
  tokens: number; // usage.completion_tokens
  guardMs: number; // gateway's own timer: reference scoring + exact KL + acceptance + sketch scores
  generateMs: number; // gateway's own timer: policy decoding
  rounds: number;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
}

const load = () => loadavg().map((x) => x.toFixed(2)).join(" ");

/** The checkpoint pair: the demo's if exported, else two random `small` checkpoints in `root`. */
async function checkpointPair(root: string, random: boolean): Promise<{ policy: string; reference: string; label: string }> {
  const demoReady = [DEMO.policy, DEMO.reference].every((d) => existsSync(join(d, "onnx", "model.onnx")));
  if (demoReady && !random) return { ...DEMO, label: "models/demo (trained pair)" };
  const config = validateModelConfig({ ...PRESETS.small, vocabSize: 100, bosTokenId: 0, eosTokenId: 0 });
  const t0 = performance.now();
  const dirs = { policy: join(root, "policy"), reference: join(root, "reference") };
  for (const [name, seed] of [["reference", 1], ["policy", 2]] as const) {
    // random weights: decode and scoring cost do not depend on their values
    (await makeTestCheckpoint(dirs[name], "standard", seed, config)).dispose();
  }
  const why = random ? "--random-pair" : "models/demo not exported yet";
  console.log(`(${why}: exported a random small-preset pair in ${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  return { ...dirs, label: `random small preset (d=${config.hiddenSize}, ${config.numLayers} layers, vocab ${config.vocabSize})` };
}

export async function benchGuard(): Promise<void> {
  const root = mkdtempSync(join(tmpdir(), "tether-bench-guard-"));
  const pair = await checkpointPair(root, process.argv.includes("--random-pair"));
  const policy = await OrtNodeEngine.load(pair.policy, { intraOpNumThreads: 1 });
  const reference = await OrtNodeEngine.load(pair.reference, { intraOpNumThreads: 1 });
  const store = new MemoryDriftStore();
  const config = loadGatewayConfig({ drift_guard: { max_kl: MAX_KL, allow_disable: true } }, {});
  const app = createApp({ policy, reference, store, config, sketch: reference.checkpoint.sketch ?? policy.checkpoint.sketch });
  const ask = async (variant: Variant, seed: number): Promise<Sample> => {
    const body = { model: app.context.modelName, prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 1, seed, drift_guard: GUARD[variant] };
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const res = await app.request("/v1/completions", { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
    const json = (await res.json()) as { usage?: { completion_tokens: number } };
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(c0);
    if (res.status !== 200) throw new Error(`bench guard: ${variant} seed ${seed}: HTTP ${res.status} ${JSON.stringify(json)}`);
    const id = res.headers.get("x-tether-request-id");
    const row = store.entries.find((e) => e.request.id === id)?.request;
    if (!row) throw new Error(`bench guard: request ${id} is missing from the drift log`);
    store.entries.length = 0; // keep the store small; the row is read
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, seed, tokens: json.usage!.completion_tokens, guardMs: row.guardMs ?? 0, generateMs: row.generateMs ?? 0, rounds: row.rounds ?? 0 };
  };
  try {
    console.log(`guard overhead · ${pair.label} · onnxruntime-node, 1 intra-op thread · app.request(), no socket · load ${load()}`);
    console.log(`prompt ${JSON.stringify(PROMPT)}, max_tokens ${MAX_TOKENS}, temperature 1, max_kl ${MAX_KL} (one round), median of ${REPEATS}, interleaved`);
    // The API has no ignore_eos: seeds whose unguarded answer runs the full max_tokens are kept, so every
    // variant decodes the same length (unguarded and k=1 draw the same stream for a seed; k=4 adds 3 more).
    const seeds: number[] = [];
    const screenEnd = performance.now() + SCREEN_S * 1000;
    let tried = 0;
    while (seeds.length < REPEATS + WARMUP && performance.now() < screenEnd) {
      if ((await ask("unguarded", ++tried)).tokens === MAX_TOKENS) seeds.push(tried);
    }
    const full = seeds.length;
    for (let seed = 1e6; seeds.length < REPEATS + WARMUP; seed++) seeds.push(seed); // the model stops early: take any
    const samples = new Map<Variant, Sample[]>(VARIANTS.map((v) => [v, []]));
    for (const [i, seed] of seeds.entries()) {
      for (let j = 0; j < VARIANTS.length; j++) {
        const variant = VARIANTS[(i + j) % VARIANTS.length]!; // rotate the order: no variant always runs first
        const s = await ask(variant, seed);
        if (i >= WARMUP) samples.get(variant)!.push(s);
      }
    }
    console.log("variant     median ms  p10 ms  p90 ms  tokens (median, min)  rounds  decode ms  reference scoring ms  scoring share");
    const med = new Map<Variant, number>();
    const p10 = new Map<Variant, number>(); // background load only ever adds time: the low quantile is the steadier figure
    for (const v of VARIANTS) {
      const s = samples.get(v)!;
      const ms = s.map((x) => x.ms).sort((a, b) => a - b);
      med.set(v, median(ms));
      p10.set(v, ms[Math.floor(0.1 * ms.length)]!);
      const tok = s.map((x) => x.tokens);
      const share = median(s.map((x) => x.guardMs / x.ms));
      console.log(
        `${v.padEnd(10)} ${median(ms).toFixed(1).padStart(10)} ${ms[Math.floor(0.1 * ms.length)]!.toFixed(1).padStart(7)} ${ms[Math.ceil(0.9 * ms.length) - 1]!.toFixed(1).padStart(7)}` +
          `  ${`${median(tok)}, ${Math.min(...tok)}`.padStart(20)}  ${String(Math.max(...s.map((x) => x.rounds))).padStart(6)}` +
          `  ${median(s.map((x) => x.generateMs)).toFixed(1).padStart(9)}  ${median(s.map((x) => x.guardMs)).toFixed(1).padStart(20)}  ${`${(100 * share).toFixed(0)}%`.padStart(13)}`,
      );
    }
    const k1 = med.get("k=1")! / med.get("unguarded")!;
    const k4 = med.get("k=4")! / med.get("k=1")!;
    const ratio = (m: Map<Variant, number>, a: Variant, b: Variant) => (m.get(a)! / m.get(b)!).toFixed(2);
    // CPU time per request, and per-seed pairs (the same seed in two variants, run back to back in one round)
    const cpu = new Map(VARIANTS.map((v) => [v, median(samples.get(v)!.map((x) => x.cpuMs))] as const));
    const paired = (a: Variant, b: Variant, of: (x: Sample) => number) => {
      const bySeed = new Map(samples.get(b)!.map((x) => [x.seed, of(x)]));
      return median(samples.get(a)!.map((x) => of(x) / bySeed.get(x.seed)!)).toFixed(2);
    };
    console.log(
      `guarded k=1 / unguarded: ${k1.toFixed(2)}× (goal ≤ 1.10) · k=4 / k=1: ${k4.toFixed(2)}× (goal ≤ 1.5) · same ratios of p10: ${ratio(p10, "k=1", "unguarded")}×, ${ratio(p10, "k=4", "k=1")}× · ${full}/${seeds.length} seeds at full length (${tried} screened)` +
        ` · load ${load()}`,
    );
    console.log(
      `CPU time per request (median ms: ${VARIANTS.map((v) => `${v} ${cpu.get(v)!.toFixed(1)}`).join(", ")}): k=1 / unguarded ${ratio(cpu, "k=1", "unguarded")}×, k=4 / k=1 ${ratio(cpu, "k=4", "k=1")}× · ` +
        `median of per-seed ratios, wall: ${paired("k=1", "unguarded", (x) => x.ms)}×, ${paired("k=4", "k=1", (x) => x.ms)}×; CPU: ${paired("k=1", "unguarded", (x) => x.cpuMs)}×, ${paired("k=4", "k=1", (x) => x.cpuMs)}×`,
    );
    console.log("(unguarded requests are scored by the reference too: 'reference scoring' is the gateway's guardMs, incl. KL and sketch scores)");
  } finally {
    await Promise.all([policy.dispose(), reference.dispose()]);
    await store.close();
    rmSync(root, { recursive: true, force: true });
  }
}
