import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import {
  G_wgan, D_wgan, D_wgan_gp, D_hinge, D_hinge_gp, G_logistic_saturating, G_logistic_nonsaturating, D_logistic,
  D_logistic_simplegp, G_basic_nonsaturating, G_basic_saturating, D_basic_bce, G_LOSSES, D_LOSSES,
  type DiscriminatorFn, type GeneratorFn, type LossResult, type LossScaling,
} from '../training/loss.ts';
import { Optimizer } from '../training/optimizer.ts';

// Tiny problems whose values and gradients are derived by hand below, in plain arithmetic:
// N = 2 samples of shape [1,2,2] (4 pixels each), G(z) = a·z reshaped, D linear / quadratic / leaky.
const N = 2;
const X = [[0.5, -1.0, 2.0, 0.25], [-0.75, 1.5, 0.1, -2.0]]; // reals
const Z = [[1.0, -0.5, 0.2, 0.3], [-1.2, 0.4, 0.9, -0.1]]; // latents
const W = [0.3, -0.2, 0.1, 0.4];
const A = 0.8;
const B = 0.05;

const softplus = (t: number) => Math.log1p(Math.exp(t));
const sigmoid = (t: number) => 1 / (1 + Math.exp(-t));
const dot = (u: number[], v: number[]) => u.reduce((s, ui, i) => s + ui * v[i]!, 0);
const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
const FAKE = Z.map((z) => z.map((zi) => A * zi));

function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, tol = 2e-5) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const e = expected[i]!;
    const a = actual[i]!;
    assert.ok(Math.abs(a - e) <= tol * Math.max(1, Math.abs(e)), `${what}[${i}]: ${a} vs ${e}`);
  }
}

interface Setup { w: tf.Variable; b: tf.Variable; a: tf.Variable; G: GeneratorFn; inputs: { latents: tf.Tensor; reals: tf.Tensor; labels: tf.Tensor } }

function setup(): Setup {
  const w = tf.variable(tf.tensor4d(W, [1, 1, 2, 2]), true, `w${Math.random()}`);
  const b = tf.variable(tf.scalar(B), true, `b${Math.random()}`);
  const a = tf.variable(tf.scalar(A), true, `a${Math.random()}`);
  const G: GeneratorFn = (z) => tf.reshape(tf.mul(z, a), [-1, 1, 2, 2]);
  const inputs = { latents: tf.tensor2d(Z), reals: tf.tensor4d(X.flat(), [N, 1, 2, 2]), labels: tf.zeros([N, 0]) };
  return { w, b, a, G, inputs };
}

const linearD = (s: Setup): DiscriminatorFn => (x) => tf.add(tf.sum(tf.mul(x, s.w), [1, 2, 3]), s.b).reshape([-1, 1]);

/** mean(loss) and its gradients with respect to `vars`, as the optimizer will take them. */
function lossAndGrads(f: () => LossResult, vars: tf.Variable[], statNames: string[] = []) {
  const stats: Record<string, Float32Array> = {};
  const { value, grads } = tf.variableGrads(() => {
    const r = f();
    assert.deepEqual(r.loss.shape, [N, 1]);
    for (const k of statNames) stats[k] = r.stats[k]!.dataSync() as Float32Array;
    return tf.mean(r.loss) as tf.Scalar;
  }, vars);
  const out = { value: value.dataSync()[0]!, grads: vars.map((v) => grads[v.name]!.dataSync() as Float32Array), stats };
  value.dispose();
  tf.dispose(grads);
  return out;
}

function cleanup(s: Setup) {
  s.w.dispose(); s.b.dispose(); s.a.dispose();
  tf.dispose([s.inputs.latents, s.inputs.reals, s.inputs.labels]);
}

