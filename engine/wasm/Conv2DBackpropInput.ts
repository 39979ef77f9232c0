// Conv2DBackpropInput for the wasm backend. tfjs 4.22's own wasm kernel is a scalar loop on one thread
// (~2.4 GFLOP/s, 10x below its forward conv). Stride 1 on small images with wide filters (N·H·W at
// most 2·Ci: 4², 8² at 512 channels): one XNNPACK matmul with the filter read in place
// (engine/wasm/conv_gemm.ts, inputGradPatches). Otherwise a forward Conv2D (XNNPACK, threaded):
// the input gradient of y = x ⋆ W (cross-correlation, stride s, padding top/left p) is a full
// correlation of dy, with s-1 zeros inserted between its rows and columns, with the filter rotated
// 180° and its in/out axes swapped:
//   dx[n,r,c,ci] = Σ_{a,b,co} dyDilated[n, r + a - (kh-1-p_top), c + b - (kw-1-p_left), co] · W[kh-1-a, kw-1-b, ci, co]
// Any stride, 'same' / 'valid' / numeric / explicit padding; NHWC (NCHW by transposing around it).
import * as tf from '@tensorflow/tfjs';
import { geometryOf, inputGradPatches } from './conv_gemm.ts';
import { allocate, heapF32, indexOf } from './heap.ts';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

/** Inserts sh-1 zero rows and sw-1 zero columns between the pixels of an NHWC tensor. */
export function dilateSpatial(t: tf.Tensor4D, sh: number, sw: number): tf.Tensor4D {
  if (sh === 1 && sw === 1) return t;
  const [n, h, w, c] = t.shape;
  const spread = tf.pad(tf.reshape(t, [n, h, 1, w, 1, c]), [[0, 0], [0, 0], [0, sh - 1], [0, 0], [0, sw - 1], [0, 0]]);
  const full = tf.reshape(spread, [n, h * sh, w * sw, c]) as tf.Tensor4D;
  return tf.slice(full, [0, 0, 0, 0], [n, (h - 1) * sh + 1, (w - 1) * sw + 1, c]);
}

/**
 * Correlates x with filter f at stride 1 so that the output starts `before` rows/cols before x's first
 * pixel and has exactly `outH` x `outW` pixels; negative `before` (or too much length) crops instead
 * of padding, which conv2d cannot express.
 */
export function correlateWindow(x: tf.Tensor4D, f: tf.Tensor4D, top: number, left: number, outH: number, outW: number, dilations: [number, number] = [1, 1]): tf.Tensor4D {
  const [, h, w] = x.shape;
  const [kh, kw] = f.shape;
  const ekh = (kh - 1) * dilations[0] + 1, ekw = (kw - 1) * dilations[1] + 1;
  const bottom = outH + ekh - 1 - h - top, right = outW + ekw - 1 - w - left;
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]];
  const y = tf.conv2d(x, f, 1, pad, 'NHWC', dilations);
  if (top >= 0 && left >= 0 && bottom >= 0 && right >= 0) return y;
  return tf.slice(y, [0, Math.max(-top, 0), Math.max(-left, 0), 0], [-1, outH, outW, -1]);
}

/**
 * W[kh,kw,Ci,Co] → W[kh-1-a, kw-1-b, co, ci]: rotated 180°, in/out swapped. One blocked JS pass on
 * the heap (engine/wasm/heap.ts): wasm's Reverse and GatherV2 kernels are scalar loops (~200 ms each
 * for a 3x3 512→512 filter), its Transpose ~18 ms.
 */
export function rotateFilter(filter: tf.Tensor4D): tf.Tensor4D {
  const [kh, kw, ci, co] = filter.shape;
  const taps = kh * kw;
  const out = allocate([kh, kw, co, ci]);
  const heap = heapF32();
  const src = indexOf(filter), dst = indexOf(out);
  const B = 32;
  for (let t = 0; t < taps; t++) {
    const s0 = src + t * ci * co, d0 = dst + (taps - 1 - t) * ci * co;
    for (let i0 = 0; i0 < ci; i0 += B) {
      const i1 = Math.min(i0 + B, ci);
      for (let j0 = 0; j0 < co; j0 += B) {
        const j1 = Math.min(j0 + B, co);
        for (let i = i0; i < i1; i++) {
          const row = s0 + i * co;
          for (let j = j0; j < j1; j++) heap[d0 + j * ci + i] = heap[row + j]!;
        }
      }
    }
  }
  return out as tf.Tensor4D;
}

export type InputGradPath = 'gemm' | 'conv';

/**
 * The matmul reads the filter in place but builds and repacks 9× dy; the conv rotates the filter and
 * XNNPACK repacks it (~20 ns/weight together). Matmul when the filter is the larger side.
 */
export function inputGradPath(inputShape: number[], filterShape: number[], strides: [number, number] | number): InputGradPath {
  const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
  const [n, h, w] = inputShape as [number, number, number];
  return sh === 1 && sw === 1 && n * h * w <= 2 * filterShape[2]! ? 'gemm' : 'conv';
}

/** NHWC input gradient by the path inputGradPath picks (or the one forced, for tests and benches). */
export function conv2DBackpropInputComposite(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: [number, number, number, number], attrs: Omit<Attrs, 'inputShape' | 'dataFormat'>, path = inputGradPath(inputShape, filter.shape, attrs.strides)): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  if (path === 'gemm') return inputGradPatches(dy, filter, geometryOf(inputShape, filter.shape, info));
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const [, h, w] = inputShape;
  const d = dilateSpatial(dy, sh, sw);
  return correlateWindow(d, rotateFilter(filter), kh - 1 - info.padInfo.top, kw - 1 - info.padInfo.left, h, w);
}

export const conv2DBackpropInputWasm: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { dy, filter } = inputs as unknown as { dy: tf.Tensor4D; filter: tf.Tensor4D };
    const a = attrs as unknown as Attrs;
    return tf.tidy(() => {
      if (a.dataFormat !== 'NCHW') return conv2DBackpropInputComposite(dy, filter, a.inputShape, a);
      const [n, c, h, w] = a.inputShape;
      const dx = conv2DBackpropInputComposite(tf.transpose(dy, [0, 2, 3, 1]), filter, [n, h, w, c], a);
      return tf.transpose(dx, [0, 3, 1, 2]);
    });
  },
};
