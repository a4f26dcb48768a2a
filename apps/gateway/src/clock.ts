// Time as the app sees it: injected, so tests pin request timestamps and timings.

/** Milliseconds since the Unix epoch; may be fractional. */
export interface Clock {
  now(): number;
}

/** Wall-clock time with sub-millisecond resolution where the runtime has performance.now(). */
export const systemClock: Clock = {
  now: typeof performance !== "undefined" && typeof performance.timeOrigin === "number" ? () => performance.timeOrigin + performance.now() : () => Date.now(),
};
