// training/ops.ts against explicit formulas: every expected value below comes from a naive loop
// written here (NHWC, the ops' internal layout), never from the op under test.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import * as ops from '../training/ops.ts';

before(async () => {
  await useTestBackend();
});

/** Deterministic N(0,1)-ish values (mulberry32 + Box–Muller), independent of tfjs' generators. */
function randn(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const uni = () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.sqrt(-2 * Math.log(uni() + 1e-12)) * Math.cos(2 * Math.PI * uni());
  return out;
}

/** Row-major index helper for a shape. */
function indexer(shape: number[]): (...ix: number[]) => number {
  return (...ix: number[]) => ix.reduce((acc, v, d) => acc * shape[d]! + v, 0);
}

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol = 1e-4, what = ''): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!) / Math.max(1, Math.abs(expected[i]!));
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= tol, `${what}: max rel error ${worst} at ${at} (got ${actual[at]}, want ${expected[at]})`);
}

function t4(data: Float32Array, shape: [number, number, number, number]): tf.Tensor4D {
  return tf.tensor4d(data, shape);
}

/** Naive SAME cross-correlation, NHWC × HWIO, stride 1. */
function naiveConv(x: Float32Array, xs: number[], w: Float32Array, ws: number[], coef: number): Float32Array {
  const [n, h, wd, c] = xs as [number, number, number, number];
  const [k, , , o] = ws as [number, number, number, number];
  const p = (k - 1) / 2;
  const X = indexer(xs), W = indexer(ws), Y = indexer([n, h, wd, o]);
  const y = new Float32Array(n * h * wd * o);
  for (let b = 0; b < n; b++) for (let r = 0; r < h; r++) for (let q = 0; q < wd; q++) for (let oc = 0; oc < o; oc++) {
    let s = 0;
    for (let i = 0; i < k; i++) for (let j = 0; j < k; j++) {
      const rr = r + i - p, qq = q + j - p;
      if (rr < 0 || rr >= h || qq < 0 || qq >= wd) continue;
      for (let ic = 0; ic < c; ic++) s += x[X(b, rr, qq, ic)]! * w[W(i, j, ic, oc)]!;
    }
    y[Y(b, r, q, oc)] = s * coef;
  }
  return y;
}

function naiveUpscale(x: Float32Array, xs: number[], f: number): Float32Array {
  const [n, h, w, c] = xs as [number, number, number, number];
  const X = indexer(xs), Y = indexer([n, h * f, w * f, c]);
  const y = new Float32Array(x.length * f * f);
  for (let b = 0; b < n; b++) for (let r = 0; r < h * f; r++) for (let q = 0; q < w * f; q++) for (let ch = 0; ch < c; ch++) {
    y[Y(b, r, q, ch)] = x[X(b, Math.floor(r / f), Math.floor(q / f), ch)]!;
  }
  return y;
}

function naiveDownscale(x: Float32Array, xs: number[], f: number): Float32Array {
  const [n, h, w, c] = xs as [number, number, number, number];
  const X = indexer(xs), Y = indexer([n, h / f, w / f, c]);
  const y = new Float32Array(x.length / (f * f));
  for (let b = 0; b < n; b++) for (let r = 0; r < h / f; r++) for (let q = 0; q < w / f; q++) for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let i = 0; i < f; i++) for (let j = 0; j < f; j++) s += x[X(b, r * f + i, q * f + j, ch)]!;
    y[Y(b, r, q, ch)] = s / (f * f);
  }
  return y;
}

