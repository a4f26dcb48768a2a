// Puts the activation sketch inside an exported ONNX decoder: for each monitored residual-stream position l a
// graph output `sketch.{l}` [batch_size, sequence_length, m] holding the per-token sketch x̂ S_lᵀ, with S_lᵀ a
// float32 initializer `sketch.S.{l}`, so hidden states never cross into JavaScript (pooling happens in JS; see
// packages/shared/src/sketch/index.ts for why).
//
//   x̂_t = x_t / √(mean_j x_tj² + ε)                      (RMS norm without gain, spec.eps)
//   y_t = x̂_t S_lᵀ = (x_t S_lᵀ) / √(mean_j x_tj² + ε)       the RMS is a per-token scalar, so it divides the
//                                                            [.., m] product instead of the [.., d] input
//
// Where the residual stream x at position l (0 = embedding output, L = last layer's output before the final
// norm) is found, in this order:
//   a) a value named `hidden_states.{l}` (what this project's exporter emits);
//   b) Optimum / onnxruntime-genai names, l < L: the residual entering `/model/layers.{l}/input_layernorm/`,
//      l = L: the one entering `/model/norm/`. Under that prefix either
//        - one SkipSimplifiedLayerNormalization / SkipLayerNormalization node (fused Add + norm): its output 3
//          (input + skip, the residual stream); when that optional output is absent it is added to the node;
//        - otherwise the unfused pattern (Cast/Pow/ReduceMean/…/Mul) or a single (Simplified)LayerNormalization /
//          RMSNormalization node: the one value the prefix's nodes read that no node under the prefix, no
//          initializer and no Constant node produces.
//   Anything else throws, naming what was looked for.
import onnxProto from "onnx-proto";
import type { onnx } from "onnx-proto";
import { ParameterError } from "@tether/shared/errors";
import { SketchSpecSchema, createLayerProjections, toDenseTransposed, type SketchSpec } from "@tether/shared/sketch/index";

const P = onnxProto.onnx;
const FLOAT = P.TensorProto.DataType.FLOAT;
const INT64 = P.TensorProto.DataType.INT64;
const FUSED_SKIP_NORMS = new Set(["SkipSimplifiedLayerNormalization", "SkipLayerNormalization"]);

/** Graph output name of the per-token sketch of residual-stream position `layer`. */
export function sketchOutputName(layer: number): string {
  return `sketch.${layer}`;
}

/** Where the residual stream of one position was found. */
export interface ResidualSource {
  /** Name of the graph value [B, T, d]. */
  value: string;
  via: "hidden_states" | "layernorm-input" | "skip-layernorm-output-3";
}

/**
 * A copy of `model` with one `sketch.{l}` output per l in spec.layers, after the original outputs (which stay
 * first and unchanged). The input model is not mutated; unchanged tensors are shared with it, not copied. The
 * validated spec is recorded in metadata_props["tether.sketch_spec"] so a loader can check it against sketch.json.
 * Throws if the graph already has sketch outputs, or when the residual stream of a layer cannot be found.
 * @example
 * const model = onnx.ModelProto.decode(await readFile("onnx/model.onnx"));
 * const withSketch = addSketchOutputs(model, makeSketchSpec({ d: 896, layers: [6, 12, 18, 24] }));
 * await writeFile("onnx/model.onnx", onnx.ModelProto.encode(withSketch).finish());
 */
export function addSketchOutputs(model: onnx.ModelProto, spec: SketchSpec): onnx.ModelProto {
  const checked = SketchSpecSchema.safeParse(spec);
  if (!checked.success) {
    const issue = checked.error.issues[0];
    throw new ParameterError(["spec", ...issue.path.map(String)].join("."), issue.message);
  }
  const graph = model.graph;
  if (!graph) throw new ParameterError("model.graph", "must be present");
  refuseExistingSketch(graph);
  const opset = defaultOpset(model);

  // Class instances have every repeated field as an array (a model built from plain objects may not).
  const nodes = (graph.node ?? []).map((n) => (n instanceof P.NodeProto ? n : P.NodeProto.create(n)));
  const initializers = [...(graph.initializer ?? [])];
  const outputs = [...(graph.output ?? [])];
  const S = createLayerProjections({ seed: spec.seed, m: spec.m, d: spec.d, density: spec.density, layers: spec.layers });
  initializers.push(tensor("sketch.eps", FLOAT, [], floatBytes([spec.eps])));
  if (opset >= 18) initializers.push(tensor("sketch.axes", INT64, [1], int64Bytes([-1])));
  const [batchDim, seqDim] = tokenDims(graph);

  spec.layers.forEach((layer, k) => {
    const source = findResidual(graph, nodes, layer);
    checkHiddenSize(graph, source.value, spec.d);
    initializers.push(tensor(`sketch.S.${layer}`, FLOAT, [spec.d, spec.m], floatBytes(toDenseTransposed(S[k])))); // [d, m]
    nodes.push(...sketchNodes(source.value, layer, opset));
    outputs.push(P.ValueInfoProto.create({
      name: sketchOutputName(layer),
      type: { tensorType: { elemType: FLOAT, shape: { dim: [batchDim, seqDim, { dimValue: spec.m }] } } },
    }));
  });

  const metadataProps = [
    ...(model.metadataProps ?? []),
    P.StringStringEntryProto.create({ key: "tether.sketch_spec", value: JSON.stringify(checked.data) }),
  ];
  return P.ModelProto.create({
    ...model,
    metadataProps,
    graph: P.GraphProto.create({ ...graph, node: nodes, initializer: initializers, output: outputs }),
  });
}

