// Test helper: log-softmax and exact KL in float64 straight from their definitions, the independent
// computation that the gateway's logprobs and drift statistics are checked against (by the gateway's own
// tests with the fake engine, and by test/float64-model.ts on real checkpoints).

/** log p_i = x_i − log Σ_j exp(x_j), float64, straight from the definition with a max shift. */
export function logSoftmax64(row: ArrayLike<number>): number[] {
  let max = -Infinity;
  for (let i = 0; i < row.length; i++) max = Math.max(max, row[i]!);
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - max);
  const lse = max + Math.log(sum);
  return Array.from(row, (x) => x - lse);
}

/** KL(P‖Q) = Σ_i p_i (log p_i − log q_i), float64, skipping p_i = 0. */
export function kl64(p: ArrayLike<number>, q: ArrayLike<number>): number {
  const lp = logSoftmax64(p);
  const lq = logSoftmax64(q);
  let kl = 0;
  for (let i = 0; i < lp.length; i++) if (lp[i]! > -Infinity) kl += Math.exp(lp[i]!) * (lp[i]! - lq[i]!);
  return kl;
}
