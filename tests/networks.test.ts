// The StyleGAN / ProGAN networks: parameter totals and variable lists of spec §4.6 (written out here
// from the spec's tables, not from the code), the G_style / D_basic behaviours against explicit
// formulas, small-config forwards on the test backend, and second-order gradients.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { G_style, D_basic, G_mapping, G_synthesis, mixDlatents, truncateDlatents } from '../training/networks_stylegan.ts';
import { G_paper, D_paper } from '../training/networks_progan.ts';
import type { Network } from '../training/network.ts';

before(async () => {
  await useTestBackend();
});

const FFHQ = { num_channels: 3, resolution: 1024, label_size: 0 };
const TUNED_BASELINE = {
  use_styles: false, use_pixel_norm: true, use_instance_norm: false, mapping_layers: 0,
  truncation_psi: null, const_input_layer: false, style_mixing_prob: 0.0, use_noise: false,
};

function withNet<T extends Network, R>(net: T, fn: (net: T) => R): R {
  try {
    return fn(net);
  } finally {
    net.dispose();
  }
}

/** Seeded uniform [0,1) source (mulberry32) for the style-mixing draw. */
function seededRng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
}

// ---------------------------------------------------------------------------------------------
// Spec §4.6, written out.

function expectedGVars(): [string, number[], boolean][] {
  const out: [string, number[], boolean][] = [['lod', [], false], ['dlatent_avg', [512], false], ['G_synthesis/lod', [], false]];
  for (let i = 0; i < 18; i++) {
    const r = 2 ** (Math.floor(i / 2) + 2);
    out.push([`G_synthesis/noise${i}`, [1, 1, r, r], false]);
  }
  const epi = (scope: string, c: number) => {
    out.push([`G_synthesis/${scope}/Noise/weight`, [c], true], [`G_synthesis/${scope}/bias`, [c], true]);
    out.push([`G_synthesis/${scope}/StyleMod/weight`, [512, 2 * c], true], [`G_synthesis/${scope}/StyleMod/bias`, [2 * c], true]);
  };
  out.push(['G_synthesis/4x4/Const/const', [1, 512, 4, 4], true]);
  epi('4x4/Const', 512);
  out.push(['G_synthesis/4x4/Conv/weight', [3, 3, 512, 512], true]);
  epi('4x4/Conv', 512);
  out.push(['G_synthesis/ToRGB_lod8/weight', [1, 1, 512, 3], true], ['G_synthesis/ToRGB_lod8/bias', [3], true]);
  const table = [[8, 512, 512, 7], [16, 512, 512, 6], [32, 512, 512, 5], [64, 512, 256, 4], [128, 256, 128, 3], [256, 128, 64, 2], [512, 64, 32, 1], [1024, 32, 16, 0]];
  for (const [res, cin, cout, lod] of table as [number, number, number, number][]) {
    out.push([`G_synthesis/${res}x${res}/Conv0_up/weight`, [3, 3, cin, cout], true]);
    epi(`${res}x${res}/Conv0_up`, cout);
    out.push([`G_synthesis/${res}x${res}/Conv1/weight`, [3, 3, cout, cout], true]);
    epi(`${res}x${res}/Conv1`, cout);
    out.push([`G_synthesis/ToRGB_lod${lod}/weight`, [1, 1, cout, 3], true], [`G_synthesis/ToRGB_lod${lod}/bias`, [3], true]);
  }
  for (let i = 0; i < 8; i++) out.push([`G_mapping/Dense${i}/weight`, [512, 512], true], [`G_mapping/Dense${i}/bias`, [512], true]);
  return out;
}

function expectedDVars(): [string, number[], boolean][] {
  const out: [string, number[], boolean][] = [['lod', [], false]];
  const pair = (scope: string, shape: number[]) => out.push([`${scope}/weight`, shape, true], [`${scope}/bias`, [shape[3]!], true]);
  pair('FromRGB_lod0', [1, 1, 3, 16]);
  const table = [[1024, 16, 32], [512, 32, 64], [256, 64, 128], [128, 128, 256], [64, 256, 512], [32, 512, 512], [16, 512, 512], [8, 512, 512]];
  table.forEach(([res, cin, cout], i) => {
    pair(`${res}x${res}/Conv0`, [3, 3, cin!, cin!]);
    pair(`${res}x${res}/Conv1_down`, [3, 3, cin!, cout!]);
    pair(`FromRGB_lod${i + 1}`, [1, 1, 3, cout!]);
  });
  pair('4x4/Conv', [3, 3, 513, 512]);
  out.push(['4x4/Dense0/weight', [8192, 512], true], ['4x4/Dense0/bias', [512], true]);
  out.push(['4x4/Dense1/weight', [512, 1], true], ['4x4/Dense1/bias', [1], true]);
  return out;
}

