// ResizeNearestNeighborGrad for the wasm backend, replacing tfjs 4.22's, which ignores
// halfPixelCenters (its C++ kernel takes alignCorners only), so the gradient of a half-pixel-centred
// resize went to the wrong pixels. The transpose of the forward: each dy pixel is added to the source
// pixel the forward copied it from, chosen by TensorFlow's rule (nearestSource, shared with the cpu
// kernel). One pass over memory: a loop over the values read from the wasm heap.
import * as tf from '@tensorflow/tfjs';
import { nearestSource } from '../kernels/cpu/ResizeNearestNeighborGrad.ts';

interface Attrs { alignCorners: boolean; halfPixelCenters: boolean }

export const resizeNearestNeighborGradWasm: tf.KernelConfig = {
  kernelName: 'ResizeNearestNeighborGrad',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as tf.KernelBackend;
    const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
    const { alignCorners, halfPixelCenters } = attrs as unknown as Attrs;
    const [n, h, w, c] = images.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const g = backend.readSync(dy.dataId) as Float32Array;
    const dx = new Float32Array(n * h * w * c);
    const srcCol = Array.from({ length: ow }, (_, x) => nearestSource(x, w, ow, alignCorners, halfPixelCenters));
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < oh; y++) {
        const row = nearestSource(y, h, oh, alignCorners, halfPixelCenters);
        for (let x = 0; x < ow; x++) {
          const to = ((b * h + row) * w + srcCol[x]!) * c;
          const from = ((b * oh + y) * ow + x) * c;
          for (let ch = 0; ch < c; ch++) dx[to + ch]! += g[from + ch]!;
        }
      }
    }
    return tf.tensor4d(dx, [n, h, w, c]);
  },
};
