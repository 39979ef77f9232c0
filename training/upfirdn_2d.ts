// NVIDIA's dnnlib/tflib/ops/upfirdn_2d.py for StyleGAN2: upsample (zero insertion), pad, FIR filter,
// downsample — and the resampling ops built on it (upsample_2d, downsample_2d, upsample_conv_2d,
// conv_downsample_2d). Tensors are NHWC (our internal layout); kernels are NVIDIA's (1-D → outer
// product, normalised to sum 1, then scaled by gain·factor² for upsampling).
//
// Everything here is twice differentiable in tfjs: zero insertion and cropping are reshape/pad/slice,
// the FIR is a depthwise VALID correlation whose custom gradient is the same op with the flipped
// kernel on the zero-padded gradient (so the gradient is differentiable again, any order), the
// stride is a reshape + slice, and the convolutions are conv2d / conv2dTranspose (their gradients
// are conv2d, Conv2DBackpropInput and Conv2DBackpropFilter, all differentiable after initBackend).
import * as tf from '@tensorflow/tfjs';

export type Kernel2D = number[][];

/** _setup_kernel: 1-D k → outer(k, k); divided by its sum. */
export function setupKernel(k: readonly number[] | readonly (readonly number[])[]): Kernel2D {
  const k2: number[][] = Array.isArray(k[0]) ? (k as number[][]).map((r) => [...r]) : (k as number[]).map((a) => (k as number[]).map((b) => a * b));
  const s = k2.flat().reduce((a, b) => a + b, 0);
  return k2.map((r) => r.map((v) => v / s));
}

const scaleKernel = (k: Kernel2D, c: number): Kernel2D => k.map((r) => r.map((v) => v * c));
const flipKernel = (k: Kernel2D): Kernel2D => k.map((r) => [...r].reverse()).reverse();

function depthwiseValid(x: tf.Tensor4D, k: Kernel2D): tf.Tensor4D {
  const c = x.shape[3];
  const kh = k.length;
  const kw = k[0]!.length;
  const vals = new Float32Array(kh * kw * c);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++) vals.fill(k[i]![j]!, (i * kw + j) * c, (i * kw + j + 1) * c);
  return tf.depthwiseConv2d(x, tf.tensor4d(vals, [kh, kw, c, 1]), 1, 'valid');
}

/**
 * Per-channel VALID cross-correlation with `k`; its gradient is the full correlation of dy with the
 * flipped kernel, written as the same op (pad by k−1, VALID) so that it has gradients of every order.
 */
function firCorrelate(k: Kernel2D): (x: tf.Tensor4D) => tf.Tensor4D {
  const kh = k.length;
  const kw = k[0]!.length;
  const f = tf.customGrad(((x: tf.Tensor) => ({
    value: depthwiseValid(x as tf.Tensor4D, k),
    gradFunc: (dy: tf.Tensor) => firCorrelate(flipKernel(k))(tf.pad(dy as tf.Tensor4D, [[0, 0], [kh - 1, kh - 1], [kw - 1, kw - 1], [0, 0]])),
  })) as unknown as Parameters<typeof tf.customGrad>[0]);
  return f as unknown as (x: tf.Tensor4D) => tf.Tensor4D;
}

/** Zero-pads (positive) or crops (negative) the spatial dims: pads as [top, bottom, left, right]. */
function padOrCrop(x: tf.Tensor4D, top: number, bottom: number, left: number, right: number): tf.Tensor4D {
  if (top > 0 || bottom > 0 || left > 0 || right > 0) {
    x = tf.pad(x, [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]]);
  }
  if (top < 0 || bottom < 0 || left < 0 || right < 0) {
    const [, h, w] = x.shape;
    const t = Math.max(-top, 0);
    const l = Math.max(-left, 0);
    x = tf.slice(x, [0, t, l, 0], [-1, h - t - Math.max(-bottom, 0), w - l - Math.max(-right, 0), -1]);
  }
  return x;
}

/** Inserts factor−1 zeros after every pixel (both axes): [N,H,W,C] → [N,H·f,W·f,C]. */
function zeroInsert(x: tf.Tensor4D, upx: number, upy: number): tf.Tensor4D {
  if (upx === 1 && upy === 1) return x;
  const [n, h, w, c] = x.shape;
  const y = tf.pad(tf.reshape(x, [n * h, 1, w, 1, c]), [[0, 0], [0, upy - 1], [0, 0], [0, upx - 1], [0, 0]]);
  return tf.reshape(y, [n, h * upy, w * upx, c]);
}

