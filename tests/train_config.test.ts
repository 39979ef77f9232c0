// train.py's presets as flags (training/train_config.ts) and process_reals (training/train_step.ts):
// explicit expectations from the spec (§3.1, §3.2, §3.6), not the code's own output.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { fp16Description, parseGridSize, parseLossPair, parseResolutionDict, presetConfig, resolveTrainConfig, scheduleArgs } from '../training/train_config.ts';
import { training_schedule } from '../training/schedule.ts';
import { snapshotGridSize } from '../training/misc.ts';
import { createTrainer, processReals } from '../training/train_step.ts';
import { buildTrainingNetworks } from '../training/training_loop.ts';
import { RandomState } from '../dnnlib/random.ts';
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

test('sg2-f / sg2-e are run_training.py\'s config-f / config-e on one GPU (§A.1, §A.9)', () => {
  const c = resolveTrainConfig({ dataset: 'ffhq', config: 'sg2-f' });
  assert.equal(c.family, 'stylegan2');
  assert.equal(c.desc, 'stylegan2-ffhq-1gpu-config-f');
  assert.equal(c.train.mirror_augment, false); // run_training.py's --mirror-augment default, even for ffhq
  assert.deepEqual([c.train.total_kimg, c.train.G_smoothing_kimg, c.train.minibatch_repeats, c.train.seed], [25000, 10, 4, 1000]);
  assert.deepEqual([c.train.image_snapshot_ticks, c.train.network_snapshot_ticks], [10, 10]);
  assert.deepEqual(c.G_loss, { func_name: 'G_logistic_ns_pathreg', args: { pl_minibatch_shrink: 2, pl_decay: 0.01, pl_weight: 2 } });
  assert.deepEqual(c.D_loss, { func_name: 'D_logistic_r1', args: { gamma: 10 } });
  assert.deepEqual(c.reg, { lazy_regularization: true, G_reg_interval: 4, D_reg_interval: 16 });
  assert.deepEqual([c.G_opt, c.D_opt], [{ beta1: 0, beta2: 0.99, epsilon: 1e-8, use_loss_scaling: false }, { beta1: 0, beta2: 0.99, epsilon: 1e-8, use_loss_scaling: false }]);
  assert.equal(c.grid.size, '8k');
  assert.deepEqual(c.G_args, {}); // config-f: fmap_base 16384 is G_main's own default
  // No growing: lod 0 and the full resolution from the first image; minibatch 32, lr 0.002;
  // StyleGAN2's tick_kimg_dict {…, 256: 8, 512: 6, 1024: 4}.
  for (const [log2, tick] of [[10, 4], [9, 6], [8, 8], [5, 20], [2, 4]] as const) {
    for (const kimg of [0, 601, 25000]) {
      const s = training_schedule(kimg * 1000, scheduleArgs(c.sched, log2));
      assert.deepEqual([s.lod, s.resolution, s.minibatch, s.G_lrate, s.D_lrate, s.tick_kimg], [0, 2 ** log2, 32, 0.002, 0.002, tick], `2^${log2} at ${kimg} kimg`);
    }
  }
  // misc.setup_snapshot_image_grid '8k': clip(7680 // W, 7, 32) × clip(4320 // H, 4, 32).
  assert.deepEqual(snapshotGridSize('8k', 1024, 1024), [7, 4]);
  assert.deepEqual(snapshotGridSize('8k', 256, 256), [30, 16]);
  assert.deepEqual(snapshotGridSize('8k', 128, 128), [32, 32]);
  assert.deepEqual(parseGridSize('8k'), { named: '8k' });
  const e = resolveTrainConfig({ dataset: 'lsun-church', config: 'sg2-e' });
  assert.equal(e.desc, 'stylegan2-lsun-church-1gpu-config-e');
  assert.deepEqual(e.D_loss.args, { gamma: 100 });
  assert.equal(resolveTrainConfig({ dataset: 'x', config: 'f' }).family, 'progressive');
});

