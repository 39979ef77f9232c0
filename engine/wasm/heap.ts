// Direct access to the wasm backend's heap and its XNNPACK matmul, for the conv-gradient kernels.
// tfjs' own data-movement kernels on wasm are scalar loops (Transpose ~9 ns/element, Reverse and
// GatherV2 far worse), and its BatchMatMul reaches XNNPACK only for [1,M,K]·[1,K,N] with dense
// operands, so a gradient written with tf ops pays for copies the math does not need. Here:
//   - views of a tensor's bytes on the heap, so layouts are built by JS loops and memcpy instead;
//   - aliases: a C++-side tensor id for any range of the heap (no allocation, no copy), so one
//     buffer serves as several matmul operands at different offsets (engine/wasm/conv_gemm.ts) and a
//     matmul can write straight into part of an output;
//   - the kernel's C entry point called with those ids.
// Relies on BackendWasm internals (dataIdMap, dataIdNextNumber, the `wasm` module's tfjs bridge and
// the BatchMatMul export's argument list): pinned with tfjs 4.22.0 (engine/wasm_threads.ts).
import * as tf from '@tensorflow/tfjs';

interface WasmModule {
  HEAPU8: Uint8Array;
  cwrap(name: string, ret: null, args: string[]): (...a: Array<number | Uint8Array>) => void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}
interface BackendWasm {
  wasm: WasmModule;
  dataIdNextNumber: number;
  dataIdMap: { get(dataId: tf.DataId): { id: number; memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

function backend(): BackendWasm {
  if (tf.getBackend() !== 'wasm') throw new Error(`engine/wasm/heap.ts needs the wasm backend (active: ${tf.getBackend()})`);
  return tf.backend() as unknown as BackendWasm;
}

/** A new float32 tensor on the heap, contents undefined (malloc). */
export function allocate(shape: number[]): tf.Tensor {
  return tf.engine().makeTensorFromTensorInfo(backend().makeOutput(shape, 'float32'));
}

/** Byte offset of a float32 tensor's data in the heap. */
export function offsetOf(t: tf.Tensor): number {
  const d = backend().dataIdMap.get(t.dataId);
  if (d == null) throw new Error('tensor is not on the wasm backend');
  return d.memoryOffset;
}

/**
 * A Float32Array over the whole heap. Take it after the last allocation of a step: growing the heap
 * replaces the buffer.
 */
export function heapF32(): Float32Array {
  const u8 = backend().wasm.HEAPU8;
  return new Float32Array(u8.buffer, u8.byteOffset, u8.byteLength >>> 2);
}

/** Index of a float32 tensor's first element in heapF32(). */
export function indexOf(t: tf.Tensor): number {
  return offsetOf(t) >>> 2;
}

/**
 * Runs `fn` with C++-side ids for heap ranges given as float indices into heapF32(). The ids are
 * released after (without freeing memory), which also drops any XNNPACK operator cached on them, so
 * a call always packs its weights afresh, as a training step would.
 */
export function withAliases<T>(ranges: Array<{ index: number; size: number }>, fn: (ids: number[]) => T): T {
  const be = backend();
  const ids = ranges.map(({ index, size }) => {
    const id = be.dataIdNextNumber++;
    be.wasm.tfjs.registerTensor(id, size, index * 4);
    return id;
  });
  try {
    return fn(ids);
  } finally {
    for (const id of ids) be.wasm.tfjs.disposeData(id);
  }
}

let matmulEntry: { module: WasmModule; call: (...a: Array<number | Uint8Array>) => void } | null = null;

/**
 * out[M,N] = a[M,K] · b[K,N] with XNNPACK's fully-connected operator (threaded), all three given as
 * C++-side ids (withAliases). `b` is the operand XNNPACK repacks; `a` is read in place.
 */
export function matmulIds(aId: number, bId: number, outId: number, m: number, k: number, n: number): void {
  const be = backend();
  if (matmulEntry?.module !== be.wasm) {
    matmulEntry = { module: be.wasm, call: be.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) };
  }
  const shape = (s: number[]) => new Uint8Array(new Int32Array(s).buffer);
  matmulEntry.call(aId, shape([1, m, k]), 3, bId, shape([1, k, n]), 3, 0, 0, outId);
}
