// engine/kernels/cpu: the AvgPoolGrad and ResizeNearestNeighborGrad kernels that replace tfjs 4.22's
// wrong ones on the `cpu` backend. Checked on cpu by the adjoint identity <A x, v> = <x, Aᵀ v> against
// the backend's own forward kernel (which is right), and against TensorFlow's kernels when the
// tensorflow backend is loaded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';

const info = await useTestBackend();

async function onCpu<T>(fn: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend('cpu');
  try {
    return fn();
  } finally {
    await tf.setBackend(previous);
  }
}

function seeded(shape: number[], seed: number): number[] {
  const n = shape.reduce((a, b) => a * b, 1);
  let s = seed >>> 0;
  return Array.from({ length: n }, () => { s = (1664525 * s + 1013904223) >>> 0; return s / 2 ** 32 - 0.5; });
}

interface Case { name: string; xShape: [number, number, number, number]; forward: (x: tf.Tensor4D) => tf.Tensor4D; tfGradWrong?: boolean }

const POOLS: Case[] = [
  { name: 'avgPool 2x2 valid', xShape: [3, 6, 8, 2], forward: (x) => tf.avgPool(x, 2, 2, 'valid') },
  { name: 'avgPool 3x3 same stride 1', xShape: [3, 5, 7, 2], forward: (x) => tf.avgPool(x, 3, 1, 'same') },
  { name: 'avgPool 3x3 same stride 2', xShape: [2, 7, 6, 3], forward: (x) => tf.avgPool(x, 3, 2, 'same') },
];
const RESIZES: Case[] = [
  { name: 'resizeNN x2', xShape: [3, 4, 5, 2], forward: (x) => tf.image.resizeNearestNeighbor(x, [8, 10]) },
  { name: 'resizeNN 5x7 -> 8x11', xShape: [2, 5, 7, 3], forward: (x) => tf.image.resizeNearestNeighbor(x, [8, 11]) },
  { name: 'resizeNN down 6x6 -> 4x3', xShape: [2, 6, 6, 1], forward: (x) => tf.image.resizeNearestNeighbor(x, [4, 3]) },
  { name: 'resizeNN align corners', xShape: [2, 4, 5, 2], forward: (x) => tf.image.resizeNearestNeighbor(x, [7, 9], true) },
  // tfjs-node 4.22's ResizeNearestNeighborGrad does not pass half_pixel_centers to TensorFlow, so
  // TensorFlow's gradient is not the transpose of its forward here: compare with it only when it is.
  { name: 'resizeNN half-pixel centers', xShape: [2, 4, 5, 2], forward: (x) => tf.image.resizeNearestNeighbor(x, [7, 9], false, true), tfGradWrong: true },
];

/** Gradient of sum(v · A x) w.r.t. x, i.e. Aᵀ v, through the backend's *Grad kernel. */
function adjoint(c: Case, v: number[]): { atv: Float32Array; lhs: number; rhs: number } {
  return tf.tidy(() => {
    const x = tf.tensor4d(seeded(c.xShape, 7), c.xShape);
    const ax = c.forward(x);
    const vt = tf.tensor(v, ax.shape);
    const atv = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c.forward(t as tf.Tensor4D), vt)))(x);
    return { atv: atv.dataSync() as Float32Array, lhs: tf.sum(tf.mul(ax, vt)).dataSync()[0]!, rhs: tf.sum(tf.mul(x, atv)).dataSync()[0]! };
  });
}

for (const c of [...POOLS, ...RESIZES]) {
  test(`cpu ${c.name}: its gradient kernel is the transpose of the forward (batch > 1)`, async () => {
    const outShape = await onCpu(() => tf.tidy(() => c.forward(tf.zeros(c.xShape) as tf.Tensor4D).shape));
    const v = seeded(outShape, 9);
    const cpu = await onCpu(() => adjoint(c, v));
    assert.ok(Math.abs(cpu.lhs - cpu.rhs) <= 1e-5 * Math.max(1, Math.abs(cpu.lhs)), `<Ax,v> ${cpu.lhs} vs <x,A'v> ${cpu.rhs}`);
    // The identity holds for any x only if it holds per sample; repeat with x supported on the last
    // sample alone, where tfjs's own resize gradient read the wrong part of dy.
    const last = await onCpu(() => tf.tidy(() => {
      const n = c.xShape[0];
      const mask = tf.concat([tf.zeros([n - 1, ...c.xShape.slice(1)]), tf.ones([1, ...c.xShape.slice(1)])]);
      const x = tf.mul(tf.tensor4d(seeded(c.xShape, 7), c.xShape), mask) as tf.Tensor4D;
      const vt = tf.tensor(v, outShape);
      const atv = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(c.forward(t as tf.Tensor4D), vt)))(x);
      return [tf.sum(tf.mul(c.forward(x), vt)).dataSync()[0]!, tf.sum(tf.mul(x, atv)).dataSync()[0]!];
    }));
    assert.ok(Math.abs(last[0]! - last[1]!) <= 1e-5 * Math.max(1, Math.abs(last[0]!)), `last sample: ${last[0]} vs ${last[1]}`);
    if (info.backend === 'tensorflow' && !c.tfGradWrong) {
      const ref = adjoint(c, v); // TensorFlow's own AvgPoolGrad / ResizeNearestNeighborGrad
      let d = 0;
      for (let i = 0; i < ref.atv.length; i++) d = Math.max(d, Math.abs(ref.atv[i]! - cpu.atv[i]!));
      assert.ok(d < 1e-6, `cpu vs TensorFlow kernel: max diff ${d}`);
    }
  });
}
