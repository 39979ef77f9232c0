// StyleGAN2 building blocks against explicit formulas (naive loops written here): upfirdn_2d and the
// resampling ops built on it, modulated convolution with demodulation; the networks' NVIDIA names,
// shapes and parameter counts (spec §A.10); G_main's truncation / W-average semantics; train.ts
// --dry-run for config sg2-f.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { downsample2d, upfirdn2d, upsample2d, upsampleConv2d, convDownsample2d, setupKernel, type Kernel2D } from '../training/upfirdn_2d.ts';
import { D_stylegan2, G_main, ModulatedConv2d } from '../training/networks_stylegan2.ts';
import { buildNetworks } from '../training/network_configs.ts';
import type { VarInit } from '../training/network.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

before(async () => {
  await useTestBackend();
});

/** A deterministic pseudo-random array in [-1, 1). */
function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

type Img = number[][][][]; // [N][H][W][C]
const toImg = (t: tf.Tensor4D): Img => t.arraySync();
const zeros = (n: number, h: number, w: number, c: number): Img =>
  Array.from({ length: n }, () => Array.from({ length: h }, () => Array.from({ length: w }, () => new Array<number>(c).fill(0))));

/** Naive upfirdn: zero insertion, pad/crop, true convolution (flipped kernel), keep every down-th pixel. */
function naiveUpfirdn(x: Img, k: Kernel2D, up: number, down: number, pad0: number, pad1: number): Img {
  const [n, h, w, c] = [x.length, x[0]!.length, x[0]![0]!.length, x[0]![0]![0]!.length];
  const H = h * up + pad0 + pad1;
  const W = w * up + pad0 + pad1;
  const z = (b: number, i: number, j: number, ch: number): number => {
    const si = i - pad0;
    const sj = j - pad0;
    if (si < 0 || sj < 0 || si >= h * up || sj >= w * up || si % up || sj % up) return 0;
    return x[b]![si / up]![sj / up]![ch]!;
  };
  const kh = k.length;
  const kw = k[0]!.length;
  const ho = Math.floor((H - kh) / down) + 1;
  const wo = Math.floor((W - kw) / down) + 1;
  const out = zeros(n, ho, wo, c);
  for (let b = 0; b < n; b++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) for (let ch = 0; ch < c; ch++) {
    let s = 0;
    for (let a = 0; a < kh; a++) for (let bb = 0; bb < kw; bb++) s += z(b, i * down + a, j * down + bb, ch) * k[kh - 1 - a]![kw - 1 - bb]!;
    out[b]![i]![j]![ch] = s;
  }
  return out;
}

/** Naive VALID cross-correlation, w[a][b][i][o], with stride. */
function naiveCorr(x: Img, w: number[][][][], stride = 1): Img {
  const [n, h, wd] = [x.length, x[0]!.length, x[0]![0]!.length];
  const k = w.length;
  const cin = w[0]![0]!.length;
  const cout = w[0]![0]![0]!.length;
  const ho = Math.floor((h - k) / stride) + 1;
  const wo = Math.floor((wd - k) / stride) + 1;
  const out = zeros(n, ho, wo, cout);
  for (let b = 0; b < n; b++) for (let i = 0; i < ho; i++) for (let j = 0; j < wo; j++) for (let o = 0; o < cout; o++) {
    let s = 0;
    for (let a = 0; a < k; a++) for (let bb = 0; bb < k; bb++) for (let ci = 0; ci < cin; ci++) s += x[b]![i * stride + a]![j * stride + bb]![ci]! * w[a]![bb]![ci]![o]!;
    out[b]![i]![j]![o] = s;
  }
  return out;
}

function maxDiff(a: Img | number[], b: Img | number[]): number {
  const fa = (a as unknown[]).flat(4) as number[];
  const fb = (b as unknown[]).flat(4) as number[];
  assert.equal(fa.length, fb.length);
  return Math.max(...fa.map((v, i) => Math.abs(v - fb[i]!)));
}

