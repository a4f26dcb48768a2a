// Custom-gradient tensor ops that keep the tfjs wasm backend on its fast path.
//
// wasm multiplies 2-D, batch-1, non-transposed matrices ~15× faster than transposed or batched ones
// (../../../../shared/ENVIRONMENT.md). tf.matMul's own gradient uses transposed products, so the one
// primitive here, mm(a, b) = a·b, states its gradient with explicit transposes followed by plain
// 2-D products:  ∂L/∂a = g·bᵀ,  ∂L/∂b = aᵀ·g.
import * as tf from "@tensorflow/tfjs";
import { gemm, gemmAvailable } from "./wasm-gemm";

const mmOp = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, tf.transpose(sb)), tf.matMul(tf.transpose(sa), g)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * a·b for 2-D tensors, [N, K]·[K, M] → [N, M], differentiable through the fast path.
 * @example mm(x, tf.transpose(w)) // a Linear layer with a Hugging Face [out, in] weight
 */
export function mm(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  return mmOp(a, b);
}

// Linear layer y = x·Wᵀ with W in [out, in]: the gradient reuses W and x as they are, so a step makes one
// transpose per direction instead of four (mm over tf.transpose(W) would transpose W back and forth):
//   ∂L/∂x = g·W                [N, out]·[out, in]
//   ∂L/∂W = gᵀ·x               [out, N]·[N, in]
const linearOp = tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor2D, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.matMul(x, tf.transpose(w)),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor2D, tf.Tensor2D];
      const g = dy as tf.Tensor2D;
      return [tf.matMul(g, sw), tf.matMul(tf.transpose(g), sx)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor2D) => tf.Tensor2D;

/**
 * y = x·Wᵀ (+ b) with W in Hugging Face/PyTorch layout [out, in].
 * @example linear(h, params.get("model.layers.0.self_attn.q_proj.weight")!, bias) // [N, in] → [N, out]
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor2D {
  const y = linearOp(x, weight as tf.Tensor2D); // [N, in]·[in, out] → [N, out]
  return bias ? tf.add(y, bias) : y;
}

// RMSNorm with its gradient in closed form (one kernel chain instead of autodiff through six ops).
//   r = (mean(x²) + ε)^(−1/2),  x̂ = x·r,  y = x̂ ⊙ w
//   ∂L/∂w = Σ_rows g ⊙ x̂ ;  ∂L/∂x = r·(g⊙w − x̂ · mean(g⊙w⊙x̂))        (∂r/∂x_j = −r³·x_j / n)
function rmsNormOp(eps: number) {
  return tf.customGrad(((x: tf.Tensor2D, w: tf.Tensor1D, save: tf.GradSaveFunc) => {
    const r = tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps)); // [N, 1]
    const xHat = tf.mul(x, r);
    save([xHat, r, w]);
    return {
      value: tf.mul(xHat, w),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sr, sw] = saved as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
        const gw = tf.mul(dy, sw);
        const dx = tf.mul(sr, tf.sub(gw, tf.mul(sx, tf.mean(tf.mul(gw, sx), -1, true))));
        return [dx, tf.sum(tf.mul(dy, sx), 0)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (x: tf.Tensor2D, w: tf.Tensor1D) => tf.Tensor2D;
}

/**
 * RMSNorm (Zhang & Sennrich 2019), as Qwen2RMSNorm: x / √(mean(x²) + ε) · w over the last axis.
 * @example rmsNorm(x, params.get("model.norm.weight")!, 1e-6)
 */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor, eps: number): T {
  const d = x.shape[x.rank - 1]!;
  const y = rmsNormOp(eps)(tf.reshape(x, [-1, d]) as tf.Tensor2D, weight as tf.Tensor1D); // [..., d] -> [N, d]
  return tf.reshape(y, x.shape) as T;
}

