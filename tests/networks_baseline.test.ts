// training/networks_baseline.ts: parameter counts against hand-written formulas, forward shapes, batch
// norm against its explicit formula (train and inference), a PyTorch reference (outputs of gan.py's
// MLP GAN and the DCGAN tutorial's G / D with formula weights, made by
// tests/fixtures/make_baseline_fixtures.py), and snapshots that carry the running statistics.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { BatchNorm, D_dcgan, D_mlp, G_dcgan, G_mlp } from '../training/networks_baseline.ts';
import { buildNetworks } from '../training/network_configs.ts';
import { loadNetworks, saveNetworkSnapshot } from '../training/network_io.ts';
import type { Network } from '../training/network.ts';

before(async () => { await useTestBackend(); });

// ---------------------------------------------------------------------------------------------
// Parameter counts, written out from the architectures (trainable only: BN γ and β count, the
// running mean / variance do not).

/** gan.py's G: Linear(L,128); Linear+BN for 128→256→512→1024; Linear(1024, C·R²). */
function ganMlpG(C: number, R: number, L = 100): number {
  let n = L * 128 + 128;
  for (const [a, b] of [[128, 256], [256, 512], [512, 1024]] as const) n += a * b + b + 2 * b;
  return n + 1024 * C * R * R + C * R * R;
}
/** gan.py's D: Linear(C·R², 512), Linear(512, 256), Linear(256, 1). */
const ganMlpD = (C: number, R: number) => C * R * R * 512 + 512 + 512 * 256 + 256 + 256 + 1;

/** DCGAN G: 16·L·nf(2) + BN, then per doubling 16·nf(k−1)·nf(k) + BN, last 16·nf(r−1)·C; nf(k) = f·2^(r−1−k). */
function dcganG(C: number, R: number, f = 64, L = 100): number {
  const r = Math.log2(R);
  const nf = (k: number) => f * 2 ** (r - 1 - k);
  let n = 16 * L * nf(2) + 2 * nf(2);
  for (let k = 3; k < r; k++) n += 16 * nf(k - 1) * nf(k) + 2 * nf(k);
  return n + 16 * nf(r - 1) * C;
}
/** DCGAN D: 16·C·nf(r−1), then 16·nf(k)·nf(k−1) (+ BN 2·nf(k−1) or + bias nf(k−1)), then 16·nf(2) (+1 bias). */
function dcganD(C: number, R: number, f = 64, bn = true, bias = false): number {
  const r = Math.log2(R);
  const nf = (k: number) => f * 2 ** (r - 1 - k);
  let n = 16 * C * nf(r - 1) + (bias ? nf(r - 1) : 0);
  for (let k = r - 1; k >= 3; k--) n += 16 * nf(k) * nf(k - 1) + (bn ? 2 * nf(k - 1) : 0) + (bias ? nf(k - 1) : 0);
  return n + 16 * nf(2) + (bias ? 1 : 0);
}

const disposeAll = (...nets: Network[]) => nets.forEach((n) => n.dispose());

test('gan-mlp at 28×28×1: G 1,510,032 and D 533,505 trainable parameters (the issue\'s figures)', () => {
  assert.equal(ganMlpG(1, 28), 1_510_032);
  assert.equal(ganMlpD(1, 28), 533_505);
  const G = new G_mlp({ num_channels: 1, resolution: 28 }, { seed: 1 });
  const D = new D_mlp({ num_channels: 1, resolution: 28 }, { seed: 2 });
  assert.equal(G.numParams(), 1_510_032);
  assert.equal(D.numParams(), 533_505);
  // Running statistics exist (they go into snapshots) but are not trainable.
  const stats = [...G.vars].filter(([n]) => /moving_(mean|variance)$/.test(n));
  assert.equal(stats.length, 6);
  assert.ok(stats.every(([, v]) => !v.trainable));
  assert.equal(stats.reduce((a, [, v]) => a + v.size, 0), 2 * (256 + 512 + 1024));
  const table = G.print_layers();
  assert.match(table, /^Total\s+1510032$/m);
  assert.match(table, /Dense3\s+527360\s+\(\?, 1024\)\s+\(512, 1024\)/);
  assert.match(table, /images_out\s+-\s+\(\?, 1, 28, 28\)/);
  assert.match(D.print_layers(), /^Total\s+533505$/m);
  disposeAll(G, D);
});