test('getWeightScale: he_std·lrmul multipliers and init stds of §4.7', () => {
  const close = (a: number, b: number) => assert.ok(Math.abs(a - b) <= 1e-12 * Math.max(1, Math.abs(b)), `${a} vs ${b}`);
  const mapping = ops.getWeightScale([512, 512], Math.SQRT2, true, 0.01);
  close(mapping.initStd, 100);
  close(mapping.runtimeCoef, 6.25e-4);
  close(ops.getWeightScale([512, 1024], 1, true).runtimeCoef, 1 / Math.sqrt(512));
  close(ops.getWeightScale([3, 3, 512, 512], Math.SQRT2, true).runtimeCoef, 1 / 48);
  close(ops.getWeightScale([3, 3, 128, 128], Math.SQRT2, true).runtimeCoef, 1 / 24);
  close(ops.getWeightScale([3, 3, 32, 32], Math.SQRT2, true).runtimeCoef, 1 / 12);
  close(ops.getWeightScale([1, 1, 3, 16], Math.SQRT2, true).runtimeCoef, Math.sqrt(2 / 3));
  close(ops.getWeightScale([3, 3, 513, 512], Math.SQRT2, true).runtimeCoef, Math.sqrt(2 / 4617));
  close(ops.getWeightScale([8192, 512], Math.SQRT2, true).runtimeCoef, 1 / 64);
  close(ops.getWeightScale([512, 8192], Math.SQRT2 / 4, true).runtimeCoef, 1 / 64);
  // Without wscale: the init carries he_std/lrmul and the multiplier is lrmul.
  const plain = ops.getWeightScale([3, 3, 64, 8], Math.SQRT2, false, 0.5);
  close(plain.initStd, Math.SQRT2 / Math.sqrt(576) / 0.5);
  close(plain.runtimeCoef, 0.5);
});

test('nf(stage) gives 512,512,512,512,256,128,64,32,16 for stages 1..9 at the defaults', () => {
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8, 9].map((s) => ops.nf(s, 8192, 1.0, 512)), [512, 512, 512, 512, 256, 128, 64, 32, 16]);
});

test('dense and conv2d (with bias) equal naive loops with the runtime multiplier', () => {
  const x = randn(3 * 5, 1), w = randn(5 * 4, 2), b = randn(4, 3);
  const got = tf.tidy(() => ops.dense(tf.tensor2d(x, [3, 5]), tf.tensor2d(w, [5, 4]), 0.3, tf.tensor1d(b)).dataSync());
  const want = new Float32Array(12);
  for (let i = 0; i < 3; i++) for (let o = 0; o < 4; o++) {
    let s = 0;
    for (let k = 0; k < 5; k++) s += x[i * 5 + k]! * w[k * 4 + o]!;
    want[i * 4 + o] = s * 0.3 + b[o]!;
  }
  assertClose(got, want, 1e-5, 'dense');

  for (const [xs, ws] of [[[2, 5, 6, 3], [3, 3, 3, 4]], [[1, 4, 4, 64], [3, 3, 64, 2]]] as [number[], number[]][]) {
    const xv = randn(xs.reduce((a, c) => a * c), 4), wv = randn(ws.reduce((a, c) => a * c), 5), bv = randn(ws[3]!, 6);
    const conv = tf.tidy(() => ops.conv2d(t4(xv, xs as never), t4(wv, ws as never), 0.25, tf.tensor1d(bv)).dataSync());
    const ref = naiveConv(xv, xs, wv, ws, 0.25).map((v, i) => v + bv[i % ws[3]!]!);
    assertClose(conv, ref, 1e-4, `conv2d ${xs}`);
  }
});

test('blur2d [1,2,1] is the normalised 3×3 outer product with zero SAME padding, per channel', () => {
  const xs = [2, 5, 4, 3];
  const x = randn(120, 7);
  const got = tf.tidy(() => ops.blur2d(t4(x, xs as never)).dataSync());
  const k = [[1, 2, 1], [2, 4, 2], [1, 2, 1]];
  const X = indexer(xs);
  const want = new Float32Array(120);
  for (let b = 0; b < 2; b++) for (let r = 0; r < 5; r++) for (let q = 0; q < 4; q++) for (let c = 0; c < 3; c++) {
    let s = 0;
    for (let i = -1; i <= 1; i++) for (let j = -1; j <= 1; j++) {
      if (r + i < 0 || r + i >= 5 || q + j < 0 || q + j >= 4) continue;
      s += (k[i + 1]![j + 1]! / 16) * x[X(b, r + i, q + j, c)]!;
    }
    want[X(b, r, q, c)] = s;
  }
  assertClose(got, want, 1e-5, 'blur');
  // An asymmetric filter is applied as correlation of the normalised outer product.
  const gotA = tf.tidy(() => ops.blur2d(t4(x, xs as never), [1, 3]).dataSync());
  assert.equal(gotA.length, 120);
  assert.deepEqual(ops.blurKernel([1, 3]), [[1 / 16, 3 / 16], [3 / 16, 9 / 16]]);
});

const IMPLS: readonly ops.ResampleImpl[] = ['reshape', 'kernel'];

/** Runs fn with upscale2d / downscale2d forced to `impl`, restoring the per-backend default after. */
function withImpl<T>(impl: ops.ResampleImpl, fn: () => T): T {
  ops.setResampleImpl(impl);
  try { return fn(); } finally { ops.setResampleImpl(null); }
}