// 1) Cast to float32 (a no-op ORT removes for fp32 models; makes fp16/bf16 decoders work)
// 2) r = √(ReduceMean(x ⊙ x, axis −1) + ε)     [B, T, d] -> [B, T, 1]
// 3) y = MatMul(x, Sᵀ) / r                      [B, T, d] @ [d, m] -> [B, T, m]
// Mul, not Pow, for the square: exact, and it keeps ORT's RMSNorm fusion from matching our nodes.
function sketchNodes(x: string, layer: number, opset: number): onnx.NodeProto[] {
  const p = `/sketch/layers.${layer}/`;
  const v = (op: string) => `${p}${op}_output_0`;
  const reduce =
    opset >= 18
      ? node(`${p}ReduceMean`, "ReduceMean", [v("Mul"), "sketch.axes"], [v("ReduceMean")], [intAttr("keepdims", 1)])
      : node(`${p}ReduceMean`, "ReduceMean", [v("Mul")], [v("ReduceMean")], [intsAttr("axes", [-1]), intAttr("keepdims", 1)]);
  return [
    node(`${p}Cast`, "Cast", [x], [v("Cast")], [intAttr("to", FLOAT)]),
    node(`${p}Mul`, "Mul", [v("Cast"), v("Cast")], [v("Mul")]), // [B, T, d]
    reduce, // [B, T, d] -> [B, T, 1]
    node(`${p}Add`, "Add", [v("ReduceMean"), "sketch.eps"], [v("Add")]),
    node(`${p}Sqrt`, "Sqrt", [v("Add")], [v("Sqrt")]),
    node(`${p}MatMul`, "MatMul", [v("Cast"), `sketch.S.${layer}`], [v("MatMul")]), // [B, T, d] -> [B, T, m]
    node(`${p}Div`, "Div", [v("MatMul"), v("Sqrt")], [sketchOutputName(layer)]),
  ];
}

/**
 * The residual stream at position `layer` (see the file header for the rules). `nodes` is the working node
 * list: when a fused norm lacks its optional output 3, a copy of that node with the output is put in its place.
 */
export function findResidual(graph: onnx.IGraphProto, nodes: onnx.NodeProto[], layer: number): ResidualSource {
  const named = `hidden_states.${layer}`;
  if (nodes.some((n) => n.output.includes(named)) || (graph.input ?? []).some((i) => i.name === named)) {
    return { value: named, via: "hidden_states" };
  }
  const numLayers = countDecoderLayers(nodes);
  const prefix = layer < numLayers ? `/model/layers.${layer}/input_layernorm/` : layer === numLayers ? "/model/norm/" : undefined;
  const under = prefix === undefined ? [] : nodes.filter((n) => n.name.startsWith(prefix));
  if (under.length === 0) {
    const where = prefix === undefined ? `(the graph has ${numLayers} /model/layers.{i}/ blocks)` : `nodes under "${prefix}"`;
    throw new Error(
      `addSketchOutputs: cannot find the residual stream at layer ${layer}: looked for a value named "${named}" and ${where}`,
    );
  }
  const fused = under.filter((n) => FUSED_SKIP_NORMS.has(n.opType));
  if (fused.length === 1) return skipNormResidual(nodes, fused[0]);
  const external = externalInputs(graph, nodes, under);
  if (fused.length > 1 || external.length !== 1) {
    throw new Error(
      `addSketchOutputs: the residual stream at layer ${layer} is ambiguous: nodes under "${prefix}" read ` +
        `${external.length} outside values [${external.join(", ")}] and hold ${fused.length} fused skip norms; expected one`,
    );
  }
  return { value: external[0], via: "layernorm-input" };
}

// Skip(Simplified)LayerNormalization outputs: 0 = norm(input + skip), 1 = mean, 2 = inv std, 3 = input + skip.
function skipNormResidual(nodes: onnx.NodeProto[], fused: onnx.NodeProto): ResidualSource {
  const existing = fused.output[3];
  if (existing) return { value: existing, via: "skip-layernorm-output-3" };
  const value = `${fused.name}_output_3`;
  const output = [0, 1, 2, 3].map((i) => fused.output[i] ?? "");
  output[3] = value;
  nodes[nodes.indexOf(fused)] = P.NodeProto.create({ ...fused, output });
  return { value, via: "skip-layernorm-output-3" };
}

