// engine/ and dnnlib/backend: the gradients tfjs lacks (checked against explicit formulas and
// independent tfjs code paths), backend option validation, and a short training loop that must not
// grow the tensor count.
import { test } from 'node:test';
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import * as fs from 'node:fs';
import * as os from 'node:os';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { backendOptionsFrom, initBackend, BACKEND_NAMES } from '../dnnlib/backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { COMPARISON_KERNELS } from '../engine/gradients/comparison_grads.ts';
import { ENGINE_GRADIENTS } from '../engine/register.ts';

const info = await useTestBackend();

function maxRel(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0, den = 0;
  for (let i = 0; i < b.length; i++) { num = Math.max(num, Math.abs(a[i]! - b[i]!)); den = Math.max(den, Math.abs(b[i]!)); }
  return den === 0 ? num : num / den;
}

function seeded(shape: number[], seed: number): tf.Tensor {
  // A small LCG so the data does not depend on tfjs' RNG.
  const n = shape.reduce((a, b) => a * b, 1);
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) { s = (1664525 * s + 1013904223) >>> 0; v[i] = s / 2 ** 32 - 0.5; }
  return tf.tensor(v, shape);
}

test('backend options: flags win over STYLEGAN_BACKEND / STYLEGAN_THREADS; bad values are one-line UserErrors', () => {
  assert.deepEqual(backendOptionsFrom({}, {}), { backend: 'auto', threads: undefined, verbose: false });
  assert.deepEqual(backendOptionsFrom({}, { STYLEGAN_BACKEND: 'CPU', STYLEGAN_THREADS: '3' }), { backend: 'cpu', threads: 3, verbose: false });
  assert.deepEqual(backendOptionsFrom({ backend: 'wasm', threads: '2', verbose: true }, { STYLEGAN_BACKEND: 'cpu', STYLEGAN_THREADS: '3' }), { backend: 'wasm', threads: 2, verbose: true });
  const bad: Array<[Record<string, unknown>, NodeJS.ProcessEnv, RegExp]> = [
    [{ backend: 'gpu' }, {}, /^--backend: unknown backend 'gpu' \(expected one of auto, tensorflow, wasm, cpu\)$/],
    [{}, { STYLEGAN_BACKEND: 'webgl' }, /^STYLEGAN_BACKEND: unknown backend 'webgl'/],
    [{ threads: '0' }, {}, /^--threads: expected a positive whole number of threads, got '0'$/],
    [{ threads: 'abc' }, {}, /^--threads: expected a positive whole number/],
    [{ threads: '1.5' }, {}, /^--threads: expected a positive whole number/],
    [{ threads: -2 }, {}, /^--threads: expected a positive whole number/],
    [{}, { STYLEGAN_THREADS: 'two' }, /^STYLEGAN_THREADS: expected a positive whole number/],
  ];
  for (const [argv, env, re] of bad) {
    assert.throws(() => backendOptionsFrom(argv, env), (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n'));
  }
  assert.deepEqual([...BACKEND_NAMES], ['auto', 'tensorflow', 'wasm', 'cpu']);
});

test('initBackend: start line names backend, TF version, devices and threads; memoised', async () => {
  assert.equal(tf.getBackend(), info.backend);
  assert.match(info.line, new RegExp(`^backend: ${info.backend} \\(@tensorflow/[\\w-]+@4\\.22\\.0\\)`));
  assert.match(info.line, /devices: \S+/);
  assert.match(info.line, /threads: /);
  assert.ok(!info.line.includes('\n'));
  if (info.backend === 'tensorflow') {
    assert.match(info.tfVersion ?? '', /^\d+\.\d+\.\d+/);
    assert.ok(info.line.includes(`TF ${info.tfVersion}`));
  }
  const again = await initBackend({ backend: (process.env.STYLEGAN_BACKEND as 'auto') ?? 'auto', threads: process.env.STYLEGAN_THREADS ? Number(process.env.STYLEGAN_THREADS) : undefined, print: false });
  assert.equal(again, info);
});

test('every engine gradient is registered once, under its kernel name', () => {
  for (const g of ENGINE_GRADIENTS) assert.ok(tf.getGradient(g.kernelName), g.kernelName);
  assert.equal(new Set(ENGINE_GRADIENTS.map((g) => g.kernelName)).size, ENGINE_GRADIENTS.length);
});

test('comparison kernels have zero gradients (so they may sit on a second-order tape)', () => {
  const x = tf.tensor([-1.5, -0.2, 0, 0.3, 2]);
  const c = tf.tensor([0, 0, 0, 0.3, 1]);
  const ops: Record<(typeof COMPARISON_KERNELS)[number], (a: tf.Tensor, b: tf.Tensor) => tf.Tensor> = {
    Greater: tf.greater, GreaterEqual: tf.greaterEqual, Less: tf.less, LessEqual: tf.lessEqual, Equal: tf.equal, NotEqual: tf.notEqual,
  };
  for (const k of COMPARISON_KERNELS) {
    const [ga, gb] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.cast(ops[k](a, b), 'float32'), tf.add(a, b))))([x, c]);
    // d/da of sum(1[a ? b]·(a + b)) = 1[a ? b]: only the product's other factor contributes.
    const mask = Array.from(tf.cast(ops[k](x, c), 'float32').dataSync());
    assert.deepEqual(Array.from(ga!.dataSync()), mask, k);
    assert.deepEqual(Array.from(gb!.dataSync()), mask, k);
  }
});