function varList(net: Network): [string, number[], boolean][] {
  return [...net.vars].map(([name, v]) => [name, [...v.shape], v.trainable]);
}

test('G_style at FFHQ 1024²: every variable name, shape and trainable flag of §4.6, in order; 26,219,627 params', () => {
  withNet(new G_style(FFHQ), (G) => {
    assert.deepEqual(varList(G), expectedGVars());
    assert.equal(G.numParams(), 26_219_627);
    assert.equal(G.components.mapping.numParams(), 2_101_248);
    assert.equal(G.components.synthesis.numParams(), 24_118_379);
    assert.equal([...G.components.synthesis.trainables].length, 108);
    assert.equal([...G.components.mapping.trainables].length, 16);
    // Own variables per network (the pickle's `variables` lists) and component names.
    assert.deepEqual([...G.own_vars.keys()], ['lod', 'dlatent_avg']);
    assert.deepEqual(Object.keys(G.components), ['synthesis', 'mapping']);
    // NVIDIA's input/output metadata (pretrained_example draws latents of Gs.input_shape[1]).
    assert.deepEqual(G.input_names, ['latents_in', 'labels_in']);
    assert.deepEqual(G.input_shape, [null, 512]);
    assert.deepEqual(G.input_shapes[1], [null, 0]);
    assert.deepEqual(G.output_shape, [null, 3, 1024, 1024]);
    assert.deepEqual(G.components.synthesis.input_shape, [null, 18, 512]);
    assert.deepEqual(G.components.mapping.output_shape, [null, 18, 512]);
    assert.equal(G.components.synthesis.name, 'G_synthesis');
    const noise = [...G.components.synthesis.vars].filter(([n]) => n.startsWith('noise')).reduce((a, [, v]) => a + v.size, 0);
    assert.equal(noise, 2_796_192);
    // print_layers ends with NVIDIA's total.
    const table = G.print_layers();
    assert.match(table, /^G\s+Params\s+OutputShape\s+WeightShape\n---/);
    assert.match(table, /\nTotal\s+26219627$/);
    assert.match(table, /\nG_synthesis\/64x64\/Conv0_up\s+1442816\s+\(\?, 256, 64, 64\)\s+\(3, 3, 512, 256\)\n/);
  });
});

test('D_basic at FFHQ 1024²: every variable of §4.6 in order; 23,087,249 params', () => {
  withNet(new D_basic(FFHQ, { initialize: false }), (D) => {
    assert.deepEqual(varList(D), expectedDVars());
    assert.equal(D.numParams(), 23_087_249);
    assert.match(D.print_layers(), /\nTotal\s+23087249$/);
    assert.deepEqual(D.input_shapes, [[null, 3, 1024, 1024], [null, 0]]);
    assert.deepEqual(D.output_shape, [null, 1]);
  });
});

test('parameter totals of §4.6: 512², 256², tuned baseline, configs C and D', () => {
  const count = (net: Network) => withNet(net, (n) => n.numParams());
  const noInit = { initialize: false }; // shapes only: skip drawing the random initial values
  assert.equal(count(new G_style({ ...FFHQ, resolution: 512 }, noInit)), 26_179_768);
  assert.equal(count(new D_basic({ ...FFHQ, resolution: 512 }, noInit)), 23_080_225);
  assert.equal(count(new G_style({ ...FFHQ, resolution: 256 }, noInit)), 26_086_229);
  assert.equal(count(new D_basic({ ...FFHQ, resolution: 256 }, noInit)), 23_052_353);
  assert.equal(count(new G_style({ ...FFHQ, ...TUNED_BASELINE }, noInit)), 23_079_115);
  // Config D: constant input, no noise. Config C: dense input + styles, no noise.
  assert.equal(count(new G_style({ ...FFHQ, style_mixing_prob: 0, use_noise: false }, noInit)), 26_214_539);
  assert.equal(count(new G_style({ ...FFHQ, const_input_layer: false, style_mixing_prob: 0, use_noise: false }, noInit)), 30_400_651);
});

