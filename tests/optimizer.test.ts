import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { Optimizer } from '../training/optimizer.ts';

// Expected values are TF1 Adam written out by hand with β1 = 0, β2 = 0.99, ε = 1e-8:
//   m_t = g_t,  v_t = 0.99·v_{t−1} + 0.01·g_t²,  α_t = lr_t·√(1 − 0.99^t),  θ −= α_t·g_t / (√v_t + ε).

function close(actual: ArrayLike<number>, expected: number[], what: string, tol = 1e-5) {
  assert.equal(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    assert.ok(Math.abs(a - e) <= tol * Math.max(Math.abs(e), 1e-3), `${what}[${i}]: ${a} vs ${e}`);
  }
}

let seq = 0;
const variable = (values: number[], shape: number[]) => tf.variable(tf.tensor(values, shape), true, `opt_test_${seq++}`);
const vals = (v: tf.Variable) => Array.from(v.dataSync());

// Two variables (shapes [2] and [2,1]) so the flat buffer is split back correctly.
// Element 0: an ordinary gradient; 1: sign flips; 2: a tiny gradient where ε matters; 3: always zero.
const G_STEPS = [
  [0.5, -2, 1e-8, 0],
  [0.5, 1, 1e-8, 0],
  [-1, 1, 1e-8, 0],
];
const LRS = [0.01, 0.01, 0.02];

test('TF1 Adam: a hand-computed 3-step trajectory with per-step learning rates', async () => {
  await useTestBackend();
  const a = variable([1, -2], [2]);
  const b = variable([0.5, 3], [2, 1]);
  const opt = new Optimizer([a, b], { name: 'TrainD' });
  const theta = [1, -2, 0.5, 3];
  const v = [0, 0, 0, 0];
  for (let t = 1; t <= 3; t++) {
    const g = G_STEPS[t - 1]!;
    const lr = LRS[t - 1]!;
    const alpha = lr * Math.sqrt(1 - 0.99 ** t);
    for (let i = 0; i < 4; i++) {
      v[i] = 0.99 * v[i]! + 0.01 * g[i]! ** 2;
      theta[i] = theta[i]! - (alpha * g[i]!) / (Math.sqrt(v[i]!) + 1e-8);
    }
    const grads = [tf.tensor(g.slice(0, 2), [2]), tf.tensor(g.slice(2), [2, 1])];
    const r = opt.applyUpdates(grads, lr);
    tf.dispose(grads);
    assert.equal(r.applied, true);
    assert.deepEqual(r.stats, { 'TrainD/learning_rate': lr, 'TrainD/overflow_frequency': 0 });
    close([...vals(a), ...vals(b)], theta, `θ after step ${t}`);
    // Literal numbers for step 1: θ0 = 1 − 0.01·0.1·0.5/(0.05 + 1e-8), θ1 = −2 + 0.01·0.1·2/(0.2 + 1e-8).
    if (t === 1) close(vals(a), [0.990000002, -1.99000000005], 'θ after step 1, by hand');
  }
  assert.equal(opt.t, 3);
  assert.deepEqual(b.shape, [2, 1]);
  opt.dispose();
  a.dispose();
  b.dispose();
});

test('ε is added to the uncorrected √v (TF), not to √v̂ (paper / PyTorch)', async () => {
  await useTestBackend();
  // One step with g = 1e-8: v = 1e-18, √v = 1e-9, so Δ = lr·0.1·1e-8/(1e-9 + 1e-8) = lr/11.
  // With ε on √v̂ = 1e-8 it would be lr·1e-8/(1e-8 + 1e-8) = lr/2.
  const x = variable([0], [1]);
  const opt = new Optimizer([x]);
  const g = tf.tensor([1e-8], [1]);
  opt.applyUpdates([g], 0.1);
  close(vals(x), [-0.1 / 11], 'tiny-gradient step');
  // And a large gradient gives Δ ≈ lr·√(1 − β2)·sign(g)/√(1 − β2) = lr at step 1.
  const y = variable([0], [1]);
  const opt2 = new Optimizer([y]);
  const g2 = tf.tensor([3], [1]);
  opt2.applyUpdates([g2], 0.1);
  close(vals(y), [-0.1 * (0.1 * 3) / (0.3 + 1e-8)], 'large-gradient step');
  tf.dispose([x, y, g, g2]);
  opt.dispose();
  opt2.dispose();
});

