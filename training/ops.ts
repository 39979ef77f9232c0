// Primitive ops of NVIDIA's networks_stylegan.py / networks_progan.py as pure functions on tensors.
//
// Layout: activations are NHWC inside the networks (tfjs' conv layout, and TF's fastest on CPU);
// weights stay in NVIDIA's layout (conv [kh,kw,in,out] = tfjs HWIO, dense [in,out]), so a pickle
// or a snapshot is loaded by name without any transposition. Every op here must be twice
// differentiable in tfjs (R1 / WGAN-GP differentiate D's input gradient; path-length reg does the
// same for G), so we avoid kernels whose backward has no tfjs gradient (DepthwiseConv2dNativeBackpropInput,
// rank>4 tile); AvgPoolGrad and ResizeNearestNeighborGrad have theirs from engine/register.ts.
import * as tf from '@tensorflow/tfjs';

export const SQRT2 = Math.SQRT2;

/** nf(stage) of NVIDIA's networks: feature maps per resolution stage. */
export function nf(stage: number, fmap_base: number, fmap_decay: number, fmap_max: number): number {
  return Math.min(Math.trunc(fmap_base / 2.0 ** (stage * fmap_decay)), fmap_max);
}

export interface WeightScale {
  /** Std of the N(0, std) the raw variable is initialised from. */
  initStd: number;
  /** Runtime multiplier: effective weight = variable × runtimeCoef. */
  runtimeCoef: number;
}

/**
 * get_weight()'s equalized-learning-rate math: fan_in = prod(shape[:-1]), he_std = gain/√fan_in.
 * With wscale the variable is N(0, 1/lrmul) and scaled at runtime by he_std·lrmul; without it the
 * variable is N(0, he_std/lrmul) and scaled by lrmul.
 */
export function getWeightScale(shape: readonly number[], gain = SQRT2, use_wscale = false, lrmul = 1): WeightScale {
  const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
  const heStd = gain / Math.sqrt(fanIn);
  return use_wscale ? { initStd: 1.0 / lrmul, runtimeCoef: heStd * lrmul } : { initStd: heStd / lrmul, runtimeCoef: lrmul };
}

/**
 * Applies a scalar to whichever operand of a linear op is smaller: coef·(x∗w) = x∗(coef·w) = (coef·x)∗w,
 * so we pay for one multiply of min(|x|, |w|) elements instead of always scaling the weight.
 */
function scaleSmaller<T extends tf.Tensor>(x: T, w: tf.Tensor, coef: number): [T, tf.Tensor] {
  if (coef === 1) return [x, w];
  return x.size <= w.size ? [tf.mul(x, coef) as T, w] : [x, tf.mul(w, coef)];
}

/**
 * Fully-connected layer: x·(w·coef) (+ bias). x with rank > 2 is flattened in its current memory
 * order; callers holding NHWC activations transpose to NCHW first so NVIDIA's [C·H·W, out] weight applies.
 */
export function dense(x: tf.Tensor, w: tf.Tensor2D, coef: number, bias?: tf.Tensor1D): tf.Tensor2D {
  const x2 = x.rank > 2 ? tf.reshape(x, [x.shape[0], -1]) as tf.Tensor2D : x as tf.Tensor2D;
  const [xs, ws] = scaleSmaller(x2, w, coef);
  return tf.fused.matMul({ a: xs, b: ws as tf.Tensor2D, bias }) as tf.Tensor2D;
}

/** conv2d with SAME padding, stride 1, NHWC, HWIO weight times coef (+ bias fused). */
export function conv2d(x: tf.Tensor4D, w: tf.Tensor4D, coef: number, bias?: tf.Tensor1D): tf.Tensor4D {
  const [xs, ws] = scaleSmaller(x, w, coef);
  return tf.fused.conv2d({ x: xs, filter: ws as tf.Tensor4D, strides: 1, pad: 'same', bias });
}

/** Sums the four 1-pixel shifts of a zero-padded kernel: [k,k,a,b] → [k+1,k+1,a,b] (NVIDIA's fused-resample trick). */
function sumShifts(w: tf.Tensor4D): tf.Tensor4D {
  const p = tf.pad(w, [[1, 1], [1, 1], [0, 0], [0, 0]]);
  const k = w.shape[0] + 1;
  const s = (r: number, c: number) => tf.slice(p, [r, c, 0, 0], [k, k, -1, -1]);
  return tf.addN([s(1, 1), s(0, 1), s(1, 0), s(0, 0)]) as tf.Tensor4D;
}

