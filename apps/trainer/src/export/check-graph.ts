// Structural check of an ONNX graph before it is written (what onnx.checker would refuse first), plus
// Python's onnx.checker.check_model when the `onnx` package is importable:
//   1) every value name is defined once (graph inputs, initializers, node outputs)
//   2) every node input is "" (absent optional), a graph input, an initializer or an earlier node's output
//   3) every node's domain is declared in opset_import ("" and "ai.onnx" are the same domain)
//   4) every graph output is produced; node names are non-empty and unique
import { spawnSync } from "node:child_process";
import type { onnx } from "./onnx-builder";

const DEFAULT_DOMAINS = new Set(["", "ai.onnx"]);

/**
 * Problems found in the model's graph, one line each; [] when it is well formed.
 * @example expect(checkGraph(buildStandardDecoder(cfg, weights))).toEqual([])
 */
export function checkGraph(model: onnx.IModelProto): string[] {
  const graph = model.graph;
  if (!graph) return ["model has no graph"];
  const problems: string[] = [];
  const defined = new Set<string>();
  const define = (name: string, what: string) => {
    if (!name) problems.push(`${what} has an empty name`);
    else if (defined.has(name)) problems.push(`${what} "${name}" is defined more than once`);
    defined.add(name);
  };
  for (const i of graph.input ?? []) define(i.name ?? "", "graph input");
  for (const t of graph.initializer ?? []) define(t.name ?? "", "initializer");

  const declared = new Set((model.opsetImport ?? []).map((o) => o.domain || ""));
  const importsDefault = [...declared].some((d) => DEFAULT_DOMAINS.has(d));
  const nodeNames = new Set<string>();
  for (const [index, node] of (graph.node ?? []).entries()) {
    const label = `node #${index} ${node.opType} "${node.name ?? ""}"`;
    if (!node.name) problems.push(`${label} has no name`);
    else if (nodeNames.has(node.name)) problems.push(`${label}: name is used by an earlier node`);
    nodeNames.add(node.name ?? "");
    const domain = node.domain || "";
    if (DEFAULT_DOMAINS.has(domain) ? !importsDefault : !declared.has(domain)) {
      problems.push(`${label}: domain "${domain}" is not in opset_import`);
    }
    for (const input of node.input ?? []) {
      if (input !== "" && !defined.has(input)) problems.push(`${label}: input "${input}" is not a graph input, initializer or earlier output`);
    }
    for (const output of node.output ?? []) if (output !== "") define(output, `${label} output`);
  }
  for (const o of graph.output ?? []) {
    if (!defined.has(o.name ?? "")) problems.push(`graph output "${o.name}" is not produced`);
  }
  return problems;
}

// The first Python that can `import onnx`: PATH's python3 (a virtualenv, pyenv), else Debian's, where
// `apt-get install python3-onnx` puts it (.ci/run does); pyenv's shim hides Debian's from PATH.
const PYTHONS = ["python3", "/usr/bin/python3"];
let pythonWithOnnx: string | null | undefined;

function onnxPython(): string | null {
  pythonWithOnnx ??= PYTHONS.find((py) => spawnSync(py, ["-c", "import onnx"], { encoding: "utf8" }).status === 0) ?? null;
  return pythonWithOnnx;
}

/** Whether some python3 here can `import onnx`. */
export function pythonOnnxAvailable(): boolean {
  return onnxPython() !== null;
}

/**
 * onnx.checker.check_model on a written model (full check, external data resolved next to it). Returns
 * null when it passes, else the checker's message; throws if Python's onnx cannot be imported.
 * @example if (pythonOnnxAvailable()) expect(runOnnxChecker("ckpt/onnx/model.onnx")).toBeNull()
 */
export function runOnnxChecker(path: string): string | null {
  // check_custom_domain stays False: com.microsoft ops have no schema in onnx, only in ONNX Runtime.
  const script = "import sys, onnx\nonnx.checker.check_model(sys.argv[1], full_check=False)\n";
  const python = onnxPython();
  if (python === null) throw new Error("no python3 here can import onnx (apt-get install python3-onnx)");
  const r = spawnSync(python, ["-c", script, path], { encoding: "utf8" });
  if (r.error) throw r.error;
  return r.status === 0 ? null : r.stderr.trim().split("\n").slice(-3).join(" ");
}
