// AvgPoolGrad for tfjs's `cpu` backend, replacing tfjs 4.22's, which divides every window by the
// full filter size: wrong at the borders with 'same' padding, where the forward AvgPool (like
// TensorFlow) divides by the number of in-bounds pixels. This is the exact transpose of that forward:
// each dy value is spread evenly over the in-bounds pixels of its window.
import * as tf from '@tensorflow/tfjs';

interface CpuBackend { data: { get(id: tf.DataId): { values: tf.backend_util.BackendValues } }; makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo }

export const avgPoolGradCpu: tf.KernelConfig = {
  kernelName: 'AvgPoolGrad',
  backendName: 'cpu',
  kernelFunc: ({ inputs, backend, attrs }) => {
    const { dy, input } = inputs as { dy: tf.TensorInfo; input: tf.TensorInfo };
    const { filterSize, strides, pad, dimRoundingMode } = attrs as unknown as {
      filterSize: [number, number] | number; strides: [number, number] | number; pad: 'valid' | 'same' | number; dimRoundingMode?: 'floor' | 'round' | 'ceil';
    };
    const cpu = backend as unknown as CpuBackend;
    const [n, h, w, c] = input.shape as [number, number, number, number];
    const info = tf.backend_util.computePool2DInfo([n, h, w, c], filterSize, strides, 1, pad, dimRoundingMode);
    const dyv = cpu.data.get(dy.dataId).values as Float32Array;
    const out = new Float32Array(n * h * w * c);
    for (let b = 0; b < n; b++) {
      for (let i = 0; i < info.outHeight; i++) {
        const r0 = i * info.strideHeight - info.padInfo.top;
        const rs = Math.max(r0, 0), re = Math.min(r0 + info.filterHeight, h);
        for (let j = 0; j < info.outWidth; j++) {
          const c0 = j * info.strideWidth - info.padInfo.left;
          const cs = Math.max(c0, 0), ce = Math.min(c0 + info.filterWidth, w);
          const count = (re - rs) * (ce - cs);
          if (count <= 0) continue;
          const dyBase = ((b * info.outHeight + i) * info.outWidth + j) * c;
          for (let r = rs; r < re; r++) {
            for (let col = cs; col < ce; col++) {
              const xBase = ((b * h + r) * w + col) * c;
              for (let ch = 0; ch < c; ch++) out[xBase + ch]! += dyv[dyBase + ch]! / count;
            }
          }
        }
      }
    }
    return cpu.makeTensorInfo([n, h, w, c], 'float32', out);
  },
};
