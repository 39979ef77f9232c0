// The generation paths with the classic baselines' snapshots (G_mlp, G_dcgan): pretrained_example,
// generate_figures images / uncurated / morph write G(z) in inference mode (checked against the
// network run here + misc.convert_images_to_uint8), and everything that needs styles, a W space or
// noise answers with one line instead of running.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { useTestBackend } from './_backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { RandomState } from '../dnnlib/random.ts';
import { convert_images_to_uint8 } from '../training/misc.ts';
import { buildNetworks } from '../training/network_configs.ts';
import { saveNetworkSnapshot } from '../training/network_io.ts';
import type { G_dcgan, G_mlp } from '../training/networks_baseline.ts';
import { runFigures, runImages, runMorph, runPretrainedExample } from '../figures/run.ts';

const quiet = () => {};
let dir: string;
const snaps: Record<'gan-mlp' | 'dcgan', { file: string; Gs: G_mlp | G_dcgan }> = {} as never;

before(async () => {
  await useTestBackend();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-figbase-'));
  for (const config of ['gan-mlp', 'dcgan'] as const) {
    const { G, D } = buildNetworks({ config, num_channels: 1, resolution: 16, label_size: 0, seed: 3, G_args: config === 'dcgan' ? { fmap: 4, latent_size: 12 } : {} });
    // A training-mode forward moves the running statistics off their defaults: generation must use them.
    const g = G as G_mlp;
    tf.dispose(g.run(tf.randomNormal([8, g.latent_size], 0, 1, 'float32', 1) as tf.Tensor2D, null, { is_training: true }));
    const Gs = G.clone('Gs') as G_mlp;
    const file = path.join(dir, `${config}.safetensors`);
    saveNetworkSnapshot(file, { G, D, Gs, kimg: 0 });
    G.dispose();
    D.dispose();
    snaps[config] = { file, Gs };
  }
});
after(() => {
  for (const s of Object.values(snaps)) s.Gs.dispose();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** G(RandomState(seed).randn(1, L)) in inference mode as uint8 HW (gray). */
function expected(Gs: G_mlp | G_dcgan, seed: number): Uint8Array {
  const L = Gs.latent_size;
  const z = tf.tensor2d(Float32Array.from(new RandomState(seed).randn(1, L)), [1, L]);
  const img = Gs.run(z, null, { is_training: false });
  const u8 = convert_images_to_uint8(img.dataSync());
  tf.dispose([z, img]);
  return u8;
}
async function gray(file: string): Promise<Uint8Array> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  if (info.channels === 1) return new Uint8Array(data);
  return Uint8Array.from({ length: info.width * info.height }, (_, i) => data[i * info.channels]!);
}
const userError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');

for (const config of ['gan-mlp', 'dcgan'] as const) {
  test(`${config}: pretrained_example and images write G(z) with the running statistics`, async () => {
    const { file, Gs } = snaps[config];
    const out = path.join(dir, config, 'example.png');
    const lines: string[] = [];
    await runPretrainedExample({ network: file, seed: 5, out }, (l) => lines.push(l));
    assert.match(lines.join('\n'), /^Total\s+\d+$/m);
    assert.deepEqual(await gray(out), expected(Gs, 5));
    const files = await runImages({ network: file, seeds: [0, 7], outdir: path.join(dir, config, 'images') }, quiet);
    assert.deepEqual(files.map((f) => path.basename(f)), ['seed0000.png', 'seed0007.png']);
    assert.deepEqual(await gray(files[1]!), expected(Gs, 7));
    // ψ 1 is no truncation, so it is accepted.
    await runImages({ network: file, seeds: [7], truncation_psi: 1, outdir: path.join(dir, config, 'psi1') }, quiet);
    assert.deepEqual(await gray(path.join(dir, config, 'psi1', 'seed0007.png')), expected(Gs, 7));
  });
}

test('truncation and noise flags are refused for a generator without styles', async () => {
  const { file } = snaps.dcgan;
  const o = path.join(dir, 'refused');
  await assert.rejects(runPretrainedExample({ network: file, seed: 5, truncation_psi: 0.7, out: `${o}/a.png` }, quiet), userError(/^--psi: the truncation trick needs a W space.*G_dcgan/));
  await assert.rejects(runImages({ network: file, seeds: [1], noise_seed: 3, outdir: o }, quiet), userError(/^--noise-seed: G_dcgan .* no noise to choose/));
  await assert.rejects(runImages({ network: file, seeds: [1], randomize_noise: true, outdir: o }, quiet), userError(/^--randomize-noise:/));
  await assert.rejects(runFigures({ network: file, randomize_noise: false, outdir: o }, quiet), userError(/^--no-randomize-noise:/));
  await assert.rejects(runMorph({ network: file, seeds: [1, 2], steps: 2, loop: false, space: 'w', interp: 'lerp', pad_even: false, fps: 30, crf: 18, out: `${o}/m.mp4`, framesDir: `${o}/f` }, quiet, null), userError(/^--space w: G_dcgan/));
  assert.ok(!fs.existsSync(o), 'nothing written');
});

test('figures: uncurated by default (with a line naming the others), style figures refused by name', async () => {
  const { file } = snaps['gan-mlp'];
  const lines: string[] = [];
  const files = await runFigures({ network: file, outdir: path.join(dir, 'figs') }, (l) => lines.push(l));
  assert.deepEqual(files.map((f) => path.basename(f)), ['figure02-uncurated.png']);
  assert.ok(lines.some((l) => /G_mlp has no styles or noise: writing uncurated only \(not style-mixing, noise-detail, noise-components, truncation\)/.test(l)), lines.join('\n'));
  const meta = await sharp(files[0]!).metadata();
  assert.deepEqual([meta.width, meta.height], [16 + 8 + 4 + 4 + 2 + 2, 16 * 3]);
  await assert.rejects(runFigures({ network: file, figures: ['uncurated', 'style-mixing', 'truncation'], outdir: path.join(dir, 'figs2') }, quiet),
    userError(/^--figures: style-mixing needs styles .*; truncation needs a W space .*; G_mlp maps z straight to images/));
});

test('morph in z: the keyframes are G(z) of the seeds, frames in between differ', async () => {
  const { file, Gs } = snaps.dcgan;
  const framesDir = path.join(dir, 'frames');
  const r = await runMorph({ network: file, seeds: [3, 9], steps: 4, loop: false, space: 'z', interp: 'slerp', pad_even: false, fps: 30, crf: 18, out: 'unused.mp4', framesDir }, quiet, null);
  assert.equal(r.frames, 5);
  const frame = (i: number) => gray(path.join(framesDir, `frame${String(i).padStart(6, '0')}.png`));
  assert.deepEqual(await frame(0), expected(Gs, 3));
  assert.deepEqual(await frame(4), expected(Gs, 9));
  assert.notDeepEqual(await frame(2), await frame(0));
});