test('G losses: values and dG/da for a linear D (softplus identities)', async () => {
  await useTestBackend();
  const s = setup();
  const D = linearD(s);
  const f = FAKE.map((x) => dot(W, x) + B); // fake scores
  const dfda = Z.map((z) => dot(W, z)); // ∂f/∂a
  const cases: [string, typeof G_wgan, (t: number) => number, (t: number) => number][] = [
    ['G_wgan', G_wgan, (t) => -t, () => -1],
    ['G_logistic_nonsaturating', G_logistic_nonsaturating, (t) => softplus(-t), (t) => -sigmoid(-t)],
    ['G_logistic_saturating', G_logistic_saturating, (t) => -softplus(t), (t) => -sigmoid(t)],
  ];
  for (const [name, fn, l, dl] of cases) {
    const r = lossAndGrads(() => fn(s.G, D, s.inputs), [s.a]);
    close([r.value], [mean(f.map(l))], `${name} value`);
    close(r.grads[0]!, [mean(f.map((fi, i) => dl(fi) * dfda[i]!))], `${name} d/da`);
  }
  // Per-sample values, not only the mean.
  const per = tf.tidy(() => G_logistic_nonsaturating(s.G, D, s.inputs).loss.dataSync());
  close(per, f.map((fi) => -Math.log(sigmoid(fi))), 'G_logistic_nonsaturating = -log σ(f)');
  cleanup(s);
});

test('D_logistic and D_wgan: values, stats and dD/dw, dD/db', async () => {
  await useTestBackend();
  const s = setup();
  const D = linearD(s);
  const r = X.map((x) => dot(W, x) + B);
  const f = FAKE.map((x) => dot(W, x) + B);

  const lg = lossAndGrads(() => D_logistic(s.G, D, s.inputs), [s.w, s.b], ['Loss/scores/real', 'Loss/scores/fake']);
  close([lg.value], [mean(r.map((ri, i) => softplus(f[i]!) + softplus(-ri)))], 'D_logistic value');
  close(lg.stats['Loss/scores/real']!, r, 'scores/real');
  close(lg.stats['Loss/scores/fake']!, f, 'scores/fake');
  // ∂/∂w [softplus(f) + softplus(−r)] = σ(f)·fake − σ(−r)·x
  const dw = W.map((_, k) => mean(X.map((x, i) => sigmoid(f[i]!) * FAKE[i]![k]! - sigmoid(-r[i]!) * x[k]!)));
  close(lg.grads[0]!, dw, 'D_logistic d/dw');
  close(lg.grads[1]!, [mean(r.map((ri, i) => sigmoid(f[i]!) - sigmoid(-ri)))], 'D_logistic d/db');

  const eps = 0.001;
  const wg = lossAndGrads(() => D_wgan(s.G, D, s.inputs), [s.w, s.b], ['Loss/epsilon_penalty']);
  close([wg.value], [mean(r.map((ri, i) => f[i]! - ri + eps * ri * ri))], 'D_wgan value');
  close(wg.stats['Loss/epsilon_penalty']!, r.map((ri) => ri * ri), 'epsilon_penalty');
  close(wg.grads[0]!, W.map((_, k) => mean(X.map((x, i) => FAKE[i]![k]! - x[k]! + 2 * eps * r[i]! * x[k]!))), 'D_wgan d/dw');
  close(wg.grads[1]!, [mean(r.map((ri) => 2 * eps * ri))], 'D_wgan d/db');
  const wg2 = lossAndGrads(() => D_wgan(s.G, D, s.inputs, { wgan_epsilon: 0.5 }), [s.b]);
  close(wg2.grads[0]!, [mean(r.map((ri) => ri))], 'D_wgan ε=0.5 d/db');
  cleanup(s);
});

