// Resumable training: every --save-every steps a snapshot of everything the next step depends on —
// weights, Adam moments and step, β-controller state — under <out>/snapshot/. `--resume` restores it and
// the data iterators skip to the same batch (shuffledBatches startStep), so a resumed run takes the same
// steps as an uninterrupted one on the same backend. The snapshot is removed before the final checkpoint
// is written (it would otherwise be hashed into the manifest).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as tf from "@tensorflow/tfjs";
import { decodeSafetensors, encodeSafetensors, toFloat32 } from "@tether/shared/io/safetensors";
import type { Params } from "../model/params";
import type { BetaController, BetaControllerState } from "./beta-controller";
import type { Adam } from "./optimizer";

interface SnapshotState {
  step: number;
  adamStep: number;
  controller: BetaControllerState | null;
  tokens: number;
}

/**
 * @example
 * const snapshots = new Snapshots(out, cfg.saveEvery, params, adam, controller);
 * const start = cfg.resume ? snapshots.restore() : { step: 0, tokens: 0 };
 */
export class Snapshots {
  private readonly dir: string;

  constructor(
    out: string,
    private readonly every: number,
    private readonly params: Params,
    private readonly adam: Adam,
    private readonly controller: BetaController | null = null,
  ) {
    this.dir = join(out, "snapshot");
  }

  /** Whether a snapshot is due after `step` completed steps. */
  due(step: number, total: number): boolean {
    return this.every > 0 && step % this.every === 0 && step < total;
  }

  save(step: number, tokens: number): void {
    const tmp = `${this.dir}.tmp`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true });
    const tensors = (entries: Iterable<[string, tf.Variable]>, prefix: string) =>
      Object.fromEntries([...entries].map(([name, v]) => [`${prefix}${name}`, { shape: v.shape, data: v.dataSync() as Float32Array }]));
    writeFileSync(join(tmp, "params.safetensors"), encodeSafetensors(tensors(this.params, "")));
    writeFileSync(join(tmp, "adam.safetensors"), encodeSafetensors({ ...tensors(this.adam.m, "m."), ...tensors(this.adam.v, "v.") }));
    const state: SnapshotState = { step, adamStep: this.adam.step, controller: this.controller?.state() ?? null, tokens };
    writeFileSync(join(tmp, "state.json"), `${JSON.stringify(state)}\n`);
    // replace the previous snapshot only once the new one is complete
    rmSync(this.dir, { recursive: true, force: true });
    renameSync(tmp, this.dir);
  }

  /** Load the snapshot into params/Adam/controller; returns the step to continue from. */
  restore(): { step: number; tokens: number } {
    if (!existsSync(join(this.dir, "state.json"))) throw new Error(`--resume: no snapshot in ${this.dir} (run with --save-every N first)`);
    const state = JSON.parse(readFileSync(join(this.dir, "state.json"), "utf8")) as SnapshotState;
    const assign = (file: string, target: Map<string, tf.Variable>, prefix: string) => {
      const { tensors } = decodeSafetensors(new Uint8Array(readFileSync(join(this.dir, file))));
      for (const [name, v] of target) {
        const raw = tensors.get(`${prefix}${name}`);
        if (!raw || raw.shape.join() !== v.shape.join()) throw new Error(`--resume: snapshot tensor ${prefix}${name} is missing or has another shape`);
        tf.tidy(() => v.assign(tf.tensor(toFloat32(raw), v.shape)));
      }
    };
    assign("params.safetensors", this.params, "");
    assign("adam.safetensors", this.adam.m, "m.");
    assign("adam.safetensors", this.adam.v, "v.");
    this.adam.step = state.adamStep;
    if (this.controller && state.controller) this.controller.restore(state.controller);
    return { step: state.step, tokens: state.tokens };
  }

  clear(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