const K = setupKernel([1, 3, 3, 1]); // outer/64
const scaled = (k: Kernel2D, c: number) => k.map((r) => r.map((v) => v * c));

test('upsample_2d of an impulse is the kernel·4 pattern around 2p, 2q; downsample_2d keeps a constant image inside and attenuates the border', () => {
  const x = tf.buffer([1, 4, 4, 1]);
  x.set(1, 0, 1, 2, 0);
  const y = tf.tidy(() => toImg(upsample2d(x.toTensor() as tf.Tensor4D)));
  assert.deepEqual([y[0]!.length, y[0]![0]!.length], [8, 8]);
  // upfirdn(up 2, pads (2,1)) of an impulse at (p,q) = (1,2): y[i][j] = 4·K[i − 2p + 1][j − 2q + 1].
  let total = 0;
  for (let i = 0; i < 8; i++) for (let j = 0; j < 8; j++) {
    const a = i - 2 + 1;
    const b = j - 4 + 1;
    const want = a >= 0 && a < 4 && b >= 0 && b < 4 ? 4 * K[a]![b]! : 0;
    assert.ok(Math.abs(y[0]![i]![j]![0]! - want) < 1e-7, `(${i},${j}) ${y[0]![i]![j]![0]} vs ${want}`);
    total += y[0]![i]![j]![0]!;
  }
  assert.ok(Math.abs(total - 4) < 1e-6); // DC gain factor² spread over the 2×2 block
  // Constant 3 on 8×8 → 4×4: 3 inside; 3·7/8 on an edge (the zero row outside weighs 1/8); 3·(7/8)² in a corner.
  const d = tf.tidy(() => toImg(downsample2d(tf.fill([1, 8, 8, 2], 3) as tf.Tensor4D)));
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    const want = 3 * (i === 0 || i === 3 ? 7 / 8 : 1) * (j === 0 || j === 3 ? 7 / 8 : 1);
    for (const ch of [0, 1]) assert.ok(Math.abs(d[0]![i]![j]![ch]! - want) < 1e-6, `(${i},${j}) ${d[0]![i]![j]![ch]} vs ${want}`);
  }
});

test('upfirdn_2d (up, pad/crop, true convolution with an asymmetric kernel, down) equals the naive definition', () => {
  const k: Kernel2D = [[1, 2], [3, -4], [0.5, 6]];
  const x = tf.tensor4d(rand(2 * 5 * 6 * 3, 1), [2, 5, 6, 3]);
  const xs = toImg(x);
  for (const [up, down, pad0, pad1] of [[1, 1, 0, 0], [2, 1, 2, 1], [1, 2, 1, 1], [2, 2, 3, -1], [3, 2, -1, 2]] as const) {
    const got = tf.tidy(() => toImg(upfirdn2d(x, k, { up, down, pad0, pad1 })));
    const err = maxDiff(got, naiveUpfirdn(xs, k, up, down, pad0, pad1));
    assert.ok(err < 1e-5, `up ${up} down ${down} pads ${pad0},${pad1}: ${err}`);
  }
  x.dispose();
});

test('upsample_conv_2d == zero insertion + FIR(k·4, pads 3,2) + VALID correlation (3×3), pads 2,1 (1×1); ≠ upsample_2d + SAME conv at the border', () => {
  const x = tf.tensor4d(rand(2 * 4 * 4 * 3, 2), [2, 4, 4, 3]);
  const xs = toImg(x);
  for (const k of [3, 1]) {
    const w = tf.tensor4d(rand(k * k * 3 * 5, 3 + k), [k, k, 3, 5]);
    const ws = w.arraySync();
    const got = tf.tidy(() => toImg(upsampleConv2d(x, w)));
    const want = naiveCorr(naiveUpfirdn(xs, scaled(K, 4), 2, 1, k === 3 ? 3 : 2, k === 3 ? 2 : 1), ws);
    assert.deepEqual([got[0]!.length, got[0]![0]!.length, got[0]![0]![0]!.length], [8, 8, 5]);
    assert.ok(maxDiff(got, want) < 1e-5, `${k}×${k}: ${maxDiff(got, want)}`);
    if (k === 3) {
      // upsample_2d then a SAME conv: identical inside, different in the 2-pixel border.
      const other = tf.tidy(() => toImg(tf.conv2d(upsample2d(x), w, 1, 'same')));
      const inner = (im: Img) => im.map((b) => b.slice(2, 6).map((r) => r.slice(2, 6)));
      assert.ok(maxDiff(inner(other), inner(got)) < 1e-5);
      assert.ok(maxDiff(other, got) > 1e-2);
    }
    w.dispose();
  }
  x.dispose();
});