test('D_logistic_simplegp, linear D: R1 = |w|² per sample, second-order gradient γ·w', async () => {
  await useTestBackend();
  const s = setup();
  const D = linearD(s);
  const r = X.map((x) => dot(W, x) + B);
  const f = FAKE.map((x) => dot(W, x) + B);
  const w2 = dot(W, W);
  const base = mean(r.map((ri, i) => softplus(f[i]!) + softplus(-ri)));
  const dwBase = W.map((_, k) => mean(X.map((x, i) => sigmoid(f[i]!) * FAKE[i]![k]! - sigmoid(-r[i]!) * x[k]!)));

  const g = lossAndGrads(() => D_logistic_simplegp(s.G, D, s.inputs), [s.w, s.b], ['Loss/r1_penalty', 'Loss/scores/real']);
  close(g.stats['Loss/r1_penalty']!, [w2, w2], 'r1_penalty');
  close(g.stats['Loss/scores/real']!, r, 'scores/real with R1');
  close([g.value], [base + 5 * w2], 'value (γ = 10)');
  close(g.grads[0]!, dwBase.map((d, k) => d + 10 * W[k]!), 'd/dw = logistic + γ·w');
  close(g.grads[1]!, [mean(r.map((ri, i) => sigmoid(f[i]!) - sigmoid(-ri)))], 'd/db (R1 does not depend on b)');

  // r2_gamma adds the same penalty on the fakes; r1_gamma = 0 removes R1.
  const g2 = lossAndGrads(() => D_logistic_simplegp(s.G, D, s.inputs, { r1_gamma: 0, r2_gamma: 4 }), [s.w], ['Loss/r2_penalty']);
  close(g2.stats['Loss/r2_penalty']!, [w2, w2], 'r2_penalty');
  close([g2.value], [base + 2 * w2], 'value (r2 γ = 4)');
  close(g2.grads[0]!, dwBase.map((d, k) => d + 4 * W[k]!), 'd/dw with R2');
  cleanup(s);
});

test('D_logistic_simplegp, quadratic and leaky-ReLU D: R1 depends on x; second order through comparisons', async () => {
  await useTestBackend();
  const s = setup();
  // D(x) = Σ w·x²: ∂D/∂x = 2w·x, R1 = 4 Σ w²x², ∂R1/∂w = 8 w x².
  const Dq: DiscriminatorFn = (x) => tf.sum(tf.mul(tf.square(x), s.w), [1, 2, 3]).reshape([-1, 1]);
  const rq = X.map((x) => dot(W, x.map((v) => v * v)));
  const fq = FAKE.map((x) => dot(W, x.map((v) => v * v)));
  const r1q = X.map((x) => 4 * x.reduce((acc, v, k) => acc + W[k]! ** 2 * v * v, 0));
  const q = lossAndGrads(() => D_logistic_simplegp(s.G, Dq, s.inputs, { r1_gamma: 3 }), [s.w], ['Loss/r1_penalty']);
  close(q.stats['Loss/r1_penalty']!, r1q, 'quadratic r1_penalty');
  close([q.value], [mean(rq.map((ri, i) => softplus(fq[i]!) + softplus(-ri) + 1.5 * r1q[i]!))], 'quadratic value');
  const dq = W.map((wk, k) => mean(X.map((x, i) =>
    sigmoid(fq[i]!) * FAKE[i]![k]! ** 2 - sigmoid(-rq[i]!) * x[k]! ** 2 + 1.5 * 8 * wk * x[k]! ** 2)));
  close(q.grads[0]!, dq, 'quadratic d/dw');

  // D(x) = Σ w·lrelu(x, 0.2): ∂D/∂x = w·s(x) with s = 1 (x > 0) or 0.2, R1 = Σ w²s², ∂R1/∂w = 2 w s².
  // LeakyRelu's gradient uses Greater, so this needs the engine's comparison gradients.
  const Dl: DiscriminatorFn = (x) => tf.sum(tf.mul(tf.leakyRelu(x, 0.2), s.w), [1, 2, 3]).reshape([-1, 1]);
  const lrelu = (v: number) => (v > 0 ? v : 0.2 * v);
  const slope = (v: number) => (v > 0 ? 1 : 0.2);
  const rl = X.map((x) => dot(W, x.map(lrelu)));
  const fl = FAKE.map((x) => dot(W, x.map(lrelu)));
  const r1l = X.map((x) => x.reduce((acc, v, k) => acc + W[k]! ** 2 * slope(v) ** 2, 0));
  const l = lossAndGrads(() => D_logistic_simplegp(s.G, Dl, s.inputs), [s.w], ['Loss/r1_penalty']);
  close(l.stats['Loss/r1_penalty']!, r1l, 'leaky r1_penalty');
  const dl = W.map((wk, k) => mean(X.map((x, i) =>
    sigmoid(fl[i]!) * lrelu(FAKE[i]![k]!) - sigmoid(-rl[i]!) * lrelu(x[k]!) + 5 * 2 * wk * slope(x[k]!) ** 2)));
  close(l.grads[0]!, dl, 'leaky d/dw');
  cleanup(s);
});

