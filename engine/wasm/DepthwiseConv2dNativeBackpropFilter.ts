// DepthwiseConv2dNativeBackpropFilter for the wasm backend, which has none in tfjs 4.22:
//   dW[a,b,ch,m] = Σ_{n,i,j} xPadded[n, a + s·i, b + s·j, ch] · dy[n,i,j,ch·M+m]
// One product and reduction per filter tap over a shifted (strided) view of the padded input. Filters
// of depthwise layers are small (blur/FIR taps), so kh·kw elementwise passes are cheap; no StyleGAN
// network trains a depthwise filter (blur2d's is a constant). Dilations must be 1.
import * as tf from '@tensorflow/tfjs';

interface Attrs {
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
  dilations: [number, number] | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  filterShape: [number, number, number, number];
}

export function depthwiseBackpropFilterComposite(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: [number, number, number, number], a: Omit<Attrs, 'filterShape'>): tf.Tensor4D {
  const info = tf.backend_util.computeConv2DInfo(x.shape, filterShape, a.strides, a.dilations, a.pad, a.dimRoundingMode, true);
  if (info.dilationHeight !== 1 || info.dilationWidth !== 1) throw new Error('DepthwiseConv2dNativeBackpropFilter (wasm): dilations > 1 are not supported');
  const [kh, kw, c, m] = filterShape;
  const [n, h, w] = x.shape;
  const [, ho, wo] = dy.shape;
  const sh = info.strideHeight, sw = info.strideWidth;
  // Rows/cols the windows span, from the first padded one.
  const needH = (ho - 1) * sh + kh, needW = (wo - 1) * sw + kw;
  const top = info.padInfo.top, left = info.padInfo.left;
  const xp = tf.pad(x, [[0, 0], [top, Math.max(needH - h - top, 0)], [left, Math.max(needW - w - left, 0)], [0, 0]]);
  const g = tf.reshape(dy, [n, ho, wo, c, m]);
  const taps: tf.Tensor[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const view = tf.stridedSlice(xp, [0, i, j, 0], [n, i + (ho - 1) * sh + 1, j + (wo - 1) * sw + 1, c], [1, sh, sw, 1]);
      taps.push(tf.sum(tf.mul(tf.reshape(view, [n, ho, wo, c, 1]), g), [0, 1, 2])); // [C, M]
    }
  }
  return tf.reshape(tf.stack(taps), [kh, kw, c, m]) as tf.Tensor4D;
}

export const depthwiseConv2dNativeBackpropFilterWasm: tf.KernelConfig = {
  kernelName: 'DepthwiseConv2dNativeBackpropFilter',
  backendName: 'wasm',
  kernelFunc: ({ inputs, attrs }) => {
    const { x, dy } = inputs as unknown as { x: tf.Tensor4D; dy: tf.Tensor4D };
    const a = attrs as unknown as Attrs;
    return tf.tidy(() => depthwiseBackpropFilterComposite(x, dy, a.filterShape, a));
  },
};
