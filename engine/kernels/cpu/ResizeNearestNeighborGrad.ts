// ResizeNearestNeighborGrad for tfjs's `cpu` backend, replacing tfjs 4.22's, which reads dy with the
// images' batch stride: every sample after the first gets a wrong gradient. This is the transpose of
// the forward resize: each dy pixel is added to the one source pixel the forward copied it from,
// chosen by TensorFlow's nearest-neighbour rule (align_corners / half_pixel_centers).
import * as tf from '@tensorflow/tfjs';

interface CpuBackend { data: { get(id: tf.DataId): { values: tf.backend_util.BackendValues } }; makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo }

/** Source index of output index `o` along one axis, as TF's ResizeNearestNeighbor picks it. */
export function nearestSource(o: number, inSize: number, outSize: number, alignCorners: boolean, halfPixelCenters: boolean): number {
  const ratio = alignCorners && outSize > 1 ? (inSize - 1) / (outSize - 1) : inSize / outSize;
  const f = halfPixelCenters ? ratio * (o + 0.5) : ratio * o;
  const k = Math.min(inSize - 1, alignCorners ? Math.round(f) : Math.floor(f));
  return halfPixelCenters ? Math.max(0, k) : k;
}

export const resizeNearestNeighborGradCpu: tf.KernelConfig = {
  kernelName: 'ResizeNearestNeighborGrad',
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { images, dy } = inputs as { images: tf.TensorInfo; dy: tf.TensorInfo };
    const { alignCorners, halfPixelCenters } = attrs as unknown as { alignCorners: boolean; halfPixelCenters: boolean };
    const cpu = backend as unknown as CpuBackend;
    const [n, h, w, c] = images.shape as [number, number, number, number];
    const [, oh, ow] = dy.shape as [number, number, number, number];
    const dyv = cpu.data.get(dy.dataId).values as Float32Array;
    const out = new Float32Array(n * h * w * c);
    const cols = Array.from({ length: ow }, (_, x) => nearestSource(x, w, ow, alignCorners, halfPixelCenters));
    for (let b = 0; b < n; b++) {
      for (let y = 0; y < oh; y++) {
        const r = nearestSource(y, h, oh, alignCorners, halfPixelCenters);
        for (let x = 0; x < ow; x++) {
          const src = ((b * h + r) * w + cols[x]!) * c;
          const dst = ((b * oh + y) * ow + x) * c;
          for (let ch = 0; ch < c; ch++) out[src + ch]! += dyv[dst + ch]!;
        }
      }
    }
    return cpu.makeTensorInfo([n, h, w, c], 'float32', out);
  },
};