test('gan-mlp at 32×32×1 (the Fashion-MNIST TFRecords) and 28×28×3', () => {
  for (const [C, R] of [[1, 32], [3, 28]] as const) {
    const { G, D } = buildNetworks({ config: 'gan-mlp', num_channels: C, resolution: R, label_size: 0, seed: 3 });
    assert.equal(G.numParams(), ganMlpG(C, R));
    assert.equal(D.numParams(), ganMlpD(C, R));
    disposeAll(G, D);
  }
});

test('dcgan at 64²×3 has the PyTorch tutorial\'s 3,576,704 / 2,765,568 parameters; 32² and wgan-gp by formula', () => {
  assert.equal(dcganG(3, 64), 3_576_704);
  assert.equal(dcganD(3, 64), 2_765_568);
  for (const [C, R] of [[3, 64], [1, 32], [3, 32]] as const) {
    for (const config of ['dcgan', 'wgan-gp'] as const) {
      const { G, D } = buildNetworks({ config, num_channels: C, resolution: R, label_size: 0, seed: 4 });
      assert.equal(G.numParams(), dcganG(C, R), `${config} G ${C}×${R}²`);
      assert.equal(D.numParams(), config === 'dcgan' ? dcganD(C, R) : dcganD(C, R, 64, false, true), `${config} D ${C}×${R}²`);
      assert.match(D.print_layers(), new RegExp(`^Total\\s+${D.numParams()}$`, 'm'));
      disposeAll(G, D);
    }
  }
  // The critic of wgan-gp has no batch-norm variables at all.
  const { G, D } = buildNetworks({ config: 'wgan-gp', num_channels: 1, resolution: 32, label_size: 0, seed: 5 });
  assert.ok(![...D.vars.keys()].some((n) => n.includes('BatchNorm')));
  assert.ok([...G.vars.keys()].some((n) => n.includes('BatchNorm')));
  disposeAll(G, D);
});

test('forward shapes: G latents → NCHW images in (−1, 1); D images → [N, 1] logits', () => {
  const cases: [Network & { run: (...a: never[]) => tf.Tensor }, Network & { run: (...a: never[]) => tf.Tensor }, number, number, number][] = [
    [new G_mlp({ num_channels: 1, resolution: 28 }, { seed: 1 }), new D_mlp({ num_channels: 1, resolution: 28 }, { seed: 2 }), 100, 1, 28],
    [new G_dcgan({ num_channels: 3, resolution: 32, fmap: 8 }, { seed: 1 }), new D_dcgan({ num_channels: 3, resolution: 32, fmap: 8 }, { seed: 2 }), 100, 3, 32],
    [new G_dcgan({ num_channels: 1, resolution: 8, fmap: 4, latent_size: 16 }, { seed: 1 }), new D_dcgan({ num_channels: 1, resolution: 8, fmap: 4 }, { seed: 2 }), 16, 1, 8],
  ];
  for (const [G, D, L, C, R] of cases) {
    for (const is_training of [false, true]) {
      const z = tf.randomNormal([4, L], 0, 1, 'float32', 7) as tf.Tensor2D;
      const img = (G as unknown as G_mlp).run(z, null, { is_training });
      assert.deepEqual(img.shape, [4, C, R, R]);
      const v = img.dataSync();
      assert.ok(v.every((x) => x > -1 && x < 1));
      const s = (D as unknown as D_mlp).run(img, null, { is_training });
      assert.deepEqual(s.shape, [4, 1]);
      tf.dispose([z, img, s]);
    }
    disposeAll(G, D);
  }
});