/**
 * Fused nearest-upscale ×2 + conv (NVIDIA's upscale2d_conv2d with fused_scale on): the weight is
 * transposed to [k,k,out,in], padded, its four shifts summed into a (k+1)² kernel, and applied with a
 * stride-2 SAME conv2d_transpose. A transposed conv is a true convolution, so this equals nearest
 * upsampling followed by the 3×3 kernel rotated 180° (not the cross-correlation the unfused path
 * uses); reproduced on purpose, since NVIDIA's trained weights expect it.
 */
export function upscale2dConv2dFused(x: tf.Tensor4D, w: tf.Tensor4D, coef: number): tf.Tensor4D {
  const [xs, ws] = scaleSmaller(x, w, coef);
  const wt = sumShifts(tf.transpose(ws as tf.Tensor4D, [0, 1, 3, 2]));
  const [n, h, wd] = x.shape;
  return tf.conv2dTranspose(xs, wt, [n, h * 2, wd * 2, w.shape[3]], 2, 'same');
}

/**
 * Fused conv + 2×2 average downscale (NVIDIA's conv2d_downscale2d with fused_scale on): padded,
 * shift-summed kernel × 0.25, stride-2 SAME conv. Equals 3×3 cross-correlation then 2×2 mean (no flip).
 */
export function conv2dDownscale2dFused(x: tf.Tensor4D, w: tf.Tensor4D, coef: number, bias?: tf.Tensor1D): tf.Tensor4D {
  const [xs, ws] = scaleSmaller(x, w, coef * 0.25);
  return tf.fused.conv2d({ x: xs, filter: sumShifts(ws as tf.Tensor4D), strides: 2, pad: 'same', bias });
}

/** apply_bias: x + b·lrmul, b broadcast over the last (channel) axis. */
export function applyBias<T extends tf.Tensor>(x: T, b: tf.Tensor1D, lrmul = 1): T {
  return tf.add(x, lrmul === 1 ? b : tf.mul(b, lrmul)) as T;
}

/** NVIDIA's leaky_relu: max(x, αx) with α = 0.2. */
export function leakyRelu<T extends tf.Tensor>(x: T, alpha = 0.2): T {
  return tf.leakyRelu(x, alpha);
}

export type Nonlinearity = 'relu' | 'lrelu';

/** The nonlinearity switch of NVIDIA's networks: both use gain √2. */
export function activate<T extends tf.Tensor>(x: T, nonlinearity: Nonlinearity): T {
  return nonlinearity === 'relu' ? tf.relu(x) : leakyRelu(x);
}

/** Normalised 2-D blur kernel from a 1-D (outer product) or 2-D filter, as _blur2d builds it. */
export function blurKernel(f: readonly number[] | readonly (readonly number[])[], normalize = true): number[][] {
  const k: number[][] = Array.isArray(f[0])
    ? (f as number[][]).map((row) => [...row])
    : (f as number[]).map((a) => (f as number[]).map((b) => a * b));
  if (normalize) {
    const s = k.flat().reduce((a, b) => a + b, 0);
    for (const row of k) for (let j = 0; j < row.length; j++) row[j]! /= s;
  }
  return k;
}

function depthwise(x: tf.Tensor4D, k: number[][]): tf.Tensor4D {
  const c = x.shape[3];
  const kh = k.length;
  const kw = k[0]!.length;
  const vals = new Float32Array(kh * kw * c);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) vals.fill(k[i]![j]!, (i * kw + j) * c, (i * kw + j + 1) * c);
  return tf.depthwiseConv2d(x, tf.tensor4d(vals, [kh, kw, c, 1]), 1, 'same');
}

/**
 * blur2d: depthwise SAME conv of every channel with the normalised filter. Like NVIDIA we give it a
 * custom gradient (the blur with the flipped filter) that is itself a blur, so gradients of any order
 * exist without tfjs' missing DepthwiseConv2dNativeBackpropInput gradient. (For odd filter sizes,
 * e.g. the default [1,2,1], that is the exact adjoint; for even sizes SAME padding is asymmetric and
 * the flipped-filter blur is the adjoint shifted by one pixel — as in NVIDIA's code, which we keep.)
 */
export function blur2d(x: tf.Tensor4D, f: readonly number[] | readonly (readonly number[])[] = [1, 2, 1], normalize = true): tf.Tensor4D {
  const k = blurKernel(f, normalize);
  const flipped = k.map((row) => [...row].reverse()).reverse();
  return blurWith(k, flipped)(x);
}