test('conv_downsample_2d == FIR(k, pads 2,2 / 1,1) + stride-2 VALID correlation (3×3 / 1×1)', () => {
  const x = tf.tensor4d(rand(2 * 8 * 8 * 3, 4), [2, 8, 8, 3]);
  const xs = toImg(x);
  for (const k of [3, 1]) {
    const w = tf.tensor4d(rand(k * k * 3 * 4, 5 + k), [k, k, 3, 4]);
    const got = tf.tidy(() => toImg(convDownsample2d(x, w)));
    const p = k === 3 ? 2 : 1;
    const want = naiveCorr(naiveUpfirdn(xs, K, 1, 1, p, p), w.arraySync(), 2);
    assert.deepEqual([got[0]!.length, got[0]![0]!.length], [4, 4]);
    assert.ok(maxDiff(got, want) < 1e-5, `${k}×${k}: ${maxDiff(got, want)}`);
    w.dispose();
  }
  x.dispose();
});

test('the FIR ops have gradients of second order (the gradient of a gradient equals the naive adjoint twice)', () => {
  // f(x) = Σ upsample_2d(x)·c is linear; ∂/∂x of Σ (∂f/∂x)·x·x = 2·g·x with g the adjoint of c. Compare with
  // the adjoint computed from the naive definition (the transpose of the naive linear map, by unit vectors).
  const c = tf.tensor4d(rand(1 * 8 * 8 * 1, 9), [1, 8, 8, 1]);
  const x = tf.tensor4d(rand(16, 10), [1, 4, 4, 1]);
  const g = tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(upsample2d(v as tf.Tensor4D), c)))(x).arraySync() as Img);
  const cs = c.arraySync();
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    const e = zeros(1, 4, 4, 1);
    e[0]![i]![j]![0] = 1;
    const up = naiveUpfirdn(e, scaled(K, 4), 2, 1, 2, 1);
    let want = 0;
    for (let a = 0; a < 8; a++) for (let b = 0; b < 8; b++) want += up[0]![a]![b]![0]! * cs[0]![a]![b]![0]!;
    assert.ok(Math.abs(g[0]![i]![j]![0]! - want) < 1e-5);
  }
  const gg = tf.tidy(() => tf.grad((v: tf.Tensor) => {
    const inner = tf.grad((u: tf.Tensor) => tf.sum(tf.mul(downsample2d(upsample2d(u as tf.Tensor4D)), tf.mul(v, v))))(tf.zerosLike(v));
    return tf.sum(tf.mul(inner, v));
  })(x).arraySync() as Img);
  // inner = Aᵀ(v²) with A = down∘up (linear, so inner does not depend on u); d/dv Σ Aᵀ(v²)·v = Aᵀ(v²) + 2v·A(v).
  const xv = x.arraySync();
  const sq = xv.map((b) => b.map((r) => r.map((p) => p.map((q) => q * q))));
  const A = (im: Img) => naiveUpfirdn(naiveUpfirdn(im, scaled(K, 4), 2, 1, 2, 1), K, 1, 2, 1, 1);
  const AT = (im: Img): Img => {
    const out = zeros(1, 4, 4, 1);
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
      const e = zeros(1, 4, 4, 1);
      e[0]![i]![j]![0] = 1;
      const r = A(e);
      let s = 0;
      for (let a = 0; a < 4; a++) for (let b = 0; b < 4; b++) s += r[0]![a]![b]![0]! * im[0]![a]![b]![0]!;
      out[0]![i]![j]![0] = s;
    }
    return out;
  };
  const t1 = AT(sq);
  const Ax = A(xv);
  for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
    const want = t1[0]![i]![j]![0]! + 2 * xv[0]![i]![j]![0]! * Ax[0]![i]![j]![0]!;
    assert.ok(Math.abs(gg[0]![i]![j]![0]! - want) < 1e-5, `${gg[0]![i]![j]![0]} vs ${want}`);
  }
  c.dispose();
  x.dispose();
});