test('leakyRelu differentiates twice: d/dx sum((d/dx sum(lrelu(x)^2))^2) = 8x·s(x)^4', () => {
  const xs = [-2, -0.7, -0.1, 0.2, 0.9, 3];
  const x = tf.tensor(xs);
  const inner = (v: tf.Tensor) => tf.grad((u: tf.Tensor) => tf.sum(tf.square(tf.leakyRelu(u, 0.2))))(v);
  const got = tf.grad((v: tf.Tensor) => tf.sum(tf.square(inner(v))))(x).dataSync();
  // lrelu(x)^2 = s² x², s = 1 or 0.2; its derivative 2 s² x; squared 4 s⁴ x²; derivative 8 s⁴ x.
  const want = xs.map((v) => 8 * (v > 0 ? 1 : 0.2) ** 4 * v);
  assert.ok(maxRel(got, want) < 1e-6, `${Array.from(got)} vs ${want}`);
});

// (Numeric padding is left out: tfjs-node's Conv2D accepts only 'same' and 'valid'.)
for (const [stride, pad] of [[1, 'same'], [2, 'same'], [2, 'valid'], [1, 'valid']] as [number, 'same' | 'valid'][]) {
  test(`Conv2DBackpropFilter gradient (stride ${stride}, pad ${pad}) equals the gradient of the bilinear form sum(U·conv2d(x, G))`, () => {
    // BF(x, U) = dW of sum(U·conv2d(x, W)), so sum(G·BF(x, U)) = sum(U·conv2d(x, G)) for any G:
    // the right-hand side differentiates through tfjs' own Conv2D gradient, not ours.
    const x = seeded([2, 7, 7, 3], 1) as tf.Tensor4D;
    const G = seeded([3, 3, 3, 4], 2) as tf.Tensor4D;
    const W0 = seeded([3, 3, 3, 4], 3) as tf.Tensor4D;
    const outShape = tf.conv2d(x, W0, stride, pad).shape;
    const U = seeded(outShape, 4) as tf.Tensor4D;
    const viaBF = (xx: tf.Tensor, uu: tf.Tensor) => {
      const dW = tf.grad((w: tf.Tensor) => tf.sum(tf.mul(uu, tf.conv2d(xx as tf.Tensor4D, w as tf.Tensor4D, stride, pad))))(W0);
      return tf.sum(tf.mul(G, dW));
    };
    const direct = (xx: tf.Tensor, uu: tf.Tensor) => tf.sum(tf.mul(uu, tf.conv2d(xx as tf.Tensor4D, G, stride, pad)));
    const [gx, gu] = tf.grads(viaBF)([x, U]);
    const [rx, ru] = tf.grads(direct)([x, U]);
    assert.ok(maxRel(gx!.dataSync(), rx!.dataSync()) < 1e-5, 'd/dx');
    assert.ok(maxRel(gu!.dataSync(), ru!.dataSync()) < 1e-5, 'd/dU');
    // And one explicit entry of d/dU: conv2d(x, G) at [0,0,0,0], written out as a sum.
    if (stride === 1 && pad === 'valid') {
      const xv = x.arraySync(); const gv = G.arraySync();
      let s = 0;
      for (let k = 0; k < 3; k++) for (let l = 0; l < 3; l++) for (let ci = 0; ci < 3; ci++) s += xv[0]![k]![l]![ci]! * gv[k]![l]![ci]![0]!;
      assert.ok(Math.abs((gu!.arraySync() as number[][][][])[0]![0]![0]![0]! - s) < 1e-5 * Math.max(1, Math.abs(s)));
    }
    tf.dispose([x, G, W0, U, gx!, gu!, rx!, ru!]);
  });
}

