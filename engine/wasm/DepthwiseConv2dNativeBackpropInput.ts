// DepthwiseConv2dNativeBackpropInput for the wasm backend, which has none in tfjs 4.22. For filter
// [kh,kw,C,M] (M = channel multiplier) and dy [N,Ho,Wo,C·M], the input gradient is a full depthwise
// correlation of dy (stride-dilated with zeros) with each channel's filter rotated 180°, then the M
// outputs of each input channel summed:
//   dx[n,r,c,ch] = Σ_{m,a,b} dyDilated[n, r + a - (kh-1-p_top), c + b - (kw-1-p_left), ch·M+m] · f[kh-1-a, kw-1-b, ch, m]
// Written as the backend's forward DepthwiseConv2dNative. (blur2d in training/ops.ts never reaches
// this kernel: its custom gradient is itself a blur.) Dilations must be 1, as tfjs' gradient requires.
import * as tf from '@tensorflow/tfjs';
import { dilateSpatial } from './Conv2DBackpropInput.ts';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  inputShape: [number, number, number, number];
}

export function depthwiseBackpropInputComposite(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: [number, number, number, number], a: Omit<Attrs, 'inputShape'>): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(inputShape, filter.shape, a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('DepthwiseConv2dNativeBackpropInput (wasm): dilations > 1 are not supported');
  const [kh, kw, c, m] = filter.shape;
  const [n, h, w] = inputShape;
  const d = dilateSpatial(dy, info.strideHeight, info.strideWidth);
  const rotated = tf.reshape(tf.reverse(filter, [0, 1]), [kh, kw, c * m, 1]) as tf.Tensor4D;
  const top = kh - 1 - info.padInfo.top, left = kw - 1 - info.padInfo.left;
  const bottom = h + kh - 1 - d.shape[1] - top, right = w + kw - 1 - d.shape[2] - left;
  const pad: tf.backend_util.ExplicitPadding = [[0, 0], [Math.max(top, 0), Math.max(bottom, 0)], [Math.max(left, 0), Math.max(right, 0)], [0, 0]];
  let y = tf.depthwiseConv2d(d, rotated, 1, pad);
  if (top < 0 || left < 0 || bottom < 0 || right < 0) y = tf.slice(y, [0, Math.max(-top, 0), Math.max(-left, 0), 0], [-1, h, w, -1]);
  return m === 1 ? y : tf.sum(tf.reshape(y, [n, h, w, c, m]), 4) as tf.Tensor4D;
}

export const depthwiseConv2dNativeBackpropInputWasm: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropInput',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { dy, filter } = inputs as unknown as { dy: tf.Tensor4D; filter: tf.Tensor4D };
    const a = attrs as unknown as Attrs;
    return tf.tidy(() => depthwiseBackpropInputComposite(dy, filter, a.inputShape, a));
  },
};