test('bad kwargs and inputs are one-line UserErrors', () => {
  const isUserError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');
  assert.throws(() => new G_mlp({ label_size: 10 }), isUserError(/unconditional/));
  assert.throws(() => new G_dcgan({ resolution: 48 }), isUserError(/power of two/));
  assert.throws(() => new D_dcgan({ resolution: 4 }), isUserError(/≥ 8/));
  assert.throws(() => new D_dcgan({ fmaps: 3 }), isUserError(/unknown keyword argument 'fmaps'/));
  const G = new G_dcgan({ resolution: 8, fmap: 2, latent_size: 4 }, { seed: 1 });
  const z = tf.zeros([1, 4]) as tf.Tensor2D;
  assert.throws(() => G.run(z, null, { lod: 1 }), isUserError(/lod must be 0/));
  const z5 = tf.zeros([1, 5]) as tf.Tensor2D;
  assert.throws(() => G.run(z5), isUserError(/latents must be \[N, 4\]/));
  // BatchNorm1d needs two samples in training mode (PyTorch refuses too); BatchNorm2d has H·W per sample.
  const Gm = new G_mlp({ resolution: 4 }, { seed: 1 });
  const z1 = tf.zeros([1, 100]) as tf.Tensor2D;
  assert.throws(() => Gm.run(z1, null, { is_training: true }), isUserError(/more than one value per channel/));
  tf.dispose([z, z5, z1]);
  disposeAll(G, Gm);
});

// ---------------------------------------------------------------------------------------------
// Batch norm against its formula.

function bnOwner() {
  const vars: tf.Variable[] = [];
  return {
    vars,
    initializing: true,
    makeVar(_name: string, shape: number[], init: unknown, trainable = true) {
      const v = tf.variable(init === 'ones' ? tf.ones(shape) : tf.zeros(shape), trainable);
      vars.push(v);
      return v;
    },
  };
}

test('batch norm: train mode = batch mean, biased var + ε; running stats with momentum and the unbiased var; eval = running stats', () => {
  for (const shape of [[7, 5], [3, 4, 4, 2]]) {
    const C = shape.at(-1)!;
    const owner = bnOwner();
    const eps = 0.8;
    const m = 0.1;
    const bn = new BatchNorm(owner, 'BN', C, eps, m, null);
    const gamma = Array.from({ length: C }, (_, c) => 0.5 + 0.25 * c);
    const beta = Array.from({ length: C }, (_, c) => 0.1 * c - 0.2);
    bn.gamma.assign(tf.tensor1d(gamma));
    bn.beta.assign(tf.tensor1d(beta));
    let rm = new Array<number>(C).fill(0);
    let rv = new Array<number>(C).fill(1);
    for (let step = 0; step < 2; step++) {
      const x = tf.randomNormal(shape, step, 1.5, 'float32', 10 + step);
      const xs = Array.from(x.dataSync());
      const n = xs.length / C;
      const mean = new Array<number>(C).fill(0);
      const sq = new Array<number>(C).fill(0);
      xs.forEach((v, i) => { mean[i % C] += v / n; });
      xs.forEach((v, i) => { sq[i % C] += (v - mean[i % C]!) ** 2; });
      const biased = sq.map((s) => s / n);
      const unbiased = sq.map((s) => s / (n - 1));
      const yTrain = xs.map((v, i) => (v - mean[i % C]!) / Math.sqrt(biased[i % C]! + eps) * gamma[i % C]! + beta[i % C]!);
      const y = bn.apply(x, true);
      assertClose(y.dataSync(), yTrain, 1e-5, `train y ${shape}`);
      rm = rm.map((r, c) => (1 - m) * r + m * mean[c]!);
      rv = rv.map((r, c) => (1 - m) * r + m * unbiased[c]!);
      assertClose(bn.moving_mean.dataSync(), rm, 1e-6, 'running mean');
      assertClose(bn.moving_variance.dataSync(), rv, 1e-5, 'running var');
      const yEval = xs.map((v, i) => (v - rm[i % C]!) / Math.sqrt(rv[i % C]! + eps) * gamma[i % C]! + beta[i % C]!);
      const before = bn.moving_mean.dataSync().slice();
      const ye = bn.apply(x, false);
      assertClose(ye.dataSync(), yEval, 1e-5, `eval y ${shape}`);
      assert.deepEqual(bn.moving_mean.dataSync(), before, 'eval mode leaves the running stats alone');
      tf.dispose([x, y, ye]);
    }
    owner.vars.forEach((v) => v.dispose());
  }
});

