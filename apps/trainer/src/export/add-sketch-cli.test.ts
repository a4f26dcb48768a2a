import { spawnSync } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as ort from "onnxruntime-node";
import onnxProto from "onnx-proto";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { main } from "./add-sketch-cli";
import { TOY, buildToyDecoder, encodeModel, toyFeeds, toyWeights } from "../../../../test/support/sketch-test-graphs";

const P = onnxProto.onnx;
let dir = "";

// The real script in a child process: exit code, stdout and the lines on stderr.
function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ["--import", "tsx", "apps/trainer/src/export/add-sketch-cli.ts", ...args], { encoding: "utf8" });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr.trim() };
}

async function logits(path: string): Promise<Float32Array> {
  const session = await ort.InferenceSession.create(path, { intraOpNumThreads: 1 });
  try {
    const out = await session.run(toyFeeds([[1, 2, 3, 4]]).feeds, ["logits"]);
    return out.logits.data as Float32Array;
  } finally {
    await session.release();
  }
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "tether-add-sketch-"));
  await writeFile(join(dir, "toy.onnx"), encodeModel(buildToyDecoder("optimum", toyWeights())));
  await writeFile(join(dir, "junk.onnx"), "not a protobuf at all");
  // Same model with the embedding table in an external data file next to it.
  const model = buildToyDecoder("optimum", toyWeights());
  const E = model.graph!.initializer!.find((t) => t.name === "E")!;
  const bytes = Buffer.from(Float32Array.from(E.floatData!).buffer);
  await mkdir(join(dir, "ext"));
  await writeFile(join(dir, "ext", "weights.bin"), bytes);
  E.floatData = [];
  E.dataLocation = P.TensorProto.DataLocation.EXTERNAL;
  E.externalData = [{ key: "location", value: "weights.bin" }, { key: "offset", value: "0" }, { key: "length", value: String(bytes.length) }];
  await writeFile(join(dir, "ext", "model.onnx"), encodeModel(model));
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("add-sketch CLI", () => {
  it("writes a model with sketch outputs and unchanged logits", async () => {
    const out = join(dir, "toy.sketch.onnx");
    const r = cli(join(dir, "toy.onnx"), out, "--d", String(TOY.d), "--layers", "1,3", "--m", "4", "--seed", "2");
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const session = await ort.InferenceSession.create(out);
    expect(session.outputNames.slice(-2)).toEqual(["sketch.1", "sketch.3"]);
    await session.release();
    expect(Array.from(await logits(out))).toEqual(Array.from(await logits(join(dir, "toy.onnx"))));
    const spec = P.ModelProto.decode(await readFile(out)).metadataProps.find((e) => e.key === "tether.sketch_spec");
    expect(JSON.parse(spec!.value!)).toMatchObject({ d: TOY.d, layers: [1, 3], m: 4, seed: 2 });
  });

  it("keeps external data external when writing into the model's folder", async () => {
    const out = join(dir, "ext", "model.sketch.onnx");
    const r = cli(join(dir, "ext", "model.onnx"), out, "--d", String(TOY.d), "--layers", "0,2");
    expect(r.status).toBe(0);
    const E = P.ModelProto.decode(await readFile(out)).graph!.initializer!.find((t) => t.name === "E")!;
    expect(E.dataLocation).toBe(P.TensorProto.DataLocation.EXTERNAL);
    expect(Array.from(await logits(out))).toEqual(Array.from(await logits(join(dir, "toy.onnx"))));
  });

  it("the script exits 2 with one line on stderr for bad input", () => {
    const r = cli(join(dir, "toy.onnx"), join(dir, "o.onnx"), "--layers", "1");
    expect(r.status).toBe(2);
    expect(r.stderr).toBe("add-sketch: --d (the model's hidden size) is required");
  });

  it("bad input returns 2 with one line naming the problem", async () => {
    const toy = join(dir, "toy.onnx");
    const out = join(dir, "o.onnx");
    const cases: [string[], RegExp][] = [
      [[toy, out, "--layers", "1"], /^add-sketch: --d \(the model's hidden size\) is required$/],
      [[toy, out, "--d", "8"], /^add-sketch: --layers .* is required$/],
      [[toy, out, "--d", "8", "--layers", "1,x"], /^add-sketch: --layers: must be an integer ≥ 0 \(got "x"\)$/],
      [[toy, out, "--d", "8", "--layers", "2,1"], /spec\.layers/],
      [[toy, "--d", "8", "--layers", "1"], /expected <in\.onnx> <out\.onnx>, got 1 positional/],
      [[toy, out, "--d", "8", "--layers", "1", "--bogus", "3"], /^add-sketch: Unknown option '--bogus'/],
      [[join(dir, "missing.onnx"), out, "--d", "8", "--layers", "1"], /^add-sketch: cannot read .*missing\.onnx$/],
      [[join(dir, "junk.onnx"), out, "--d", "8", "--layers", "1"], /junk\.onnx is not an ONNX model/],
      [[toy, out, "--d", "8", "--layers", "5"], /cannot find the residual stream at layer 5/],
      [[join(dir, "toy.sketch.onnx"), out, "--d", "8", "--layers", "1"], /already has sketch outputs/],
      [[join(dir, "ext", "model.onnx"), out, "--d", "8", "--layers", "1"], /external data files; write <out\.onnx> into the same folder/],
    ];
    const stderr = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      for (const [args, message] of cases) {
        stderr.mockClear();
        expect(await main(args), args.join(" ")).toBe(2);
        expect(stderr.mock.calls, args.join(" ")).toHaveLength(1);
        const line = String(stderr.mock.calls[0][0]);
        expect(line.split("\n"), args.join(" ")).toHaveLength(1);
        expect(line, args.join(" ")).toMatch(message);
      }
    } finally {
      stderr.mockRestore();
    }
  });
});
