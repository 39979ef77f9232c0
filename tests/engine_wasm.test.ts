// engine/wasm_threads.ts and engine/wasm/: the threaded wasm engine starts with the threads asked for,
// each kernel engine/ adds for wasm equals the `cpu` backend's kernel on the shapes the networks use
// (identical inputs, both run through tf.engine().runKernel), and one StyleGAN training step with R1
// (G_style + D_basic, D_logistic_simplegp, G_logistic_nonsaturating) gives the same gradients on
// wasm as on cpu, and as on tensorflow when TensorFlow loads. Runs whatever STYLEGAN_BACKEND is; the
// backend in use is restored after each test.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import os from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { ENGINE_KERNELS } from '../engine/register.ts';
import { conv2DBackpropFilterComposite, filterGradPath, type FilterGradPath } from '../engine/wasm/Conv2DBackpropFilter.ts';
import { conv2DBackpropInputComposite, inputGradPath, type InputGradPath } from '../engine/wasm/Conv2DBackpropInput.ts';
import { gradGrid, geometryOf } from '../engine/wasm/conv_gemm.ts';
import { startWasmThreads, stopWasmThreads } from '../engine/wasm_threads.ts';
import { G_style, D_basic } from '../training/networks_stylegan.ts';
import { D_logistic_simplegp, G_logistic_nonsaturating } from '../training/loss.ts';

const info = await useTestBackend();
const primary = tf.getBackend();
// The test backend's own engine when it is wasm; otherwise started here on 2 threads.
const wasmThreads = info.backend === 'wasm' ? info.threads! : (await startWasmThreads(2)).threads;
await tf.setBackend(primary);
// The cpu backend greets its first use in Node with a banner; the reference runs need no advice.
(tf.findBackend('cpu') as unknown as { firstUse?: boolean } | null ?? { firstUse: false }).firstUse = false;

after(() => {
  // Terminates the pthread workers (they are unref'd, but a clean stop is cheap).
  if (info.backend !== 'wasm') stopWasmThreads();
});

async function on<T>(backend: string, fn: () => T): Promise<T> {
  const previous = tf.getBackend();
  await tf.setBackend(backend);
  if (backend === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  try {
    return fn();
  } finally {
    await tf.setBackend(previous);
  }
}

function seeded(n: number, seed: number): Float32Array {
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (1664525 * s + 1013904223) >>> 0; v[i] = s / 2 ** 32 - 0.5; }
  return v;
}

function maxRel(got: ArrayLike<number>, want: ArrayLike<number>): number {
  assert.equal(got.length, want.length);
  let num = 0, den = 0;
  for (let i = 0; i < want.length; i++) { num = Math.max(num, Math.abs(got[i]! - want[i]!)); den = Math.max(den, Math.abs(want[i]!)); }
  return den === 0 ? num : num / den;
}

const size = (s: number[]) => s.reduce((a, b) => a * b, 1);

interface KernelCase {
  name: string;
  kernel: string;
  inputs: Record<string, { shape: number[]; dtype?: 'float32' | 'int32'; values?: ArrayLike<number> }>;
  attrs: Record<string, unknown>;
}

/** Runs one kernel on `backend` with the case's inputs (seeded unless given). */
function runKernelOn(c: KernelCase): Float32Array {
  return tf.tidy(() => {
    const ins: Record<string, tf.Tensor> = {};
    let seed = 1;
    for (const [k, spec] of Object.entries(c.inputs)) {
      ins[k] = tf.tensor(spec.values ?? seeded(size(spec.shape), seed++), spec.shape, spec.dtype ?? 'float32');
    }
    const out = tf.engine().runKernel(c.kernel, ins as unknown as tf.NamedTensorMap, c.attrs as tf.NamedAttrMap) as tf.Tensor;
    return out.dataSync() as Float32Array;
  });
}

const conv = (x: number[], f: number[], stride: number, pad: unknown): Array<Omit<KernelCase, 'name'>> => {
  const info = tf.backend_util.computeConv2DInfo(x as [number, number, number, number], f as [number, number, number, number], stride, 1, pad as 'same', undefined, false, 'channelsLast');
  const dy = [x[0]!, info.outHeight, info.outWidth, f[3]!];
  const base = { strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined };
  return [
    { kernel: 'Conv2DBackpropInput', inputs: { dy: { shape: dy }, filter: { shape: f } }, attrs: { ...base, inputShape: x } },
    { kernel: 'Conv2DBackpropFilter', inputs: { x: { shape: x }, dy: { shape: dy } }, attrs: { ...base, filterShape: f } },
  ];
};

