// Writing an ONNX model to disk, with the initializers in a side file when they are too large for one
// protobuf message (2 GiB): onnx's external-data convention, as onnx.save_model(save_as_external_data=True)
// writes it. Each moved tensor gets data_location EXTERNAL and external_data {location, offset, length};
// offsets are 4096-aligned (a page, so a runtime may mmap each tensor); tensors under 1 KiB stay inline.
import { closeSync, mkdirSync, openSync, rmSync, writeSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { encodeModel, onnx } from "./onnx-builder";

/** protobuf refuses messages of 2 GiB; leave room for the graph itself. */
export const DEFAULT_MAX_INLINE_BYTES = 2_000_000_000;
export const EXTERNAL_ALIGNMENT = 4096;
export const MIN_EXTERNAL_TENSOR_BYTES = 1024;

export interface WriteModelOptions {
  /** Total initializer bytes above which they go to `<model>_data` (default 2e9). 0 forces external data. */
  maxInlineBytes?: number;
}

export interface WrittenModel {
  /** Files written, absolute or as given: model.onnx and, with external data, model.onnx_data. */
  files: string[];
  external: boolean;
  /** Initializer bytes in the model (inline or not). */
  initializerBytes: number;
}

/**
 * Write `model` to `path`; initializers go to `${path}_data` when they exceed maxInlineBytes. The model
 * object is not mutated. A stale side file from an earlier export is removed.
 * @example writeModel(model, "ckpt/onnx/model.onnx") // { files: ["ckpt/onnx/model.onnx"], external: false, … }
 */
export function writeModel(model: onnx.IModelProto, path: string, o: WriteModelOptions = {}): WrittenModel {
  const maxInline = o.maxInlineBytes ?? DEFAULT_MAX_INLINE_BYTES;
  if (!(maxInline >= 0)) throw new RangeError(`maxInlineBytes must be ≥ 0 (got ${maxInline})`);
  mkdirSync(dirname(path), { recursive: true });
  const inits = model.graph?.initializer ?? [];
  const initializerBytes = inits.reduce((n, t) => n + (t.rawData?.length ?? 0), 0);
  const dataPath = `${path}_data`;
  rmSync(dataPath, { force: true });
  if (initializerBytes <= maxInline) {
    writeFileAll(path, encodeModel(model));
    return { files: [path], external: false, initializerBytes };
  }
  const fd = openSync(dataPath, "w");
  let offset = 0;
  const moved: onnx.ITensorProto[] = [];
  try {
    for (const t of inits) {
      const raw = t.rawData;
      if (!raw || raw.length < MIN_EXTERNAL_TENSOR_BYTES) {
        moved.push(t);
        continue;
      }
      const aligned = Math.ceil(offset / EXTERNAL_ALIGNMENT) * EXTERNAL_ALIGNMENT;
      if (aligned > offset) writeAll(fd, new Uint8Array(aligned - offset));
      writeAll(fd, raw);
      moved.push({
        ...t,
        rawData: null,
        dataLocation: onnx.TensorProto.DataLocation.EXTERNAL,
        externalData: [
          { key: "location", value: basename(dataPath) },
          { key: "offset", value: String(aligned) },
          { key: "length", value: String(raw.length) },
        ],
      });
      offset = aligned + raw.length;
    }
  } finally {
    closeSync(fd);
  }
  const slim = { ...model, graph: { ...model.graph, initializer: moved } };
  writeFileAll(path, encodeModel(slim));
  return { files: [path, dataPath], external: true, initializerBytes };
}

function writeAll(fd: number, bytes: Uint8Array): void {
  for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, Math.min(bytes.length - done, 1 << 30));
}

function writeFileAll(path: string, bytes: Uint8Array): void {
  const fd = openSync(path, "w");
  try {
    writeAll(fd, bytes);
  } finally {
    closeSync(fd);
  }
}

/** The side file name of a model path (`model.onnx` → `model.onnx_data`). */
export function externalDataPath(path: string): string {
  return join(dirname(path), `${basename(path)}_data`);
}
