// NVIDIA pickle → our networks: the tiny StyleGAN v1 fixture is rebuilt from its static_kwargs, every
// variable lands under its NVIDIA name, and Gs/D reproduce an independent float64 NumPy forward pass
// (tests/fixtures/make_import_reference.py).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { loadNetworkPickle, flattenVariables } from '../dnnlib/pickle.ts';
import { importNetworkPickle, buildFromState } from '../training/network_import.ts';
import type { G_style, D_basic } from '../training/networks_stylegan.ts';

before(async () => {
  await useTestBackend();
});

const DIR = path.join(import.meta.dirname, 'fixtures', 'pickles');
const PKL = path.join(DIR, 'tiny_v1_p4_np1_scalar.pkl');
const ref = JSON.parse(fs.readFileSync(path.join(DIR, 'tiny_v1_forward.json'), 'utf8')) as {
  latents: number[][];
  G_cases: { truncation_psi: number; truncation_cutoff: number; lod: number; shape: number[]; images: number[] }[];
  D: { lod: number; scores: number[] };
};

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

test('the tiny v1 pickle imports into G_style/D_basic with every variable matched', () => {
  const nets = importNetworkPickle(PKL);
  try {
    const pkl = loadNetworkPickle(PKL);
    for (const key of ['G', 'D', 'Gs'] as const) {
      const report = nets.reports[key]!;
      assert.deepEqual([report.unmapped, report.missing], [[], []], key);
      assert.equal(report.loaded, flattenVariables(pkl[key]!).length, key);
      // Values really landed: compare one weight bit for bit.
      const v = flattenVariables(pkl[key]!).find((x) => x.fullName.endsWith('/weight'))!;
      assert.deepEqual(nets[key]!.getVar(v.fullName).dataSync(), v.data, `${key}: ${v.fullName}`);
    }
    assert.equal((nets.Gs as G_style).lod, 0.5);
  } finally {
    nets.G?.dispose(); nets.D?.dispose(); nets.Gs?.dispose();
  }
});

test('imported Gs and D reproduce the NumPy float64 reference (images ≤ 1e-4, scores ≤ 1e-4)', () => {
  const nets = importNetworkPickle(PKL);
  const Gs = nets.Gs as G_style;
  const D = nets.D as D_basic;
  try {
    const z = tf.tensor2d(ref.latents);
    for (const c of ref.G_cases) {
      const img = Gs.run(z, null, { randomize_noise: false, truncation_psi: c.truncation_psi, truncation_cutoff: c.truncation_cutoff, lod: c.lod });
      assert.deepEqual(img.shape, c.shape);
      const err = maxAbsDiff(img.dataSync(), c.images);
      assert.ok(err <= 1e-4, `ψ ${c.truncation_psi}, lod ${c.lod}: max |Δ| ${err}`);
      img.dispose();
    }
    const images = tf.tensor4d(ref.G_cases[0]!.images, ref.G_cases[0]!.shape as [number, number, number, number]);
    const scores = D.run(images, null);
    const err = maxAbsDiff(scores.dataSync(), ref.D.scores);
    assert.ok(err <= 1e-4, `D scores: max |Δ| ${err}`);
    tf.dispose([z, images, scores]);
  } finally {
    nets.G?.dispose(); D.dispose(); Gs.dispose();
  }
});

test('a state whose variables do not fit our network is a clear UserError', () => {
  const pkl = loadNetworkPickle(PKL);
  const gs = pkl.Gs!;
  const renamed = { ...gs, variables: gs.variables.map((v) => (v.name === 'dlatent_avg' ? { ...v, name: 'dlatent_avg_old' } : v)) };
  assert.throws(() => buildFromState(renamed, { file: 'x.pkl' }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /^x\.pkl: Gs variables do not match \(not in our network: dlatent_avg_old; missing from the pickle: dlatent_avg\)$/);
    return true;
  });
  const lenient = buildFromState(renamed, { strict: false });
  assert.deepEqual([lenient.report.unmapped, lenient.report.missing], [['dlatent_avg_old'], ['dlatent_avg']]);
  lenient.net.dispose();
  // A build function we have no TS network for (StyleGAN2 configs b–d) is a clear refusal.
  const v2 = loadNetworkPickle(path.join(DIR, 'tiny_v2_p4_np1.pkl'));
  assert.throws(() => importNetworkPickle({ ...v2, G: { ...v2.G!, build_func_name: 'G_synthesis_stylegan_revised' } }, { file: 'tiny_v2_p4_np1.pkl' }), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.match(err.message, /^tiny_v2_p4_np1\.pkl: G was built by 'G_synthesis_stylegan_revised', which stylegan-ts cannot rebuild \(supported: /);
    return true;
  });
});