/** A VarFactory for a lone layer. */
function factory() {
  const vars = new Map<string, tf.Variable>();
  let seed = 100;
  return {
    vars,
    makeVar(name: string, shape: number[], init: VarInit, trainable = true) {
      const v = tf.variable(tf.tidy(() => (init === 'zeros' ? tf.zeros(shape) : init === 'ones' ? tf.ones(shape) : tf.randomNormal(shape, 0, init.normal, 'float32', seed++))), trainable);
      vars.set(name, v);
      return v;
    },
  };
}

test('modulated conv == per-sample conv with w·s (s = w_lat·A/√D + b + 1) and demodulation; every demodulated filter has unit norm', () => {
  const f = factory();
  const [N, I, O, D, k] = [3, 4, 5, 6, 3];
  const layer = new ModulatedConv2d(f, 'L', D, I, O, k, true);
  f.vars.get('L/mod_bias')!.assign(tf.tensor1d(rand(I, 20)));
  const noDemod = new ModulatedConv2d(f, 'M', D, I, O, k, false);
  const x = tf.tensor4d(rand(N * 6 * 6 * I, 21), [N, 6, 6, I]);
  const wl = tf.tensor2d(rand(N * D, 22), [N, D]);
  const W = f.vars.get('L/weight')!.arraySync() as number[][][][];
  const A = f.vars.get('L/mod_weight')!.arraySync() as number[][];
  const bA = f.vars.get('L/mod_bias')!.arraySync() as number[];
  const wls = wl.arraySync();
  const xs = toImg(x);
  const got = tf.tidy(() => toImg(layer.apply(x, wl)));
  // Explicit: per sample, w'[a][b][i][o] = W/√(k²I)·s[i], d[o] = (Σ w'² + 1e-8)^-½, SAME correlation.
  const modulated: number[][][][][] = [];
  for (let n = 0; n < N; n++) {
    const s = Array.from({ length: I }, (_, i) => wls[n]!.reduce((acc, v, j) => acc + v * A[j]![i]! / Math.sqrt(D), 0) + bA[i]! + 1);
    const w1 = W.map((r) => r.map((c) => c.map((o, i) => o.map((v) => (v / Math.sqrt(k * k * I)) * s[i]!))));
    const d = Array.from({ length: O }, (_, o) => {
      let ss = 0;
      for (const r of w1) for (const c of r) for (const io of c) ss += io[o]! ** 2;
      return 1 / Math.sqrt(ss + 1e-8);
    });
    modulated.push(w1.map((r) => r.map((c) => c.map((o) => o.map((v, oi) => v * d[oi]!)))));
  }
  const padded = xs.map((b) => [zeros(1, 1, 8, I)[0]![0]!, ...b.map((r) => [new Array(I).fill(0), ...r, new Array(I).fill(0)]), zeros(1, 1, 8, I)[0]![0]!]);
  const want = padded.map((b, n) => naiveCorr([b], modulated[n]!)[0]!);
  assert.ok(maxDiff(got, want) < 1e-5, `modconv max |Δ| ${maxDiff(got, want)}`);
  // Unit norm, read back from the layer as its impulse responses: an impulse in input channel i at the
  // centre of a 5×5 image gives w''[2−a][2−b][i][o] around it.
  for (let n = 0; n < N; n++) {
    const norms = new Array<number>(O).fill(0);
    for (let i = 0; i < I; i++) {
      const e = tf.buffer([1, 5, 5, I]);
      e.set(1, 0, 2, 2, i);
      const r = tf.tidy(() => toImg(layer.apply(e.toTensor() as tf.Tensor4D, tf.slice(wl, [n, 0], [1, -1]))));
      for (let a = 1; a <= 3; a++) for (let b = 1; b <= 3; b++) for (let o = 0; o < O; o++) norms[o]! += r[0]![a]![b]![o]! ** 2;
    }
    for (const v of norms) assert.ok(Math.abs(v - 1) < 1e-5, `‖w''‖² = ${v}`);
  }
  // Without demodulation (ToRGB) the norms follow the styles instead.
  const r0 = tf.tidy(() => toImg(noDemod.apply(x, wl)));
  assert.ok(maxDiff(r0, got) > 1e-2);
  for (const v of f.vars.values()) v.dispose();
  x.dispose();
  wl.dispose();
});