test('training-mode forwards under a gradient tape: running stats update, no tensor leaks', () => {
  const G = new G_dcgan({ num_channels: 1, resolution: 8, fmap: 4, latent_size: 8 }, { seed: 1 });
  const D = new D_dcgan({ num_channels: 1, resolution: 8, fmap: 4 }, { seed: 2 });
  const step = () => {
    const z = tf.randomNormal([6, 8], 0, 1, 'float32', 3) as tf.Tensor2D;
    const { value, grads } = tf.variableGrads(() => tf.mean(D.run(G.run(z, null, { is_training: true }), null, { is_training: true })) as tf.Scalar, [...G.trainables.values(), ...D.trainables.values()]);
    tf.dispose([z, value, grads]);
  };
  step();
  const rm0 = G.getVar('4x4/Dense/BatchNorm/moving_mean').dataSync().slice();
  const n0 = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) step();
  assert.equal(tf.memory().numTensors, n0);
  assert.notDeepEqual(G.getVar('4x4/Dense/BatchNorm/moving_mean').dataSync(), rm0);
  disposeAll(G, D);
});

function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number, what: string): void {
  assert.equal(actual.length, expected.length, `${what}: length`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i]! - expected[i]!);
    if (!(d <= worst)) { worst = d; at = i; }
  }
  assert.ok(worst <= tol, `${what}: max |Δ| ${worst} at ${at} (${actual[at]} vs ${expected[at]}) > ${tol}`);
}

// ---------------------------------------------------------------------------------------------
// PyTorch reference.

interface Param { name: string; k: number; offset: number; scale: number; shape: number[] }
interface Case {
  kwargs: Record<string, unknown>; params: Param[]; input_shape: number[]; input: number[];
  output_shape: number[]; eval: number[]; train: number[]; running_after_train: Record<string, number[]>;
}
const fx = JSON.parse(fs.readFileSync(new URL('./fixtures/baseline_reference.json', import.meta.url), 'utf8')) as Record<string, Case>;

/** The fixture's formula, float64 then float32 (as numpy's astype). */
function formula(p: Param): Float32Array {
  const n = p.shape.reduce((a, b) => a * b, 1);
  return Float32Array.from({ length: n }, (_, i) => p.offset + p.scale * Math.sin(0.7 * i + 1.3 * p.k));
}

/** torch layout → ours: Linear [out,in] → [in,out]; ConvTranspose [in,out,k,k] → [k,k,in,out]; Conv [out,in,k,k] → [k,k,in,out]; the 1×1 ends → dense. */
function toOurs(ourName: string, p: Param, data: Float32Array, ourShape: readonly number[]): tf.Tensor {
  return tf.tidy(() => {
    const t = tf.tensor(data, p.shape);
    if (p.shape.length === 1) return t;
    if (p.shape.length === 2) return tf.transpose(t);
    if (/Conv0_up\/weight$/.test(ourName)) return tf.transpose(t, [2, 3, 0, 1]);
    if (/Conv0_down\/weight$/.test(ourName)) return tf.transpose(t, [2, 3, 1, 0]);
    if (ourName === '4x4/Dense/weight' && ourShape[1] === 1) return tf.transpose(tf.reshape(t, [1, -1])); // D: Conv2d(nf, 1, 4) → [nf·16, 1]
    if (ourName === '4x4/Dense/weight') return tf.reshape(t, [p.shape[0]!, -1]); // G: ConvTranspose2d(nz, nf, 4) → [nz, nf·16]
    throw new Error(`no layout rule for ${ourName} ${p.shape}`);
  });
}

const TORCH_BN: Record<string, string> = { weight: 'gamma', bias: 'beta', running_mean: 'moving_mean', running_var: 'moving_variance' };