test('upscale2d is nearest neighbour and downscale2d is the box average (factors 2 and 4), in both formulations', () => {
  const xs = [2, 4, 8, 3];
  const x = randn(192, 8);
  for (const impl of IMPLS) {
    withImpl(impl, () => {
      assert.deepEqual([ops.resampleImpl('upscale2d'), ops.resampleImpl('downscale2d')], [impl, impl]);
      for (const f of [2, 4]) {
        assertClose(tf.tidy(() => ops.upscale2d(t4(x, xs as never), f).dataSync()), naiveUpscale(x, xs, f), 0, `${impl} upscale ×${f}`);
        assertClose(tf.tidy(() => ops.downscale2d(t4(x, xs as never), f).dataSync()), naiveDownscale(x, xs, f), 1e-6, `${impl} downscale ×${f}`);
      }
      // A factor that is no power of two (the kernel's float32 source index would be inexact) still upsamples exactly.
      assertClose(tf.tidy(() => ops.upscale2d(t4(x, xs as never), 3).dataSync()), naiveUpscale(x, xs, 3), 0, `${impl} upscale ×3`);
    });
  }
});

// First order: d/dx Σ r·op(x) is the adjoint applied to r. Written out: downscale's spreads each r
// value over its f×f block divided by f²; upscale's sums the f×f block of r each input pixel fed.
test('upscale2d / downscale2d gradients equal their explicit adjoints, in both formulations', () => {
  const xs = [3, 8, 4, 2];
  const [n, h, w, c] = xs as [number, number, number, number];
  const x = randn(n * h * w * c, 30);
  for (const f of [2, 4]) {
    const rDown = randn(x.length / (f * f), 31), rUp = randn(x.length * f * f, 32);
    const D = indexer([n, h / f, w / f, c]), U = indexer([n, h * f, w * f, c]), X = indexer(xs);
    const wantDown = new Float32Array(x.length), wantUp = new Float32Array(x.length);
    for (let b = 0; b < n; b++) for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let ch = 0; ch < c; ch++) {
      wantDown[X(b, i, j, ch)] = rDown[D(b, Math.floor(i / f), Math.floor(j / f), ch)]! / (f * f);
      let s = 0;
      for (let p = 0; p < f; p++) for (let q = 0; q < f; q++) s += rUp[U(b, i * f + p, j * f + q, ch)]!;
      wantUp[X(b, i, j, ch)] = s;
    }
    for (const impl of IMPLS) {
      withImpl(impl, () => tf.tidy(() => {
        const xt = t4(x, xs as never);
        const rd = tf.tensor4d(rDown, [n, h / f, w / f, c]), ru = tf.tensor4d(rUp, [n, h * f, w * f, c]);
        const gd = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(ops.downscale2d(v as tf.Tensor4D, f), rd)))(xt);
        const gu = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(ops.upscale2d(v as tf.Tensor4D, f), ru)))(xt);
        assertClose(gd.dataSync(), wantDown, 1e-6, `${impl} d downscale ×${f}`);
        assertClose(gu.dataSync(), wantUp, 1e-5, `${impl} d upscale ×${f}`);
      }));
    }
  }
});