// Shapes of training/networks_stylegan.ts at small widths: 3x3 'same' convs (G and D blocks), 1x1
// toRGB / fromRGB, the fused 4x4 stride-2 conv+downscale and (as Conv2DBackpropInput in the forward
// pass) the 4x4 stride-2 transposed conv of fused upscale; plus 'valid', numeric and explicit padding.
const CONV_CASES: Array<[string, number[], number[], number, unknown]> = [
  ['3x3 same 4x4 (G 4x4 Conv, D 4x4 Conv)', [4, 4, 4, 32], [3, 3, 32, 32], 1, 'same'],
  ['3x3 same 16x16', [2, 16, 16, 16], [3, 3, 16, 24], 1, 'same'],
  ['1x1 toRGB', [4, 16, 16, 16], [1, 1, 16, 3], 1, 'same'],
  ['1x1 fromRGB', [4, 16, 16, 3], [1, 1, 3, 16], 1, 'same'],
  ['4x4 stride 2 same (fused conv+downscale)', [4, 16, 16, 8], [4, 4, 8, 16], 2, 'same'],
  ['4x4 stride 2 same (fused upscale: conv2dTranspose 8->16)', [4, 16, 16, 12], [4, 4, 12, 8], 2, 'same'],
  ['3x3 stride 2 same, odd size', [2, 9, 7, 5], [3, 3, 5, 6], 2, 'same'],
  ['3x3 stride 2 valid', [2, 7, 7, 3], [3, 3, 3, 4], 2, 'valid'],
  ['3x3 stride 1 valid', [2, 9, 7, 5], [3, 3, 5, 6], 1, 'valid'],
  ['4x4 stride 2 numeric pad 3', [2, 8, 8, 3], [4, 4, 3, 5], 2, 3],
  ['5x5 explicit asymmetric pad', [1, 11, 11, 3], [5, 5, 3, 4], 1, [[0, 0], [2, 1], [1, 2], [0, 0]]],
  // Larger outputs (more output pixels than filter taps by far, the bench's regime).
  ['3x3 same 24x24 (large output)', [2, 24, 24, 8], [3, 3, 8, 8], 1, 'same'],
  ['4x4 stride 2 same 40x40 (large output)', [2, 40, 40, 4], [4, 4, 4, 6], 2, 'same'],
  ['3x3 stride 2 valid 41x39 (large output)', [1, 41, 39, 3], [3, 3, 3, 5], 2, 'valid'],
  // The matmul formulations' borders: even filter with 'same' (pads 1/2), asymmetric explicit pads
  // wider on one side, 'valid' with a non-square filter.
  ['4x4 same 10x12 (uneven pads)', [3, 10, 12, 5], [4, 4, 5, 7], 1, 'same'],
  ['2x3 explicit pads (0,1)/(2,0)', [2, 6, 5, 3], [2, 3, 3, 4], 1, [[0, 0], [0, 1], [2, 0], [0, 0]]],
  ['2x3 explicit pads (0,1)/(2,0), 9 wide (block copies)', [2, 6, 9, 3], [2, 3, 3, 4], 1, [[0, 0], [0, 1], [2, 0], [0, 0]]],
  ['3x2 valid 7x9', [2, 7, 9, 6], [3, 2, 6, 5], 1, 'valid'],
];

