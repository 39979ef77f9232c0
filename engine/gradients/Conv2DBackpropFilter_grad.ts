// Gradient of Conv2DBackpropFilter, missing from tfjs-core. It is reached when a penalty is a function
// of weight gradients, or when a gradient of a gradient is taken w.r.t. inputs and weights together.
// dW = BF(x, dy) is bilinear: dW[k,l,ci,co] = sum_{n,i,j} x[n, i*s+k-p, j*s+l-p, ci] * dy[n,i,j,co].
// With upstream G (shaped like W): d/dx = conv2dBackpropInput(dy, G) (the input-gradient of conv2d(x, G)
// for upstream dy) and d/ddy = conv2d(x, G) with the same strides, padding and dilations.
import * as tf from '@tensorflow/tfjs';

interface Conv2DBackpropFilterAttrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dataFormat: 'NHWC' | 'NCHW';
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export const conv2DBackpropFilterGradConfig: tf.GradConfig = {
  kernelName: 'Conv2DBackpropFilter',
  inputsToSave: ['x', 'dy'],
  gradFunc: (ddw: tf.Tensor | tf.Tensor[], saved: tf.Tensor[], attrs?: tf.NamedAttrMap) => {
    const [x, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
    const g = ddw as tf.Tensor4D;
    const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as Conv2DBackpropFilterAttrs;
    const fmt = dataFormat === 'NCHW' ? 'NCHW' : 'NHWC';
    return {
      x: () => tf.conv2dTranspose(dy, g, x.shape as [number, number, number, number], strides, pad as 'same' | 'valid' | number, dimRoundingMode),
      dy: () => tf.conv2d(x, g, strides, pad as 'same' | 'valid' | number, fmt, 1, dimRoundingMode),
    };
  },
};
