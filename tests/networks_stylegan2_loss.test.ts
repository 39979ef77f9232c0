// StyleGAN2's regularizers (training/loss_stylegan2.ts) against finite differences on tiny networks:
// the path length |Jᵀy| (J = ∂images/∂dlatents, y ~ N(0,I)/√(H·W), mean over layers as NVIDIA), the
// pl_mean EMA and penalty, R1, and the second-order gradients the reg steps take with respect to the
// weights; plus the lazy-regularization Adam rescaling (spec §A.9).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { D_stylegan2, G_main } from '../training/networks_stylegan2.ts';
import { D_logistic_r1, D_r1, G_logistic_ns_pathreg, G_pathreg, lazyRegAdam, lazyRegLoss, pathLengths, regDue, type StyleGeneratorFns } from '../training/loss_stylegan2.ts';

before(async () => {
  await useTestBackend();
});

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  });
}

const TINY_G = { resolution: 8, latent_size: 4, dlatent_size: 4, mapping_layers: 1, mapping_fmaps: 4, fmap_base: 16, fmap_max: 4, randomize_noise: false };

function tinyG(): { G: G_main; fns: StyleGeneratorFns } {
  const G = new G_main({ ...TINY_G, style_mixing_prob: 0 }, { seed: 11 });
  // Non-zero noise strengths and biases, so every term of the layers is exercised.
  for (const [name, v] of G.vars) {
    if (name.endsWith('noise_strength')) v.assign(tf.scalar(0.3));
    if (name.endsWith('/mod_bias') || name.endsWith('/bias')) v.assign(tf.tensor(rand(v.size, v.size + name.length), v.shape));
  }
  const fns: StyleGeneratorFns = {
    mapping: (z, l) => G.components.mapping.run(z as tf.Tensor2D, l as tf.Tensor2D),
    synthesis: (w) => G.components.synthesis.run(w, { randomize_noise: false }),
    image_shape: [3, 8, 8],
  };
  return { G, fns };
}

test('path lengths |Jᵀy| = √(mean over layers Σ_c g²) with g from central finite differences of Σ images·y', () => {
  const { G, fns } = tinyG();
  try {
    const [N, L, D] = [2, G.num_layers, 4];
    const w = tf.tensor3d(rand(N * L * D, 3), [N, L, D]);
    const y = tf.div(tf.tensor4d(rand(N * 3 * 64, 4), [N, 3, 8, 8]), 8);
    const got = tf.tidy(() => pathLengths(fns.synthesis, w, y).arraySync() as number[]);
    const f = (wv: Float32Array) => tf.tidy(() => tf.sum(tf.mul(fns.synthesis(tf.tensor3d(wv, [N, L, D])), y), [1, 2, 3]).arraySync() as number[]);
    const base = w.dataSync() as Float32Array;
    const eps = 1e-2;
    const sq = Array.from({ length: N }, () => new Array<number>(L).fill(0));
    for (let l = 0; l < L; l++) for (let c = 0; c < D; c++) {
      // Samples do not interact in synthesis: perturb (l, c) of every sample at once.
      const plus = base.slice();
      const minus = base.slice();
      for (let n = 0; n < N; n++) { plus[(n * L + l) * D + c]! += eps; minus[(n * L + l) * D + c]! -= eps; }
      const fp = f(plus);
      const fm = f(minus);
      for (let n = 0; n < N; n++) sq[n]![l]! += ((fp[n]! - fm[n]!) / (2 * eps)) ** 2;
    }
    const want = sq.map((layers) => Math.sqrt(layers.reduce((a, b) => a + b, 0) / L));
    for (let n = 0; n < N; n++) assert.ok(Math.abs(got[n]! - want[n]!) < 2e-3 * (1 + want[n]!), `sample ${n}: ${got[n]} vs FD ${want[n]}`);
    assert.ok(want.every((v) => v > 1e-2)); // a real signal, not two zeros

    // G_pathreg: a ← a + 0.01·(mean|Jᵀy| − a); reg = (|Jᵀy| − a)²·2, with the given noise (before the 1/√(HW) scale).
    const z = tf.tensor2d(rand(N * 4, 5), [N, 4]);
    const labels = tf.zeros([N, 0]);
    const noise = tf.mul(y, 8);
    const r = tf.tidy(() => {
      const o = G_pathreg(fns, { latents: z, labels, pl_mean: 0.25, pl_noise: noise });
      return { reg: o.reg.arraySync() as number[][], pl_mean: o.pl_mean.arraySync() as number, len: o.stats['Loss/pl_lengths']!.arraySync() as number[] };
    });
    const lens = tf.tidy(() => pathLengths(fns.synthesis, fns.mapping(z, labels), y).arraySync() as number[]);
    const a = 0.25 + 0.01 * ((lens[0]! + lens[1]!) / 2 - 0.25);
    assert.ok(Math.abs(r.pl_mean - a) < 1e-6);
    for (let n = 0; n < N; n++) assert.ok(Math.abs(r.reg[n]![0]! - 2 * (lens[n]! - a) ** 2) < 1e-5 * (1 + r.reg[n]![0]!));
    tf.dispose([w, y, z, labels, noise]);
  } finally {
    G.dispose();
  }
});

