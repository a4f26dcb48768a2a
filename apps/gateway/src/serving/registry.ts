// The checkpoint registry: register (verify, pair with the reference, smoke-generate), promote behind the
// eval.json gates (to a canary share or to active), roll back, and keep this replica's serving set equal to
// the `checkpoints` table (re-read on NOTIFY, on a poll, and at startup). Every change is one transaction of
// status updates plus a `promotions` audit row; the serving set moves only after it committed, and only to
// engines that are already loaded and warmed.
import type { Checkpoint, Promotion } from "@tether/db/schema";
import { promotionGateChecks, type GateCheck } from "@tether/shared/schemas/eval";
import type { SketchReference } from "@tether/shared/sketch/reference";
import type { GatewayContext } from "../context";
import { HttpError } from "../http/errors";
import type { CheckpointLoader, LoadedCheckpoint } from "./checkpoint-loader";
import type { ChangePlan, RegistryReader, RegistryStore, StatusChange } from "./registry-store";
import { pairProblems, servedContext, type ServedPolicy } from "./served-policy";
import { smokeGenerate } from "./smoke";

/** What registered policies are checked against. */
export interface ReferenceFacts {
  id: string;
  tokenizerSha256: string;
  sketch: SketchReference | null; // the reference's sketch.json: served policies are scored against it
}

export interface PromoteRequest {
  canaryPercent: number | null; // null or 100: make it active
  force: boolean;
  reason: string | null;
  actor: string;
  alertId?: number | null;
}

/** 409 when the gates fail: OpenAI's error shape plus every gate's number next to its limit. */
export class GateFailedError extends HttpError {
  constructor(readonly checks: GateCheck[]) {
    const failed = checks.filter((c) => !c.passed);
    const e = HttpError.of(409, `promotion gates failed: ${failed.map((c) => c.message).join("; ")} (send force: true with a reason to override)`, null, "promotion_gate_failed");
    super({ ...e.response, body: { ...e.response.body, gates: checks } as typeof e.response.body });
  }
}

/**
 * @example
 * const registry = new Registry(ctx, store, loader, referenceFacts);
 * await registry.register("models/demo/policy2"); await registry.promote("policy-…", { canaryPercent: 10, force: false, reason: null, actor: "ops" });
 */