test('D_wgan_gp: GP on x̂ = lerp(x, G(z), u), norm over C,H,W; gradient w.r.t. D parameters', async () => {
  await useTestBackend();
  const s = setup();
  const U = [0.25, 0.75];
  const u = tf.tensor4d(U, [N, 1, 1, 1]);
  const lambda = 10, eps = 0.001;

  // Linear D: ‖∇D‖ = ‖w‖ for every x̂, GP = λ(‖w‖ − 1)², ∂GP/∂w = 2λ(‖w‖ − 1)·w/‖w‖.
  const D = linearD(s);
  const nw = Math.sqrt(dot(W, W));
  const r = X.map((x) => dot(W, x) + B);
  const f = FAKE.map((x) => dot(W, x) + B);
  const lin = lossAndGrads(() => D_wgan_gp(s.G, D, { ...s.inputs, mixing_factors: u }), [s.w], ['Loss/mixed_norms']);
  close(lin.stats['Loss/mixed_norms']!, [nw, nw], 'linear mixed_norms');
  close([lin.value], [mean(r.map((ri, i) => f[i]! - ri + lambda * (nw - 1) ** 2 + eps * ri * ri))], 'linear value');
  close(lin.grads[0]!, W.map((wk, k) => mean(X.map((x, i) =>
    FAKE[i]![k]! - x[k]! + 2 * lambda * (nw - 1) * wk / nw + 2 * eps * r[i]! * x[k]!))), 'linear d/dw');

  // D(x) = c·Σx²: ∇D(x̂) = 2c·x̂, norm = 2c‖x̂‖, ∂GP/∂c = 2λ(2c‖x̂‖ − 1)·2‖x̂‖.
  const c = tf.variable(tf.scalar(0.6), true, `c${Math.random()}`);
  const C = 0.6;
  const Dc: DiscriminatorFn = (x) => tf.mul(tf.sum(tf.square(x), [1, 2, 3]), c).reshape([-1, 1]);
  const sq = (v: number[]) => dot(v, v);
  const xhat = X.map((x, i) => x.map((xk, k) => xk + (FAKE[i]![k]! - xk) * U[i]!));
  const norms = xhat.map((v) => 2 * C * Math.sqrt(sq(v)));
  const rc = X.map((x) => C * sq(x));
  const fc = FAKE.map((x) => C * sq(x));
  for (const target of [1, 2]) {
    const q = lossAndGrads(() => D_wgan_gp(s.G, Dc, { ...s.inputs, mixing_factors: u }, { wgan_target: target }), [c], ['Loss/mixed_norms', 'Loss/scores/mixed']);
    close(q.stats['Loss/mixed_norms']!, norms, `quadratic mixed_norms (t=${target})`);
    close(q.stats['Loss/scores/mixed']!, xhat.map((v) => C * sq(v)), 'scores/mixed');
    const k = lambda / target ** 2;
    close([q.value], [mean(rc.map((ri, i) => fc[i]! - ri + k * (norms[i]! - target) ** 2 + eps * ri * ri))], `quadratic value (t=${target})`);
    close(q.grads[0]!, [mean(X.map((x, i) =>
      sq(FAKE[i]!) - sq(x) + k * 2 * (norms[i]! - target) * 2 * Math.sqrt(sq(xhat[i]!)) + 2 * eps * rc[i]! * sq(x)))], `quadratic d/dc (t=${target})`);
  }

  // Without mixing_factors, u ~ U[0,1) per sample: with x = 0 and G(z) = 1, x̂ = u·1 so ‖∇‖ = 2c·2u.
  const n8 = 8;
  const zeros = tf.zeros([n8, 1, 2, 2]);
  const G1: GeneratorFn = () => tf.ones([n8, 1, 2, 2]);
  const drawn = tf.tidy(() => D_wgan_gp(G1, Dc, { latents: tf.zeros([n8, 1]), reals: zeros, labels: tf.zeros([n8, 0]) }).stats['Loss/mixed_norms']!.dataSync());
  const us = Array.from(drawn, (v) => v / (4 * C));
  assert.ok(us.every((v) => v >= 0 && v < 1), `u in [0,1): ${us}`);
  assert.ok(new Set(us.map((v) => v.toFixed(6))).size > 1, 'u drawn per sample');
  tf.dispose([u, c, zeros]);
  cleanup(s);
});