test('sg2 overrides land where NVIDIA has them; v1-only flags are refused for sg2 and sg2-only flags for a–f', () => {
  const c = resolveTrainConfig({
    dataset: 'x', config: 'sg2-f', r1_gamma: 100, pl_weight: 0, G_reg_interval: 8, D_reg_interval: 32, fmap_base: 8192, fmap_max: 256,
    latent_size: 256, mapping_layers: 4, style_mixing_prob: 0, minibatch_base: 16, G_lrate_base: 0.001, D_lrate_base: 0.003,
    tick_kimg_base: 2, G_smoothing_kimg: 5, mirror_augment: true, total_kimg: 100, grid_size: '4x2', image_snapshot_ticks: 1,
  });
  assert.deepEqual(c.D_loss.args, { gamma: 100 });
  assert.equal(c.G_loss.args.pl_weight, 0);
  assert.deepEqual(c.reg, { lazy_regularization: true, G_reg_interval: 8, D_reg_interval: 32 });
  assert.deepEqual(c.G_args, { fmap_base: 8192, fmap_max: 256, mapping_layers: 4, latent_size: 256, dlatent_size: 256, style_mixing_prob: 0 });
  assert.deepEqual(c.D_args, { fmap_base: 8192, fmap_max: 256 });
  assert.deepEqual([c.sched.minibatch_base, c.sched.G_lrate_base, c.sched.D_lrate_base, c.sched.tick_kimg_base], [16, 0.001, 0.003, 2]);
  assert.deepEqual([c.train.G_smoothing_kimg, c.train.mirror_augment, c.train.total_kimg, c.train.image_snapshot_ticks, c.grid.size], [5, true, 100, 1, '4x2']);
  assert.equal(resolveTrainConfig({ dataset: 'x', config: 'sg2-e', lazy_regularization: false }).reg!.lazy_regularization, false);

  const refused = (o: object, re: RegExp) => assert.throws(() => resolveTrainConfig({ dataset: 'x', ...o }), (err: unknown) => err instanceof UserError && re.test(err.message), `${JSON.stringify(o)}`);
  const v1Only: [object, string][] = [
    [{ minibatch_dict: { 4: 64 } }, 'minibatch-dict'], [{ G_lrate_dict: { 8: 0.01 } }, 'G-lrate-dict'], [{ D_lrate_dict: { 8: 0.01 } }, 'D-lrate-dict'],
    [{ lod_initial_resolution: 8 }, 'lod-initial-resolution'], [{ lod_training_kimg: 600 }, 'lod-training-kimg'], [{ lod_transition_kimg: 600 }, 'lod-transition-kimg'],
    [{ reset_opt_for_new_lod: false }, 'reset-opt-for-new-lod'], [{ D_repeats: 2 }, 'D-repeats'], [{ loss: 'r1' }, 'loss'], [{ r2_gamma: 1 }, 'r2-gamma'],
    [{ wgan_lambda: 10 }, 'wgan-lambda'], [{ wgan_epsilon: 0.001 }, 'wgan-epsilon'], [{ wgan_target: 1 }, 'wgan-target'],
    [{ no_pixel_norm: true }, 'no-pixel-norm'], [{ no_instance_norm: true }, 'no-instance-norm'], [{ no_noise: true }, 'no-noise'], [{ no_styles: true }, 'no-styles'],
    [{ no_const_input: true }, 'no-const-input'], [{ no_blur: true }, 'no-blur'], [{ no_wscale: true }, 'no-wscale'], [{ fp16: true }, 'fp16'],
  ];
  for (const [o, flag] of v1Only) refused({ config: 'sg2-f', ...o }, new RegExp(`^--${flag}: StyleGAN2 \\(config sg2-f\\) has `));
  for (const [o, flag] of [[{ pl_weight: 1 }, 'pl-weight'], [{ lazy_regularization: false }, 'lazy-regularization'], [{ G_reg_interval: 2 }, 'G-reg-interval'], [{ D_reg_interval: 2 }, 'D-reg-interval']] as const) {
    refused({ config: 'f', ...o }, new RegExp(`^--${flag}: only for the StyleGAN2 configs`));
    refused({ config: 'progan', ...o }, new RegExp(`^--${flag}: only for the StyleGAN2 configs`));
  }
  refused({ config: 'sg2-f', pl_weight: -1 }, /^--pl-weight: expected a number ≥ 0/);
  refused({ config: 'sg2-f', lazy_regularization: false, G_reg_interval: 4 }, /^--G-reg-interval: has no effect with --lazy-regularization false/);
  refused({ config: 'sg2-f', D_reg_interval: 0 }, /^--D-reg-interval: expected a whole number ≥ 1/);
});

test('lazy regularisation rescales Adam for both networks: lr·c, β1^c, β2^c with c = 4/5 (G) and 16/17 (D)', async () => {
  await useTestBackend();
  const c = resolveTrainConfig({ dataset: 'x', config: 'sg2-f', fmap_max: 8, latent_size: 8, mapping_fmaps: 8, mapping_layers: 1 });
  const { G, D } = buildTrainingNetworks(c, { num_channels: 1, resolution: 8, label_size: 0 });
  const Gs = G.clone('Gs');
  const t = createTrainer(c, { G, D, Gs, rng: new RandomState(1) });
  try {
    // §A.9: G β2 0.99^0.8 = 0.991992, D β2 0.99^(16/17) = 0.990585; β1 0 stays 0.
    assert.ok(Math.abs(t.G_opt.beta2 - 0.991992) < 5e-7 && Math.abs(t.D_opt.beta2 - 0.990585) < 5e-7, `${t.G_opt.beta2} ${t.D_opt.beta2}`);
    assert.deepEqual([t.G_opt.beta1, t.D_opt.beta1, t.initialTick, t.initialFakesName(0)], [0, 0, -1, 'fakes_init.png']);
    const eager = createTrainer(resolveTrainConfig({ dataset: 'x', config: 'sg2-f', lazy_regularization: false }), { G, D, Gs, rng: new RandomState(1) });
    assert.deepEqual([eager.G_opt.beta2, eager.D_opt.beta2], [0.99, 0.99]);
    eager.dispose();
  } finally {
    t.dispose();
    for (const n of [G, D, Gs]) n.dispose();
  }
});