// Second order as R1 takes it, through the backward kernel itself: with A the op, F(x) = ½ Σ s²·(Ax)²
// has ∂F/∂x = g = Aᵀ(s²⊙Ax), and R = Σ g² has dR/ds = 4·s⊙Ax⊙A g and dR/dx = 2·Aᵀ(s²⊙A g). Every
// A and Aᵀ below is a naive loop (Aᵀ of the f×f box mean = nearest upsampling / f²; Aᵀ of nearest
// upsampling = f² × the box mean), s varies per output element so a misplaced pixel would show.
test('second-order gradients of upscale2d / downscale2d equal the explicit formulas, in both formulations', () => {
  const xs = [2, 8, 4, 3];
  const [n, h, w, c] = xs as [number, number, number, number];
  const x = randn(n * h * w * c, 40);
  for (const f of [2, 4]) {
    for (const kind of ['downscale2d', 'upscale2d'] as const) {
      const ys = kind === 'downscale2d' ? [n, h / f, w / f, c] : [n, h * f, w * f, c];
      const A = (v: Float32Array, shape: number[]) => kind === 'downscale2d' ? naiveDownscale(v, shape, f) : naiveUpscale(v, shape, f);
      const At = (v: Float32Array) => kind === 'downscale2d' ? naiveUpscale(v, ys, f).map((e) => e / (f * f)) : naiveDownscale(v, ys, f).map((e) => e * f * f);
      const s = randn(ys.reduce((a, b) => a * b), 41 + f).map((v) => 1 + 0.3 * v);
      const ax = A(x, xs);
      const g = At(ax.map((v, k) => s[k]! ** 2 * v));
      const ag = A(g, xs);
      const wantS = ax.map((v, k) => 4 * s[k]! * v * ag[k]!);
      const wantX = At(ag.map((v, k) => 2 * s[k]! ** 2 * v));
      for (const impl of IMPLS) {
        withImpl(impl, () => tf.tidy(() => {
          const op = (v: tf.Tensor) => (kind === 'downscale2d' ? ops.downscale2d(v as tf.Tensor4D, f) : ops.upscale2d(v as tf.Tensor4D, f));
          const R = (xv: tf.Tensor, sv: tf.Tensor) => {
            const gx = tf.grad((v: tf.Tensor) => tf.mul(0.5, tf.sum(tf.square(tf.mul(op(v), sv)))))(xv);
            return tf.sum(tf.square(gx)) as tf.Scalar;
          };
          const [dx, ds] = tf.grads(R)([t4(x, xs as never), tf.tensor(s, ys)]);
          assertClose(ds!.dataSync(), wantS, 1e-5, `${impl} ${kind} ×${f} dR/ds`);
          assertClose(dx!.dataSync(), wantX, 1e-5, `${impl} ${kind} ×${f} dR/dx`);
        }));
      }
    }
  }
});

test('fused upscale2d_conv2d = nearest ×2 then a true convolution (kernel rotated 180°)', () => {
  const xs = [2, 4, 5, 3], ws = [3, 3, 3, 4];
  const x = randn(120, 9), w = randn(108, 10);
  const got = tf.tidy(() => ops.upscale2dConv2dFused(t4(x, xs as never), t4(w, ws as never), 0.5).dataSync());
  // Rotate the kernel by 180° and cross-correlate the nearest-upsampled input.
  const W = indexer(ws);
  const rot = new Float32Array(108);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let c = 0; c < 3; c++) for (let o = 0; o < 4; o++) rot[W(i, j, c, o)] = w[W(2 - i, 2 - j, c, o)]!;
  const up = naiveUpscale(x, xs, 2);
  assertClose(got, naiveConv(up, [2, 8, 10, 3], rot, ws, 0.5), 1e-4, 'fused up');
  // And it is *not* the unfused path's cross-correlation with the kernel as stored.
  const unflipped = naiveConv(up, [2, 8, 10, 3], w, ws, 0.5);
  assert.ok(got.some((v, i) => Math.abs(v - unflipped[i]!) > 1e-2), 'fused up must differ from plain correlation');
});

test('fused conv2d_downscale2d = SAME cross-correlation then 2×2 average (no flip)', () => {
  const xs = [2, 6, 4, 3], ws = [3, 3, 3, 5];
  const x = randn(144, 11), w = randn(135, 12), b = randn(5, 13);
  const got = tf.tidy(() => ops.conv2dDownscale2dFused(t4(x, xs as never), t4(w, ws as never), 0.7, tf.tensor1d(b)).dataSync());
  const want = naiveDownscale(naiveConv(x, xs, w, ws, 0.7), [2, 6, 4, 5], 2).map((v, i) => v + b[i % 5]!);
  assertClose(got, want, 1e-4, 'fused down');
});