test('D_hinge and D_hinge_gp: both sides of the hinge', async () => {
  await useTestBackend();
  const s = setup();
  const D = linearD(s);
  const nw = Math.sqrt(dot(W, W));
  const u = tf.tensor4d([0.5, 0.5], [N, 1, 1, 1]);
  // b = 0.4 puts one real score past 1 (no loss, no gradient); b = −1.4 one fake score below −1.
  for (const bias of [0.4, -1.4]) {
    s.b.assign(tf.scalar(bias));
    const r = X.map((x) => dot(W, x) + bias);
    const f = FAKE.map((x) => dot(W, x) + bias);
    assert.ok(bias > 0 ? r.some((v) => v > 1) : f.some((v) => v < -1), `a score beyond its hinge: ${r} ${f}`);
    const h = lossAndGrads(() => D_hinge(s.G, D, s.inputs), [s.w, s.b]);
    const hv = r.map((ri, i) => Math.max(0, 1 + f[i]!) + Math.max(0, 1 - ri));
    close([h.value], [mean(hv)], `hinge value (b=${bias})`);
    const dw = W.map((_, k) => mean(X.map((x, i) => (1 + f[i]! > 0 ? FAKE[i]![k]! : 0) - (1 - r[i]! > 0 ? x[k]! : 0))));
    close(h.grads[0]!, dw, `hinge d/dw (b=${bias})`);
    close(h.grads[1]!, [mean(r.map((ri, i) => (1 + f[i]! > 0 ? 1 : 0) - (1 - ri > 0 ? 1 : 0)))], `hinge d/db (b=${bias})`);

    const hg = lossAndGrads(() => D_hinge_gp(s.G, D, { ...s.inputs, mixing_factors: u }), [s.w]);
    close([hg.value], [mean(hv) + 10 * (nw - 1) ** 2], `hinge_gp value, no ε term (b=${bias})`);
    close(hg.grads[0]!, dw.map((d, k) => d + 20 * (nw - 1) * W[k]! / nw), `hinge_gp d/dw (b=${bias})`);
  }
  u.dispose();
  cleanup(s);
});

