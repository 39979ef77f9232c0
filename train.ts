// Main entry point for training StyleGAN, ProGAN and StyleGAN2 networks (NVIDIA's train.py and
// StyleGAN2's run_training.py). NVIDIA configures a
// run by editing train.py; here every choice is a flag. This file only parses flags into a
// TrainOverrides, resolves the config (training/train_config.ts) and calls training/training_loop.ts.
// --dry-run builds G and D for the config and prints their layer tables without data.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runMain, UserError } from './dnnlib/errors.ts';
import { finishCli } from './dnnlib/cli.ts';
import { backendOptions, backendOptionsFrom, initBackend } from './dnnlib/backend.ts';
import { CONFIG_NAMES, NETWORK_CONFIGS, dryRunShape, type ConfigName } from './training/network_configs.ts';
import { LOSS_PAIRS, parseResolutionDict, resolveTrainConfig, type TrainOverrides } from './training/train_config.ts';
import { buildTrainingNetworks, checkTrainingMetrics, trainingLoop } from './training/training_loop.ts';
import { parseMetricList } from './metrics/run_metrics_lib.ts';
import { listMetrics } from './metrics/all_metrics.ts';

const PROG = 'train.ts';

function wholeNumber(flag: string, v: unknown, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${flag}: expected a whole number ≥ ${min}, got '${String(v)}'`, 2);
  return n;
}

function positive(flag: string, v: unknown, allowZero = false): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0 || (!allowZero && n === 0)) throw new UserError(`--${flag}: expected a number ${allowZero ? '≥' : '>'} 0, got '${String(v)}'`, 2);
  return n;
}

const dict = (flag: string, v: unknown) => (v === undefined ? undefined : parseResolutionDict(String(v), flag));

runMain(async () => {
  const argv = await finishCli(yargs(hideBin(process.argv))
    .scriptName(PROG)
    // The feature switches are named --no-<feature> like NVIDIA's -no* lines; yargs' negation would read
    // them as --<feature>=false. Booleans that default on take a value instead: --mirror-augment false.
    .parserConfiguration({ 'boolean-negation': false })
    .usage('Train StyleGAN / ProGAN networks (NVIDIA train.py) or StyleGAN2 (--config sg2-e|sg2-f, run_training.py); every setting is a flag.\n\n' +
      'Usage: $0 --data-dir datasets --dataset <name> [options]\n       $0 --dry-run [options]')
    .option('dry-run', { type: 'boolean', default: false, describe: 'build G and D without data, print their layer tables and exit' })
    .option('config', {
      type: 'string', default: 'f', choices: CONFIG_NAMES as unknown as string[],
      describe: 'network configuration: ' + CONFIG_NAMES.map((c) => `${c} = ${NETWORK_CONFIGS[c].describe}`).join('; ') +
        '. a trains with WGAN-GP like ProGAN; b–f with the FFHQ loss (non-saturating logistic + R1 γ=10); progan uses ProGAN\'s -preset-v2-1gpu; ' +
        'sg2-e/sg2-f train as StyleGAN2\'s run_training.py (no growing, minibatch 32, lr 0.002, path-length + lazy R1 regularisation, γ 100 for e)',
    })
    .group(['data-dir', 'dataset', 'resolution', 'max-label-size', 'mirror-augment', 'result-dir', 'desc', 'resume'], 'Data and run:')
    .option('data-dir', { type: 'string', default: 'datasets', describe: 'directory holding the datasets' })
    .option('dataset', { type: 'string', describe: 'dataset name: <data-dir>/<dataset> made by dataset_tool.ts' })
    .option('resolution', { type: 'number', describe: 'train at this resolution of the dataset (default: its full resolution; --dry-run: 1024, gan-mlp 28, dcgan/wgan-gp 64)' })
    .option('max-label-size', { type: 'string', describe: "labels to use: 0 (unconditional, default) or 'full'" })
    .option('mirror-augment', { type: 'boolean', describe: 'random horizontal flips of the reals: true|false (default: true for ffhq*/celebahq*, else false; sg2-*: false, as run_training.py)' })
    .option('result-dir', { type: 'string', default: 'results', describe: 'where run directories NNNNN-<desc> are created' })
    .option('desc', { type: 'string', describe: 'extra text appended to the run description' })
    .option('resume', { type: 'string', describe: "continue from a snapshot file, a run dir's newest snapshot, or 'latest' (newest run of this dataset and config)" })
    .group(['total-kimg', 'minibatch-base', 'minibatch-dict', 'G-lrate-base', 'D-lrate-base', 'G-lrate-dict', 'D-lrate-dict', 'lrate-rampup-kimg',
      'lod-initial-resolution', 'lod-training-kimg', 'lod-transition-kimg', 'tick-kimg-base', 'tick-kimg-dict'], 'Schedule:')
    .option('total-kimg', { type: 'number', describe: 'length of training in thousands of real images (default 25000; progan 12000)' })
    .option('minibatch-base', { type: 'number', describe: 'minibatch where minibatch-dict has no entry (default 4)' })
    .option('minibatch-dict', { type: 'string', describe: "per-resolution minibatch, e.g. '4:128,8:128,16:128,32:64' ('' = none; default NVIDIA's -1gpu)" })
    .option('G-lrate-base', { type: 'number', describe: 'G learning rate where G-lrate-dict has no entry (default 0.001)' })
    .option('D-lrate-base', { type: 'number', describe: 'D learning rate where D-lrate-dict has no entry (default 0.001)' })
    .option('G-lrate-dict', { type: 'string', describe: "per-resolution G learning rate (default '128:0.0015,256:0.002,512:0.003,1024:0.003')" })
    .option('D-lrate-dict', { type: 'string', describe: 'per-resolution D learning rate (same default)' })
    .option('lrate-rampup-kimg', { type: 'number', describe: 'linear learning-rate ramp-up (default 0 = none)' })
    .option('lod-initial-resolution', { type: 'number', describe: 'resolution growing starts at (default 8; progan 4)' })
    .option('lod-training-kimg', { type: 'number', describe: 'kimg at each resolution before the next fades in (default 600)' })
    .option('lod-transition-kimg', { type: 'number', describe: 'kimg of each fade-in (default 600)' })
    .option('tick-kimg-base', { type: 'number', describe: 'kimg per tick where tick-kimg-dict has no entry (default 160)' })
    .option('tick-kimg-dict', { type: 'string', describe: "per-resolution kimg per tick (default '4:160,8:140,16:120,32:100,64:80,128:60,256:40,512:30,1024:20')" })
    .group(['G-smoothing-kimg', 'minibatch-repeats', 'D-repeats', 'reset-opt-for-new-lod', 'loss', 'r1-gamma', 'r2-gamma', 'wgan-lambda', 'wgan-epsilon', 'wgan-target', 'fp16', 'seed'], 'Training:')
    .group(['pl-weight', 'lazy-regularization', 'G-reg-interval', 'D-reg-interval'], 'StyleGAN2 (sg2-e, sg2-f):')
    .option('G-smoothing-kimg', { type: 'number', describe: 'half-life of the Gs moving average in kimg (default 10; 0 = Gs is G)' })
    .option('minibatch-repeats', { type: 'number', describe: 'minibatches between schedule evaluations (default 4)' })
    .option('D-repeats', { type: 'number', describe: 'D steps per G step (default 1)' })
    .option('reset-opt-for-new-lod', { type: 'boolean', describe: 'reset Adam when a fade starts or ends: true|false (default true)' })
    .option('loss', { type: 'string', describe: `G/D loss pair: ${Object.entries(LOSS_PAIRS).map(([k, [g, d]]) => `${k} (${g} + ${d})`).join(', ')}; or G_name:D_name` })
    .option('r1-gamma', { type: 'number', alias: 'gamma', describe: 'R1 weight γ of D_logistic_simplegp / D_logistic_r1 (default 10; sg2-e 100); --gamma as run_training.py' })
    .option('pl-weight', { type: 'number', describe: 'path-length regularisation weight of G_logistic_ns_pathreg (default 2; 0 = off)' })
    .option('lazy-regularization', { type: 'boolean', describe: 'regularise in separate steps every G/D-reg-interval minibatches with rescaled Adam: true|false (default true; false adds the penalties to every minibatch\'s loss)' })
    .option('G-reg-interval', { type: 'number', describe: 'minibatches between G path-length steps (default 4)' })
    .option('D-reg-interval', { type: 'number', describe: 'minibatches between D R1 steps (default 16)' })
    .option('r2-gamma', { type: 'number', describe: 'R2 weight of D_logistic_simplegp (default 0)' })
    .option('wgan-lambda', { type: 'number', describe: 'gradient-penalty weight of D_wgan_gp / D_hinge_gp (default 10)' })
    .option('wgan-epsilon', { type: 'number', describe: 'drift penalty of D_wgan / D_wgan_gp (default 0.001)' })
    .option('wgan-target', { type: 'number', describe: 'gradient-norm target of the WGAN-GP penalty (default 1)' })
    .option('fp16', { type: 'boolean', describe: "NVIDIA's -fp16: dynamic loss scaling (tfjs has no float16 tensors; the start line says exactly what it does)" })
    .option('seed', { type: 'number', describe: 'seed of every random stream (default 1000, as train.py)' })
    .group(['fmap-base', 'fmap-max', 'fmap', 'mapping-layers', 'latent-size', 'mapping-fmaps', 'style-mixing-prob', 'no-pixel-norm', 'no-instance-norm', 'no-noise', 'no-styles', 'no-const-input', 'no-blur', 'no-wscale', 'nonlinearity', 'num-channels', 'label-size'], 'Networks:')
    .option('fmap-base', { type: 'number', describe: 'overall multiplier for feature maps (G and D; default 8192)' })
    .option('fmap-max', { type: 'number', describe: 'maximum feature maps per layer (G and D; default 512)' })
    .option('fmap', { type: 'number', describe: 'dcgan / wgan-gp only: channels next to the image, doubling toward 4x4 (ngf = ndf; default 64)' })
    .option('mapping-layers', { type: 'number', describe: 'mapping network depth (G_style; default 8, 0 in configs a/b)' })
    .option('latent-size', { type: 'number', describe: 'size of z (and of w in G_style; default 512; progan: nf(0))' })
    .option('mapping-fmaps', { type: 'number', describe: 'width of the mapping network (G_style; default 512)' })
    .option('style-mixing-prob', { type: 'number', describe: 'style-mixing probability (G_style; default 0.9 in f, 0 in a–e)' })
    .option('no-pixel-norm', { type: 'boolean', describe: 'switch off pixel norm (configs a, b, progan)' })
    .option('no-instance-norm', { type: 'boolean', describe: 'switch off instance norm / AdaIN normalisation (c–f)' })
    .option('no-noise', { type: 'boolean', describe: 'switch off the noise inputs (e, f)' })
    .option('no-styles', { type: 'boolean', describe: 'switch off the style modulation (c–f)' })
    .option('no-const-input', { type: 'boolean', describe: 'dense 4x4 input instead of the learned constant (d–f)' })
    .option('no-blur', { type: 'boolean', describe: 'switch off the [1,2,1] blur in G and D (b–f)' })
    .option('no-wscale', { type: 'boolean', describe: 'switch off the equalized learning rate (all configs)' })
    .option('nonlinearity', { type: 'string', choices: ['relu', 'lrelu'], describe: 'activation of G synthesis and D (progan: G only)' })
    .option('num-channels', { type: 'number', describe: '--dry-run only: image channels (default 3; gan-mlp 1)' })
    .option('label-size', { type: 'number', describe: '--dry-run only: label dimensionality (default 0)' })
    .group(['image-snapshot-ticks', 'network-snapshot-ticks', 'grid-size', 'metrics', 'metrics-num-images', 'cache-dir', 'inception', 'vgg16', 'classifiers'], 'Snapshots:')
    .option('image-snapshot-ticks', { type: 'number', describe: 'write fakesNNNNNN.png every N ticks (default 1; sg2-* 10)' })
    .option('network-snapshot-ticks', { type: 'number', describe: 'write network-snapshot-NNNNNN.safetensors every N ticks (default 10; also at the first tick and the end)' })
    .option('grid-size', { type: 'string', describe: "snapshot grid: 1080p, 4k, 8k (NVIDIA's, by image size) or COLSxROWS (default 4k; progan 1080p; sg2-* 8k)" })
    .option('metrics', {
      type: 'string', default: 'none',
      describe: `metrics run on each network snapshot (and network-final), comma-separated: ${listMetrics().join(', ')}; ` +
        "or 'none'. Results are appended to <run dir>/metric-<name>.txt (and .jsonl), as run_metrics.ts --run-dir does; a failing metric prints a line and training goes on",
    })
    .option('metrics-num-images', { type: 'number', describe: "override every metric's sample count (run_metrics' --num-images) for quick checks; results say so" })
    .option('cache-dir', { type: 'string', describe: 'with --metrics: cache for metric weights (default ~/.cache/stylegan-ts) and real-image statistics (default ./cache)' })
    .option('inception', { type: 'string', describe: 'with --metrics fid50k: the FID Inception weights file instead of downloading it (pt_inception-2015-12-05-6726825d.pth)' })
    .option('vgg16', { type: 'string', describe: 'with --metrics ppl_*: the LPIPS weights instead of downloading them (vgg16-397923af.pth,lpips-v0.1-vgg.pth, or one .safetensors)' })
    .option('classifiers', { type: 'string', describe: 'with --metrics ls: directory holding the 40 celebahq-classifier-NN-<attr>.pkl' })
    .options(backendOptions)
    .example('$0 --data-dir datasets --dataset ffhq', "NVIDIA's default: config F at the dataset's resolution, 25M images")
    .example('$0 --dataset fmnist --config f --fmap-max 128 --mapping-layers 2 --total-kimg 500 --minibatch-base 32 --minibatch-dict "" --lod-training-kimg 60 --lod-transition-kimg 60 --r1-gamma 1 --grid-size 8x8', 'a small StyleGAN on Fashion-MNIST (32x32, one channel)')
    .example('$0 --dataset celebahq --config b --loss wgan-gp', 'the tuned baseline with WGAN-GP')
    .example('$0 --dataset ffhq --config sg2-f --mirror-augment true', "StyleGAN2 config F as in NVIDIA's README (run_training.py --config=config-f)")
    .example('$0 --dataset lsun-church --config sg2-f --total-kimg 88000 --gamma 100', 'StyleGAN2 on LSUN Church (the README line)')
    .example('$0 --dataset fmnist --resume latest', 'continue the newest run of this dataset and config (after Ctrl-C, a crash or kill -9)')
    .example('$0 --dry-run --config f --resolution 32 --fmap-max 128 --mapping-layers 2', 'print the layer tables of a small network'), PROG).parseAsync();

  const config = argv.config as ConfigName;
  const resolution = wholeNumber('resolution', argv.resolution, 4);
  if (resolution !== undefined && !Number.isInteger(Math.log2(resolution))) throw new UserError(`--resolution: expected a power of two, got ${resolution}`, 2);
  const maxLabel = argv['max-label-size'];
  if (maxLabel !== undefined && maxLabel !== '0' && maxLabel !== 'full') throw new UserError(`--max-label-size: expected 0 or full, got '${maxLabel}'`, 2);
  const metricNames = String(argv.metrics).split(',').map((s) => s.trim()).filter((s) => s && s !== 'none');
  const metrics = metricNames.length ? parseMetricList(metricNames.join(',')) : [];
  const vgg16 = argv.vgg16 === undefined ? undefined : ([] as unknown[]).concat(argv.vgg16).flatMap((x) => String(x).split(',')).filter(Boolean);

  const overrides: TrainOverrides = {
    config,
    dataset: argv['dry-run'] ? (argv.dataset ?? 'dry-run') : argv.dataset ?? '',
    data_dir: argv['data-dir'],
    resolution,
    max_label_size: maxLabel === undefined ? undefined : maxLabel === 'full' ? 'full' : 0,
    result_dir: argv['result-dir'],
    desc: argv.desc,
    resume: argv.resume,
    total_kimg: positive('total-kimg', argv['total-kimg']),
    minibatch_base: wholeNumber('minibatch-base', argv['minibatch-base']),
    minibatch_dict: dict('minibatch-dict', argv['minibatch-dict']),
    G_lrate_base: positive('G-lrate-base', argv['G-lrate-base']),
    D_lrate_base: positive('D-lrate-base', argv['D-lrate-base']),
    G_lrate_dict: dict('G-lrate-dict', argv['G-lrate-dict']),
    D_lrate_dict: dict('D-lrate-dict', argv['D-lrate-dict']),
    lrate_rampup_kimg: positive('lrate-rampup-kimg', argv['lrate-rampup-kimg'], true),
    lod_initial_resolution: wholeNumber('lod-initial-resolution', argv['lod-initial-resolution'], 4),
    lod_training_kimg: positive('lod-training-kimg', argv['lod-training-kimg'], true),
    lod_transition_kimg: positive('lod-transition-kimg', argv['lod-transition-kimg'], true),
    tick_kimg_base: positive('tick-kimg-base', argv['tick-kimg-base']),
    tick_kimg_dict: dict('tick-kimg-dict', argv['tick-kimg-dict']),
    G_smoothing_kimg: positive('G-smoothing-kimg', argv['G-smoothing-kimg'], true),
    pl_weight: positive('pl-weight', argv['pl-weight'], true),
    lazy_regularization: argv['lazy-regularization'],
    G_reg_interval: wholeNumber('G-reg-interval', argv['G-reg-interval']),
    D_reg_interval: wholeNumber('D-reg-interval', argv['D-reg-interval']),
    minibatch_repeats: wholeNumber('minibatch-repeats', argv['minibatch-repeats']),
    D_repeats: wholeNumber('D-repeats', argv['D-repeats']),
    reset_opt_for_new_lod: argv['reset-opt-for-new-lod'],
    mirror_augment: argv['mirror-augment'],
    loss: argv.loss,
    r1_gamma: argv['r1-gamma'], r2_gamma: argv['r2-gamma'],
    wgan_lambda: argv['wgan-lambda'], wgan_epsilon: argv['wgan-epsilon'], wgan_target: argv['wgan-target'],
    style_mixing_prob: argv['style-mixing-prob'],
    fmap_base: wholeNumber('fmap-base', argv['fmap-base']),
    fmap_max: wholeNumber('fmap-max', argv['fmap-max']),
    fmap: wholeNumber('fmap', argv.fmap),
    mapping_layers: wholeNumber('mapping-layers', argv['mapping-layers'], 0),
    latent_size: wholeNumber('latent-size', argv['latent-size']),
    mapping_fmaps: wholeNumber('mapping-fmaps', argv['mapping-fmaps']),
    no_pixel_norm: argv['no-pixel-norm'], no_instance_norm: argv['no-instance-norm'], no_noise: argv['no-noise'],
    no_styles: argv['no-styles'], no_const_input: argv['no-const-input'], no_blur: argv['no-blur'], no_wscale: argv['no-wscale'],
    nonlinearity: argv.nonlinearity as 'relu' | 'lrelu' | undefined,
    fp16: argv.fp16,
    seed: wholeNumber('seed', argv.seed, 0),
    image_snapshot_ticks: wholeNumber('image-snapshot-ticks', argv['image-snapshot-ticks']),
    network_snapshot_ticks: wholeNumber('network-snapshot-ticks', argv['network-snapshot-ticks']),
    grid_size: argv['grid-size'],
    metrics,
    metrics_args: {
      num_images: wholeNumber('metrics-num-images', argv['metrics-num-images'], 2),
      cache_dir: argv['cache-dir'], inception: argv.inception, vgg16, classifiers: argv.classifiers,
    },
  };

  if (argv['dry-run']) {
    const num_channels = wholeNumber('num-channels', argv['num-channels']) ?? dryRunShape(config).num_channels;
    const label_size = wholeNumber('label-size', argv['label-size'], 0) ?? 0;
    if (overrides.mapping_layers !== undefined && config === 'progan') throw new UserError('--mapping-layers: the ProGAN generator has no mapping network', 2);
    const c = resolveTrainConfig(overrides);
    await initBackend(backendOptionsFrom(argv));
    process.stdout.write('Constructing networks...\n');
    const { G, D } = buildTrainingNetworks(c, { num_channels, resolution: resolution ?? dryRunShape(config).resolution, label_size });
    process.stdout.write(`\n${G.print_layers()}\n\n${D.print_layers()}\n\n`);
    G.dispose();
    D.dispose();
    return;
  }

  if (!argv.dataset) throw new UserError('--dataset is required (a directory under --data-dir made by dataset_tool.ts); or use --dry-run', 2);
  for (const f of ['num-channels', 'label-size'] as const) {
    if (argv[f] !== undefined) throw new UserError(`--${f}: only for --dry-run; training takes the shape from the dataset`, 2);
  }
  const c = resolveTrainConfig(overrides);
  checkTrainingMetrics(c);
  await initBackend(backendOptionsFrom(argv));
  const result = await trainingLoop(c);
  process.exitCode = result.exitCode;
});