test('a short R1 training loop keeps tf.memory().numTensors flat', () => {
  const w1 = tf.variable(seeded([3, 3, 3, 8], 5).mul(0.5));
  const w2 = tf.variable(seeded([3, 3, 8, 8], 6).mul(0.3));
  const w3 = tf.variable(seeded([8 * 4 * 4, 1], 7).mul(0.1));
  const x = seeded([4, 8, 8, 3], 8) as tf.Tensor4D;
  const opt = tf.train.adam(1e-3, 0, 0.99, 1e-8);
  const D = (v: tf.Tensor4D) => {
    let h = tf.fused.conv2d({ x: v, filter: w1 as tf.Tensor4D, strides: 1, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: 0.2 });
    h = tf.fused.conv2d({ x: h, filter: w2 as tf.Tensor4D, strides: 2, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: 0.2 });
    return tf.matMul(tf.reshape(h, [v.shape[0], -1]), w3 as tf.Tensor2D);
  };
  // One tf.tidy per step, one read back (the loss), as the training loop does.
  const step = () => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(D(v as tf.Tensor4D)))(x);
      return tf.add(tf.mean(tf.softplus(D(x))), tf.mul(tf.sum(tf.square(g)), 5)) as tf.Scalar;
    }, [w1, w2, w3]);
    opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    return value.dataSync()[0]!;
  });
  const first = step();
  for (let i = 0; i < 3; i++) step(); // optimizer slots are created on the first steps
  const n0 = tf.memory().numTensors;
  let last = first;
  for (let i = 0; i < 20; i++) last = step();
  assert.equal(tf.memory().numTensors, n0, 'tensors per step');
  assert.ok(Number.isFinite(last));
  opt.dispose();
  tf.dispose([w1, w2, w3, x]);
});

// R1 of a two-conv D with a resampling op in the middle, as a function of both weights. The fast
// kernels (avgPool, resizeNearestNeighbor) need engine/'s AvgPoolGrad / ResizeNearestNeighborGrad
// gradients; the references are formulations built only from ops with stock second derivatives
// (reshape + mean, conv2d with a ones kernel, broadcast add), the latter checked against PyTorch in
// second_order.test.ts.
function r1Grads(resample: (h: tf.Tensor4D) => tf.Tensor4D, cin: number, cmid: number): Float32Array[] {
  return tf.tidy(() => {
    const x = seeded([2, 8, 8, cin], 11);
    const w1 = seeded([3, 3, cin, cmid], 12), w2 = seeded([3, 3, cmid, 2], 13);
    const D = (v: tf.Tensor, a: tf.Tensor, b: tf.Tensor) => {
      const h = tf.leakyRelu(tf.conv2d(v as tf.Tensor4D, a as tf.Tensor4D, 1, 'same'), 0.2);
      return tf.sum(tf.leakyRelu(tf.conv2d(resample(h), b as tf.Tensor4D, 1, 'same'), 0.2));
    };
    const r1 = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.square(tf.grad((v: tf.Tensor) => D(v, a, b))(x))) as tf.Scalar;
    return tf.grads(r1)([w1, w2]).map((g) => g.dataSync() as Float32Array);
  });
}