test('basic BCE GAN with a sigmoid D equals the logistic losses on its logits; log clamped at −100', async () => {
  await useTestBackend();
  const s = setup();
  const logits = linearD(s);
  const Dp: DiscriminatorFn = (x) => tf.sigmoid(logits(x, tf.zeros([0])));
  const r = X.map((x) => dot(W, x) + B);
  const f = FAKE.map((x) => dot(W, x) + B);
  // −log σ(r) − log(1 − σ(f)) = softplus(−r) + softplus(f).
  const d = lossAndGrads(() => D_basic_bce(s.G, Dp, s.inputs), [s.w], ['Loss/scores/real']);
  close([d.value], [mean(r.map((ri, i) => softplus(-ri) + softplus(f[i]!)))], 'D_basic_bce value');
  close(d.stats['Loss/scores/real']!, r.map(sigmoid), 'probabilities reported as scores');
  close(d.grads[0]!, W.map((_, k) => mean(X.map((x, i) => sigmoid(f[i]!) * FAKE[i]![k]! - sigmoid(-r[i]!) * x[k]!))), 'D_basic_bce d/dw');
  const gn = lossAndGrads(() => G_basic_nonsaturating(s.G, Dp, s.inputs), [s.a]);
  close([gn.value], [mean(f.map((fi) => softplus(-fi)))], 'G_basic_nonsaturating = −log σ(f)');
  close(gn.grads[0]!, [mean(f.map((fi, i) => -sigmoid(-fi) * dot(W, Z[i]!)))], 'G_basic_nonsaturating d/da');
  const gs = lossAndGrads(() => G_basic_saturating(s.G, Dp, s.inputs), [s.a]);
  close([gs.value], [mean(f.map((fi) => -softplus(fi)))], 'G_basic_saturating = log(1 − σ(f))');

  // A saturated D (p = 1 on fakes, 0 on reals) gives the clamped 100 + 100, not Infinity.
  const Dsat: DiscriminatorFn = (x) => tf.tidy(() => (x === s.inputs.reals ? tf.zeros([N, 1]) : tf.ones([N, 1])));
  const sat = tf.tidy(() => D_basic_bce(s.G, Dsat, s.inputs).loss.dataSync());
  close(sat, [200, 200], 'clamped BCE');
  cleanup(s);
});

test('loss scaling is applied to the penalty gradient and undone', async () => {
  await useTestBackend();
  const s = setup();
  const D = linearD(s);
  let applied = 0;
  const opt: LossScaling = {
    applyLossScaling: (v) => { applied++; return tf.mul(v, 1024); },
    undoLossScaling: (v) => tf.mul(v, 1 / 1024),
  };
  const w2 = dot(W, W);
  const r1 = tf.tidy(() => D_logistic_simplegp(s.G, D, { ...s.inputs, opt }).stats['Loss/r1_penalty']!.dataSync());
  assert.equal(applied, 1);
  close(r1, [w2, w2], 'R1 unchanged by loss scaling');
  cleanup(s);
});

test('gradient penalties leave no tensors behind (the scores kept across tf.grad are released)', async () => {
  await useTestBackend();
  const s = setup();
  const D = linearD(s);
  const u = tf.tensor4d([0.5, 0.5], [N, 1, 1, 1]);
  const before = tf.memory().numTensors;
  tf.tidy(() => { D_logistic_simplegp(s.G, D, s.inputs, { r2_gamma: 1 }); D_wgan_gp(s.G, D, { ...s.inputs, mixing_factors: u }); });
  lossAndGrads(() => D_logistic_simplegp(s.G, D, s.inputs), [s.w, s.b]);
  assert.equal(tf.memory().numTensors, before);
  u.dispose();
  cleanup(s);
});

test('one D step: D_logistic_simplegp through the Optimizer (loss scaling on) moves w by a first Adam step', async () => {
  await useTestBackend();
  const s = setup();
  const D = linearD(s);
  const r = X.map((x) => dot(W, x) + B);
  const f = FAKE.map((x) => dot(W, x) + B);
  // Hand gradient of mean(loss) w.r.t. w (logistic part + γ·w), then TF1 Adam's first step
  // Δ = lr·√(1 − 0.99)·g / (√(0.01·g²) + ε).
  const g = W.map((wk, k) => mean(X.map((x, i) => sigmoid(f[i]!) * FAKE[i]![k]! - sigmoid(-r[i]!) * x[k]!)) + 10 * wk);
  const opt = new Optimizer([s.w], { name: 'TrainD', use_loss_scaling: true, loss_scaling_init: 10 });
  const step = opt.minimize(() => tf.mean(D_logistic_simplegp(s.G, D, { ...s.inputs, opt }).loss) as tf.Scalar, 0.003);
  assert.equal(step.applied, true);
  close(s.w.dataSync(), W.map((wk, k) => wk - (0.003 * 0.1 * g[k]!) / (Math.sqrt(0.01 * g[k]! ** 2) + 1e-8)), 'w after one step', 1e-5);
  opt.dispose();
  cleanup(s);
});