test('pixel_norm and instance_norm follow their formulas', () => {
  const xs = [2, 3, 4, 5];
  const x = randn(120, 14);
  const X = indexer(xs);
  const pn = tf.tidy(() => ops.pixelNorm(t4(x, xs as never)).dataSync());
  const wantPn = new Float32Array(120);
  for (let b = 0; b < 2; b++) for (let r = 0; r < 3; r++) for (let q = 0; q < 4; q++) {
    let ms = 0;
    for (let c = 0; c < 5; c++) ms += x[X(b, r, q, c)]! ** 2 / 5;
    for (let c = 0; c < 5; c++) wantPn[X(b, r, q, c)] = x[X(b, r, q, c)]! / Math.sqrt(ms + 1e-8);
  }
  assertClose(pn, wantPn, 1e-5, 'pixel_norm');
  // 2-D latents: normalised over the feature axis.
  const z = randn(8, 15);
  const zn = tf.tidy(() => ops.pixelNorm(tf.tensor2d(z, [2, 4])).dataSync());
  for (let i = 0; i < 2; i++) {
    const ms = [0, 1, 2, 3].reduce((a, j) => a + z[i * 4 + j]! ** 2 / 4, 0);
    for (let j = 0; j < 4; j++) assert.ok(Math.abs(zn[i * 4 + j]! - z[i * 4 + j]! / Math.sqrt(ms + 1e-8)) < 1e-5);
  }

  const inorm = tf.tidy(() => ops.instanceNorm(t4(x, xs as never)).dataSync());
  const wantIn = new Float32Array(120);
  for (let b = 0; b < 2; b++) for (let c = 0; c < 5; c++) {
    let mean = 0;
    for (let r = 0; r < 3; r++) for (let q = 0; q < 4; q++) mean += x[X(b, r, q, c)]! / 12;
    let ms = 0;
    for (let r = 0; r < 3; r++) for (let q = 0; q < 4; q++) ms += (x[X(b, r, q, c)]! - mean) ** 2 / 12;
    for (let r = 0; r < 3; r++) for (let q = 0; q < 4; q++) wantIn[X(b, r, q, c)] = (x[X(b, r, q, c)]! - mean) / Math.sqrt(ms + 1e-8);
  }
  assertClose(inorm, wantIn, 1e-4, 'instance_norm');
});

test('style_mod is x·(y_s + 1) + y_b with the first C style entries as scales', () => {
  const xs = [2, 3, 2, 4];
  const x = randn(48, 16), style = randn(16, 17);
  const got = tf.tidy(() => ops.styleMod(t4(x, xs as never), tf.tensor2d(style, [2, 8])).dataSync());
  const X = indexer(xs);
  const want = new Float32Array(48);
  for (let b = 0; b < 2; b++) for (let r = 0; r < 3; r++) for (let q = 0; q < 2; q++) for (let c = 0; c < 4; c++) {
    want[X(b, r, q, c)] = x[X(b, r, q, c)]! * (style[b * 8 + c]! + 1) + style[b * 8 + 4 + c]!;
  }
  assertClose(got, want, 1e-6, 'style_mod');
});

test('adaIN (fused instance_norm + style_mod) equals the two formulas applied in turn', () => {
  const xs = [2, 3, 4, 5];
  const x = randn(120, 24), style = randn(20, 25);
  const got = tf.tidy(() => ops.adaIN(t4(x, xs as never), tf.tensor2d(style, [2, 10])).dataSync());
  const X = indexer(xs);
  const want = new Float32Array(120);
  for (let b = 0; b < 2; b++) for (let c = 0; c < 5; c++) {
    let mean = 0;
    for (let r = 0; r < 3; r++) for (let q = 0; q < 4; q++) mean += x[X(b, r, q, c)]! / 12;
    let ms = 0;
    for (let r = 0; r < 3; r++) for (let q = 0; q < 4; q++) ms += (x[X(b, r, q, c)]! - mean) ** 2 / 12;
    for (let r = 0; r < 3; r++) for (let q = 0; q < 4; q++) {
      const normed = (x[X(b, r, q, c)]! - mean) / Math.sqrt(ms + 1e-8);
      want[X(b, r, q, c)] = normed * (style[b * 10 + c]! + 1) + style[b * 10 + 5 + c]!;
    }
  }
  assertClose(got, want, 1e-4, 'adaIN');
});

test('apply_noise adds per-pixel noise scaled per channel', () => {
  const xs = [2, 3, 3, 4];
  const x = randn(72, 18), noise = randn(18, 19), w = randn(4, 20);
  const got = tf.tidy(() => ops.applyNoise(t4(x, xs as never), t4(noise, [2, 3, 3, 1]), tf.tensor1d(w)).dataSync());
  const X = indexer(xs), Nz = indexer([2, 3, 3, 1]);
  const want = new Float32Array(72);
  for (let b = 0; b < 2; b++) for (let r = 0; r < 3; r++) for (let q = 0; q < 3; q++) for (let c = 0; c < 4; c++) {
    want[X(b, r, q, c)] = x[X(b, r, q, c)]! + noise[Nz(b, r, q, 0)]! * w[c]!;
  }
  assertClose(got, want, 1e-6, 'apply_noise');
});