export class Registry {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    readonly ctx: GatewayContext,
    readonly store: RegistryStore,
    private readonly loader: CheckpointLoader,
    private readonly reference: ReferenceFacts,
  ) {}

  /** Verifies, pairs and smoke-tests a checkpoint directory, then records it as `registered`. */
  register(path: string): Promise<{ row: Checkpoint; created: boolean }> {
    return this.serial(async () => {
      const dir = this.loader.resolve(path);
      const loaded = await this.open(dir);
      try {
        const existing = await this.store.get(loaded.id);
        if (existing) return { row: existing, created: false }; // same id = same content (content-addressed)
        const m = loaded.manifest;
        const row = { id: loaded.id, kind: m.kind, parentId: m.parent_id, referenceId: m.reference_id, path: dir, manifest: m, eval: loaded.evalReport };
        const created = await this.store.insert(row);
        return { row: (await this.store.get(loaded.id))!, created };
      } finally {
        if (!this.ctx.serving.find(loaded.id)) await loaded.engine.dispose();
      }
    });
  }

  /** Gates, loads + warms, commits the status change and its audit row, then moves traffic. */
  promote(id: string, req: PromoteRequest): Promise<Promotion> {
    return this.serial(async () => {
      const row = await this.existing(id);
      const percent = req.canaryPercent ?? 100;
      const checks = promotionGateChecks(row.eval as never, this.ctx.config.promotion, { checkpointId: (row.manifest as { id: string }).id, referenceId: this.reference.id });
      if (checks.some((c) => !c.passed) && !req.force) throw new GateFailedError(checks);
      return this.change(async (read) => {
        const { active, canary } = await this.store.serving(read);
        if (!active) throw HttpError.of(409, "the checkpoints table has no active checkpoint", null, "no_active");
        if (id === active.id) throw HttpError.of(409, `${id} is already active`, "id", "already_active");
        const changes: StatusChange[] = [];
        if (canary && canary.id !== id) changes.push({ id: canary.id, status: "retired", canaryPercent: null });
        if (percent >= 100) changes.push({ id: active.id, status: "retired", canaryPercent: null }, { id, status: "active", canaryPercent: null });
        else changes.push({ id, status: "canary", canaryPercent: percent });
        const audit = {
          checkpointId: id,
          previousCheckpointId: active.id,
          action: percent >= 100 ? ("promote" as const) : ("canary" as const),
          canaryPercent: percent >= 100 ? null : percent,
          forced: checks.some((c) => !c.passed),
          reason: req.reason,
          actor: req.actor,
          gate: { checks },
          alertId: req.alertId ?? null,
        };
        return { changes, audit, serves: percent >= 100 ? [id] : [active.id, id] };
      });
    });
  }

  /** Drops the canary if there is one, else returns to the previous active checkpoint. */
  rollback(req: { actor: string; reason: string | null; alertId?: number | null; onlyCanary?: string }): Promise<Promotion> {
    return this.serial(() =>
      this.change(async (read) => {
        const { active, canary } = await this.store.serving(read);
        if (!active) throw HttpError.of(409, "the checkpoints table has no active checkpoint", null, "no_active");
        if (req.onlyCanary !== undefined && canary?.id !== req.onlyCanary) throw HttpError.of(409, `${req.onlyCanary} is not the canary any more`, null, "not_canary");
        const base = { actor: req.actor, reason: req.reason, alertId: req.alertId ?? null, forced: false, action: "rollback" as const };
        if (canary) {
          const audit = { ...base, checkpointId: active.id, previousCheckpointId: canary.id, canaryPercent: canary.canaryPercent };
          return { changes: [{ id: canary.id, status: "retired" as const, canaryPercent: null }], audit, serves: [active.id] };
        }
        const previousId = (await this.store.lastMadeActive(active.id, read))?.previousCheckpointId ?? null;
        if (previousId === null) throw HttpError.of(409, `nothing to roll back to: no earlier active checkpoint than ${active.id}`, null, "no_previous_active");
        const changes: StatusChange[] = [{ id: active.id, status: "retired", canaryPercent: null }, { id: previousId, status: "active", canaryPercent: null }];
        return { changes, audit: { ...base, checkpointId: previousId, previousCheckpointId: active.id, canaryPercent: null }, serves: [previousId] };
      }),
    );
  }

  /** Makes this replica serve what the table says (another replica promoted, or startup). */
  sync(): Promise<boolean> {
    return this.serial(async () => {
      const loaded = new Map<string, ServedPolicy>();
      try {
        return await this.serveTable(loaded);
      } finally {
        await this.releaseUnserved(loaded);
      }
    });
  }

  /**
   * One change decided under the registry lock (registry-store.ts change). The plan is made once outside
   * the lock to learn which engines it needs; those are loaded and warmed there (seconds, no lock held);
   * then it is decided again under the lock from the table as it is at that moment. Should another
   * process have changed the table meanwhile so that the decision needs an engine not loaded yet, the
   * loop loads it and tries again. After the commit this replica serves the table.
   */
  private async change(plan: (read: RegistryReader) => Promise<ChangePlan>): Promise<Promotion> {
    const loaded = new Map<string, ServedPolicy>();
    const isLoaded = (id: string) => this.ctx.serving.find(id) !== null || loaded.has(id);
    try {
      let wanted = await plan(this.store.reader);
      for (let attempt = 0; attempt < 8; attempt++) {
        for (const id of wanted.serves) if (!isLoaded(id)) loaded.set(id, await this.servedFor(await this.existing(id)));
        const result = await this.store.change(plan, (p) => p.serves.every(isLoaded));
        if ("promotion" in result) {
          await this.serveTable(loaded);
          return result.promotion;
        }
        wanted = result.retry;
      }
      throw HttpError.of(409, "the serving set kept changing under this request (other replicas promoting); try again", null, "concurrent_change");
    } finally {
      await this.releaseUnserved(loaded);
    }
  }

  /** Disposes engines loaded for a change that did not end up served (refused, or overtaken by another replica). */
  private async releaseUnserved(loaded: Map<string, ServedPolicy>): Promise<void> {
    for (const [id, p] of loaded) if (this.ctx.serving.find(id) !== p) await p.engine.dispose().catch((e: unknown) => this.ctx.logError(`tether: releasing ${id}`, e));
  }

  /** Serves the table's active and canary rows, reusing served or already loaded engines. Returns whether anything moved. */
  private async serveTable(loaded: Map<string, ServedPolicy>): Promise<boolean> {
    const { active: activeRow, canary: canaryRow } = await this.store.serving();
    if (!activeRow) return false;
    const state = this.ctx.serving.state;
    const percent = canaryRow?.canaryPercent ?? 0;
    if (state.active.id === activeRow.id && (state.canary?.id ?? null) === (canaryRow?.id ?? null) && state.canaryPercent === percent) return false;
    const served = async (row: Checkpoint) => {
      const p = this.ctx.serving.find(row.id) ?? loaded.get(row.id) ?? (await this.servedFor(row));
      loaded.set(row.id, p); // disposed by the caller unless it ends up served
      return p;
    };
    const active = await served(activeRow);
    const canary = canaryRow ? await served(canaryRow) : null;
    this.ctx.serving.apply({ active, canary, canaryPercent: percent });
    return true;
  }

  private async existing(id: string): Promise<Checkpoint> {
    const row = await this.store.get(id);
    if (!row) throw HttpError.of(404, `no checkpoint ${JSON.stringify(id)}; register it first with POST /admin/checkpoints`, "id", "checkpoint_not_found");
    if (row.kind !== "policy" && row.kind !== "reference") throw HttpError.of(409, `${id} cannot be served`, "id", "invalid_checkpoint");
    return row;
  }

  /** The served policy for a row: the engine already serving it, or one loaded, checked and warmed now. */
  private async servedFor(row: Checkpoint): Promise<ServedPolicy> {
    const served = this.ctx.serving.find(row.id);
    if (served) return served;
    const loaded = await this.open(row.path);
    if (loaded.id !== row.id) {
      await loaded.engine.dispose();
      throw HttpError.of(409, `${row.path} now holds ${loaded.id}, not the registered ${row.id}: its files changed since registration`, "id", "checkpoint_changed");
    }
    return this.served(loaded);
  }

  /** Loads and checks a checkpoint (refusals are 422 with every problem); the engine is the caller's to dispose. */
  private async open(dir: string): Promise<LoadedCheckpoint> {
    let loaded: LoadedCheckpoint;
    try {
      loaded = await this.loader.load(dir);
    } catch (e) {
      throw HttpError.of(422, `checkpoint refused: ${(e as Error).message}`, "path", "checkpoint_invalid");
    }
    const problems = pairProblems(loaded.engine.info, this.ctx.reference.info, this.reference.sketch ?? loaded.sketch);
    if (loaded.tokenizerSha256 !== this.reference.tokenizerSha256) {
      problems.push(`tokenizer.json: sha256 ${loaded.tokenizerSha256.slice(0, 12)}… differs from the reference's ${this.reference.tokenizerSha256.slice(0, 12)}… (one tokenizer, byte for byte)`);
    }
    try {
      if (problems.length === 0) servedContext(this.ctx, this.served(loaded)); // guard defaults need a max_kl
      if (problems.length === 0) await smokeGenerate(loaded.engine);
    } catch (e) {
      problems.push((e as Error).message);
    }
    if (problems.length > 0) {
      await loaded.engine.dispose();
      throw HttpError.of(422, `checkpoint refused: ${problems.join("; ")}`, "path", "checkpoint_incompatible");
    }
    return loaded;
  }

  private served(loaded: LoadedCheckpoint): ServedPolicy {
    return { id: loaded.id, engine: loaded.engine, evalReport: loaded.evalReport, sketch: this.reference.sketch ?? loaded.sketch };
  }

  /** One registry change at a time in this process (another replica's changes arrive through sync). */
  private serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.queue.then(work, work);
    this.queue = run.catch(() => undefined);
    return run;
  }
}