test('config-f / config-e at 1024²: NVIDIA\'s parameter counts for every architecture, and config-f\'s variable names in creation order', () => {
  const rows: [number, string, number, number][] = [
    [16384, 'skip', 30370060, 27801889], [16384, 'orig', 28817908, 27789857], [16384, 'resnet', 30040564, 29012513],
    [8192, 'skip', 24900764, 23087249], [8192, 'orig', 23596292, 23077137], [8192, 'resnet', 24557316, 24038161],
  ];
  for (const [fmap_base, architecture, g, d] of rows) {
    const G = new G_main({ fmap_base, architecture }, { initialize: false });
    const D = new D_stylegan2({ fmap_base, architecture }, { initialize: false });
    assert.deepEqual([G.numParams(), D.numParams()], [g, d], `${fmap_base} ${architecture}`);
    G.dispose();
    D.dispose();
  }
  const { G, D } = buildNetworks({ config: 'sg2-f', num_channels: 3, resolution: 1024, label_size: 0 });
  try {
    assert.deepEqual([G.numParams(), D.numParams()], [30370060, 29012513]);
    const gv = [...G.vars].map(([n, v]) => `${n} [${v.shape.join(',')}]${v.trainable ? '' : ' nt'}`);
    assert.equal(gv.length, 157);
    assert.deepEqual(gv.slice(0, 4), ['lod [] nt', 'dlatent_avg [512] nt', 'G_synthesis/noise0 [1,1,4,4] nt', 'G_synthesis/noise1 [1,1,8,8] nt']);
    assert.deepEqual(gv.slice(18, 30), [
      'G_synthesis/noise16 [1,1,1024,1024] nt', 'G_synthesis/4x4/Const/const [1,512,4,4]',
      'G_synthesis/4x4/Conv/weight [3,3,512,512]', 'G_synthesis/4x4/Conv/mod_weight [512,512]', 'G_synthesis/4x4/Conv/mod_bias [512]',
      'G_synthesis/4x4/Conv/noise_strength []', 'G_synthesis/4x4/Conv/bias [512]',
      'G_synthesis/4x4/ToRGB/weight [1,1,512,3]', 'G_synthesis/4x4/ToRGB/mod_weight [512,512]', 'G_synthesis/4x4/ToRGB/mod_bias [512]', 'G_synthesis/4x4/ToRGB/bias [3]',
      'G_synthesis/8x8/Conv0_up/weight [3,3,512,512]',
    ]);
    assert.ok(gv.includes('G_synthesis/1024x1024/Conv0_up/weight [3,3,64,32]') && gv.includes('G_synthesis/1024x1024/ToRGB/mod_weight [512,32]'));
    assert.deepEqual(gv.slice(-2), ['G_mapping/Dense7/weight [512,512]', 'G_mapping/Dense7/bias [512]']);
    const dv = [...D.vars].map(([n, v]) => `${n} [${v.shape.join(',')}]`);
    assert.equal(dv.length, 48);
    assert.deepEqual(dv.slice(0, 7), ['1024x1024/FromRGB/weight [1,1,3,32]', '1024x1024/FromRGB/bias [32]', '1024x1024/Conv0/weight [3,3,32,32]',
      '1024x1024/Conv0/bias [32]', '1024x1024/Conv1_down/weight [3,3,32,64]', '1024x1024/Conv1_down/bias [64]', '1024x1024/Skip/weight [1,1,32,64]']);
    assert.deepEqual(dv.slice(-6), ['4x4/Conv/weight [3,3,513,512]', '4x4/Conv/bias [512]', '4x4/Dense0/weight [8192,512]', '4x4/Dense0/bias [512]',
      'Output/weight [512,1]', 'Output/bias [1]']);
  } finally {
    G.dispose();
    D.dispose();
  }
});