// SwiGLU's gated product h = SiLU(a) ⊙ b = a·σ(a) ⊙ b with σ(a) computed once:
//   ∂L/∂b = g ⊙ a·σ(a) ;  ∂L/∂a = g ⊙ b ⊙ σ(a)·(1 + a·(1 − σ(a)))
const swigluOp = tf.customGrad(((a: tf.Tensor2D, b: tf.Tensor2D, save: tf.GradSaveFunc) => {
  const s = tf.sigmoid(a);
  const silu = tf.mul(a, s);
  save([a, b, s, silu]);
  return {
    value: tf.mul(silu, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb, ss, sSilu] = saved as tf.Tensor2D[];
      const dSilu = tf.add(ss, tf.mul(sSilu, tf.sub(1, ss!))); // σ + a·σ·(1 − σ)
      return [tf.mul(tf.mul(dy, sb!), dSilu), tf.mul(dy, sSilu!)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/**
 * SwiGLU's gated product SiLU(gate) ⊙ up, [N, I] each.
 * @example swiglu(linear(h, wGate), linear(h, wUp))
 */
export function swiglu(gate: tf.Tensor2D, up: tf.Tensor2D): tf.Tensor2D {
  return swigluOp(gate, up);
}

// Batched products (attention's q·kᵀ, p·v and their gradients). On wasm they run on model/wasm-gemm.ts's
// kernel, which sums in tfjs-wasm's own order: the same bits as tf.matMul, ~8–10× faster. The gradient is
// tf.matMul's (tfjs-core BatchMatMul_grad) with every product on the same path:
//   C = A·B:   ∂A = G·Bᵀ, ∂B = Aᵀ·G ;   C = A·Bᵀ:  ∂A = G·B, ∂B = Gᵀ·A ;   C = Aᵀ·B:  ∂A = B·Gᵀ, ∂B = A·G
function batchProduct(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  const lead = a.shape.slice(0, -2);
  const batch = lead.reduce((n, x) => n * x, 1);
  const sameLead = b.rank === a.rank && lead.every((x, i) => x === b.shape[i]);
  // batch 1 without transposes is XNNPACK's in tfjs (another summation order); Aᵀ·Bᵀ never occurs here.
  if (batch === 1 || (transposeA && transposeB) || !sameLead || a.dtype !== "float32" || b.dtype !== "float32" || !gemmAvailable()) {
    return tf.matMul(a, b, transposeA, transposeB);
  }
  const [ar, ac] = a.shape.slice(-2) as [number, number];
  const [br, bc] = b.shape.slice(-2) as [number, number];
  const a3 = tf.reshape(a, [batch, ar, ac]) as tf.Tensor3D;
  const b3 = tf.reshape(b, [batch, br, bc]) as tf.Tensor3D;
  const out = gemm(a3, transposeB ? (tf.transpose(b3, [0, 2, 1]) as tf.Tensor3D) : b3, transposeA);
  return tf.reshape(out, [...lead, transposeA ? ac : ar, transposeB ? br : bc]);
}

const bmmOps = new Map<string, (a: tf.Tensor, b: tf.Tensor) => tf.Tensor>();

function bmmOp(transposeA: boolean, transposeB: boolean): (a: tf.Tensor, b: tf.Tensor) => tf.Tensor {
  const key = `${transposeA}/${transposeB}`;
  const cached = bmmOps.get(key);
  if (cached) return cached;
  const P = batchProduct;
  const fn = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
    save([a, b]);
    return {
      value: P(a, b, transposeA, transposeB),
      gradFunc: (dy: tf.Tensor, [sa, sb]: tf.Tensor[]) => {
        if (!transposeA && !transposeB) return [P(dy, sb!, false, true), P(sa!, dy, true, false)];
        if (!transposeA && transposeB) return [P(dy, sb!, false, false), P(dy, sa!, true, false)];
        if (transposeA && !transposeB) return [P(sb!, dy, false, true), P(sa!, dy, false, false)];
        return [P(sb!, dy, true, true), P(dy, sa!, true, true)];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]) as unknown as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;
  bmmOps.set(key, fn);
  return fn;
}

/**
 * tf.matMul(a, b, transposeA, transposeB) for tensors of rank ≥ 3 with equal leading (batch) dimensions,
 * differentiable; on the wasm backend through the fast batched kernel, with the same results.
 * @example bmm(q, k, false, true) // [B, H, T, D]·[B, H, T, D]ᵀ → [B, H, T, T]
 */
export function bmm<T extends tf.Tensor>(a: T, b: tf.Tensor, transposeA = false, transposeB = false): T {
  return bmmOp(transposeA, transposeB)(a, b) as T;
}