test('the path-length reg differentiates through G twice: ∂mean(reg)/∂weight matches finite differences (synthesis and mapping weights)', () => {
  const { G, fns } = tinyG();
  try {
    const z = tf.tensor2d(rand(2 * 4, 6), [2, 4]);
    const labels = tf.zeros([2, 0]);
    const noise = tf.tensor4d(rand(2 * 3 * 64, 7), [2, 3, 8, 8]);
    const regMean = () => tf.mean(G_pathreg(fns, { latents: z, labels, pl_mean: 0.1, pl_noise: noise }).reg) as tf.Scalar;
    for (const name of ['G_synthesis/8x8/Conv0_up/weight', 'G_synthesis/4x4/Conv/mod_weight', 'G_mapping/Dense0/weight']) {
      const v = G.getVar(name);
      const { grads } = tf.variableGrads(regMean, [v]);
      const g = grads[v.name]!.dataSync() as Float32Array;
      const orig = v.dataSync().slice() as Float32Array;
      // The largest few components: a finite difference of a smaller one drowns in float32 round-off.
      const idx = [...g.keys()].sort((p, q) => Math.abs(g[q]!) - Math.abs(g[p]!)).slice(0, 3);
      const eps = name.startsWith('G_mapping') ? 0.5 : 1e-2;
      for (const i of idx) {
        const at = (d: number) => {
          const x = orig.slice();
          x[i]! += d;
          G.setVar(name, x);
          return tf.tidy(() => regMean().dataSync()[0]!);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        G.setVar(name, orig);
        assert.ok(Math.abs(fd - g[i]!) < 0.03 * Math.abs(g[i]!) + 1e-4, `${name}[${i}]: autodiff ${g[i]} vs FD ${fd}`);
      }
      assert.ok(Math.abs(g[idx[0]!]!) > 1e-4, `${name}: no gradient`);
      tf.dispose(grads);
    }
    tf.dispose([z, labels, noise]);
  } finally {
    G.dispose();
  }
});

test('R1 = (γ/2)·Σ(∂ΣD(x)/∂x)² against finite differences, and its gradient with respect to D\'s weights (resnet and skip D)', () => {
  // R1 contains lrelu′, a step function of the weights, so a finite difference of R1 across a kink is
  // meaningless; the second-order check runs with NVIDIA's 'linear' nonlinearity (D is still non-linear
  // in x through the minibatch stddev), the first-order one with lrelu.
  for (const [architecture, nonlinearity] of [['resnet', 'lrelu'], ['skip', 'lrelu'], ['resnet', 'linear'], ['skip', 'linear']] as const) {
    const D = new D_stylegan2({ resolution: 8, fmap_base: 16, fmap_max: 8, architecture, nonlinearity }, { seed: 21 });
    try {
      for (const [name, v] of D.vars) if (name.endsWith('/bias')) v.assign(tf.tensor(rand(v.size, v.size + 3), v.shape));
      const N = 2;
      const x = tf.tensor4d(rand(N * 3 * 64, 8), [N, 3, 8, 8]);
      const labels = tf.zeros([N, 0]);
      const Dfn = (im: tf.Tensor) => D.run(im as tf.Tensor4D);
      const got = tf.tidy(() => D_r1(Dfn, x, labels, { gamma: 10 }).loss.arraySync() as number[][]);
      // ∂ΣD/∂x per pixel by central differences (minibatch stddev couples the samples, so one pixel at a time).
      const base = x.dataSync() as Float32Array;
      const eps = 1e-2;
      const sum = (xv: Float32Array) => tf.tidy(() => tf.sum(D.run(tf.tensor4d(xv, [N, 3, 8, 8]))).dataSync()[0]!);
      const pen = new Array<number>(N).fill(0);
      for (let i = 0; i < base.length; i++) {
        const p = base.slice();
        const m = base.slice();
        p[i]! += eps;
        m[i]! -= eps;
        pen[Math.floor(i / 192)]! += ((sum(p) - sum(m)) / (2 * eps)) ** 2;
      }
      for (let n = 0; n < N; n++) assert.ok(Math.abs(got[n]![0]! - 5 * pen[n]!) < 0.01 * (5 * pen[n]!) + 1e-4, `${architecture} sample ${n}: ${got[n]![0]} vs FD ${5 * pen[n]!}`);
      if (nonlinearity === 'lrelu') {
        tf.dispose([x, labels]);
        continue;
      }
      // Second order: ∂mean(R1)/∂(8x8/Conv0/weight) vs finite differences.
      const name = '8x8/Conv0/weight';
      const v = D.getVar(name);
      const r1 = () => tf.mean(D_r1(Dfn, x, labels, { gamma: 10 }).loss) as tf.Scalar;
      const { grads } = tf.variableGrads(r1, [v]);
      const g = grads[v.name]!.dataSync() as Float32Array;
      const orig = v.dataSync().slice() as Float32Array;
      const idx = [...g.keys()].sort((p, q) => Math.abs(g[q]!) - Math.abs(g[p]!)).slice(0, 2);
      for (const i of idx) {
        const at = (d: number) => {
          const w = orig.slice();
          w[i]! += d;
          D.setVar(name, w);
          return tf.tidy(() => r1().dataSync()[0]!);
        };
        const fd = (at(eps) - at(-eps)) / (2 * eps);
        D.setVar(name, orig);
        assert.ok(Math.abs(fd - g[i]!) < 0.03 * Math.abs(g[i]!) + 1e-4, `${architecture} ${name}[${i}]: autodiff ${g[i]} vs FD ${fd}`);
      }
      tf.dispose(grads);
      // D_logistic_r1 = softplus(D(G(z))) + softplus(−D(x)) with the same reg.
      const fakes = tf.tensor4d(rand(N * 3 * 64, 9), [N, 3, 8, 8]);
      const both = tf.tidy(() => {
        const o = D_logistic_r1(() => fakes, Dfn, { latents: tf.zeros([N, 1]), reals: x, labels });
        return { loss: o.loss.arraySync() as number[][], reg: o.reg.arraySync() as number[][] };
      });
      const sr = D.run(x).arraySync() as number[][];
      const sf = D.run(fakes).arraySync() as number[][];
      const softplus = (t: number) => Math.log1p(Math.exp(t));
      for (let n = 0; n < N; n++) {
        assert.ok(Math.abs(both.loss[n]![0]! - (softplus(sf[n]![0]!) + softplus(-sr[n]![0]!))) < 1e-5);
        assert.ok(Math.abs(both.reg[n]![0]! - got[n]![0]!) < 1e-5 * (1 + got[n]![0]!));
      }
      tf.dispose([x, labels, fakes]);
    } finally {
      D.dispose();
    }
  }
});

test('G_logistic_ns_pathreg: loss softplus(−D(G(z))) on the full minibatch, reg on N // 2 latents', () => {
  const { G, fns } = tinyG();
  try {
    const z = tf.tensor2d(rand(4 * 4, 12), [4, 4]);
    const labels = tf.zeros([4, 0]);
    const Dfn = (im: tf.Tensor) => tf.sum(im, [1, 2, 3]).reshape([-1, 1]);
    const Gfn = (zz: tf.Tensor) => G.run(zz as tf.Tensor2D, null, { is_training: true, style_mixing_prob: 0, dlatent_avg_beta: 1 });
    const out = tf.tidy(() => {
      const o = G_logistic_ns_pathreg(Gfn, fns, Dfn, { latents: z, labels, pl_mean: 0 });
      return { loss: o.loss.shape, reg: o.reg.shape, pl: o.pl_mean.dataSync()[0]! };
    });
    assert.deepEqual([out.loss, out.reg], [[4, 1], [2, 1]]);
    assert.ok(out.pl > 0);
    // G_main.trainingDlatents is the training-time mapping half (style mixing with prob 0 ⇒ the mapping's output).
    const same = tf.tidy(() => tf.max(tf.abs(tf.sub(G.trainingDlatents(z), G.components.mapping.run(z) as tf.Tensor3D))).dataSync()[0]!);
    assert.equal(same, 0);
    tf.dispose([z, labels]);
  } finally {
    G.dispose();
  }
});

test('lazy regularization: Adam lr·c, β^c with c = interval/(interval+1); reg every interval-th minibatch from 0; loss mean(reg·interval)', () => {
  const g = lazyRegAdam({ learning_rate: 0.002, beta1: 0, beta2: 0.99, epsilon: 1e-8 }, 4);
  assert.ok(Math.abs(g.learning_rate - 0.0016) < 1e-12 && g.beta1 === 0 && Math.abs(g.beta2 - 0.99 ** 0.8) < 1e-15 && g.epsilon === 1e-8);
  assert.ok(Math.abs(g.beta2 - 0.991992) < 1e-6);
  const d = lazyRegAdam({ learning_rate: 0.002, beta1: 0.5, beta2: 0.99 }, 16);
  assert.ok(Math.abs(d.learning_rate - 0.00188235) < 1e-8 && Math.abs(d.beta2 - 0.990585) < 1e-6 && Math.abs(d.beta1 - 0.5 ** (16 / 17)) < 1e-15);
  assert.deepEqual(lazyRegAdam({ learning_rate: 0.002, beta1: 0, beta2: 0.99 }, null), { learning_rate: 0.002, beta1: 0, beta2: 0.99 });
  assert.deepEqual([0, 1, 3, 4, 8, 15, 16].map((c) => regDue(c, 4)), [true, false, false, true, true, false, true]);
  const reg = tf.tensor2d([[1], [3]]);
  assert.equal(lazyRegLoss(reg, 16).dataSync()[0], 32);
  assert.equal(lazyRegLoss(reg, null).dataSync()[0], 2);
  reg.dispose();
});