function loadCase(net: Network, c: Case): void {
  const vars = [...net.vars];
  assert.equal(vars.length, c.params.length, 'same number of tensors as the torch state_dict');
  c.params.forEach((p, i) => {
    const [ourName, v] = vars[i]!;
    // Same creation order as torch's state_dict; batch-norm names map one to one.
    const leaf = p.name.split('.').pop()!;
    if (ourName.includes('/BatchNorm/')) assert.equal(ourName.split('/').pop(), TORCH_BN[leaf], `${ourName} ← ${p.name}`);
    else assert.equal(ourName.split('/').pop(), leaf, `${ourName} ← ${p.name}`);
    const t = toOurs(ourName, p, formula(p), v.shape);
    net.setVar(ourName, t);
    t.dispose();
  });
}

for (const [key, make] of [
  ['G_mlp', (kw: Record<string, unknown>) => new G_mlp(kw, { initialize: false })],
  ['D_mlp', (kw: Record<string, unknown>) => new D_mlp(kw, { initialize: false })],
  ['G_dcgan', (kw: Record<string, unknown>) => new G_dcgan(kw, { initialize: false })],
  ['D_dcgan', (kw: Record<string, unknown>) => new D_dcgan(kw, { initialize: false })],
  ['D_dcgan_wgan', (kw: Record<string, unknown>) => new D_dcgan(kw, { initialize: false })],
] as const) {
  test(`${key} agrees with PyTorch (eval and train mode, running stats) within 1e-4`, () => {
    const c = fx[key]!;
    const net = make(c.kwargs);
    loadCase(net, c);
    const isG = key.startsWith('G');
    const input = isG ? tf.tensor(c.input, [c.input_shape[0]!, c.input_shape[1]!]) : tf.tensor(c.input, c.input_shape);
    const run = (is_training: boolean) => (net as unknown as { run(x: tf.Tensor, l: null, o: object): tf.Tensor }).run(input, null, { is_training });
    const ev = run(false);
    assert.deepEqual(ev.shape.reduce((a, b) => a * b, 1), c.eval.length);
    assertClose(ev.dataSync(), c.eval, 1e-4, `${key} eval`);
    const tr = run(true);
    assertClose(tr.dataSync(), c.train, 1e-4, `${key} train`);
    // Running statistics after that one train-mode forward, matched by order.
    const ours = [...net.vars].filter(([n]) => /moving_(mean|variance)$/.test(n));
    const theirs = Object.entries(c.running_after_train);
    assert.equal(ours.length, theirs.length);
    ours.forEach(([n, v], i) => assertClose(v.dataSync(), theirs[i]![1], 1e-4, `${key} ${n} ← ${theirs[i]![0]}`));
    tf.dispose([input, ev, tr]);
    net.dispose();
  });
}

// ---------------------------------------------------------------------------------------------
// Snapshots.

test('snapshots round-trip the baselines into the right classes, running statistics included', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-baseline-'));
  try {
    for (const config of ['gan-mlp', 'dcgan', 'wgan-gp'] as const) {
      const { G, D } = buildNetworks({ config, num_channels: 1, resolution: 8 * (config === 'gan-mlp' ? 1 : 2), label_size: 0, seed: 9 });
      // Make the running statistics non-default so a lost one would show.
      const z = tf.randomNormal([4, (G as G_mlp).latent_size], 0, 1, 'float32', 1) as tf.Tensor2D;
      tf.dispose((G as G_mlp).run(z, null, { is_training: true }));
      const Gs = G.clone('Gs');
      const file = path.join(dir, `${config}.safetensors`);
      saveNetworkSnapshot(file, { G, D, Gs, kimg: 1 });
      const loaded = await loadNetworks(file, { quiet: true });
      assert.equal(loaded.Gs.constructor, G.constructor);
      assert.equal(loaded.D!.constructor, D.constructor);
      assert.deepEqual(loaded.D!.static_kwargs, D.static_kwargs);
      for (const [n, v] of G.vars) assert.deepEqual(loaded.Gs.getVar(n).dataSync(), v.dataSync(), `${config} Gs ${n}`);
      const a = (Gs as G_mlp).run(z);
      const b = (loaded.Gs as G_mlp).run(z);
      assert.deepEqual(b.dataSync(), a.dataSync());
      tf.dispose([z, a, b]);
      disposeAll(G, D, Gs, loaded.Gs, loaded.G!, loaded.D!);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
