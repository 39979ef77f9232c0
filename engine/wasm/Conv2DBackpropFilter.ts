// Conv2DBackpropFilter for the wasm backend, which has none in tfjs 4.22 (so nothing could train on
// it). Three formulations of
//   dW[a,b,ci,co] = Σ_{n,i,j} xPadded[n, a + s·i, b + s·j, ci] · dy[n,i,j,co]:
//   - 'patches': one XNNPACK matmul over an explicit patch matrix (engine/wasm/conv_gemm.ts), any
//     stride, while the matrix stays under PATCH_LIMIT floats (small images);
//   - 'grid': stride 1, nine matmuls over one zero-bordered layout of x and dy, no patch matrix
//     (conv_gemm.ts), for large images, where the border adds few products;
//   - 'conv': one forward Conv2D over transposed tensors, for large strided layers: a correlation of
//     xᵀ = [Ci, H, W, N] (batch Ci, channels N) with dyᵀ = [Ho, Wo, N, Co] as the filter, dilated by
//     the stride, giving [Ci, kh, kw, Co]. 2–2.4× the forward time at bench shapes (XNNPACK repacks
//     the dy-sized filter each call and walks N channels per tap), hence the matmuls.
// Any stride, 'same' / 'valid' / numeric / explicit padding; NHWC (NCHW by transposing).
import * as tf from '@tensorflow/tfjs';
import { correlateWindow } from './Conv2DBackpropInput.ts';
import { filterGradGrid, filterGradPatches, geometryOf, gradGrid } from './conv_gemm.ts';

/** Largest patch matrix (floats) filterGradPatches builds: 64 MiB. */
export const PATCH_LIMIT = 2 ** 24;
/** The grid's extra products (K over N·Ho·Wo) above which building patches is cheaper. */
const GRID_MAX_OVERHEAD = 1.1;

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

/** Transposed-conv formulation (any stride and padding, no large temporaries beyond x and dy). */
export function conv2DBackpropFilterConv(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], attrs: Omit<Attrs, 'filterShape' | 'dataFormat'>): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;    // [Ci, H, W, N]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;  // [Ho, Wo, N, Co]
  const g = correlateWindow(xT, dyT, info.padInfo.top, info.padInfo.left, kh, kw, [sh, sw]); // [Ci, kh, kw, Co]
  return tf.transpose(g, [1, 2, 0, 3]);
}

export type FilterGradPath = 'grid' | 'patches' | 'conv';

export function filterGradPath(xShape: number[], filterShape: [number, number, number, number], attrs: Omit<Attrs, 'filterShape' | 'dataFormat'>): FilterGradPath {
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const g = geometryOf(xShape, filterShape, info);
  const grid = gradGrid(g);
  if (grid != null && grid.overhead <= GRID_MAX_OVERHEAD) return 'grid';
  if (g.kh * g.kw * g.ci * g.n * g.ho * g.wo <= PATCH_LIMIT) return 'patches';
  return grid != null ? 'grid' : 'conv';
}

/** NHWC filter gradient by the path filterGradPath picks (or the one forced, for tests and benches). */
export function conv2DBackpropFilterComposite(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], attrs: Omit<Attrs, 'filterShape' | 'dataFormat'>, path = filterGradPath(x.shape, filterShape, attrs)): tf.Tensor4D {
  if (path === 'conv') return conv2DBackpropFilterConv(x, dy, filterShape, attrs);
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const g = geometryOf(x.shape, filterShape, info);
  return path === 'grid' ? filterGradGrid(x, dy, g) : filterGradPatches(x, dy, g);
}

export const conv2DBackpropFilterWasm: tf.KernelConfig = {
  kernelName: 'Conv2DBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x, dy } = inputs as unknown as { x: tf.Tensor4D; dy: tf.Tensor4D };
    const a = attrs as unknown as Attrs;
    return tf.tidy(() => a.dataFormat === 'NCHW'
      ? conv2DBackpropFilterComposite(tf.transpose(x, [0, 2, 3, 1]), tf.transpose(dy, [0, 2, 3, 1]), a.filterShape, a)
      : conv2DBackpropFilterComposite(x, dy, a.filterShape, a));
  },
};
