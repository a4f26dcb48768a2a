// Packing prompts + sampled completions into one teacher-forced batch: prompts left-padded to P,
// completions right-padded to L, so completion token j sits at column P + j and is predicted by column
// P − 1 + j. Shared by GRPO's loss and the KL evaluation.
export interface RolloutBatch {
  /** [N, T] token ids, T = P + L. */
  ids: number[][];
  /** [N, T] 1 on real tokens. */
  attention: number[][];
  /** [N, T] targets: ids shifted left by one (pad at the end). */
  targets: number[][];
  /** [N, T] 1 at the columns that predict a completion token. */
  mask: number[][];
  shape: [number, number];
}

/**
 * @example rolloutBatch([[5, 6]], [[7, 0]], 0).mask // [[0, 1, 1, 0]]
 */
export function rolloutBatch(prompts: readonly number[][], completions: readonly number[][], padId: number): RolloutBatch {
  const P = Math.max(...prompts.map((p) => p.length));
  const L = Math.max(1, ...completions.map((c) => c.length));
  const T = P + L;
  const pad = (n: number, v: number) => new Array<number>(n).fill(v);
  const ids: number[][] = [];
  const attention: number[][] = [];
  const mask: number[][] = [];
  prompts.forEach((p, b) => {
    const c = completions[b]!;
    ids.push([...pad(P - p.length, padId), ...p, ...c, ...pad(L - c.length, padId)]);
    attention.push([...pad(P - p.length, 0), ...pad(p.length + c.length, 1), ...pad(L - c.length, 0)]);
    mask.push(Array.from({ length: T }, (_, t) => (t >= P - 1 && t < P - 1 + c.length ? 1 : 0)));
  });
  const targets = ids.map((row) => [...row.slice(1), padId]);
  return { ids, attention, targets, mask, shape: [ids.length, T] };
}