test('minibatch_stddev: strided groups (i = g·M + m), features averaged over channels and pixels, appended last', () => {
  for (const [n, groupSize, feats] of [[8, 4, 1], [6, 2, 2], [2, 4, 1]] as const) {
    const xs = [n, 2, 3, 4];
    const x = randn(n * 24, 21 + n);
    const got = tf.tidy(() => ops.minibatchStddev(t4(x, xs as never), groupSize, feats));
    const G = Math.min(groupSize, n);
    assert.deepEqual(got.shape, [n, 2, 3, 4 + feats]);
    const M = n / G, cpf = 4 / feats;
    const X = indexer(xs);
    const stat = (m: number, f: number) => {
      let acc = 0;
      for (let r = 0; r < 2; r++) for (let q = 0; q < 3; q++) for (let c = f * cpf; c < (f + 1) * cpf; c++) {
        let mean = 0;
        for (let g = 0; g < G; g++) mean += x[X(g * M + m, r, q, c)]! / G;
        let v = 0;
        for (let g = 0; g < G; g++) v += (x[X(g * M + m, r, q, c)]! - mean) ** 2 / G;
        acc += Math.sqrt(v + 1e-8);
      }
      return acc / (6 * cpf);
    };
    const out = got.dataSync();
    const O = indexer([n, 2, 3, 4 + feats]);
    for (let i = 0; i < n; i++) for (let r = 0; r < 2; r++) for (let q = 0; q < 3; q++) {
      for (let c = 0; c < 4; c++) assert.equal(out[O(i, r, q, c)], x[X(i, r, q, c)]);
      for (let f = 0; f < feats; f++) assert.ok(Math.abs(out[O(i, r, q, 4 + f)]! - stat(i % M, f)) < 1e-5, `n=${n} i=${i} f=${f}`);
    }
    got.dispose();
  }
  assert.throws(() => tf.tidy(() => ops.minibatchStddev(tf.zeros([6, 2, 2, 4]) as tf.Tensor4D, 4)), /divisible/);
});

test('lerp and lerp_clip', () => {
  const a = tf.tensor1d([1, 2]), b = tf.tensor1d([3, 6]);
  assert.deepEqual(Array.from(ops.lerp(a, b, 0.25).dataSync()), [1.5, 3]);
  assert.deepEqual(Array.from(ops.lerpClip(a, b, 1.7).dataSync()), [3, 6]);
  assert.deepEqual(Array.from(ops.lerpClip(a, b, -2).dataSync()), [1, 2]);
  tf.dispose([a, b]);
});

