// The bounded queue: slots, FIFO hand-over, refusal when full, and leaving the queue on abort.
import { describe, expect, it } from "vitest";
import { QueueFullError, Scheduler } from "./scheduler";

describe("Scheduler", () => {
  it("runs max_concurrent at once, queues up to queue_size in order, refuses beyond", async () => {
    const s = new Scheduler(1, 2);
    const r1 = await s.acquire();
    const order: number[] = [];
    const w2 = s.acquire().then((r) => (order.push(2), r));
    const w3 = s.acquire().then((r) => (order.push(3), r));
    expect(s.depth).toBe(2);
    await expect(s.acquire()).rejects.toBeInstanceOf(QueueFullError);
    r1();
    r1(); // idempotent: frees one slot only
    const r2 = await w2;
    expect(s.active).toBe(1);
    r2();
    (await w3)();
    expect(order).toEqual([2, 3]);
    expect([s.active, s.depth]).toEqual([0, 0]);
  });

  it("drops an aborted waiter and rejects with the abort reason", async () => {
    const s = new Scheduler(1, 5);
    const release = await s.acquire();
    const controller = new AbortController();
    const waiting = s.acquire(controller.signal);
    controller.abort(new Error("client left"));
    await expect(waiting).rejects.toThrow("client left");
    expect(s.depth).toBe(0);
    release();
    expect(s.active).toBe(0);
  });

  it("estimates Retry-After from the mean service time", async () => {
    let now = 0;
    const s = new Scheduler(1, 0, () => now);
    const r = await s.acquire();
    now = 10_000;
    r(); // mean 0.8·1000 + 0.2·10000 = 2800 ms
    await s.acquire();
    const full = await s.acquire().catch((e: QueueFullError) => e);
    expect((full as QueueFullError).retryAfterS).toBe(3);
  });

  it("idle() resolves only once nothing runs and nothing waits (shutdown drains the jobs, not only the sockets)", async () => {
    const s = new Scheduler(1, 5);
    await s.idle(); // already idle
    const r1 = await s.acquire();
    const w2 = s.acquire();
    let idle = false;
    const drained = s.idle().then(() => (idle = true));
    r1(); // hands the slot to the waiter: still busy
    const r2 = await w2;
    await Promise.resolve();
    expect(idle).toBe(false);
    r2();
    await drained;
    expect([s.active, s.depth]).toEqual([0, 0]);
  });
});