test('tuned baseline: 4x4/Dense input, no styles/noise, one dlatent, pixel norm; print_layers total equals numParams', () => {
  withNet(new G_style({ ...FFHQ, ...TUNED_BASELINE }, { initialize: false }), (G) => {
    const names = [...G.vars.keys()];
    assert.deepEqual(names.slice(0, 5), ['lod', 'dlatent_avg', 'G_synthesis/lod', 'G_synthesis/4x4/Dense/weight', 'G_synthesis/4x4/Dense/bias']);
    assert.deepEqual([...G.getVar('G_synthesis/4x4/Dense/weight').shape], [512, 8192]);
    assert.ok(!names.some((n) => n.includes('Noise') || n.includes('StyleMod') || n.startsWith('G_mapping/')));
    assert.equal(G.num_layers, 1);
    const total = Number(/Total\s+(\d+)/.exec(G.print_layers())![1]);
    assert.equal(total, G.numParams());
  });
});

test('ProGAN G_paper / D_paper at 1024²: totals and NVIDIA names', () => {
  withNet(new G_paper({ num_channels: 3, resolution: 1024 }, { initialize: false }), (G) => {
    assert.equal(G.numParams(), 23_079_115);
    const names = [...G.vars.keys()];
    assert.deepEqual(names.slice(0, 7), ['lod', '4x4/Dense/weight', '4x4/Dense/bias', '4x4/Conv/weight', '4x4/Conv/bias', 'ToRGB_lod8/weight', 'ToRGB_lod8/bias']);
    assert.deepEqual(names.slice(7, 13), ['8x8/Conv0_up/weight', '8x8/Conv0_up/bias', '8x8/Conv1/weight', '8x8/Conv1/bias', 'ToRGB_lod7/weight', 'ToRGB_lod7/bias']);
    assert.deepEqual([...G.getVar('4x4/Dense/weight').shape], [512, 8192]);
  });
  // NVIDIA's own defaults are num_channels=1 (the dataset overrides it): 5,106 fewer ToRGB params.
  withNet(new G_paper({ resolution: 1024 }, { initialize: false }), (G) => assert.equal(G.numParams(), 23_074_009));
  withNet(new D_paper({ num_channels: 3, resolution: 1024 }, { initialize: false }), (D) => {
    assert.equal(D.numParams(), 23_087_249);
    assert.deepEqual([...D.vars.keys()].slice(0, 7), ['lod', 'FromRGB_lod0/weight', 'FromRGB_lod0/bias', '1024x1024/Conv0/weight', '1024x1024/Conv0/bias', '1024x1024/Conv1_down/weight', '1024x1024/Conv1_down/bias']);
  });
  withNet(new G_paper({ resolution: 16, fused_scale: false }), (G) => assert.ok(G.vars.has('16x16/Conv0/weight')));
  withNet(new D_paper({ resolution: 16, fused_scale: false }), (D) => assert.ok(D.vars.has('16x16/Conv1/weight')));
});

test('initial values: N(0, 1/lrmul) raw weights, ones for const, zeros for biases/noise weights, N(0,1) noise', () => {
  withNet(new G_style({ num_channels: 3, resolution: 32 }, { seed: 40 }), (G) => {
    const stats = (name: string) => {
      const v = G.getVar(name).dataSync() as Float32Array;
      const mean = v.reduce((a, b) => a + b, 0) / v.length;
      const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
      return { mean, std };
    };
    const m = stats('G_mapping/Dense3/weight'); // 262,144 draws of N(0, 100)
    assert.ok(Math.abs(m.std - 100) < 1 && Math.abs(m.mean) < 1, JSON.stringify(m));
    const c = stats('G_synthesis/16x16/Conv1/weight');
    assert.ok(Math.abs(c.std - 1) < 0.01 && Math.abs(c.mean) < 0.01, JSON.stringify(c));
    const n = stats('G_synthesis/noise7');
    assert.ok(Math.abs(n.std - 1) < 0.1, JSON.stringify(n));
    assert.ok(G.getVar('G_synthesis/4x4/Const/const').dataSync().every((x) => x === 1));
    for (const zero of ['G_synthesis/4x4/Conv/bias', 'G_synthesis/8x8/Conv1/Noise/weight', 'G_synthesis/8x8/Conv1/StyleMod/bias', 'G_mapping/Dense0/bias', 'dlatent_avg', 'lod']) {
      assert.ok(G.getVar(zero).dataSync().every((x) => x === 0), zero);
    }
  });
  // Without wscale the raw variable carries he_std: 3×3 conv from 512 channels → std 1/48.
  withNet(new D_basic({ resolution: 8, use_wscale: false }, { seed: 41 }), (D) => {
    const v = D.getVar('8x8/Conv0/weight').dataSync() as Float32Array;
    const std = Math.sqrt(v.reduce((a, b) => a + b * b, 0) / v.length);
    assert.ok(Math.abs(std * 48 - 1) < 0.01, String(std * 48));
  });
});

