// Custom-gradient tensor ops that keep the tfjs wasm backend on its fast path.
//
// wasm multiplies 2-D, batch-1, non-transposed matrices ~15× faster than transposed or batched ones
// (../../../../shared/ENVIRONMENT.md). tf.matMul's own gradient uses transposed products, so the one
// primitive here, mm(a, b) = a·b, states its gradient with explicit transposes followed by plain
// 2-D products:  ∂L/∂a = g·bᵀ,  ∂L/∂b = aᵀ·g.
import * as tf from "@tensorflow/tfjs";

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

/**
 * y = x·Wᵀ (+ b) with W in Hugging Face/PyTorch layout [out, in].
 * @example linear(h, params.get("model.layers.0.self_attn.q_proj.weight")!, bias) // [N, in] → [N, out]
 */
export function linear(x: tf.Tensor2D, weight: tf.Tensor, bias?: tf.Tensor): tf.Tensor2D {
  const y = mm(x, tf.transpose(weight as tf.Tensor2D)); // [N, in]·[in, out] → [N, out]
  return bias ? tf.add(y, bias) : y;
}

/**
 * RMSNorm (Zhang & Sennrich 2019), as Qwen2RMSNorm: x / √(mean(x²) + ε) · w over the last axis.
 * @example rmsNorm(x, params.get("model.norm.weight")!, 1e-6)
 */
export function rmsNorm<T extends tf.Tensor>(x: T, weight: tf.Tensor, eps: number): T {
  const meanSquare = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(meanSquare, eps))), weight) as T;
}

/** SiLU(x) = x·σ(x), the SwiGLU gate activation. */
export function silu<T extends tf.Tensor>(x: T): T {
  return tf.mul(x, tf.sigmoid(x)) as T;
}