/** Keeps every down-th pixel starting at 0 (x[:, ::down, ::down]) via reshape + slice. */
function decimate(x: tf.Tensor4D, downx: number, downy: number): tf.Tensor4D {
  if (downx === 1 && downy === 1) return x;
  const [n, h, w, c] = x.shape;
  const ho = Math.ceil(h / downy);
  const wo = Math.ceil(w / downx);
  if (ho * downy !== h || wo * downx !== w) x = tf.pad(x, [[0, 0], [0, ho * downy - h], [0, wo * downx - w], [0, 0]]);
  const y = tf.slice(tf.reshape(x, [n * ho, downy, wo, downx, c]), [0, 0, 0, 0, 0], [-1, 1, -1, 1, -1]);
  return tf.reshape(y, [n, ho, wo, c]);
}

export interface UpFirDnOptions {
  up?: number;
  down?: number;
  /** Padding before/after on both axes (negative crops), NVIDIA's pad0 / pad1. */
  pad0?: number;
  pad1?: number;
}

/**
 * upfirdn_2d(x, k, upx=upy=up, downx=downy=down, padx0=pady0=pad0, padx1=pady1=pad1): zero-insert
 * (up−1 zeros after each pixel), pad/crop, **convolve** with k (a true convolution: the kernel is
 * flipped), keep every down-th pixel. x NHWC; k a 2-D kernel used as given.
 */
export function upfirdn2d(x: tf.Tensor4D, k: Kernel2D, { up = 1, down = 1, pad0 = 0, pad1 = 0 }: UpFirDnOptions = {}): tf.Tensor4D {
  let y = zeroInsert(x, up, up);
  y = padOrCrop(y, pad0, pad1, pad0, pad1);
  y = firCorrelate(flipKernel(k))(y);
  return decimate(y, down, down);
}

const DEFAULT_K = [1, 3, 3, 1];

/** upsample_2d: FIR upsampling by `factor` (kernel·gain·factor², pads ((p+1)/2 + f − 1, p/2), p = len(k) − f). */
export function upsample2d(x: tf.Tensor4D, k: readonly number[] = DEFAULT_K, factor = 2, gain = 1): tf.Tensor4D {
  const k2 = scaleKernel(setupKernel(k), gain * factor * factor);
  const p = k2.length - factor;
  return upfirdn2d(x, k2, { up: factor, pad0: Math.floor((p + 1) / 2) + factor - 1, pad1: Math.floor(p / 2) });
}

/** downsample_2d: FIR filter then keep every factor-th pixel (pads ((p+1)/2, p/2), p = len(k) − f). */
export function downsample2d(x: tf.Tensor4D, k: readonly number[] = DEFAULT_K, factor = 2, gain = 1): tf.Tensor4D {
  const k2 = scaleKernel(setupKernel(k), gain);
  const p = k2.length - factor;
  return upfirdn2d(x, k2, { down: factor, pad0: Math.floor((p + 1) / 2), pad1: Math.floor(p / 2) });
}

/**
 * upsample_conv_2d: NVIDIA's fused 2× upsample + conv: a stride-2 VALID conv2d_transpose with the
 * spatially flipped weight (w [k,k,in,out], NVIDIA's layout, already scaled), then the FIR
 * (kernel·gain·factor², pads ((p+1)/2 + f − 1, p/2 + 1), p = (len(k) − f) − (convW − 1)).
 */
export function upsampleConv2d(x: tf.Tensor4D, w: tf.Tensor4D, k: readonly number[] = DEFAULT_K, factor = 2, gain = 1): tf.Tensor4D {
  const [convH, convW, , outC] = w.shape;
  const [n, h, wd] = x.shape;
  // conv2d_transpose filters are [kh, kw, out, in]; NVIDIA flips w spatially and swaps in/out.
  const wt = tf.reverse(tf.transpose(w, [0, 1, 3, 2]), [0, 1]) as tf.Tensor4D;
  const y = tf.conv2dTranspose(x, wt, [n, (h - 1) * factor + convH, (wd - 1) * factor + convW, outC], factor, 'valid');
  const k2 = scaleKernel(setupKernel(k), gain * factor * factor);
  const p = k2.length - factor - (convW - 1);
  return upfirdn2d(y, k2, { pad0: Math.floor((p + 1) / 2) + factor - 1, pad1: Math.floor(p / 2) + 1 });
}

/**
 * conv_downsample_2d: FIR (kernel·gain, pads ((p+1)/2, p/2), p = (len(k) − f) + (convW − 1)) then a
 * stride-factor VALID conv2d with w [k,k,in,out] (already scaled); `bias` fused into the conv.
 */
export function convDownsample2d(x: tf.Tensor4D, w: tf.Tensor4D, k: readonly number[] = DEFAULT_K, factor = 2, gain = 1, bias?: tf.Tensor1D): tf.Tensor4D {
  const convW = w.shape[1];
  const k2 = scaleKernel(setupKernel(k), gain);
  const p = k2.length - factor + (convW - 1);
  const y = upfirdn2d(x, k2, { pad0: Math.floor((p + 1) / 2), pad1: Math.floor(p / 2) });
  return tf.fused.conv2d({ x: y, filter: w, strides: factor, pad: 'valid', bias });
}
