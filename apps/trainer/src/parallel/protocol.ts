// Messages between the trainer's main thread and its data-parallel replica threads (parallel/replica-worker.ts).
// Weights travel through SharedArrayBuffers (float32, parameters in parameterSpecs order): the main thread
// writes the policy's trainable weights before each step, each replica writes its shard's gradients into
// its own buffer; the messages carry only the shard's token arrays and scalars.
import type { BackendName } from "../backend";
import type { ModelConfig } from "../model/config";
import type { StepBatch, StepObjective, StepValues } from "../train/batch-grads";

export interface InitMessage {
  type: "init";
  rank: number;
  backend: BackendName;
  config: ModelConfig;
  /** Parameter names and shapes in buffer order. */
  specs: { name: string; shape: number[] }[];
  /** Names that receive gradients, in gradient-buffer order. */
  trainable: string[];
  weights: SharedArrayBuffer;
  /** The frozen reference's weights (same layout), or null when the objective has no KL term. */
  reference: SharedArrayBuffer | null;
  grads: SharedArrayBuffer;
}

export interface StepMessage {
  type: "step";
  id: number;
  objective: StepObjective;
  batch: StepBatch;
}

export type ReplyMessage =
  | { type: "ready"; rank: number }
  | { type: "done"; id: number; values: StepValues }
  | { type: "failed"; id: number | null; message: string };