const CASES: KernelCase[] = [];
for (const [name, x, f, s, pad] of CONV_CASES) for (const c of conv(x, f, s, pad)) CASES.push({ name, ...c });
const dwBase = { dilations: [1, 1], dimRoundingMode: undefined };
CASES.push(
  // blur2d ([1,2,1] 3x3 'same', multiplier 1) and upfirdn's 'valid' FIR; multiplier 2 at stride 2.
  { name: 'blur 3x3 same', kernel: 'DepthwiseConv2dNativeBackpropInput', inputs: { dy: { shape: [2, 8, 8, 16] }, filter: { shape: [3, 3, 16, 1] } }, attrs: { ...dwBase, strides: [1, 1], pad: 'same', inputShape: [2, 8, 8, 16] } },
  { name: 'blur 3x3 same', kernel: 'DepthwiseConv2dNativeBackpropFilter', inputs: { x: { shape: [2, 8, 8, 16] }, dy: { shape: [2, 8, 8, 16] } }, attrs: { ...dwBase, strides: [1, 1], pad: 'same', filterShape: [3, 3, 16, 1] } },
  { name: 'FIR 4x4 valid', kernel: 'DepthwiseConv2dNativeBackpropInput', inputs: { dy: { shape: [2, 9, 9, 4] }, filter: { shape: [4, 4, 4, 1] } }, attrs: { ...dwBase, strides: [1, 1], pad: 'valid', inputShape: [2, 12, 12, 4] } },
  { name: 'FIR 4x4 valid', kernel: 'DepthwiseConv2dNativeBackpropFilter', inputs: { x: { shape: [2, 12, 12, 4] }, dy: { shape: [2, 9, 9, 4] } }, attrs: { ...dwBase, strides: [1, 1], pad: 'valid', filterShape: [4, 4, 4, 1] } },
  { name: 'multiplier 2 stride 2 same', kernel: 'DepthwiseConv2dNativeBackpropInput', inputs: { dy: { shape: [2, 4, 4, 6] }, filter: { shape: [3, 3, 3, 2] } }, attrs: { ...dwBase, strides: [2, 2], pad: 'same', inputShape: [2, 7, 8, 3] } },
  { name: 'multiplier 2 stride 2 same', kernel: 'DepthwiseConv2dNativeBackpropFilter', inputs: { x: { shape: [2, 7, 8, 3] }, dy: { shape: [2, 4, 4, 6] } }, attrs: { ...dwBase, strides: [2, 2], pad: 'same', filterShape: [3, 3, 3, 2] } },
  // tf.gather's gradient: a label embedding [labels, dim] looked up by class index, repeats and an out-of-range id.
  { name: 'gather gradient', kernel: 'UnsortedSegmentSum', inputs: { x: { shape: [6, 8] }, segmentIds: { shape: [6], dtype: 'int32', values: [0, 2, 2, 4, 1, 9] } }, attrs: { numSegments: 5 } },
  { name: 'int32 rows of 3x2', kernel: 'UnsortedSegmentSum', inputs: { x: { shape: [4, 3, 2], dtype: 'int32', values: Array.from({ length: 24 }, (_, i) => i - 7) }, segmentIds: { shape: [4], dtype: 'int32', values: [3, 1, 3, 0] } }, attrs: { numSegments: 4 } },
  // avgPool: 2x2 'valid' (downscale) and 'same' windows, whose border divisors tfjs' wasm kernel gets wrong.
  { name: '2x2 valid', kernel: 'AvgPoolGrad', inputs: { dy: { shape: [3, 3, 4, 2] }, input: { shape: [3, 6, 8, 2] } }, attrs: { filterSize: [2, 2], strides: [2, 2], pad: 'valid' } },
  { name: '3x3 same stride 1', kernel: 'AvgPoolGrad', inputs: { dy: { shape: [3, 5, 7, 2] }, input: { shape: [3, 5, 7, 2] } }, attrs: { filterSize: [3, 3], strides: [1, 1], pad: 'same' } },
  { name: '3x3 same stride 2', kernel: 'AvgPoolGrad', inputs: { dy: { shape: [2, 4, 3, 3] }, input: { shape: [2, 7, 6, 3] } }, attrs: { filterSize: [3, 3], strides: [2, 2], pad: 'same' } },
  // nearest x2 upsampling, and the half-pixel-centred resize tfjs' wasm kernel ignores.
  { name: 'x2', kernel: 'ResizeNearestNeighborGrad', inputs: { images: { shape: [3, 4, 5, 2] }, dy: { shape: [3, 8, 10, 2] } }, attrs: { alignCorners: false, halfPixelCenters: false } },
  { name: 'align corners 4x5 -> 7x9', kernel: 'ResizeNearestNeighborGrad', inputs: { images: { shape: [2, 4, 5, 2] }, dy: { shape: [2, 7, 9, 2] } }, attrs: { alignCorners: true, halfPixelCenters: false } },
  { name: 'half-pixel centers 4x5 -> 7x9', kernel: 'ResizeNearestNeighborGrad', inputs: { images: { shape: [2, 4, 5, 2] }, dy: { shape: [2, 7, 9, 2] } }, attrs: { alignCorners: false, halfPixelCenters: true } },
);

test(`threaded wasm engine: ${wasmThreads} threads as asked (the C++ cores/2 cap worked around)`, () => {
  const asked = info.backend === 'wasm' ? Number(process.env.STYLEGAN_THREADS || os.availableParallelism()) : 2;
  assert.equal(wasmThreads, asked);
  if (info.backend === 'wasm') assert.match(info.line, new RegExp(`threads: ${asked} \\(threaded wasm`));
});

test('every wasm kernel of engine/register.ts is the one registered, and has a case below', () => {
  const wasmKernels = ENGINE_KERNELS.filter((k) => k.backendName === 'wasm');
  assert.ok(wasmKernels.length >= 7);
  for (const k of wasmKernels) {
    assert.equal(tf.getKernel(k.kernelName, 'wasm')?.kernelFunc, k.kernelFunc, k.kernelName);
    assert.ok(CASES.some((c) => c.kernel === k.kernelName), `no test case for ${k.kernelName}`);
  }
});