test('reset() zeroes m, v and the β powers: the next step is a first step again', async () => {
  await useTestBackend();
  const x = variable([1, 1], [2]);
  const opt = new Optimizer([x]);
  for (const g of [[1, -3], [2, 0.5]]) {
    const gt = tf.tensor(g, [2]);
    opt.applyUpdates([gt], 0.01);
    gt.dispose();
  }
  const before = vals(x);
  opt.reset();
  assert.equal(opt.t, 0);
  const state = opt.exportState();
  assert.deepEqual([...state.m[0]!, ...state.v[0]!], [0, 0, 0, 0]);
  const gt = tf.tensor([0.4, -0.1], [2]);
  opt.applyUpdates([gt], 0.01);
  // First-step update: Δ = lr·0.1·g/(0.1·|g| + ε).
  close(vals(x), before.map((p, i) => p - (0.01 * 0.1 * [0.4, -0.1][i]!) / (0.1 * Math.abs([0.4, -0.1][i]!) + 1e-8)), 'after reset');
  tf.dispose([x, gt]);
  opt.dispose();
});

test('a non-finite gradient in any variable skips the whole update and does not advance t', async () => {
  await useTestBackend();
  const a = variable([1, 2], [2]);
  const b = variable([3], [1]);
  const opt = new Optimizer([a, b], { name: 'TrainG' });
  const good = [tf.tensor([0.5, 0.5], [2]), tf.tensor([1], [1])];
  opt.applyUpdates(good, 0.01);
  const after1 = [...vals(a), ...vals(b)];
  for (const bad of [NaN, Infinity, -Infinity]) {
    const grads = [tf.tensor([0.5, 0.5], [2]), tf.tensor([bad], [1])];
    const r = opt.applyUpdates(grads, 0.01);
    tf.dispose(grads);
    assert.equal(r.applied, false);
    assert.equal(r.stats['TrainG/overflow_frequency'], 1);
    assert.deepEqual([...vals(a), ...vals(b)], after1, `unchanged after a ${bad} gradient`);
    assert.equal(opt.t, 1);
  }
  // The next good step is step 2 of the trajectory: v = 0.99·0.01·g1² + 0.01·g2², α = lr·√(1 − 0.99²).
  const grads2 = [tf.tensor([1, 1], [2]), tf.tensor([1], [1])];
  opt.applyUpdates(grads2, 0.01);
  const v0 = 0.99 * 0.01 * 0.25 + 0.01;
  const v2 = 0.99 * 0.01 * 1 + 0.01;
  const alpha = 0.01 * Math.sqrt(1 - 0.99 ** 2);
  close([...vals(a), ...vals(b)], [after1[0]! - alpha / (Math.sqrt(v0) + 1e-8), after1[1]! - alpha / (Math.sqrt(v0) + 1e-8), after1[2]! - alpha / (Math.sqrt(v2) + 1e-8)], 'step 2');
  tf.dispose([a, b, ...good, ...grads2]);
  opt.dispose();
});

test('computeGradients / minimize: mean loss, disconnected variables get zero gradients', async () => {
  await useTestBackend();
  const x = variable([1, -2], [2]);
  const unused = variable([5], [1]);
  const opt = new Optimizer([x, unused]);
  // f = mean(x²) → ∂f/∂x = x (for 2 elements), first step Δ = lr·0.1·x/(0.1·|x| + ε).
  const r = opt.minimize(() => tf.mean(tf.square(x)) as tf.Scalar, 0.01);
  assert.equal(r.loss, 2.5);
  close(vals(x), [1 - (0.01 * 0.1 * 1) / (0.1 + 1e-8), -2 + (0.01 * 0.1 * 2) / (0.2 + 1e-8)], 'x after minimize');
  assert.deepEqual(vals(unused), [5]);
  tf.dispose([x, unused]);
  opt.dispose();
});

