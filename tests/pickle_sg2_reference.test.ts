// StyleGAN2 pickles in NVIDIA's layout (G_main / G_synthesis_stylegan2 / G_mapping / D_stylegan2,
// version 4) load through the safe reader into our networks, and their outputs match the float64
// NumPy forward of tests/fixtures/make_sg2_reference.py (written from NVIDIA's formulas, NCHW, with
// per-sample modulated weights and the up-conv as zero insertion + FIR + VALID correlation).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { importNetworkPickle } from '../training/network_import.ts';
import { loadNetworks } from '../training/network_io.ts';
import { D_stylegan2, G_main } from '../training/networks_stylegan2.ts';

interface Ref {
  pickle: string; g_architecture: string; d_architecture: string; label_size: number;
  z: number[]; labels: number[]; dlatents: number[]; image_shape: number[];
  images_psi1: number[]; images_psi05: number[]; images_psi05_cutoff3: number[]; scores4: number[]; scores2: number[];
}
const FIX = new URL('./fixtures/', import.meta.url);
const refs = JSON.parse(fs.readFileSync(new URL('sg2/reference.json', FIX), 'utf8')) as Ref[];

before(async () => {
  await useTestBackend();
});

function maxAbsErr(got: ArrayLike<number>, want: number[]): number {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  return worst;
}

const errors: string[] = [];

for (const ref of refs) {
  test(`${ref.pickle} (G ${ref.g_architecture}, D ${ref.d_architecture}, ${ref.label_size} labels): images and D scores match the NumPy reference`, () => {
    const { G, D, Gs, reports } = importNetworkPickle(new URL(ref.pickle, FIX).pathname);
    try {
      assert.ok(Gs instanceof G_main && G instanceof G_main && D instanceof D_stylegan2);
      for (const r of Object.values(reports)) assert.deepEqual([r.unmapped, r.missing], [[], []]);
      assert.equal(Gs.components.synthesis.kw.architecture, ref.g_architecture);
      assert.equal(D.kw.architecture, ref.d_architecture);
      const n = 3;
      const L = Gs.components.mapping.kw.latent_size;
      const z = tf.tensor2d(ref.z, [n, L]);
      const labels = tf.tensor2d(ref.labels, [n, ref.label_size]);
      const run = (opts: Parameters<G_main['run']>[2]) => tf.tidy(() => Gs.run(z, labels, { randomize_noise: false, ...opts }).dataSync());
      const w = tf.tidy(() => (Gs.components.mapping.run(z, labels) as tf.Tensor3D).slice([0, 0, 0], [-1, 1, -1]).dataSync());
      const errW = maxAbsErr(w, ref.dlatents);
      // ψ = 1 (off), G_main's default ψ = 0.5 on every layer, and ψ = 0.5 on the first 3 layers.
      const img1 = run({ truncation_psi: 1 });
      const imgDefault = run({});
      const imgCut = run({ truncation_cutoff: 3 });
      const errImg = Math.max(maxAbsErr(img1, ref.images_psi1), maxAbsErr(imgDefault, ref.images_psi05), maxAbsErr(imgCut, ref.images_psi05_cutoff3));
      const [, c, h] = ref.image_shape as [number, number, number, number];
      const per = c * h * h;
      const d4 = tf.tidy(() => D.run(
        tf.tensor4d([...ref.images_psi1, ...ref.images_psi05.slice(0, per)], [4, c, h, h]),
        ref.label_size ? tf.tensor2d([...ref.labels, ...ref.labels.slice(0, ref.label_size)], [4, ref.label_size]) : null,
      ).dataSync());
      const d2 = tf.tidy(() => D.run(
        tf.tensor4d(ref.images_psi05_cutoff3.slice(0, 2 * per), [2, c, h, h]),
        ref.label_size ? tf.tensor2d(ref.labels.slice(0, 2 * ref.label_size), [2, ref.label_size]) : null,
      ).dataSync());
      const errD = Math.max(maxAbsErr(d4, ref.scores4), maxAbsErr(d2, ref.scores2));
      errors.push(`${ref.pickle}: dlatents ${errW.toExponential(2)}, images ${errImg.toExponential(2)}, D ${errD.toExponential(2)}`);
      console.log(errors.at(-1));
      assert.ok(errW <= 1e-5, `dlatents max |Δ| ${errW}`);
      assert.ok(errImg <= 1e-4, `images max |Δ| ${errImg}`);
      assert.ok(errD <= 1e-5, `D scores max |Δ| ${errD}`);
      // The truncation variants are really different images (the test could not pass by ignoring ψ).
      assert.ok(maxAbsErr(imgDefault, ref.images_psi1) > 1e-2 && maxAbsErr(imgCut, ref.images_psi05) > 1e-3);
      z.dispose();
      labels.dispose();
    } finally {
      G?.dispose();
      D?.dispose();
      Gs?.dispose();
    }
  });
}

test('network_io.loadNetworks builds G, D and Gs from a StyleGAN2 pickle (the path every generation script takes)', async () => {
  const nets = await loadNetworks(new URL(refs[0]!.pickle, FIX).pathname);
  try {
    assert.equal(nets.kind, 'pkl');
    const Gs = nets.Gs as G_main;
    assert.ok(Gs instanceof G_main);
    // The G_style surface the scripts use.
    assert.equal(Gs.num_layers, 6);
    assert.equal(Gs.components.mapping.kw.latent_size, 16);
    assert.equal(Gs.components.synthesis.kw.resolution, 16);
    assert.equal(Gs.components.synthesis.kw.num_channels, 3);
    assert.deepEqual(Gs.components.synthesis.noiseVars.map((v) => v.shape), [[1, 1, 4, 4], [1, 1, 8, 8], [1, 1, 8, 8], [1, 1, 16, 16], [1, 1, 16, 16]]);
    assert.deepEqual([...Gs.components.synthesis.own_vars.keys()].slice(0, 5), ['noise0', 'noise1', 'noise2', 'noise3', 'noise4']);
    assert.deepEqual(Gs.dlatent_avg.shape, [16]);
    // Snapshot round trip: a G_main written by saveNetworkSnapshot is rebuilt from its kwargs.
    const { saveNetworkSnapshot } = await import('../training/network_io.ts');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sg2-snap-'));
    const file = path.join(dir, 'snap.safetensors');
    saveNetworkSnapshot(file, { G: nets.G!, D: nets.D!, Gs, kimg: 1 });
    const back = await loadNetworks(file);
    try {
      assert.ok(back.Gs instanceof G_main && back.D instanceof D_stylegan2);
      const z = tf.randomNormal([2, 16], 0, 1, 'float32', 3) as tf.Tensor2D;
      const a = tf.tidy(() => Gs.run(z, null, { randomize_noise: false }).dataSync());
      const b = tf.tidy(() => (back.Gs as G_main).run(z, null, { randomize_noise: false }).dataSync());
      assert.deepEqual(Array.from(b), Array.from(a));
      z.dispose();
    } finally {
      back.G?.dispose();
      back.D?.dispose();
      back.Gs.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  } finally {
    nets.G?.dispose();
    nets.D?.dispose();
    nets.Gs.dispose();
  }
});