for (const c of CASES) {
  test(`wasm ${c.kernel} equals cpu: ${c.name}`, async () => {
    const want = await on('cpu', () => runKernelOn(c));
    const got = await on('wasm', () => runKernelOn(c));
    const err = maxRel(got, want);
    assert.ok(err < 2e-6, `max rel. err ${err}`);
  });
}

// Every formulation of the two conv gradients (engine/wasm/Conv2DBackpropFilter.ts and
// Conv2DBackpropInput.ts), forced on every conv case it supports, equals the cpu kernel; the kernels
// above run only the one each case selects.
const FILTER_PATHS: FilterGradPath[] = ['grid', 'patches', 'conv'];
const INPUT_PATHS: InputGradPath[] = ['gemm', 'conv'];
for (const c of CASES.filter((k) => k.kernel.startsWith('Conv2DBackprop'))) {
  const a = c.attrs as { strides: [number, number]; pad: 'same'; inputShape?: [number, number, number, number]; filterShape?: [number, number, number, number] };
  const isFilter = c.kernel === 'Conv2DBackpropFilter';
  const xShape = isFilter ? c.inputs.x!.shape : a.inputShape!;
  const fShape = isFilter ? a.filterShape! : c.inputs.filter!.shape as [number, number, number, number];
  const info = tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number], fShape as [number, number, number, number], a.strides, 1, a.pad, undefined, false, 'channelsLast');
  const stride1 = a.strides[0] === 1 && a.strides[1] === 1;
  const paths: string[] = isFilter ? FILTER_PATHS.filter((p) => p !== 'grid' || gradGrid(geometryOf(xShape, fShape, info)) != null) : INPUT_PATHS.filter((p) => p !== 'gemm' || stride1);
  for (const path of paths) {
    test(`wasm ${c.kernel} '${path}' formulation equals cpu: ${c.name}`, async () => {
      const want = await on('cpu', () => runKernelOn(c));
      const got = await on('wasm', () => tf.tidy(() => {
        // The formulations allocate with malloc and must write every slot they read, zeros included:
        // leave NaN in freed heap memory so a slot left unwritten shows up.
        tf.fill([1 << 22], NaN).dispose();
        let seed = 1;
        const t: Record<string, tf.Tensor4D> = {};
        for (const [k, spec] of Object.entries(c.inputs)) t[k] = tf.tensor4d(seeded(size(spec.shape), seed++), spec.shape as [number, number, number, number]);
        const out = isFilter
          ? conv2DBackpropFilterComposite(t.x!, t.dy!, a.filterShape!, a, path as FilterGradPath)
          : conv2DBackpropInputComposite(t.dy!, t.filter!, a.inputShape!, a, path as InputGradPath);
        return out.dataSync() as Float32Array;
      }));
      const err = maxRel(got, want);
      assert.ok(err < 2e-6, `max rel. err ${err}`);
    });
  }
}

test('the kernels pick the matmul formulations where they are faster (bench shapes; the cases above include each)', () => {
  const same = { strides: [1, 1] as [number, number], pad: 'same' as const };
  // filter gradient: patch matrix on small images, the grid on large ones, the conv for big strided layers
  assert.equal(filterGradPath([8, 4, 4, 512], [3, 3, 512, 512], same), 'patches');
  assert.equal(filterGradPath([8, 8, 8, 512], [3, 3, 512, 512], same), 'patches');
  assert.equal(filterGradPath([8, 32, 32, 256], [3, 3, 256, 256], same), 'grid');
  assert.equal(filterGradPath([8, 64, 64, 128], [3, 3, 128, 128], same), 'grid');
  assert.equal(filterGradPath([8, 256, 256, 64], [4, 4, 64, 128], { strides: [2, 2], pad: 'same' }), 'conv');
  assert.equal(filterGradPath([4, 4, 4, 32], [3, 3, 32, 32], same), 'patches');   // '3x3 same 4x4' case
  assert.equal(filterGradPath([2, 24, 24, 8], [3, 3, 8, 8], same), 'grid');       // '3x3 same 24x24' case
  // input gradient: the matmul while the filter outweighs the image, else the conv
  assert.equal(inputGradPath([8, 4, 4, 512], [3, 3, 512, 512], 1), 'gemm');
  assert.equal(inputGradPath([8, 8, 8, 512], [3, 3, 512, 512], 1), 'gemm');
  assert.equal(inputGradPath([8, 32, 32, 256], [3, 3, 256, 256], 1), 'conv');
  assert.equal(inputGradPath([8, 8, 8, 512], [4, 4, 512, 512], 2), 'conv');
  assert.equal(inputGradPath([4, 4, 4, 32], [3, 3, 32, 32], 1), 'gemm');          // '3x3 same 4x4' case
});