function blurWith(k: number[][], flipped: number[][]): (x: tf.Tensor4D) => tf.Tensor4D {
  const f = tf.customGrad(((x: tf.Tensor) => ({
    value: depthwise(x as tf.Tensor4D, k),
    gradFunc: (dy: tf.Tensor) => blurWith(flipped, k)(dy as tf.Tensor4D),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f as unknown as (x: tf.Tensor4D) => tf.Tensor4D;
}

/**
 * How upscale2d / downscale2d are computed. 'kernel': the backend's ResizeNearestNeighbor / AvgPool,
 * whose backward kernels get their gradients from engine/ (so R1 / WGAN-GP can differentiate them
 * twice). 'reshape': a broadcast add of zeros / a reshape + mean, differentiable to any order by tfjs
 * itself (tf.broadcastTo and rank-6 tile are not: both run the Tile kernel, whose gradient stops at
 * rank 4). Both equal the explicit formulas; which is faster depends on the backend (bench/ops.ts).
 */
export type ResampleImpl = 'kernel' | 'reshape';
export type ResampleOp = 'upscale2d' | 'downscale2d';

// From `npm run bench -- ops` (alternated calls, medians; shared 2-core box under load). tensorflow
// (NHWC, no transposes): downscale2d's AvgPool 8-16x faster forward, 2-8x on first/second-order
// gradients at [32,512,8,8] ... [16,128,64,64]; upscale2d's resize 1.2-1.9x on those (tiny [32,32,32,1]
// images: 0.7x forward, 1.0-2.2x gradients); a whole config-F step at 32x32 (D with R1 or WGAN-GP,
// Gs, G) 1.15-1.21x. cpu: the kernels 11-46x forward, 1.5-4.9x on gradients (whole steps not timed:
// too slow). wasm: the same steps within ±2% either way (AvgPool gains per call, the resize loses 2x
// forward at mid sizes), so wasm keeps the reshape forms.
const RESAMPLE_DEFAULT: Readonly<Record<string, Readonly<Record<ResampleOp, ResampleImpl>>>> = {
  tensorflow: { upscale2d: 'kernel', downscale2d: 'kernel' },
  cpu: { upscale2d: 'kernel', downscale2d: 'kernel' },
};
const resampleOverride: Record<ResampleOp, ResampleImpl | null> = { upscale2d: null, downscale2d: null };

/**
 * Forces one formulation on every backend (benchmarks, tests), for both ops or only `op`; null
 * restores the per-backend default.
 */
export function setResampleImpl(impl: ResampleImpl | null, op?: ResampleOp): void {
  if (op) resampleOverride[op] = impl;
  else resampleOverride.upscale2d = resampleOverride.downscale2d = impl;
}

/** The formulation `op` uses on `backend` (default: the current one). */
export function resampleImpl(op: ResampleOp, backend: string = tf.getBackend()): ResampleImpl {
  return resampleOverride[op] ?? RESAMPLE_DEFAULT[backend]?.[op] ?? 'reshape';
}

const isPow2 = (f: number) => Number.isInteger(f) && f > 0 && (f & (f - 1)) === 0;

/** upscale2d: nearest-neighbour ×factor (NVIDIA: tile of a reshape). */
export function upscale2d(x: tf.Tensor4D, factor = 2): tf.Tensor4D {
  if (factor === 1) return x;
  const [n, h, w, c] = x.shape;
  // TF picks the source pixel as floor(o · (in/out)) in float32: exact only when in/out is a power of 2.
  if (isPow2(factor) && resampleImpl('upscale2d') === 'kernel') return tf.image.resizeNearestNeighbor(x, [h * factor, w * factor]);
  const y = tf.add(tf.reshape(x, [n * h, 1, w, 1, c]), tf.zeros([1, factor, 1, factor, 1]));
  return tf.reshape(y, [n, h * factor, w * factor, c]);
}

/** downscale2d: box average over factor×factor blocks (NVIDIA: 2×2 depthwise 0.25 kernel, avg_pool for larger). */
export function downscale2d(x: tf.Tensor4D, factor = 2): tf.Tensor4D {
  if (factor === 1) return x;
  if (resampleImpl('downscale2d') === 'kernel') return tf.avgPool(x, factor, factor, 'valid');
  const [n, h, w, c] = x.shape;
  return tf.mean(tf.reshape(x, [n * (h / factor), factor, w / factor, factor, c]), [1, 3]).reshape([n, h / factor, w / factor, c]);
}

/** pixel_norm: x · rsqrt(mean over channels (the last axis) of x² + ε). */
export function pixelNorm<T extends tf.Tensor>(x: T, epsilon = 1e-8): T {
  return tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), epsilon))) as T;
}