function boxSame3(h: tf.Tensor4D): tf.Tensor4D {
  // 3x3 'same' average whose divisor counts in-bounds pixels only, as TF's AvgPool does.
  const [n, hh, ww, c] = h.shape;
  const flat = tf.reshape(tf.transpose(h, [0, 3, 1, 2]), [n * c, hh, ww, 1]) as tf.Tensor4D;
  const ones = tf.ones([3, 3, 1, 1]) as tf.Tensor4D;
  const sums = tf.conv2d(flat, ones, 1, 'same');
  const counts = tf.conv2d(tf.ones([1, hh, ww, 1]) as tf.Tensor4D, ones, 1, 'same');
  return tf.transpose(tf.reshape(tf.div(sums, counts), [n, c, hh, ww]), [0, 2, 3, 1]) as tf.Tensor4D;
}

test('avgPool differentiates twice (AvgPoolGrad gradient): 2x2 valid and 3x3 same stride 1 match reference formulations', () => {
  const meanDown = (h: tf.Tensor4D) => {
    const [n, hh, ww, c] = h.shape;
    return tf.reshape(tf.mean(tf.reshape(h, [n * hh / 2, 2, ww / 2, 2, c]), [1, 3]), [n, hh / 2, ww / 2, c]) as tf.Tensor4D;
  };
  const cases: Array<[string, (h: tf.Tensor4D) => tf.Tensor4D, (h: tf.Tensor4D) => tf.Tensor4D]> = [
    ['2x2 valid', (h) => tf.avgPool(h, 2, 2, 'valid'), meanDown],
    ['3x3 same stride 1', (h) => tf.avgPool(h, 3, 1, 'same'), boxSame3],
  ];
  for (const [name, fast, ref] of cases) {
    const got = r1Grads(fast, 3, 4), want = r1Grads(ref, 3, 4);
    for (let i = 0; i < 2; i++) assert.ok(maxRel(got[i]!, want[i]!) < 1e-5, `${name} dR1/dw${i + 1}: ${maxRel(got[i]!, want[i]!)}`);
  }
});

test('resizeNearestNeighbor x2 differentiates twice (ResizeNearestNeighborGrad gradient): matches the broadcast-add upsampling', () => {
  const broadcastUp = (h: tf.Tensor4D) => {
    const [n, hh, ww, c] = h.shape;
    return tf.reshape(tf.add(tf.reshape(h, [n * hh, 1, ww, 1, c]), tf.zeros([1, 2, 1, 2, 1])), [n, 2 * hh, 2 * ww, c]) as tf.Tensor4D;
  };
  const fast = (h: tf.Tensor4D) => tf.image.resizeNearestNeighbor(h, [2 * h.shape[1], 2 * h.shape[2]]);
  const got = r1Grads(fast, 3, 4), want = r1Grads(broadcastUp, 3, 4);
  for (let i = 0; i < 2; i++) assert.ok(maxRel(got[i]!, want[i]!) < 1e-5, `dR1/dw${i + 1}: ${maxRel(got[i]!, want[i]!)}`);
});

test("a CLI's own --dir/--debug/--arch flags do not derail tfjs-node's addon lookup (node-pre-gyp parses argv)", { skip: info.backend !== 'tensorflow' ? 'tensorflow backend not linked here' : false }, () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-argv-'));
  const script = path.join(dir, 'probe.mts'); // .mts: ESM outside the package (top-level await)
  const backendUrl = new URL('../dnnlib/backend.ts', import.meta.url).href;
  fs.writeFileSync(script, `const { initBackend } = await import(${JSON.stringify(backendUrl)});\n` +
    `const info = await initBackend({ backend: 'tensorflow', print: false });\nconsole.log('loaded ' + info.backend);\n`);
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--dir', '/tmp/elsewhere', '--debug', '--arch', 'arm'],
    { encoding: 'utf8', cwd: path.join(import.meta.dirname, '..') });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /loaded tensorflow/);
});