test('train.ts --dry-run --config sg2-f --resolution 1024 prints G 30,370,060 and D 29,012,513 (sg2-e: 24,900,764 / 24,038,161)', () => {
  for (const [config, g, d] of [['sg2-f', 30370060, 29012513], ['sg2-e', 24900764, 24038161]] as const) {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'train.ts', '--dry-run', '--config', config, '--resolution', '1024'], { cwd: ROOT, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.deepEqual([...r.stdout.matchAll(/^Total\s+(\d+)$/gm)].map((m) => Number(m[1])), [g, d]);
    assert.match(r.stdout, /^G_synthesis\/1024x1024\/ToRGB\s+\d+\s+\(\?, 3, 1024, 1024\)\s+\(1, 1, (32|16), 3\)$/m);
    assert.match(r.stdout, /^1024x1024\/Skip\s+\d+\s+/m);
  }
});

test('G_main: ψ 0.5 on all layers by default, cutoff, is_validation (no truncation), W average update while training', () => {
  const G = new G_main({ resolution: 16, latent_size: 8, dlatent_size: 8, mapping_layers: 2, mapping_fmaps: 8, fmap_base: 32, fmap_max: 8, randomize_noise: false }, { seed: 4 });
  try {
    G.dlatent_avg.assign(tf.tensor1d(rand(8, 30)));
    const z = tf.tensor2d(rand(2 * 8, 31), [2, 8]);
    const avg = G.dlatent_avg.arraySync() as number[];
    const w = tf.tidy(() => (G.components.mapping.run(z) as tf.Tensor3D).arraySync());
    const synth = (coef: (l: number) => number) => tf.tidy(() => {
      const dl = w.map((s) => s.map((row, l) => row.map((v, c) => avg[c]! + (v - avg[c]!) * coef(l))));
      return G.components.synthesis.run(tf.tensor3d(dl)).dataSync();
    });
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) => maxDiff(Array.from(a), Array.from(b)) < 1e-5;
    assert.equal(G.num_layers, 6);
    assert.ok(close(tf.tidy(() => G.run(z).dataSync()), synth(() => 0.5)));
    assert.ok(close(tf.tidy(() => G.run(z, null, { truncation_cutoff: 2, truncation_psi: 0.7 }).dataSync()), synth((l) => (l < 2 ? 0.7 : 1))));
    assert.ok(close(tf.tidy(() => G.run(z, null, { is_validation: true }).dataSync()), synth(() => 1)));
    assert.ok(!close(synth(() => 1), synth(() => 0.5)));
    // Training: avg ← w̄ + β(avg − w̄) with w̄ the batch mean of w[:, 0]; no truncation.
    tf.tidy(() => G.run(z, null, { is_training: true, style_mixing_prob: 0 }));
    const got = G.dlatent_avg.arraySync() as number[];
    for (let c = 0; c < 8; c++) {
      const mean = (w[0]![0]![c]! + w[1]![0]![c]!) / 2;
      assert.ok(Math.abs(got[c]! - (mean + 0.995 * (avg[c]! - mean))) < 1e-6);
    }
    // A clone is the same function.
    const Gs = G.clone('Gs') as G_main;
    assert.ok(close(tf.tidy(() => Gs.run(z).dataSync()), tf.tidy(() => G.run(z).dataSync())));
    Gs.dispose();
    z.dispose();
  } finally {
    G.dispose();
  }
});
