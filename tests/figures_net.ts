// A tiny random-weight StyleGAN (32², fmap_max 16, latent 32) saved as a snapshot, for the figures,
// morph and network_io tests. Seeded, so every test run builds the same weights; dlatent_avg is set
// to the mean w of 64 latents as training would leave it (so truncation has somewhere to go), and the
// noise strengths are non-zero (so the noise figures have something to show).
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { D_basic, G_style } from '../training/networks_stylegan.ts';
import { saveNetworkSnapshot } from '../training/network_io.ts';

export const TINY_KWARGS = {
  num_channels: 3, resolution: 32, label_size: 0,
  latent_size: 32, dlatent_size: 32, mapping_layers: 2, mapping_fmaps: 32,
  fmap_base: 64, fmap_max: 16,
};

export function buildTinyNetworks(seed = 1, kwargs: Record<string, unknown> = TINY_KWARGS): { G: G_style; D: D_basic; Gs: G_style } {
  const G = new G_style(kwargs, { name: 'G', seed });
  const { latent_size: _l, dlatent_size: _d, mapping_layers: _m, mapping_fmaps: _f, ...dk } = kwargs as typeof TINY_KWARGS;
  const D = new D_basic(dk, { name: 'D', seed: seed + 7 });
  const z = tf.randomNormal([64, G.components.mapping.kw.latent_size], 0, 1, 'float32', seed);
  const avg = tf.tidy(() => tf.mean(tf.squeeze(tf.slice(G.components.mapping.run(z as tf.Tensor2D), [0, 0, 0], [-1, 1, -1]), [1]), 0));
  G.setVar('dlatent_avg', avg);
  // Trained networks use their noise inputs; freshly built ones have zero noise strengths.
  for (const [name, v] of G.vars) {
    if (name.endsWith('/Noise/weight')) G.setVar(name, tf.tidy(() => tf.abs(tf.randomNormal(v.shape, 0, 0.1, 'float32', seed + 99))));
  }
  tf.dispose([z, avg]);
  const Gs = G.clone('Gs') as G_style;
  return { G, D, Gs };
}

/** Writes the tiny networks to <dir>/tiny.safetensors and returns the path. */
export function writeTinySnapshot(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-figures-')), seed = 1, kwargs?: Record<string, unknown>): string {
  const { G, D, Gs } = buildTinyNetworks(seed, kwargs);
  const file = path.join(dir, 'tiny.safetensors');
  saveNetworkSnapshot(file, { G, D, Gs, kimg: 1234.5, kwargs: { note: 'random weights for tests' }, state: { lod: 0 } });
  G.dispose(); D.dispose(); Gs.dispose();
  return file;
}
