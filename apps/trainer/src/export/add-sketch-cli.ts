#!/usr/bin/env -S npx tsx
// Add the activation-sketch outputs to an existing ONNX decoder (e.g. one exported by Optimum or
// onnxruntime-genai, or an older checkpoint):
//
//   npx tsx apps/trainer/src/export/add-sketch-cli.ts <in.onnx> <out.onnx> --d D --layers 1,2 [--seed 0] [--m 128]
//                                                     [--density X] [--eps X]
//
// External data: tensors stored outside the .onnx (data_location EXTERNAL) are left external and untouched;
// their `location` is relative to the model's folder, so <out.onnx> must then be in the same folder as
// <in.onnx> (anything else is refused rather than written with dangling references). The new S initializers
// are embedded (d·m float32 each, 0.45 MB at d = 896, m = 128). The .onnx itself must stay under protobuf's
// 2 GB limit, as for any ONNX file.
// Bad input ends with one line on stderr and exit code 2.
import { readFile, writeFile } from "node:fs/promises";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import onnxProto from "onnx-proto";
import { makeSketchSpec } from "@tether/shared/sketch/index";
import { addSketchOutputs, sketchOutputName } from "./sketch-outputs";

const P = onnxProto.onnx;
const USAGE = "usage: add-sketch-cli <in.onnx> <out.onnx> --d D --layers 1,2 [--seed 0] [--m 128] [--density X] [--eps X]";

class UsageError extends Error {}

/** Runs the command; returns the exit code (0, or 2 after printing one line on stderr). */
export async function main(argv: string[]): Promise<number> {
  if (argv.includes("--help") || argv.includes("-h")) {
    console.log(USAGE);
    return 0;
  }
  try {
    const { input, output, spec } = parseCli(argv);
    const model = decode(await readFile(input).catch(() => {
      throw new UsageError(`cannot read ${input}`);
    }), input);
    checkExternalData(model, input, output);
    const withSketch = addSketchOutputs(model, spec);
    await writeFile(output, P.ModelProto.encode(withSketch).finish());
    console.log(`wrote ${output} with outputs ${spec.layers.map(sketchOutputName).join(", ")}`);
    return 0;
  } catch (e) {
    console.error(`add-sketch: ${(e as Error).message.split("\n")[0]}`);
    return 2;
  }
}

function parseCli(argv: string[]) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: { d: { type: "string" }, layers: { type: "string" }, seed: { type: "string" }, m: { type: "string" }, density: { type: "string" }, eps: { type: "string" } },
    });
  } catch (e) {
    throw new UsageError(`${(e as Error).message.split(". ")[0]} (${USAGE})`);
  }
  const values = parsed.values as Record<string, string | undefined>;
  if (parsed.positionals.length !== 2) throw new UsageError(`expected <in.onnx> <out.onnx>, got ${parsed.positionals.length} positional arguments (${USAGE})`);
  if (values.d === undefined) throw new UsageError("--d (the model's hidden size) is required");
  if (values.layers === undefined) throw new UsageError("--layers (comma-separated residual-stream positions, e.g. 1,2) is required");
  const spec = makeSketchSpec({
    d: integer("--d", values.d, 1),
    layers: values.layers.split(",").map((l) => integer("--layers", l.trim(), 0)),
    seed: values.seed === undefined ? undefined : integer("--seed", values.seed, Number.MIN_SAFE_INTEGER),
    m: values.m === undefined ? undefined : integer("--m", values.m, 1),
    density: values.density === undefined ? undefined : number("--density", values.density),
    eps: values.eps === undefined ? undefined : number("--eps", values.eps),
  });
  const [input, output] = parsed.positionals as [string, string];
  return { input, output, spec };
}

function integer(flag: string, text: string, min: number): number {
  const value = Number(text);
  if (text === "" || !Number.isSafeInteger(value) || value < min) throw new UsageError(`${flag}: must be an integer ≥ ${min} (got ${JSON.stringify(text)})`);
  return value;
}

function number(flag: string, text: string): number {
  const value = Number(text);
  if (text === "" || !Number.isFinite(value)) throw new UsageError(`${flag}: must be a number (got ${JSON.stringify(text)})`);
  return value;
}

function decode(bytes: Uint8Array, path: string) {
  try {
    const model = P.ModelProto.decode(bytes);
    if (!model.graph) throw new Error("no graph");
    return model;
  } catch (e) {
    throw new UsageError(`${path} is not an ONNX model (${(e as Error).message})`);
  }
}

// External tensors name files relative to the model's folder; moving the .onnx elsewhere would orphan them.
function checkExternalData(model: InstanceType<typeof P.ModelProto>, input: string, output: string): void {
  const external = (model.graph?.initializer ?? []).filter((t) => t.dataLocation === P.TensorProto.DataLocation.EXTERNAL);
  if (external.length > 0 && resolve(dirname(input)) !== resolve(dirname(output))) {
    throw new UsageError(
      `${input} keeps ${external.length} tensors in external data files; write <out.onnx> into the same folder (${dirname(input)}) so they stay reachable`,
    );
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
