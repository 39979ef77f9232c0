// Conv2DBackpropFilter for the wasm backend, which has none in tfjs 4.22 (so nothing could train on
// it). Written as one forward Conv2D (XNNPACK, threaded) over transposed tensors:
//   dW[a,b,ci,co] = Σ_{n,i,j} xPadded[n, a + s·i, b + s·j, ci] · dy[n,i,j,co]
// is a correlation of xᵀ = [Ci, H, W, N] (batch Ci, channels N) with dyᵀ = [Ho, Wo, N, Co] as the
// filter, dilated by the stride, giving [Ci, kh, kw, Co]. Rows and columns of x no window reaches are
// cropped. Any stride, 'same' / 'valid' / numeric / explicit padding; NHWC (NCHW by transposing).
import * as tf from '@tensorflow/tfjs';
import { correlateWindow } from './Conv2DBackpropInput.ts';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export function conv2DBackpropFilterComposite(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], attrs: Omit<Attrs, 'filterShape' | 'dataFormat'>): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, attrs.strides, 1, attrs.pad, attrs.dimRoundingMode, false, 'channelsLast');
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const xT = tf.transpose(x, [3, 1, 2, 0]) as tf.Tensor4D;    // [Ci, H, W, N]
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D;  // [Ho, Wo, N, Co]
  const g = correlateWindow(xT, dyT, info.padInfo.top, info.padInfo.left, kh, kw, [sh, sw]); // [Ci, kh, kw, Co]
  return tf.transpose(g, [1, 2, 0, 3]);
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