test('loss registries name every loss by its NVIDIA func_name', () => {
  assert.deepEqual(Object.keys(G_LOSSES).sort(), ['G_basic_nonsaturating', 'G_basic_saturating', 'G_logistic_nonsaturating', 'G_logistic_saturating', 'G_wgan']);
  assert.deepEqual(Object.keys(D_LOSSES).sort(), ['D_basic_bce', 'D_hinge', 'D_hinge_gp', 'D_logistic', 'D_logistic_simplegp', 'D_wgan', 'D_wgan_gp']);
  assert.equal(D_LOSSES.D_logistic_simplegp, D_logistic_simplegp);
});

// Cross-check against PyTorch autograd on a small MLP D (leaky ReLU) and G (tanh), including the
// second-order gradients of R1 and the WGAN-GP penalty: tests/fixtures/make_loss_fixture.py.
const FIXTURE = new URL('./fixtures/loss_fixture.json', import.meta.url);
test('losses match the PyTorch reference (tests/fixtures/loss_fixture.json)', async () => {
  await useTestBackend();
  const fx = JSON.parse(fs.readFileSync(FIXTURE, 'utf8')) as Fixture;
  const t = (a: { shape: number[]; data: number[] }) => tf.tensor(a.data, a.shape);
  const vars = Object.fromEntries(Object.entries(fx.params).map(([k, v]) => [k, tf.variable(t(v), true, `${k}${Math.random()}`)]));
  const [W1, b1, v, b2, Ag] = [vars.W1!, vars.b1!, vars.v!, vars.b2!, vars.A!];
  const shape = fx.reals.shape;
  const G: GeneratorFn = (z) => tf.reshape(tf.tanh(tf.matMul(z, Ag)), [-1, ...shape.slice(1)]);
  const D: DiscriminatorFn = (x) => {
    const h = tf.leakyRelu(tf.add(tf.matMul(tf.reshape(x, [x.shape[0]!, -1]), W1), b1), 0.2);
    return tf.add(tf.matMul(h, v), b2);
  };
  const inputs = { latents: t(fx.latents), reals: t(fx.reals), labels: tf.zeros([shape[0]!, 0]), mixing_factors: t(fx.mixing_factors) };
  for (const c of fx.cases) {
    const fn = (G_LOSSES[c.loss] ?? D_LOSSES[c.loss])!;
    const names = c.loss.startsWith('G_') ? ['A'] : ['W1', 'b1', 'v', 'b2'];
    const vs = names.map((n) => vars[n]!);
    const { value, grads } = tf.variableGrads(() => tf.mean(fn(G, D, inputs, c.args).loss) as tf.Scalar, vs);
    close(value.dataSync(), [c.value], `${c.loss} value`, 1e-4);
    names.forEach((n) => close(grads[vars[n]!.name]!.dataSync(), c.grads[n]!, `${c.loss} d/d${n}`, 1e-4));
    value.dispose();
    tf.dispose(grads);
  }
  tf.dispose([...Object.values(vars), ...Object.values(inputs)]);
});

interface Fixture {
  params: Record<string, { shape: number[]; data: number[] }>;
  latents: { shape: number[]; data: number[] };
  reals: { shape: number[]; data: number[] };
  mixing_factors: { shape: number[]; data: number[] };
  cases: { loss: string; args: Record<string, number>; value: number; grads: Record<string, number[]> }[];
}