test('kwargs: NVIDIA defaults; unknown keywords and bad choices are user errors', () => {
  withNet(new D_basic(), (D) => {
    assert.equal(D.kw.num_channels, 1);
    assert.equal(D.kw.resolution, 32);
    assert.equal(D.kw.mbstd_group_size, 4);
    assert.equal(D.structure, 'recursive');
  });
  withNet(new G_style({ resolution: 8, fmap_max: 8 }), (G) => {
    assert.equal(G.kw.truncation_psi, 0.7);
    assert.equal(G.kw.truncation_cutoff, 8);
    assert.equal(G.kw.dlatent_avg_beta, 0.995);
    assert.equal(G.kw.style_mixing_prob, 0.9);
    assert.equal(G.components.mapping.kw.mapping_lrmul, 0.01);
    assert.equal(G.components.mapping.kw.dlatent_broadcast, 4);
    assert.equal(G.components.synthesis.structure, 'recursive');
    assert.deepEqual(G.components.synthesis.kw.blur_filter, [1, 2, 1]);
  });
  assert.throws(() => new G_style({ mapping_layer: 4 }), (e: unknown) => e instanceof UserError && /unknown keyword argument 'mapping_layer'/.test(e.message));
  assert.throws(() => new D_basic({ truncation_psi: 0.5 }), UserError);
  assert.throws(() => new G_style({ structure: 'zigzag' }), /structure must be one of/);
  assert.throws(() => new D_basic({ resolution: 48 }), /power of two/);
  assert.throws(() => new G_style({ dtype: 'float16' }), UserError);
  assert.throws(() => new G_paper({ use_styles: true }), UserError);
});

// ---------------------------------------------------------------------------------------------
// Behaviour on small configs.

const SMALL = { num_channels: 3, resolution: 32, fmap_max: 32, fmap_base: 256 };
// Gradient tests run on the cpu fallback too, where conv filter gradients are slow: keep them tiny.
const TINY = { num_channels: 3, resolution: 16, fmap_max: 16, fmap_base: 64 };

test('G and D forward at 32²: shapes, determinism without random noise, no tensor growth', () => {
  const G = new G_style(SMALL, { seed: 1 });
  const D = new D_basic(SMALL, { seed: 2 });
  try {
    // Noise weights start at zero (NVIDIA's init), which would hide the noise: make them count.
    for (const [name, v] of G.vars) if (name.endsWith('/Noise/weight')) G.setVar(name, tf.fill(v.shape, 0.5));
    const z = tf.randomNormal([4, 512], 0, 1, 'float32', 5) as tf.Tensor2D;
    const a = G.run(z, null, { randomize_noise: false });
    const b = G.run(z, null, { randomize_noise: false });
    const c = G.run(z, null);
    assert.deepEqual(a.shape, [4, 3, 32, 32]);
    assert.equal(maxAbsDiff(a, b), 0);
    assert.ok(maxAbsDiff(a, c) > 0, 'fresh noise must change the image');
    const scores = D.run(a, null);
    assert.deepEqual(scores.shape, [4, 1]);
    assert.ok(scores.dataSync().every(Number.isFinite));
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) tf.dispose([G.run(z, null), D.run(a, null), G.components.mapping.run(z)]);
    assert.equal(tf.memory().numTensors, n0);
    // The sub-networks on their own: mapping broadcasts to [N, 8, 512]; synthesis takes it.
    const w = G.components.mapping.run(z);
    assert.deepEqual(w.shape, [4, 8, 512]);
    const img = G.components.synthesis.run(w, { randomize_noise: false });
    // G with ψ = 1 (no truncation) is exactly synthesis(mapping(z)).
    const g1 = G.run(z, null, { randomize_noise: false, truncation_psi: 1 });
    assert.equal(maxAbsDiff(img, g1), 0);
    tf.dispose([z, a, b, c, scores, w, img, g1]);
  } finally {
    G.dispose();
    D.dispose();
  }
});