test('conv kernels on wasm leave no tensor behind', async () => {
  await on('wasm', () => {
    const before = tf.memory().numTensors;
    for (const c of CASES.slice(0, 8)) runKernelOn(c);
    assert.equal(tf.memory().numTensors, before);
  });
});

// One training step with R1 on a tiny StyleGAN: d(D loss + R1)/d(D vars) and d(G loss)/d(G vars),
// both through the fused up/down convs, blur2d, noise, AdaIN and minibatch stddev.
const TINY = { num_channels: 3, resolution: 16, fmap_max: 16, fmap_base: 64, fused_scale: true };
function trainingStepGrads(): Map<string, Float32Array> {
  const G = new G_style(TINY, { seed: 31 });
  const D = new D_basic(TINY, { seed: 32 });
  const out = new Map<string, Float32Array>();
  try {
    tf.tidy(() => {
      const latents = tf.tensor2d(seeded(4 * 512, 33).map((v) => 3 * v), [4, 512]);
      const reals = tf.tensor4d(seeded(4 * 3 * 16 * 16, 34).map((v) => 2 * v), [4, 3, 16, 16]);
      const labels = tf.zeros([4, 0]);
      const Gf = (z: tf.Tensor) => G.run(z as tf.Tensor2D, null, { is_training: true, style_mixing_prob: 0, dlatent_avg_beta: 1, randomize_noise: false });
      const Df = (x: tf.Tensor) => D.run(x as tf.Tensor4D);
      const d = tf.variableGrads(() => tf.sum(D_logistic_simplegp(Gf, Df, { latents, reals, labels }, { r1_gamma: 10 }).loss) as tf.Scalar, [...D.trainables.values()]);
      const g = tf.variableGrads(() => tf.sum(G_logistic_nonsaturating(Gf, Df, { latents, labels }).loss) as tf.Scalar, [...G.trainables.values()]);
      for (const [name, v] of [...D.trainables, ...G.trainables]) {
        const grad = d.grads[v.name] ?? g.grads[v.name];
        if (grad) out.set(name, grad.dataSync() as Float32Array);
      }
      out.set('loss/D', d.value.dataSync() as Float32Array);
      out.set('loss/G', g.value.dataSync() as Float32Array);
    });
  } finally {
    G.dispose();
    D.dispose();
  }
  return out;
}

function compareSteps(got: Map<string, Float32Array>, want: Map<string, Float32Array>): { all: number; worst: string } {
  assert.deepEqual([...got.keys()], [...want.keys()]);
  const a: number[] = [], b: number[] = [];
  let worst = '', worstErr = -1;
  for (const [k, w] of want) {
    const g = got.get(k)!;
    for (let i = 0; i < w.length; i++) { a.push(g[i]!); b.push(w[i]!); }
    const e = maxRel(g, w);
    if (k.endsWith('/weight') && e > worstErr) { worstErr = e; worst = `${k} ${e.toExponential(1)}`; }
  }
  return { all: maxRel(a, b), worst };
}

test('a StyleGAN training step with R1 on wasm: losses and every gradient match cpu (and tensorflow when it loads)', async () => {
  const onWasm = await on('wasm', trainingStepGrads);
  assert.ok(onWasm.size > 40, `${onWasm.size} gradients`);
  for (const [k, v] of onWasm) assert.ok(v.every(Number.isFinite), k);
  const onCpu = await on('cpu', trainingStepGrads);
  const vsCpu = compareSteps(onWasm, onCpu);
  let line = `training step with R1, wasm vs cpu: max rel. err over all gradients ${vsCpu.all.toExponential(2)} (worst weight tensor ${vsCpu.worst})`;
  assert.ok(vsCpu.all < 1e-4, line);
  if (tf.findBackendFactory('tensorflow') != null) {
    const onTf = await on('tensorflow', trainingStepGrads);
    const vsTf = compareSteps(onWasm, onTf);
    const cpuVsTf = compareSteps(onCpu, onTf);
    line += `; wasm vs tensorflow ${vsTf.all.toExponential(2)} (worst weight ${vsTf.worst}); cpu vs tensorflow ${cpuVsTf.all.toExponential(2)}`;
    assert.ok(vsTf.all < 1e-4, line);
  }
  console.log(line);
});