// Values read by `under` that are not computed under the same prefix, not initializers and not Constant outputs.
function externalInputs(graph: onnx.IGraphProto, nodes: onnx.NodeProto[], under: onnx.NodeProto[]): string[] {
  const inside = new Set(under.flatMap((n) => n.output));
  const constants = new Set([
    ...(graph.initializer ?? []).map((t) => t.name ?? ""),
    ...nodes.filter((n) => n.opType === "Constant").flatMap((n) => n.output),
  ]);
  const found = new Set<string>();
  for (const n of under) for (const i of n.input) if (i && !inside.has(i) && !constants.has(i)) found.add(i);
  return [...found];
}

/** Number of `/model/layers.{i}/` blocks (max i + 1), 0 when the graph does not use Optimum node names. */
export function countDecoderLayers(nodes: readonly onnx.INodeProto[]): number {
  let max = -1;
  for (const n of nodes) {
    const match = /^\/model\/layers\.(\d+)\//.exec(n.name ?? "");
    if (match) max = Math.max(max, Number(match[1]));
  }
  return max + 1;
}

function refuseExistingSketch(graph: onnx.IGraphProto): void {
  const taken = [
    ...(graph.output ?? []).map((o) => o.name ?? ""),
    ...(graph.initializer ?? []).map((t) => t.name ?? ""),
  ].filter((name) => name.startsWith("sketch."));
  if (taken.length > 0) {
    throw new Error(`addSketchOutputs: the model already has sketch outputs or initializers (${taken.slice(0, 4).join(", ")}); it was applied before`);
  }
}

// The ai.onnx opset decides how ReduceMean takes its axes (attribute before 18, input from 18).
function defaultOpset(model: onnx.IModelProto): number {
  const entry = (model.opsetImport ?? []).find((o) => !o.domain || o.domain === "ai.onnx");
  if (!entry) throw new ParameterError("model.opsetImport", "must import the ai.onnx (default) domain");
  return int64(entry.version);
}

// protobufjs decodes int64 fields as Long objects (the `long` package is installed); Number(long) is NaN.
function int64(value: number | { toNumber(): number } | null | undefined): number {
  if (value === null || value === undefined) return 0;
  return typeof value === "number" ? value : value.toNumber();
}

// Reuse the symbolic dims of input_ids ([batch_size, sequence_length] in Optimum exports).
function tokenDims(graph: onnx.IGraphProto): [onnx.TensorShapeProto.IDimension, onnx.TensorShapeProto.IDimension] {
  const dims = (graph.input ?? []).find((i) => i.name === "input_ids")?.type?.tensorType?.shape?.dim ?? [];
  const symbolic = (k: number, fallback: string) => ({ dimParam: dims[k]?.dimParam || fallback });
  return [symbolic(0, "batch_size"), symbolic(1, "sequence_length")];
}

// When shape inference left a static last dim on the residual, it must be spec.d.
function checkHiddenSize(graph: onnx.IGraphProto, value: string, d: number): void {
  const info = [...(graph.valueInfo ?? []), ...(graph.output ?? []), ...(graph.input ?? [])].find((v) => v.name === value);
  const dims = info?.type?.tensorType?.shape?.dim ?? [];
  const last = int64(dims[dims.length - 1]?.dimValue);
  if (last > 0 && last !== d) throw new ParameterError("spec.d", `must equal the hidden size ${last} of "${value}"`, d);
}

function node(name: string, opType: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.NodeProto {
  return P.NodeProto.create({ name, opType, input, output, attribute });
}

function intAttr(name: string, i: number): onnx.IAttributeProto {
  return { name, type: P.AttributeProto.AttributeType.INT, i };
}

function intsAttr(name: string, ints: number[]): onnx.IAttributeProto {
  return { name, type: P.AttributeProto.AttributeType.INTS, ints };
}

function tensor(name: string, dataType: number, dims: number[], rawData: Uint8Array): onnx.TensorProto {
  return P.TensorProto.create({ name, dataType, dims, rawData });
}

// ONNX raw_data is little-endian whatever the host is.
function floatBytes(values: ArrayLike<number>): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 4));
  for (let i = 0; i < values.length; i++) view.setFloat32(i * 4, values[i], true);
  return new Uint8Array(view.buffer);
}

function int64Bytes(values: number[]): Uint8Array {
  const view = new DataView(new ArrayBuffer(values.length * 8));
  values.forEach((v, i) => view.setBigInt64(i * 8, BigInt(v), true));
  return new Uint8Array(view.buffer);
}