test('truncation: ψ = 0 over all layers gives synthesis(dlatent_avg); cutoff limits the layers', () => {
  withNet(new G_style({ ...SMALL, resolution: 16 }, { seed: 3 }), (G) => {
    const avg = tf.randomNormal([512], 0, 1, 'float32', 9);
    G.setVar('dlatent_avg', avg);
    const z = tf.randomNormal([2, 512], 0, 1, 'float32', 10) as tf.Tensor2D;
    const img = G.run(z, null, { truncation_psi: 0, truncation_cutoff: 6, randomize_noise: false });
    const ref = G.components.synthesis.run(tf.tile(tf.reshape(avg, [1, 1, 512]), [2, 6, 1]), { randomize_noise: false });
    assert.ok(maxAbsDiff(img, ref) < 1e-5);
    // is_validation switches to the _val values (None): no truncation.
    const val = G.run(z, null, { is_validation: true, randomize_noise: false });
    const plain = G.components.synthesis.run(G.components.mapping.run(z), { randomize_noise: false });
    assert.equal(maxAbsDiff(val, plain), 0);
    tf.dispose([avg, z, img, ref, val, plain]);
  });
  // truncateDlatents against the formula w' = avg + (w − avg)·(l < cutoff ? ψ : 1).
  const w = tf.randomNormal([2, 5, 3], 0, 1, 'float32', 11) as tf.Tensor3D;
  const avg = tf.tensor1d([0.5, -1, 2]);
  const out = truncateDlatents(w, avg, 0.7, 2).arraySync();
  const wv = w.arraySync();
  const av = [0.5, -1, 2];
  for (let n = 0; n < 2; n++) for (let l = 0; l < 5; l++) for (let c = 0; c < 3; c++) {
    const want = av[c]! + (wv[n]![l]![c]! - av[c]!) * (l < 2 ? 0.7 : 1);
    assert.ok(Math.abs(out[n]![l]![c]! - want) < 1e-6);
  }
  tf.dispose([w, avg]);
});

test('style mixing: layers < cutoff from w1, ≥ cutoff from w2; one cutoff per minibatch within the active layers', () => {
  const w1 = tf.fill([2, 6, 4], 1) as tf.Tensor3D;
  const w2 = tf.fill([2, 6, 4], 2) as tf.Tensor3D;
  const mixed = mixDlatents(w1, w2, 4).arraySync();
  for (const sample of mixed) sample.forEach((row, l) => assert.ok(row.every((v) => v === (l < 4 ? 1 : 2))));
  tf.dispose([w1, w2]);
  withNet(new G_style({ ...SMALL, resolution: 16 }, { seed: 4 }), (G) => {
    // Bernoulli fails (u ≥ p) → cutoff = cur_layers; succeeds → 1 + floor(u·(cur_layers − 1)).
    const seq = (...v: number[]) => () => v.shift()!;
    assert.equal(G.mixingCutoff(0.9, seq(0.95)), 6);
    assert.equal(G.mixingCutoff(0.9, seq(0.1, 0.0)), 1);
    assert.equal(G.mixingCutoff(0.9, seq(0.1, 0.999)), 5);
    G.setLod(1.5); // cur_layers = 6 − 2·floor(1.5) = 4
    assert.equal(G.mixingCutoff(0.9, seq(0.95)), 4);
    assert.equal(G.mixingCutoff(0.9, seq(0.1, 0.999)), 3);
    const rng = seededRng(7);
    const seen = new Set<number>();
    for (let i = 0; i < 400; i++) seen.add(G.mixingCutoff(0.9, rng));
    assert.deepEqual([...seen].sort(), [1, 2, 3, 4]);
  });
});

test('dlatent_avg EMA under is_training: avg ← β·avg + (1 − β)·mean_batch(w[:, 0])', () => {
  withNet(new G_style({ ...SMALL, resolution: 8 }, { seed: 5 }), (G) => {
    const a0 = tf.randomNormal([512], 0, 1, 'float32', 12);
    G.setVar('dlatent_avg', a0);
    const z = tf.randomNormal([3, 512], 0, 1, 'float32', 13) as tf.Tensor2D;
    const w = G.components.mapping.run(z).arraySync() as number[][][];
    const before = a0.dataSync();
    tf.dispose(G.run(z, null, { is_training: true, style_mixing_prob: null }));
    const after = G.dlatent_avg.dataSync();
    for (let c = 0; c < 512; c += 37) {
      const mean = (w[0]![0]![c]! + w[1]![0]![c]! + w[2]![0]![c]!) / 3;
      assert.ok(Math.abs(after[c]! - (0.995 * before[c]! + 0.005 * mean)) < 1e-5);
    }
    // Not training: no update.
    tf.dispose(G.run(z, null));
    assert.deepEqual(Array.from(G.dlatent_avg.dataSync()), Array.from(after));
    tf.dispose([a0, z]);
  });
});