// Second order: R1(θ) = Σ (∂F/∂x)² for F(x, θ) = Σ r·softplus(op(a·x)) + 0.1·Σ op(a·x)², differentiated
// w.r.t. θ = (a, op weights) by tfjs, against a central finite difference along a random direction.
// (A smooth F: with leaky ReLU the finite difference would jump wherever a step crosses a kink;
// leaky ReLU's second order is covered by the networks' R1 test.)
test('R1 (gradient of the squared input-gradient) through every op matches a central finite difference', () => {
  type Case = { name: string; xShape: number[]; params: number[][]; op: (x: tf.Tensor, p: tf.Tensor[]) => tf.Tensor };
  const x4 = (t: tf.Tensor) => t as tf.Tensor4D;
  const cases: Case[] = [
    { name: 'conv2d', xShape: [2, 4, 4, 3], params: [[3, 3, 3, 2]], op: (x, [w]) => ops.conv2d(x4(x), x4(w!), 0.5) },
    { name: 'dense', xShape: [2, 6], params: [[6, 3]], op: (x, [w]) => ops.dense(x, w as tf.Tensor2D, 0.5) },
    { name: 'blur2d', xShape: [2, 4, 4, 2], params: [], op: (x) => ops.blur2d(x4(x)) },
    ...IMPLS.flatMap((impl): Case[] => [
      { name: `upscale2d (${impl})`, xShape: [2, 3, 3, 2], params: [], op: (x) => withImpl(impl, () => ops.upscale2d(x4(x))) },
      { name: `downscale2d (${impl})`, xShape: [2, 4, 4, 2], params: [], op: (x) => withImpl(impl, () => ops.downscale2d(x4(x))) },
      { name: `downscale2d ×4 (${impl})`, xShape: [1, 8, 8, 2], params: [], op: (x) => withImpl(impl, () => ops.downscale2d(x4(x), 4)) },
    ]),
    { name: 'upscale2d_conv2d fused', xShape: [2, 3, 3, 2], params: [[3, 3, 2, 3]], op: (x, [w]) => ops.upscale2dConv2dFused(x4(x), x4(w!), 0.5) },
    { name: 'conv2d_downscale2d fused', xShape: [2, 4, 4, 2], params: [[3, 3, 2, 3]], op: (x, [w]) => ops.conv2dDownscale2dFused(x4(x), x4(w!), 0.5) },
    { name: 'pixel_norm', xShape: [2, 2, 2, 3], params: [], op: (x) => ops.pixelNorm(x) },
    { name: 'instance_norm', xShape: [2, 3, 3, 2], params: [], op: (x) => ops.instanceNorm(x4(x)) },
    { name: 'style_mod', xShape: [2, 2, 2, 3], params: [[2, 6]], op: (x, [s]) => ops.styleMod(x4(x), s as tf.Tensor2D) },
    { name: 'adaIN', xShape: [2, 3, 3, 2], params: [[2, 4]], op: (x, [s]) => ops.adaIN(x4(x), s as tf.Tensor2D) },
    { name: 'apply_noise', xShape: [2, 2, 2, 3], params: [[3]], op: (x, [w]) => ops.applyNoise(x4(x), tf.ones([1, 2, 2, 1]), w as tf.Tensor1D) },
    { name: 'minibatch_stddev', xShape: [4, 2, 2, 3], params: [], op: (x) => ops.minibatchStddev(x4(x), 2) },
  ];
  let seed = 100;
  for (const c of cases) {
    const xSize = c.xShape.reduce((a, b) => a * b);
    const x = tf.tensor(randn(xSize, seed++), c.xShape);
    const theta0 = [tf.tensor(randn(xSize, seed++).map((v) => 1 + 0.3 * v), c.xShape), ...c.params.map((s) => tf.tensor(randn(s.reduce((a, b) => a * b), seed++), s))];
    const dirs = theta0.map((t) => tf.tensor(randn(t.size, seed++), t.shape));
    const r = tf.tidy(() => tf.tensor(randn(c.op(tf.mul(x, theta0[0]!), theta0.slice(1)).size, seed++), c.op(tf.mul(x, theta0[0]!), theta0.slice(1)).shape));
    const r1 = (theta: tf.Tensor[]) => tf.tidy(() => {
      const F = (xx: tf.Tensor) => {
        const y = c.op(tf.mul(xx, theta[0]!), theta.slice(1));
        return tf.add(tf.sum(tf.mul(r, tf.softplus(y))), tf.mul(0.1, tf.sum(tf.square(y))));
      };
      return tf.sum(tf.square(tf.grad(F)(x))) as tf.Scalar;
    });
    const analytic = tf.tidy(() => {
      const g = tf.grads((...th: tf.Tensor[]) => r1(th))(theta0);
      return g.reduce((acc, gi, i) => acc + tf.sum(tf.mul(gi, dirs[i]!)).dataSync()[0]!, 0);
    });
    const eps = 1e-2;
    const at = (s: number) => tf.tidy(() => r1(theta0.map((t, i) => tf.add(t, tf.mul(dirs[i]!, s)))).dataSync()[0]!);
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Number.isFinite(analytic), `${c.name}: analytic not finite`);
    assert.ok(Math.abs(analytic - numeric) <= 2e-2 * Math.max(1, Math.abs(numeric)), `${c.name}: analytic ${analytic} vs numeric ${numeric}`);
    tf.dispose([x, r, ...theta0, ...dirs]);
  }
});

test('ops do not leak tensors inside tidy', () => {
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) {
    tf.tidy(() => {
      const x = tf.randomNormal([4, 8, 8, 4]) as tf.Tensor4D;
      const w = tf.randomNormal([3, 3, 4, 4]) as tf.Tensor4D;
      ops.minibatchStddev(ops.blur2d(ops.conv2dDownscale2dFused(ops.upscale2dConv2dFused(x, w, 0.1), w, 0.1)));
      for (const impl of IMPLS) withImpl(impl, () => tf.grad((v: tf.Tensor) => tf.sum(ops.downscale2d(ops.upscale2d(v as tf.Tensor4D))))(x));
    });
  }
  assert.equal(tf.memory().numTensors, before);
});