test('dynamic loss scaling: 2^64 applied and undone, +0.0005 per good step, −1 per overflow', async () => {
  await useTestBackend();
  const x = variable([1, 2], [2]);
  const ref = variable([1, 2], [2]);
  const opt = new Optimizer([x], { name: 'TrainG', use_loss_scaling: true });
  const plain = new Optimizer([ref]);
  assert.equal(opt.loss_scaling_log2, 64);
  const loss = (v: tf.Variable) => () => tf.sum(tf.square(v)) as tf.Scalar;
  // The scaled loss is 5·2^64; scaling by powers of two is exact, so the update equals the unscaled one.
  const { grads } = opt.computeGradients(loss(x));
  close(grads[0]!.dataSync(), [2 * 2 ** 64, 4 * 2 ** 64], 'scaled gradients');
  const r = opt.applyUpdates(grads, 0.01);
  tf.dispose(grads);
  plain.minimize(loss(ref), 0.01);
  assert.deepEqual(vals(x), vals(ref));
  assert.equal(r.stats['TrainG/loss_scaling_log2'], Math.fround(64.0005));
  // A loss of 3e20·Σx: its gradient 3e20·2^64.0005 overflows float32 → skip, ls −= 1.
  const before = vals(x);
  const o = opt.minimize(() => tf.mul(tf.sum(x), 3e20) as tf.Scalar, 0.01);
  assert.equal(o.applied, false);
  assert.deepEqual(vals(x), before);
  assert.equal(opt.loss_scaling_log2, Math.fround(Math.fround(64.0005) - 1));
  // reset() is Adam's state only; the loss scale survives it (NVIDIA's ls variable is separate).
  opt.reset();
  assert.equal(opt.loss_scaling_log2, Math.fround(Math.fround(64.0005) - 1));
  tf.dispose([x, ref]);
  opt.dispose();
  plain.dispose();
});

test('exportState / importState resume bit-identically', async () => {
  await useTestBackend();
  const a = variable([1, -2, 0.5], [3]);
  const b = variable([0.25], [1]);
  const opt = new Optimizer([a, b]);
  const steps = [[[0.5, -2, 1e-8], [1]], [[0.5, 1, 1e-8], [-1]], [[-1, 1, 2], [0.5]]];
  const apply = (o: Optimizer, s: number[][]) => {
    const g = [tf.tensor(s[0]!, [3]), tf.tensor(s[1]!, [1])];
    o.applyUpdates(g, 0.01);
    tf.dispose(g);
  };
  apply(opt, steps[0]!);
  apply(opt, steps[1]!);
  const state = opt.exportState();
  assert.equal(state.t, 2);
  assert.deepEqual(state.names, [a.name, b.name]);
  // m is the last gradient (β1 = 0); v follows the recursion.
  close(state.m[0]!, [0.5, 1, 1e-8], 'm[0]');
  close(state.v[1]!, [0.99 * 0.01 * 1 + 0.01 * 1], 'v[1]');
  // A fresh optimizer on copies of the variables, given the plain-array state, continues identically.
  const a2 = variable(vals(a), [3]);
  const b2 = variable(vals(b), [1]);
  const resumed = new Optimizer([a2, b2]);
  resumed.importState(JSON.parse(JSON.stringify({ ...state, m: state.m.map((x) => Array.from(x)), v: state.v.map((x) => Array.from(x)) })));
  assert.equal(resumed.t, 2);
  apply(opt, steps[2]!);
  apply(resumed, steps[2]!);
  assert.deepEqual([...vals(a2), ...vals(b2)], [...vals(a), ...vals(b)]);
  assert.throws(() => resumed.importState({ t: 1, m: [[1]], v: [[1]] }), /1 moments for 2 variables/);
  tf.dispose([a, b, a2, b2]);
  opt.dispose();
  resumed.dispose();
});

test('optimizer steps leave no tensors behind', async () => {
  await useTestBackend();
  const x = variable([1, 2], [2]);
  const opt = new Optimizer([x]);
  opt.minimize(() => tf.sum(tf.square(x)) as tf.Scalar, 0.01); // allocates m and v
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) opt.minimize(() => tf.sum(tf.square(x)) as tf.Scalar, 0.01);
  assert.equal(tf.memory().numTensors, before);
  opt.dispose();
  x.dispose();
});