test('lod blend: at lod 0.5 G is halfway between the lod-0 and lod-1 ToRGB paths; linear = recursive for every lod; fixed = lod 0', () => {
  const kw = { ...SMALL, resolution: 16 };
  const Gr = new G_synthesis({ ...kw, structure: 'recursive' }, { seed: 6 });
  const Gl = new G_synthesis({ ...kw, structure: 'linear' });
  const Dr = new D_basic({ ...kw, structure: 'recursive' }, { seed: 7 });
  const Dl = new D_basic({ ...kw, structure: 'linear' });
  try {
    Gl.copyVarsFrom(Gr);
    Dl.copyVarsFrom(Dr);
    const w = tf.randomNormal([4, 6, 512], 0, 1, 'float32', 14);
    const img = (net: G_synthesis, lod: number) => { net.setLod(lod); return net.run(w, { randomize_noise: false }); };
    const [i0, i1, ih] = [img(Gr, 0), img(Gr, 1), img(Gr, 0.5)];
    const mid = tf.mul(tf.add(i0, i1), 0.5);
    assert.ok(maxAbsDiff(ih, mid) < 1e-5);
    // lod 1 is a 8×8 image upsampled: constant on 2×2 blocks.
    const a = i1.arraySync() as number[][][][];
    for (let y = 0; y < 16; y += 2) for (let x = 0; x < 16; x += 2) assert.equal(a[0]![0]![y]![x], a[0]![0]![y + 1]![x + 1]);
    assert.ok(maxAbsDiff(i0, i1) > 1e-3, 'lod 0 and lod 1 must differ');
    const x = tf.randomNormal([4, 3, 16, 16], 0, 1, 'float32', 15) as tf.Tensor4D;
    for (const lod of [0, 0.25, 1, 1.5, 2, 2.7, 3]) {
      const gl = img(Gl, lod), gr = img(Gr, lod);
      assert.ok(maxAbsDiff(gl, gr) < 1e-5, `G lod ${lod}`);
      Dl.setLod(lod);
      Dr.setLod(lod);
      const dl = Dl.run(x), dr = Dr.run(x);
      assert.ok(maxAbsDiff(dl, dr) < 1e-4, `D lod ${lod}`);
      tf.dispose([gl, gr, dl, dr]);
    }
    // 'fixed' has only the full-resolution ToRGB/FromRGB and ignores lod: equal to lod 0.
    const Gf = new G_synthesis({ ...kw, structure: 'fixed' });
    const Df = new D_basic({ ...kw, structure: 'fixed' });
    try {
      assert.deepEqual([...Gf.vars.keys()].filter((n) => n.startsWith('ToRGB')), ['ToRGB_lod0/weight', 'ToRGB_lod0/bias']);
      assert.deepEqual([...Df.vars.keys()].filter((n) => n.startsWith('FromRGB')), ['FromRGB_lod0/weight', 'FromRGB_lod0/bias']);
      Gf.copyVarsFrom(Gr);
      Df.copyVarsFrom(Dr);
      Gf.setLod(2);
      const gf = Gf.run(w, { randomize_noise: false });
      assert.ok(maxAbsDiff(gf, i0) < 1e-5);
      Dr.setLod(0);
      const df = Df.run(x), d0 = Dr.run(x);
      assert.ok(maxAbsDiff(df, d0) < 1e-5);
      tf.dispose([gf, df, d0]);
    } finally {
      Gf.dispose();
      Df.dispose();
    }
    tf.dispose([w, i0, i1, ih, mid, x]);
  } finally {
    [Gr, Gl, Dr, Dl].forEach((n) => n.dispose());
  }
});