/** instance_norm: per sample and channel, subtract the spatial mean and divide by the spatial RMS (+ε). */
export function instanceNorm(x: tf.Tensor4D, epsilon = 1e-8): tf.Tensor4D {
  const centred = tf.sub(x, tf.mean(x, [1, 2], true));
  return tf.mul(centred, tf.rsqrt(tf.add(tf.mean(tf.square(centred), [1, 2], true), epsilon)));
}

/**
 * style_mod (AdaIN's affine part): style [N, 2C] (already the dense + bias of the layer's dlatent);
 * x·(style[:, :C] + 1) + style[:, C:].
 */
export function styleMod(x: tf.Tensor4D, style: tf.Tensor2D): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const s = tf.reshape(style, [n, 1, 1, 2 * c]);
  const ys = tf.slice(s, [0, 0, 0, 0], [-1, -1, -1, c]);
  const yb = tf.slice(s, [0, 0, 0, c], [-1, -1, -1, c]);
  return tf.add(tf.mul(x, tf.add(ys, 1)), yb);
}

/**
 * instance_norm followed by style_mod (AdaIN) with the per-channel factors folded first:
 * (x − μ)·rsqrt(σ² + ε)·(y_s + 1) + y_b, so the full-size tensor sees one multiply instead of two.
 */
export function adaIN(x: tf.Tensor4D, style: tf.Tensor2D, epsilon = 1e-8): tf.Tensor4D {
  const [n, , , c] = x.shape;
  const s = tf.reshape(style, [n, 1, 1, 2 * c]);
  const ys = tf.slice(s, [0, 0, 0, 0], [-1, -1, -1, c]);
  const yb = tf.slice(s, [0, 0, 0, c], [-1, -1, -1, c]);
  const centred = tf.sub(x, tf.mean(x, [1, 2], true));
  const scale = tf.mul(tf.rsqrt(tf.add(tf.mean(tf.square(centred), [1, 2], true), epsilon)), tf.add(ys, 1));
  return tf.add(tf.mul(centred, scale), yb);
}

/** apply_noise: x + noise · weight, noise [N or 1, H, W, 1] per pixel, weight [C] per channel. */
export function applyNoise(x: tf.Tensor4D, noise: tf.Tensor4D, weight: tf.Tensor1D): tf.Tensor4D {
  return tf.add(x, tf.mul(noise, weight));
}

/**
 * minibatch_stddev_layer: groups of G = min(group_size, N) samples taken with stride M = N/G
 * (sample i = g·M + m), stddev over each group, averaged over channels-within-feature and pixels,
 * appended as num_new_features extra channels (last).
 */
export function minibatchStddev(x: tf.Tensor4D, group_size = 4, num_new_features = 1): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const g = Math.min(group_size, n);
  if (n % g !== 0) throw new Error(`minibatch_stddev: minibatch ${n} is not divisible by group size ${g}`);
  if (c % num_new_features !== 0) throw new Error(`minibatch_stddev: ${c} channels not divisible by ${num_new_features} features`);
  const m = n / g;
  const f = num_new_features;
  const y = tf.reshape(x, [g, m, h, w, f, c / f]);
  const centred = tf.sub(y, tf.mean(y, 0, true));
  const std = tf.sqrt(tf.add(tf.mean(tf.square(centred), 0), 1e-8)); // [M,H,W,n,c]
  const s = tf.mean(std, [1, 2, 4]); // [M, n]
  const perSample = tf.reshape(tf.tile(s, [g, 1]), [n, 1, 1, f]); // row g·M + m = s[m]
  return tf.concat([x, tf.tile(perSample, [1, h, w, 1])], 3) as tf.Tensor4D;
}

/** lerp(a, b, t) = a + (b − a)·t. */
export function lerp<T extends tf.Tensor>(a: T, b: T, t: number | tf.Tensor): T {
  return tf.add(a, tf.mul(tf.sub(b, a), t)) as T;
}

/** lerp_clip: lerp with t clamped to [0, 1]. */
export function lerpClip<T extends tf.Tensor>(a: T, b: T, t: number): T {
  return lerp(a, b, Math.min(Math.max(t, 0), 1));
}

/** NCHW → NHWC and back, once at the public boundary of a network. */
export function nchwToNhwc(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 2, 3, 1]);
}
export function nhwcToNchw(x: tf.Tensor4D): tf.Tensor4D {
  return tf.transpose(x, [0, 3, 1, 2]);
}
