// What the gateway serves right now: an active policy and optionally a canary taking canaryPercent of the
// traffic. A request leases one arm ONCE when it starts and keeps that engine until it ends, so a swap never
// changes the model under a running request; an engine leaving the set is disposed only when its last
// request has finished (reference count), which is what makes a hot swap free of failed requests.
//
// Arm choice: u ∈ [0, 1) from a stable hash of `user` (the same user always lands on the same arm while
// the split is unchanged) or, without a user, from the request's random source; canary iff 100·u < percent.
import type { GatewayContext } from "../context";
import { servedContext, type Arm, type ServedPolicy } from "./served-policy";

/** One request's hold on a served policy. */
export interface Lease {
  arm: Arm;
  checkpointId: string;
  ctx: GatewayContext; // the app context with this policy's engine, guard defaults and template
  /** Idempotent; the last release of a policy that left the set disposes its engine. */
  release(): void;
}

export interface ServingState {
  active: ServedPolicy;
  canary: ServedPolicy | null;
  canaryPercent: number; // 0–100; 0 when there is no canary
}

class Slot {
  inFlight = 0;
  leaving = false;
  private disposal: Promise<void> | null = null;
  constructor(
    readonly policy: ServedPolicy,
    readonly ctx: GatewayContext,
  ) {}

  /** Disposes the engine once it has left the set and nothing runs on it. */
  settle(onError: (e: unknown) => void): Promise<void> | null {
    if (this.leaving && this.inFlight === 0) this.disposal ??= this.policy.engine.dispose().catch(onError);
    return this.disposal;
  }
}

/**
 * FNV-1a (32-bit) of the UTF-8 bytes, scaled to [0, 1): stable across processes and restarts.
 * @example stableUnit("alice") // the same number in every replica
 */
export function stableUnit(key: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(key)) {
    h ^= byte;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h / 2 ** 32;
}

/**
 * @example
 * const lease = serving.acquire({ user: "alice", model: null });
 * try { await serve(lease.ctx); } finally { lease.release(); }
 */
export class ServingSet {
  private active: Slot;
  private canary: Slot | null = null;
  private percent = 0;
  private readonly leaving = new Set<Slot>();

  constructor(
    private readonly base: GatewayContext,
    initial: ServedPolicy,
  ) {
    this.active = new Slot(initial, base);
  }

  get state(): ServingState {
    return { active: this.active.policy, canary: this.canary?.policy ?? null, canaryPercent: this.percent };
  }

  /** The served policy with this id (active or canary), to reuse its engine. */
  find(id: string): ServedPolicy | null {
    return [this.active, this.canary].find((s) => s?.policy.id === id)?.policy ?? null;
  }

  /** Requests running per served checkpoint id (including ones leaving the set). */
  inFlight(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const s of [this.active, this.canary, ...this.leaving]) if (s) out[s.policy.id] = (out[s.policy.id] ?? 0) + s.inFlight;
    return out;
  }

  /** `model` naming a served checkpoint id pins the request to it; otherwise the split decides. */
  acquire(request: { user: string | null; model: string | null }): Lease {
    const slot = this.pick(request);
    const arm: Arm = slot === this.canary ? "canary" : "active";
    slot.inFlight++;
    let released = false;
    return {
      arm,
      checkpointId: slot.policy.id,
      ctx: slot.ctx,
      release: () => {
        if (released) return;
        released = true;
        slot.inFlight--;
        this.settle(slot);
      },
    };
  }

  /**
   * Moves traffic to a new state. The caller has loaded and warmed every new engine; engines that leave
   * are disposed when their in-flight requests end. Throws (changing nothing) when a new policy's
   * context cannot be derived (e.g. no max_kl for the guard).
   */
  apply(next: ServingState): void {
    const reuse = (p: ServedPolicy) => [this.active, this.canary].find((s) => s?.policy === p || s?.policy.id === p.id) ?? new Slot(p, servedContext(this.base, p));
    const active = reuse(next.active);
    const canary = next.canary && next.canaryPercent > 0 ? reuse(next.canary) : null;
    for (const old of [this.active, this.canary]) {
      if (old && old !== active && old !== canary) {
        old.leaving = true;
        this.leaving.add(old);
        this.settle(old);
      }
    }
    this.active = active;
    this.canary = canary;
    this.percent = canary ? next.canaryPercent : 0;
    // The monitor's eval-relative thresholds move with the set: each served checkpoint's own eval.json and max_kl.
    const stats = (s: Slot) => ({ id: s.policy.id, stats: { eval: s.ctx.evalReport, guardMaxKl: s.ctx.guardDefaults.maxKl, hasSketch: s.ctx.sketch !== null } });
    this.base.monitoring.serve([active, ...(canary ? [canary] : [])].map(stats));
  }

  /** Resolves when every engine that left the set has been disposed. */
  async drained(): Promise<void> {
    while (this.leaving.size > 0) await new Promise((r) => setTimeout(r, 5));
  }

  /** Disposes everything (shutdown, after the server stopped taking requests). */
  async close(): Promise<void> {
    for (const s of [this.active, this.canary]) {
      if (!s) continue;
      s.leaving = true;
      this.leaving.add(s);
    }
    for (const s of [...this.leaving]) this.settle(s);
    await this.drained();
  }

  private pick({ user, model }: { user: string | null; model: string | null }): Slot {
    if (model !== null) {
      const pinned = [this.active, this.canary].find((s) => s?.policy.id === model);
      if (pinned) return pinned;
    }
    if (!this.canary) return this.active;
    const u = user !== null ? stableUnit(user) : Number(this.base.randomSeed() & 0xffffffffn) / 2 ** 32;
    return 100 * u < this.percent ? this.canary : this.active;
  }

  private settle(slot: Slot): void {
    const disposal = slot.settle((e) => this.base.logError("tether: releasing an engine", e));
    if (disposal) void disposal.then(() => this.leaving.delete(slot));
  }
}
