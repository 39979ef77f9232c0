// UnsortedSegmentSum for the wasm backend, which has none in tfjs 4.22; tf.gather's gradient needs it
// (an embedding lookup, a label table). out[k, ...] = Σ over rows r with segmentIds[r] = k of x[r, ...];
// ids outside [0, numSegments) are dropped, as in TensorFlow. A scatter-add is one pass over memory,
// so a loop over the values read from the wasm heap is as fast as any composite would be.
import * as tf from '@tensorflow/tfjs';

interface Attrs { numSegments: number }

export const unsortedSegmentSumWasm: tf.KernelConfig = {
  kernelName: 'UnsortedSegmentSum',
  backendName: 'wasm',
  kernelFunc: ({ inputs, backend: anyBackend, attrs }) => {
    const backend = anyBackend as tf.KernelBackend;
    const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
    const { numSegments } = attrs as unknown as Attrs;
    const ids = backend.readSync(segmentIds.dataId) as Int32Array;
    const values = backend.readSync(x.dataId) as Float32Array | Int32Array;
    const idsSize = ids.length;
    const inner = idsSize === 0 ? 0 : values.length / idsSize;
    const out = x.dtype === 'int32' ? new Int32Array(numSegments * inner) : new Float32Array(numSegments * inner);
    for (let r = 0; r < idsSize; r++) {
      const k = ids[r]!;
      if (k < 0 || k >= numSegments) continue;
      const src = r * inner, dst = k * inner;
      for (let i = 0; i < inner; i++) out[dst + i]! += values[src + i]!;
    }
    return tf.tensor(out, [numSegments, ...x.shape.slice(segmentIds.shape.length)], x.dtype === 'int32' ? 'int32' : 'float32');
  },
};
