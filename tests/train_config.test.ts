// train.py's presets as flags (training/train_config.ts) and process_reals (training/train_step.ts):
// explicit expectations from the spec (§3.1, §3.2, §3.6), not the code's own output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { fp16Description, parseGridSize, parseLossPair, parseResolutionDict, presetConfig, resolveTrainConfig, scheduleArgs } from '../training/train_config.ts';
import { training_schedule } from '../training/schedule.ts';
import { processReals } from '../training/train_step.ts';
import { useTestBackend } from './_backend.ts';

test('config f on ffhq is train.py\'s default block with the -1gpu preset', () => {
  const c = resolveTrainConfig({ dataset: 'ffhq' });
  assert.equal(c.desc, 'sgan-ffhq-1gpu');
  assert.equal(c.train.mirror_augment, true);
  assert.equal(c.train.total_kimg, 25000);
  assert.equal(c.train.G_smoothing_kimg, 10);
  assert.equal(c.train.minibatch_repeats, 4);
  assert.equal(c.train.D_repeats, 1);
  assert.equal(c.train.network_snapshot_ticks, 10);
  assert.equal(c.train.seed, 1000);
  assert.deepEqual(c.G_loss, { func_name: 'G_logistic_nonsaturating', args: {} });
  assert.deepEqual(c.D_loss, { func_name: 'D_logistic_simplegp', args: { r1_gamma: 10 } });
  assert.deepEqual(c.G_opt, { beta1: 0, beta2: 0.99, epsilon: 1e-8, use_loss_scaling: false });
  assert.equal(c.grid.size, '4k');
  // §3.1: 1 GPU at 1024² starts at 8x8 with minibatch 128; 32x32 takes 64; 128² gets lr 0.0015.
  const sched = (kimg: number) => training_schedule(kimg * 1000, scheduleArgs(c.sched, 10));
  assert.deepEqual([sched(0).lod, sched(0).resolution, sched(0).minibatch, sched(0).tick_kimg], [7, 8, 128, 140]);
  assert.equal(sched(2400).minibatch, 64);
  assert.equal(sched(4800).G_lrate, 0.0015);
  assert.equal(sched(9000).minibatch, 4); // 1024² is not in the -1gpu dict: minibatch_base
  assert.equal(resolveTrainConfig({ dataset: 'lsun-bedroom-full' }).train.mirror_augment, false);
});

test('Table 1 presets: a trains with WGAN-GP and capped rates, b–e are named like train.py, progan is ProGAN\'s block', () => {
  const a = presetConfig('a', 'celebahq');
  assert.deepEqual([a.G_loss.func_name, a.D_loss.func_name], ['G_wgan', 'D_wgan_gp']);
  assert.deepEqual(a.sched.G_lrate_dict, { 128: 0.0015, 256: 0.002, 512: 0.002, 1024: 0.002 });
  assert.equal(presetConfig('b', 'ffhq').desc, 'sgan-ffhq-1gpu-tuned-baseline');
  assert.equal(presetConfig('e', 'ffhq').desc, 'sgan-ffhq-1gpu-add-noise-inputs');
  assert.equal(presetConfig('e', 'ffhq').D_loss.func_name, 'D_logistic_simplegp');
  const p = presetConfig('progan', 'celebahq');
  assert.equal(p.desc, 'pgan-celebahq-preset-v2-1gpu-fp32');
  assert.equal(p.train.total_kimg, 12000);
  assert.equal(p.sched.lod_initial_resolution, 4);
  assert.deepEqual(p.sched.G_lrate_dict, { 1024: 0.0015 });
  assert.equal(p.grid.size, '1080p');
});

test('every override lands in the config; feature switches a config lacks are refused, not ignored', () => {
  const c = resolveTrainConfig({
    dataset: 'x', config: 'b', fmap_max: 32, fmap_base: 1024, no_pixel_norm: true, no_blur: true, no_wscale: true, nonlinearity: 'relu',
    minibatch_base: 8, minibatch_dict: { 4: 64 }, G_lrate_dict: { 8: 0.01 }, lod_training_kimg: 3, lod_transition_kimg: 2,
    G_smoothing_kimg: 0, D_repeats: 2, minibatch_repeats: 1, reset_opt_for_new_lod: false, mirror_augment: true, seed: 5,
    loss: 'wgan-gp', wgan_lambda: 5, desc: 'try',
  });
  assert.deepEqual(c.G_args, { fmap_base: 1024, fmap_max: 32, use_wscale: false, nonlinearity: 'relu', use_pixel_norm: false, blur_filter: null });
  assert.deepEqual(c.D_args, { fmap_base: 1024, fmap_max: 32, use_wscale: false, nonlinearity: 'relu', blur_filter: null });
  assert.deepEqual([c.sched.minibatch_base, c.sched.minibatch_dict, c.sched.G_lrate_dict, c.sched.lod_training_kimg, c.sched.lod_transition_kimg], [8, { 4: 64 }, { 8: 0.01 }, 3, 2]);
  assert.deepEqual([c.train.G_smoothing_kimg, c.train.D_repeats, c.train.minibatch_repeats, c.train.reset_opt_for_new_lod, c.train.mirror_augment, c.train.seed], [0, 2, 1, false, true, 5]);
  assert.deepEqual(c.D_loss, { func_name: 'D_wgan_gp', args: { wgan_lambda: 5 } });
  assert.equal(c.desc, 'sgan-x-1gpu-tuned-baseline-try');
  const refused = (o: object, re: RegExp) => assert.throws(() => resolveTrainConfig({ dataset: 'x', ...o }), (e: unknown) => e instanceof UserError && re.test(e.message));
  refused({ config: 'd', no_noise: true }, /--no-noise: config d has no noise inputs/);
  refused({ config: 'f', no_pixel_norm: true }, /--no-pixel-norm: config f has no pixel norm/);
  refused({ config: 'a', no_blur: true }, /--no-blur: config a has no blur/);
  refused({ config: 'c', no_const_input: true }, /--no-const-input/);
  refused({ config: 'progan', mapping_layers: 2 }, /--mapping-layers: config progan/);
  refused({ loss: 'wgan-gp', r1_gamma: 1 }, /--r1-gamma: the D loss D_wgan_gp takes no r1_gamma/);
  refused({ style_mixing_prob: 1.5 }, /--style-mixing-prob/);
  refused({ dataset: '../etc' }, /--dataset/);
  const f = resolveTrainConfig({ dataset: 'x', no_noise: true, no_const_input: true, style_mixing_prob: 0.5, r1_gamma: 1, r2_gamma: 2 });
  assert.deepEqual(f.G_args, { style_mixing_prob: 0.5, use_noise: false, const_input_layer: false });
  assert.deepEqual(f.D_loss.args, { r1_gamma: 1, r2_gamma: 2 });
});

