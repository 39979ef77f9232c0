// Tiny G_style + D_basic (fused_scale=True, truncation, labels, fractional lod) and ProGAN
// G_paper + D_paper against the float64 NumPy forwards of tests/fixtures/make_networks.py, which
// implements NVIDIA's NCHW math (and conv2d_transpose as an explicit scatter) independently.
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { G_style, D_basic } from '../training/networks_stylegan.ts';
import { G_paper, D_paper } from '../training/networks_progan.ts';
import type { Network } from '../training/network.ts';

interface Var { name: string; shape: number[]; data: number[] }
interface Case {
  G_kwargs: Record<string, unknown>; D_kwargs: Record<string, unknown>; lod: number;
  truncation_psi?: number; truncation_cutoff?: number;
  G_vars: Var[]; D_vars: Var[]; latents: number[]; labels: number[]; images: number[]; scores: number[];
}
const fx = JSON.parse(fs.readFileSync(new URL('./fixtures/networks_reference.json', import.meta.url), 'utf8')) as { stylegan: Case; progan: Case };

before(async () => {
  await useTestBackend();
});

/** Loads every fixture variable by name and checks the network has exactly those, in that order. */
function load(net: Network, vars: Var[]): void {
  assert.deepEqual([...net.vars].map(([n, v]) => [n, [...v.shape]]), vars.map((v) => [v.name, v.shape]));
  for (const v of vars) net.setVar(v.name, Float32Array.from(v.data));
}

function maxRelErr(got: ArrayLike<number>, want: number[]): number {
  assert.equal(got.length, want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!) / (1 + Math.abs(want[i]!)));
  return worst;
}

test('G_style (fused up, truncation, lod 0.4) and D_basic (fused down, LabelSwitch) match the NumPy reference', () => {
  const c = fx.stylegan;
  const G = new G_style(c.G_kwargs, { initialize: false });
  const D = new D_basic(c.D_kwargs, { initialize: false });
  try {
    load(G, c.G_vars);
    load(D, c.D_vars);
    // The lod variable is float32, and the networks blend with the value they hold.
    assert.equal(G.lod, Math.fround(c.lod));
    assert.equal(D.lod, Math.fround(c.lod));
    const n = c.latents.length / 16;
    const img = G.run(tf.tensor2d(c.latents, [n, 16]), null, { truncation_psi: c.truncation_psi, truncation_cutoff: c.truncation_cutoff, randomize_noise: false });
    const errG = maxRelErr(img.dataSync(), c.images);
    assert.ok(errG < 1e-4, `G error ${errG}`);
    // D sees the reference images, so its check does not inherit G's float32 error.
    const scores = D.run(tf.tensor4d(c.images, img.shape as [number, number, number, number]), tf.tensor2d(c.labels, [n, 2]));
    const errD = maxRelErr(scores.dataSync(), c.scores);
    assert.ok(errD < 1e-4, `D error ${errD}`);
    tf.dispose([img, scores]);
  } finally {
    G.dispose();
    D.dispose();
  }
});

test('ProGAN G_paper (labels, pixel norm, fused up, lod 1.3) and D_paper match the NumPy reference', () => {
  const c = fx.progan;
  const G = new G_paper(c.G_kwargs, { initialize: false });
  const D = new D_paper(c.D_kwargs, { initialize: false });
  try {
    load(G, c.G_vars);
    load(D, c.D_vars);
    const n = c.labels.length / 3;
    const img = G.run(tf.tensor2d(c.latents, [n, c.latents.length / n]), tf.tensor2d(c.labels, [n, 3]));
    const errG = maxRelErr(img.dataSync(), c.images);
    assert.ok(errG < 1e-4, `G error ${errG}`);
    const scores = D.run(tf.tensor4d(c.images, img.shape as [number, number, number, number]));
    const errD = maxRelErr(scores.dataSync(), c.scores);
    assert.ok(errD < 1e-4, `D error ${errD}`);
    tf.dispose([img, scores]);
  } finally {
    G.dispose();
    D.dispose();
  }
});