test('R1 through D (and a second-order gradient through G with fused upsampling) runs with finite, non-zero gradients', () => {
  const G = new G_style({ ...TINY, fused_scale: true }, { seed: 8 });
  const D = new D_basic({ ...TINY, fused_scale: true }, { seed: 9 });
  try {
    const z = tf.randomNormal([4, 512], 0, 1, 'float32', 16) as tf.Tensor2D;
    const reals = tf.randomNormal([4, 3, 16, 16], 0, 1, 'float32', 17) as tf.Tensor4D;
    D.setLod(0.5);
    const r1 = () => tf.sum(tf.square(tf.grad((x: tf.Tensor) => tf.sum(D.run(x as tf.Tensor4D)))(reals))) as tf.Scalar;
    const { value, grads } = tf.variableGrads(r1, [...D.trainables.values()]);
    assert.ok(value.dataSync()[0]! > 0);
    // At lod 0.5 every trainable is on the path of ∂D/∂x except the unused 4×4 FromRGB_lod2 and
    // the last bias (a constant offset of the score).
    const missing = [...D.trainables].filter(([, v]) => !(v.name in grads)).map(([n]) => n);
    assert.deepEqual(missing, ['FromRGB_lod2/weight', 'FromRGB_lod2/bias', '4x4/Dense1/bias']);
    for (const g of Object.values(grads)) assert.ok(g.dataSync().every(Number.isFinite));
    const zero = [...D.trainables].filter(([, v]) => grads[v.name] && tf.tidy(() => tf.max(tf.abs(grads[v.name]!)).dataSync()[0]!) === 0).map(([n]) => n);
    // Biases after the minibatch-stddev layer reach ∂D/∂x only through leaky ReLU's piecewise-constant
    // slope, so their R1 gradient is exactly zero (as in TF); every other one must be non-zero.
    assert.deepEqual(zero, ['4x4/Conv/bias', '4x4/Dense0/bias']);
    tf.dispose([value, ...Object.values(grads)]);
    // Path-length-style: d/dθ Σ (∂ Σ G(w)·y / ∂w)².
    const w = G.components.mapping.run(z);
    const y = tf.randomNormal([4, 3, 16, 16], 0, 1, 'float32', 18);
    const pl = () => tf.sum(tf.square(tf.grad((ww: tf.Tensor) => tf.sum(tf.mul(G.components.synthesis.run(ww, { randomize_noise: false }), y)))(w))) as tf.Scalar;
    const gs = tf.variableGrads(pl, [...G.components.synthesis.trainables.values()]);
    assert.ok(Object.values(gs.grads).every((g) => g.dataSync().every(Number.isFinite)));
    const up = gs.grads[G.getVar('G_synthesis/16x16/Conv0_up/weight').name]!;
    assert.ok(tf.tidy(() => tf.max(tf.abs(up)).dataSync()[0]!) > 0);
    tf.dispose([z, reals, w, y, gs.value, ...Object.values(gs.grads)]);
  } finally {
    G.dispose();
    D.dispose();
  }
});

test('labels: G_mapping LabelConcat embeds labels; D_basic LabelSwitch picks the labelled score', () => {
  withNet(new G_style({ ...SMALL, resolution: 8, label_size: 3 }, { seed: 10 }), (G) => {
    assert.deepEqual([...G.getVar('G_mapping/LabelConcat/weight').shape], [3, 512]);
    assert.deepEqual([...G.getVar('G_mapping/Dense0/weight').shape], [1024, 512]);
    const z = tf.randomNormal([2, 512]) as tf.Tensor2D;
    const img = G.run(z, tf.tensor2d([[1, 0, 0], [0, 1, 0]]));
    assert.deepEqual(img.shape, [2, 3, 8, 8]);
    assert.throws(() => G.run(z, null), UserError);
    tf.dispose([z, img]);
  });
  withNet(new D_basic({ ...SMALL, resolution: 8, label_size: 3, mbstd_group_size: 0 }, { seed: 11 }), (D) => {
    assert.deepEqual([...D.getVar('4x4/Dense1/weight').shape], [32, 3]);
    const x = tf.randomNormal([2, 3, 8, 8]) as tf.Tensor4D;
    const onehot = D.run(x, tf.tensor2d([[0, 1, 0], [0, 0, 1]])).dataSync();
    const both = D.run(x, tf.tensor2d([[0, 1, 1], [0, 1, 1]])).dataSync();
    const only1 = D.run(x, tf.tensor2d([[0, 1, 0], [0, 1, 0]])).dataSync();
    const only2 = D.run(x, tf.tensor2d([[0, 0, 1], [0, 0, 1]])).dataSync();
    assert.ok(Math.abs(both[0]! - (only1[0]! + only2[0]!)) < 1e-5);
    assert.equal(onehot[0], only1[0]);
    assert.equal(onehot[1], only2[1]);
    x.dispose();
  });
});