test('loss pairs, resolution dicts and grid sizes parse, and bad ones are one-line usage errors', () => {
  assert.deepEqual(parseLossPair('wgan-gp'), ['G_wgan', 'D_wgan_gp']);
  assert.deepEqual(parseLossPair('r1'), ['G_logistic_nonsaturating', 'D_logistic_simplegp']);
  assert.deepEqual(parseLossPair('logistic'), ['G_logistic_saturating', 'D_logistic']);
  assert.deepEqual(parseLossPair('G_wgan:D_hinge'), ['G_wgan', 'D_hinge']);
  assert.throws(() => parseLossPair('G_wgan:D_nope'), /unknown D loss 'D_nope'/);
  assert.throws(() => parseLossPair('gan'), /--loss: unknown loss 'gan'/);
  assert.deepEqual(parseResolutionDict('4:128, 8:64,16=1e-3', 'x'), { 4: 128, 8: 64, 16: 0.001 });
  assert.deepEqual(parseResolutionDict('', 'x'), {});
  assert.throws(() => parseResolutionDict('3:128', 'minibatch-dict'), /--minibatch-dict: expected resolution:value pairs/);
  assert.throws(() => parseResolutionDict('8:0', 'minibatch-dict'), /--minibatch-dict/);
  assert.deepEqual(parseGridSize('8x4'), { cols: 8, rows: 4 });
  assert.deepEqual(parseGridSize('4k'), { named: '4k' });
  assert.throws(() => parseGridSize('big'), /--grid-size/);
});

test('--fp16 turns on NVIDIA\'s loss scaling in both optimizers and says so', () => {
  const c = resolveTrainConfig({ dataset: 'x', fp16: true });
  assert.equal(c.G_opt.use_loss_scaling, true);
  assert.equal(c.D_opt.use_loss_scaling, true);
  const line = fp16Description(c, 'tensorflow');
  assert.match(line, /no float16 tensors/);
  assert.match(line, /loss scaling/);
  assert.match(line, /2\^64/);
  assert.equal(c.desc, 'sgan-x-1gpu-fp16');
  const p = resolveTrainConfig({ dataset: 'x', config: 'progan', fp16: true });
  assert.equal(p.G_args.pixelnorm_epsilon, 1e-4);
  assert.equal(p.desc, 'pgan-x-preset-v2-1gpu-fp16');
  assert.match(fp16Description(p, 'cpu'), /also sets G_paper pixelnorm_epsilon 1e-4/);
  assert.match(fp16Description(resolveTrainConfig({ dataset: 'x' }), 'cpu'), /off/);
});

test('process_reals: FadeLOD blends toward the 2x2 box average by lod − floor(lod), UpscaleLOD repeats pixels', async () => {
  await useTestBackend();
  // One 4x4 image, values 0..15 row-major. Box averages of its 2x2 blocks: 2.5, 4.5, 10.5, 12.5.
  const x = tf.tensor4d(Array.from({ length: 16 }, (_, i) => i), [1, 1, 4, 4]);
  const faded = processReals(x, 0.25, 4);
  // x + (avg − x)·0.25: pixel 0 → 0 + 2.5·0.25 = 0.625; pixel 5 (block avg 2.5) → 5 − 2.5·0.25 = 4.375.
  const f = await faded.data();
  assert.ok(Math.abs(f[0]! - 0.625) < 1e-6 && Math.abs(f[5]! - 4.375) < 1e-6 && Math.abs(f[15]! - (15 - 2.5 * 0.25)) < 1e-6, `${f}`);
  // lod 1 (integer): no fade; a 4x4 level upscaled to 8x8 by pixel repetition.
  const up = processReals(x, 1, 8);
  assert.deepEqual(up.shape, [1, 1, 8, 8]);
  const u = await up.data();
  assert.deepEqual([u[0], u[1], u[2], u[8], u[9], u[63]], [0, 0, 1, 0, 0, 15]);
  // lod 1.5 at 8x8: fade by 0.5 at the 4x4 level, then upscale ×2.
  const both = await processReals(x, 1.5, 8).data();
  assert.ok(Math.abs(both[0]! - 1.25) < 1e-6 && Math.abs(both[9]! - 1.25) < 1e-6, `${both.slice(0, 10)}`);
  tf.dispose([x, faded, up]);
});
