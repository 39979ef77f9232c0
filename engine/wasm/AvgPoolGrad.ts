// AvgPoolGrad for the wasm backend, replacing tfjs 4.22's, which (like its cpu kernel) divides every
// window by the full filter size: wrong at the borders with 'same' padding, where the forward AvgPool
// divides by the number of in-bounds pixels. This is the exact transpose of that forward: each dy
// value is spread evenly over the in-bounds pixels of its window. Not on a training hot path (the
// networks downscale by reshape + mean), so a loop over the values read from the wasm heap.
import * as tf from '@tensorflow/tfjs';

interface Attrs {
  filterSize: [number, number] | number;
  strides: [number, number] | number;
  pad: 'valid' | 'same' | number;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

export const avgPoolGradWasm: tf.KernelConfig = {
  kernelName: 'AvgPoolGrad',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as tf.KernelBackend;
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as Attrs;
    const [n, h, w, c] = input.shape as [number, number, number, number];
    const p = tf.backend_util.computePool2DInfo([n, h, w, c], filterSize, strides, 1, pad, dimRoundingMode);
    const g = backend.readSync(dy.dataId) as Float32Array;
    const dx = new Float32Array(n * h * w * c);
    for (let b = 0; b < n; b++) {
      for (let oy = 0; oy < p.outHeight; oy++) {
        const y0 = oy * p.strideHeight - p.padInfo.top;
        const ys = Math.max(y0, 0), ye = Math.min(y0 + p.filterHeight, h);
        for (let ox = 0; ox < p.outWidth; ox++) {
          const x0 = ox * p.strideWidth - p.padInfo.left;
          const xs = Math.max(x0, 0), xe = Math.min(x0 + p.filterWidth, w);
          const inBounds = (ye - ys) * (xe - xs);
          if (inBounds <= 0) continue;
          const src = ((b * p.outHeight + oy) * p.outWidth + ox) * c;
          for (let y = ys; y < ye; y++) {
            for (let x = xs; x < xe; x++) {
              const dst = ((b * h + y) * w + x) * c;
              for (let ch = 0; ch < c; ch++) dx[dst + ch]! += g[src + ch]! / inBounds;
            }
          }
        }
      }
    }
    return tf.tensor4d(dx, [n, h, w, c]);
  },
};