test('Network: getVar/setVar shape checks, clone, copyVarsFrom, moving average (trainables lerp, others copy)', () => {
  const G = new G_style({ ...SMALL, resolution: 8 }, { seed: 12 });
  const Gs = G.clone('Gs');
  try {
    assert.equal(Gs.name, 'Gs');
    for (const [name, v] of G.vars) assert.equal(maxAbsDiff(v, Gs.getVar(name)), 0, name);
    assert.throws(() => G.setVar('G_mapping/Dense0/weight', new Float32Array(3)), /has shape \[512,512\]/);
    assert.throws(() => G.setVar('G_mapping/Dense0/weight', tf.zeros([512, 511])), UserError);
    assert.throws(() => G.getVar('G_mapping/Dense9/weight'), /no variable named/);
    // Move G away, then EMA Gs toward it.
    const name = 'G_synthesis/8x8/Conv1/weight';
    const before = Gs.getVar(name).dataSync().slice();
    const target = tf.randomNormal(G.getVar(name).shape, 0, 1, 'float32', 19);
    G.setVar(name, target);
    G.setVar('G_synthesis/noise3', tf.fill([1, 1, 8, 8], 0.25));
    G.setLod(1);
    Gs.setupAsMovingAverageOf(G, 0.9);
    const after = Gs.getVar(name).dataSync();
    const t = target.dataSync();
    for (let i = 0; i < after.length; i += 101) assert.ok(Math.abs(after[i]! - (t[i]! + (before[i]! - t[i]!) * 0.9)) < 1e-5);
    assert.ok(Gs.getVar('G_synthesis/noise3').dataSync().every((v) => v === 0.25));
    assert.equal((Gs as G_style).lod, 1);
    assert.equal((Gs as G_style).components.synthesis.lod, 1);
    Gs.copyVarsFrom(G);
    assert.equal(maxAbsDiff(Gs.getVar(name), target), 0);
    // Assignments must not leak tensor handles.
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) {
      G.setVar(name, target);
      G.setVar('G_synthesis/noise3', new Float32Array(64));
      G.setLod(i + 0.5);
      Gs.setupAsMovingAverageOf(G, 0.9);
      Gs.copyVarsFrom(G);
    }
    assert.equal(tf.memory().numTensors, n0);
    target.dispose();
  } finally {
    G.dispose();
    Gs.dispose();
  }
});

test('G_paper / D_paper forward at 16²: shapes, linear = recursive, R1 runs', () => {
  const kw = { num_channels: 3, resolution: 16, fmap_base: 64, fmap_max: 16 };
  const Gr = new G_paper(kw, { seed: 20 });
  const Gl = new G_paper({ ...kw, structure: 'linear' });
  const D = new D_paper(kw, { seed: 21 });
  try {
    Gl.copyVarsFrom(Gr);
    const z = tf.randomNormal([4, 16], 0, 1, 'float32', 22) as tf.Tensor2D;
    for (const lod of [0, 0.5, 1.25]) {
      Gr.setLod(lod);
      Gl.setLod(lod);
      const a = Gr.run(z), b = Gl.run(z);
      assert.deepEqual(a.shape, [4, 3, 16, 16]);
      assert.ok(maxAbsDiff(a, b) < 1e-5);
      tf.dispose([a, b]);
    }
    const x = tf.randomNormal([4, 3, 16, 16]) as tf.Tensor4D;
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(tf.grad((xx: tf.Tensor) => tf.sum(D.run(xx as tf.Tensor4D)))(x))) as tf.Scalar, [...D.trainables.values()]);
    assert.ok(Number.isFinite(value.dataSync()[0]!));
    tf.dispose([z, x, value, ...Object.values(grads)]);
  } finally {
    [Gr, Gl, D].forEach((n) => n.dispose());
  }
});

test('G_mapping on its own: no broadcast gives [N, dlatent_size]; relu option', () => {
  withNet(new G_mapping({ mapping_layers: 2, mapping_nonlinearity: 'relu' }, { seed: 23 }), (M) => {
    const w = M.run(tf.randomNormal([3, 512]) as tf.Tensor2D);
    assert.deepEqual(w.shape, [3, 512]);
    assert.ok(w.dataSync().every((v) => v >= 0));
    w.dispose();
  });
});

test('a training-style G step: gradients of softplus(−D(G(z))) with is_training reach every G trainable in use; no tensor growth', () => {
  const kw = { ...TINY, resolution: 8 };
  const G = new G_style(kw, { seed: 30 });
  const D = new D_basic(kw, { seed: 31 });
  const Gs = G.clone('Gs');
  try {
    const z = tf.randomNormal([4, 512], 0, 1, 'float32', 32) as tf.Tensor2D;
    const rng = seededRng(33);
    const step = () => {
      const { value, grads } = tf.variableGrads(
        () => tf.mean(tf.softplus(tf.neg(D.run(G.run(z, null, { is_training: true, style_mixing_prob: 1, rng }))))) as tf.Scalar,
        [...G.trainables.values()],
      );
      const missing = [...G.trainables].filter(([, v]) => !(v.name in grads)).map(([n]) => n);
      tf.dispose([value, ...Object.values(grads)]);
      Gs.setupAsMovingAverageOf(G, 0.99);
      return missing;
    };
    // At lod 0 only the 4×4 ToRGB is off the path.
    assert.deepEqual(step(), ['G_synthesis/ToRGB_lod1/weight', 'G_synthesis/ToRGB_lod1/bias']);
    const n0 = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) step();
    assert.equal(tf.memory().numTensors, n0);
    z.dispose();
  } finally {
    [G, D, Gs].forEach((n) => n.dispose());
  }
});
