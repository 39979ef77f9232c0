// The generation paths take StyleGAN2 networks too (NVIDIA's StyleGAN2 .pkl → G_main): every figure
// at its scaled canvas size, and seed images equal to Gs.run on numpy's RandomState latents.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { useTestBackend } from './_backend.ts';
import { RandomState } from '../dnnlib/random.ts';
import { convert_images_to_uint8 } from '../training/misc.ts';
import { loadNetworks } from '../training/network_io.ts';
import { G_main, type StyleGenerator } from '../training/networks_stylegan2.ts';
import { FIGURES, FIGURE_NAMES } from '../figures/index.ts';
import { generateSeedImages } from '../figures/images.ts';
import { requireStyleGenerator } from '../figures/render.ts';

const PKL = path.join(import.meta.dirname, 'fixtures', 'sg2', 'tiny_sg2_resnet_skip_l0.pkl');
let Gs: StyleGenerator;

before(async () => {
  await useTestBackend();
  const nets = await loadNetworks(PKL, { quiet: true });
  Gs = requireStyleGenerator(nets.Gs);
});
after(() => Gs?.dispose());

test('a StyleGAN2 pickle is accepted by the figure code as a style generator', () => {
  assert.ok(Gs instanceof G_main);
});

test('every figure renders from a StyleGAN2 network at its scaled canvas size', async () => {
  const res = Gs.components.synthesis.kw.resolution;
  for (const name of FIGURE_NAMES) {
    const fig = FIGURES[name];
    const [w, h] = fig.canvas(res, Gs.num_layers);
    const png = await fig.draw(Gs, { noise: { mode: 'random', seed: 1 } });
    const meta = await sharp(png).metadata();
    assert.deepEqual([meta.width, meta.height], [w, h], name);
  }
});

test('seed images from a StyleGAN2 network equal Gs.run on RandomState(seed).randn', () => {
  const L = Gs.components.mapping.kw.latent_size;
  const seeds = [0, 7];
  const imgs = generateSeedImages(Gs, seeds, 0.7, { mode: 'stored' });
  seeds.forEach((seed, i) => {
    const expected = tf.tidy(() => {
      const z = tf.tensor2d(Float32Array.from(new RandomState(seed).randn(1, L)), [1, L]);
      return Gs.run(z, null, { truncation_psi: 0.7, randomize_noise: false }) as tf.Tensor4D;
    });
    const [, c, h, w] = expected.shape;
    const u8 = convert_images_to_uint8(expected.dataSync());
    expected.dispose();
    const hwc = new Uint8Array(h * w * c);
    for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) hwc[p * c + ch] = u8[ch * h * w + p]!;
    assert.equal(imgs[i]!.width, w);
    let maxDiff = 0;
    for (let k = 0; k < hwc.length; k++) maxDiff = Math.max(maxDiff, Math.abs(hwc[k]! - imgs[i]!.data[k]!));
    assert.ok(maxDiff <= 1, `seed ${seed}: max |Δ| ${maxDiff} uint8 levels`);
  });
});
