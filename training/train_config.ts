// What NVIDIA's train.py sets by editing (spec §3.1–§3.3), as one typed, JSON-serialisable config:
// the presets of the paper's Table 1 (a–f), ProGAN's block, StyleGAN2's run_training.py (sg2-e, sg2-f;
// stylegan2-and-pickles.md §A.1, §A.9), the FFHQ / 1-GPU defaults, and the mapping from CLI overrides
// onto them. Pure: no files, no tensors; train.ts parses flags into
// TrainOverrides, resolveTrainConfig() applies them and refuses any that would do nothing.
import { UserError } from '../dnnlib/errors.ts';
import { CONFIG_NAMES, NETWORK_CONFIGS, isBaselineConfig, type ConfigName } from './network_configs.ts';
import { G_LOSSES, D_LOSSES } from './loss.ts';
import type { ResolutionDict, TrainingScheduleArgs } from './schedule.ts';

export interface LossConfig {
  /** NVIDIA's loss function name, e.g. 'D_logistic_simplegp'. */
  func_name: string;
  /** Its keyword arguments (r1_gamma, wgan_lambda, ...). */
  args: Record<string, number>;
}

/** run_metrics' options for the metrics run at network snapshots. */
export interface MetricsArgs { num_images?: number; cache_dir?: string; inception?: string; vgg16?: string[]; classifiers?: string }

export interface OptConfig { beta1: number; beta2: number; epsilon: number; use_loss_scaling: boolean }

export type SchedConfig = Omit<TrainingScheduleArgs, 'training_set_resolution_log2' | 'lod_initial_resolution'> & {
  /** Resolution growing starts at; null = NVIDIA's None in StyleGAN2's schedule: lod 0, full resolution throughout. */
  lod_initial_resolution: number | null;
};

/**
 * The schedule's arguments for a dataset of 2^resolution_log2. NVIDIA's None start resolution (lod 0
 * throughout) is the dataset's own: lod = log2 R − log2 R − phase_idx, clamped at 0.
 */
export function scheduleArgs(sched: SchedConfig, resolution_log2: number): TrainingScheduleArgs {
  return { ...sched, training_set_resolution_log2: resolution_log2, lod_initial_resolution: sched.lod_initial_resolution ?? 2 ** resolution_log2 };
}

/**
 * How a config trains, chosen in one place (trainingFamily) for the loop to dispatch on:
 * 'progressive' = StyleGAN/ProGAN's training_loop (growing, D repeats, regularisers in the loss);
 * 'stylegan2' = NVlabs/stylegan2's (no growing, G step then D step per minibatch, lazy regularisation);
 * 'baseline' = the classic GANs (gan-mlp, dcgan, wgan-gp): NVIDIA's loop without growing, networks in
 * training mode (batch norm), Gs a plain copy of G (train_step.ts).
 */
export type TrainingFamily = 'progressive' | 'stylegan2' | 'baseline';

export function trainingFamily(config: ConfigName): TrainingFamily {
  if (isBaselineConfig(config)) return 'baseline';
  return NETWORK_CONFIGS[config].G_func === 'G_main' ? 'stylegan2' : 'progressive';
}

/** StyleGAN2's training_loop kwargs for lazy regularisation (§A.9). */
export interface LazyRegConfig {
  lazy_regularization: boolean;
  G_reg_interval: number;
  D_reg_interval: number;
}

export interface TrainConfig {
  /** Run directory suffix: results/NNNNN-<desc>. */
  desc: string;
  network_config: ConfigName;
  /** Which training loop runs (trainingFamily(network_config)). */
  family: TrainingFamily;
  /** Build kwargs for G and D on top of the network config's own (dataset shape is added by the loop). */
  G_args: Record<string, unknown>;
  D_args: Record<string, unknown>;
  G_opt: OptConfig;
  D_opt: OptConfig;
  G_loss: LossConfig;
  D_loss: LossConfig;
  dataset: { data_dir: string; tfrecord_dir: string; resolution: number | null; max_label_size: 0 | 'full' };
  sched: SchedConfig;
  /** Snapshot grid: NVIDIA's '1080p' / '4k' / '8k' or an explicit 'WxH' (columns x rows). */
  grid: { size: string; layout: 'random' };
  /** Metric names to run at network snapshots (empty: none). */
  metrics: string[];
  /** How those metrics run (run_metrics' --num-images, --cache-dir and weights flags); absent = its defaults. */
  metrics_args?: MetricsArgs;
  train: {
    total_kimg: number;
    G_smoothing_kimg: number;
    D_repeats: number;
    minibatch_repeats: number;
    reset_opt_for_new_lod: boolean;
    mirror_augment: boolean;
    image_snapshot_ticks: number;
    network_snapshot_ticks: number;
    /** Seed of every random stream (NVIDIA's tf_config 'rnd.np_random_seed' = 1000). */
    seed: number;
  };
  /** StyleGAN2 only: lazy regularisation (absent for the progressive family). */
  reg?: LazyRegConfig;
  /** What --fp16 turns on (see fp16Description). */
  fp16: boolean;
  result_dir: string;
  /** A snapshot file or run dir to continue from, 'latest', or null. */
  resume: string | null;
}

// ---------------------------------------------------------------------------------------------
// Loss pairs (--loss).

/** Short names for NVIDIA's G/D loss pairs; `G_x:D_y` names any pair explicitly. */
export const LOSS_PAIRS: Readonly<Record<string, [string, string]>> = Object.freeze({
  'r1': ['G_logistic_nonsaturating', 'D_logistic_simplegp'],
  'logistic-ns': ['G_logistic_nonsaturating', 'D_logistic'],
  'logistic': ['G_logistic_saturating', 'D_logistic'],
  'logistic-saturating-r1': ['G_logistic_saturating', 'D_logistic_simplegp'],
  'wgan': ['G_wgan', 'D_wgan'],
  'wgan-gp': ['G_wgan', 'D_wgan_gp'],
  'hinge': ['G_wgan', 'D_hinge'],
  'hinge-gp': ['G_wgan', 'D_hinge_gp'],
});

/** Which keyword arguments each D loss takes (so a gamma given to WGAN-GP is refused, not ignored). */
const D_LOSS_ARGS: Readonly<Record<string, readonly string[]>> = {
  D_wgan: ['wgan_epsilon'],
  D_wgan_gp: ['wgan_lambda', 'wgan_epsilon', 'wgan_target'],
  D_hinge: [],
  D_hinge_gp: ['wgan_lambda', 'wgan_target'],
  D_logistic: [],
  D_logistic_simplegp: ['r1_gamma', 'r2_gamma'],
  D_logistic_r1: ['r1_gamma'],
  D_basic_bce: [],
};

export function parseLossPair(text: string): [string, string] {
  if (Object.hasOwn(LOSS_PAIRS, text)) return LOSS_PAIRS[text]!;
  const m = /^(G_\w+)[:,](D_\w+)$/.exec(text);
  if (!m) throw new UserError(`--loss: unknown loss '${text}' (expected one of ${Object.keys(LOSS_PAIRS).join(', ')}, or G_name:D_name)`, 2);
  const [, g, d] = m as unknown as [string, string, string];
  if (!Object.hasOwn(G_LOSSES, g)) throw new UserError(`--loss: unknown G loss '${g}' (known: ${Object.keys(G_LOSSES).join(', ')})`, 2);
  if (!Object.hasOwn(D_LOSSES, d)) throw new UserError(`--loss: unknown D loss '${d}' (known: ${Object.keys(D_LOSSES).join(', ')})`, 2);
  return [g, d];
}

// ---------------------------------------------------------------------------------------------
// Presets.

/** train.py's -1gpu line: we train on one device. */
const MINIBATCH_1GPU: ResolutionDict = { 4: 128, 8: 128, 16: 128, 32: 64, 64: 32, 128: 16, 256: 8, 512: 4 };
const SGAN_LRATES: ResolutionDict = { 128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003 };
const ADAM: OptConfig = { beta1: 0.0, beta2: 0.99, epsilon: 1e-8, use_loss_scaling: false };

/** Datasets train.py mirrors (its -ffhq* and -celebahq lines); LSUN and the rest are not. */
function mirrorByDefault(dataset: string): boolean {
  return /^(ffhq|celebahq)/i.test(dataset);
}

/** The preset for one config before overrides: StyleGAN block for a–f, ProGAN block for progan. */
export function presetConfig(config: ConfigName, dataset: string): TrainConfig {
  const net = NETWORK_CONFIGS[config];
  if (!net) throw new UserError(`--config: unknown config '${config}' (expected one of ${CONFIG_NAMES.join(', ')})`, 2);
  const base = {
    network_config: config,
    family: trainingFamily(config),
    G_args: {}, D_args: {},
    G_opt: { ...ADAM }, D_opt: { ...ADAM },
    dataset: { data_dir: 'datasets', tfrecord_dir: dataset, resolution: null, max_label_size: 0 as const },
    metrics: [],
    fp16: false,
    result_dir: 'results',
    resume: null,
  };
  const train = {
    total_kimg: 25000, G_smoothing_kimg: 10.0, D_repeats: 1, minibatch_repeats: 4, reset_opt_for_new_lod: true,
    mirror_augment: mirrorByDefault(dataset), image_snapshot_ticks: 1, network_snapshot_ticks: 10, seed: 1000,
  };
  if (base.family === 'stylegan2') return stylegan2Preset(config, dataset, base, train);
  if (base.family === 'baseline') return baselinePreset(config, dataset, base, train);
  if (config === 'progan') {
    // ProGAN block, -preset-v2-1gpu -fp32: WGAN-GP, 4x4 start, 600/600 kimg phases, 12M images.
    return {
      ...base, desc: `pgan-${dataset}-preset-v2-1gpu-fp32`,
      G_loss: { func_name: 'G_wgan', args: {} },
      D_loss: { func_name: 'D_wgan_gp', args: {} },
      sched: {
        lod_initial_resolution: 4, lod_training_kimg: 600, lod_transition_kimg: 600,
        minibatch_base: 4, minibatch_dict: { ...MINIBATCH_1GPU }, max_minibatch_per_gpu: { 256: 16, 512: 8, 1024: 4 },
        G_lrate_base: 0.001, G_lrate_dict: { 1024: 0.0015 }, D_lrate_base: 0.001, D_lrate_dict: { 1024: 0.0015 },
      },
      grid: { size: '1080p', layout: 'random' },
      train: { ...train, total_kimg: 12000 },
    };
  }
  // StyleGAN block with the -1gpu preset. Config A is the ProGAN baseline, trained as ProGAN was
  // (WGAN-GP, learning rates capped at 0.002 as train.py's -wgangp line); B–F use the FFHQ loss.
  const wgan = config === 'a';
  const cap = (d: ResolutionDict): ResolutionDict => Object.fromEntries(Object.entries(d).map(([k, v]) => [k, wgan ? Math.min(v, 0.002) : v]));
  return {
    ...base, desc: `sgan-${dataset}-1gpu${config === 'f' ? '' : net.desc}`,
    G_loss: { func_name: wgan ? 'G_wgan' : 'G_logistic_nonsaturating', args: {} },
    D_loss: wgan ? { func_name: 'D_wgan_gp', args: {} } : { func_name: 'D_logistic_simplegp', args: { r1_gamma: 10.0 } },
    sched: {
      lod_initial_resolution: 8, lod_training_kimg: 600, lod_transition_kimg: 600,
      minibatch_base: 4, minibatch_dict: { ...MINIBATCH_1GPU },
      G_lrate_base: 0.001, G_lrate_dict: cap(SGAN_LRATES), D_lrate_base: 0.001, D_lrate_dict: cap(SGAN_LRATES),
    },
    grid: { size: '4k', layout: 'random' },
    train,
  };
}

/**
 * The classic baselines as their sources train them, inside NVIDIA's loop: no growing, minibatch 64,
 * one lr; gan-mlp (PyTorch-GAN gan.py: 200 epochs of MNIST = 12,000 kimg) and dcgan (the PyTorch DCGAN
 * tutorial: 5 epochs of CelebA ≈ 1,000 kimg) with Adam 2e-4, β 0.5/0.999 and the BCE pair on logits
 * (D_logistic = BCE on real and fake summed, as the tutorial's errD; gan.py halves it, which Adam's
 * scale invariance makes the same step but for ε); wgan-gp (Gulrajani et al.'s gan_cifar.py: 200,000
 * G iterations × 5 critic steps × 64 = 64,000 kimg of D images) with Adam 1e-4, β 0/0.9, n_critic 5
 * (D_repeats), λ 10 and no drift term (wgan_epsilon 0). Gs is a copy of G (G_smoothing_kimg 0). Ticks
 * are 10 kimg, snapshots every 10 ticks, an 8×8 fakes grid.
 */
function baselinePreset(config: ConfigName, dataset: string, base: Omit<TrainConfig, 'desc' | 'G_loss' | 'D_loss' | 'sched' | 'grid' | 'train'>, train: TrainConfig['train']): TrainConfig {
  const wgan = config === 'wgan-gp';
  const lr = wgan ? 1e-4 : 2e-4;
  const adam = { beta1: wgan ? 0.0 : 0.5, beta2: wgan ? 0.9 : 0.999, epsilon: 1e-8, use_loss_scaling: false };
  return {
    ...base,
    desc: `${config}-${dataset}`,
    G_opt: { ...adam }, D_opt: { ...adam },
    G_loss: { func_name: wgan ? 'G_wgan' : 'G_logistic_nonsaturating', args: {} },
    D_loss: wgan ? { func_name: 'D_wgan_gp', args: { wgan_lambda: 10.0, wgan_epsilon: 0.0, wgan_target: 1.0 } } : { func_name: 'D_logistic', args: {} },
    sched: {
      lod_initial_resolution: null, minibatch_base: 64, minibatch_dict: {},
      G_lrate_base: lr, G_lrate_dict: {}, D_lrate_base: lr, D_lrate_dict: {}, tick_kimg_base: 10, tick_kimg_dict: {},
    },
    grid: { size: '8x8', layout: 'random' },
    train: {
      ...train, total_kimg: config === 'gan-mlp' ? 12000 : wgan ? 64000 : 1000, G_smoothing_kimg: 0.0, D_repeats: wgan ? 5 : 1,
      minibatch_repeats: 1, reset_opt_for_new_lod: false, mirror_augment: false,
    },
  };
}

/** Flags the baselines have no use for: [override key, flag, why]. */
const BASELINE_REFUSED: [keyof TrainOverrides, string, string][] = [
  ['minibatch_dict', 'minibatch-dict', 'no per-resolution schedule (use --minibatch-base)'],
  ['G_lrate_dict', 'G-lrate-dict', 'no per-resolution schedule (use --G-lrate-base)'],
  ['D_lrate_dict', 'D-lrate-dict', 'no per-resolution schedule (use --D-lrate-base)'],
  ['tick_kimg_dict', 'tick-kimg-dict', 'no per-resolution schedule (use --tick-kimg-base)'],
  ['lod_initial_resolution', 'lod-initial-resolution', 'no progressive growing'],
  ['lod_training_kimg', 'lod-training-kimg', 'no progressive growing'],
  ['lod_transition_kimg', 'lod-transition-kimg', 'no progressive growing'],
  ['reset_opt_for_new_lod', 'reset-opt-for-new-lod', 'no progressive growing (lod stays 0, so Adam is never reset)'],
  ['fmap_base', 'fmap-base', 'fixed layer widths (gan-mlp) or the fmap kwarg (dcgan, wgan-gp), not fmap_base/fmap_max'],
  ['fmap_max', 'fmap-max', 'fixed layer widths (gan-mlp) or the fmap kwarg (dcgan, wgan-gp), not fmap_base/fmap_max'],
  ['no_wscale', 'no-wscale', 'no equalized learning rate to switch off'],
  ['nonlinearity', 'nonlinearity', 'its sources\' fixed activations (LeakyReLU 0.2; ReLU in the DCGAN generator)'],
  ['mapping_layers', 'mapping-layers', 'no mapping network'],
  ['mapping_fmaps', 'mapping-fmaps', 'no mapping network'],
  ['style_mixing_prob', 'style-mixing-prob', 'no styles'],
  ['no_pixel_norm', 'no-pixel-norm', 'no pixel norm (batch norm instead)'],
  ['no_instance_norm', 'no-instance-norm', 'no instance norm'],
  ['no_noise', 'no-noise', 'no noise inputs'],
  ['no_styles', 'no-styles', 'no styles'],
  ['no_const_input', 'no-const-input', 'no constant input'],
  ['no_blur', 'no-blur', 'no blur'],
  ['pl_weight', 'pl-weight', 'no path-length regularisation (StyleGAN2 only)'],
  ['lazy_regularization', 'lazy-regularization', 'no lazy regularisation (StyleGAN2 only)'],
  ['G_reg_interval', 'G-reg-interval', 'no lazy regularisation (StyleGAN2 only)'],
  ['D_reg_interval', 'D-reg-interval', 'no lazy regularisation (StyleGAN2 only)'],
];

/** StyleGAN2's per-resolution kimg per tick (its training_schedule default; tick_kimg_base 4). */
export const SG2_TICK_KIMG_DICT: ResolutionDict = Object.freeze({ 8: 28, 16: 24, 32: 20, 64: 16, 128: 12, 256: 8, 512: 6, 1024: 4 });

/**
 * run_training.py's config-e / config-f on one GPU (§A.1): no growing, minibatch 32 (on one device the
 * whole minibatch is one round: minibatch_gpu = minibatch), lr 0.002, G_logistic_ns_pathreg + D_logistic_r1
 * (γ 100 for config-e, 10 for f), lazy regularisation G every 4 / D every 16, snapshots every 10 ticks,
 * grid 8k, no mirroring unless asked.
 */
function stylegan2Preset(config: ConfigName, dataset: string, base: Omit<TrainConfig, 'desc' | 'G_loss' | 'D_loss' | 'sched' | 'grid' | 'train'>, train: TrainConfig['train']): TrainConfig {
  return {
    ...base,
    desc: `stylegan2-${dataset}-1gpu${NETWORK_CONFIGS[config].desc}`,
    G_loss: { func_name: 'G_logistic_ns_pathreg', args: { pl_minibatch_shrink: 2, pl_decay: 0.01, pl_weight: 2.0 } },
    D_loss: { func_name: 'D_logistic_r1', args: { gamma: config === 'sg2-e' ? 100.0 : 10.0 } },
    sched: {
      lod_initial_resolution: null, minibatch_base: 32, minibatch_dict: {},
      G_lrate_base: 0.002, G_lrate_dict: {}, D_lrate_base: 0.002, D_lrate_dict: {},
      tick_kimg_base: 4, tick_kimg_dict: { ...SG2_TICK_KIMG_DICT },
    },
    grid: { size: '8k', layout: 'random' },
    train: { ...train, mirror_augment: false, image_snapshot_ticks: 10, network_snapshot_ticks: 10 },
    reg: { lazy_regularization: true, G_reg_interval: 4, D_reg_interval: 16 },
  };
}

// ---------------------------------------------------------------------------------------------
// Overrides.

/** Every CLI override; undefined = keep the preset's value. */
export interface TrainOverrides {
  config?: ConfigName;
  data_dir?: string;
  dataset: string;
  resolution?: number;
  max_label_size?: 0 | 'full';
  result_dir?: string;
  desc?: string;
  total_kimg?: number;
  fmap_base?: number;
  fmap_max?: number;
  /** G_dcgan / D_dcgan's width (ngf = ndf): dcgan and wgan-gp only. */
  fmap?: number;
  mapping_layers?: number;
  /** z and w size (G_style: latent_size = dlatent_size; G_paper: latent_size). */
  latent_size?: number;
  mapping_fmaps?: number;
  minibatch_base?: number;
  minibatch_dict?: ResolutionDict;
  G_lrate_base?: number;
  D_lrate_base?: number;
  G_lrate_dict?: ResolutionDict;
  D_lrate_dict?: ResolutionDict;
  lrate_rampup_kimg?: number;
  lod_initial_resolution?: number;
  lod_training_kimg?: number;
  lod_transition_kimg?: number;
  tick_kimg_base?: number;
  tick_kimg_dict?: ResolutionDict;
  G_smoothing_kimg?: number;
  /** StyleGAN2: path-length weight of G_logistic_ns_pathreg (0 = no path-length regularisation). */
  pl_weight?: number;
  /** StyleGAN2: false adds the regularisers to the losses every minibatch instead of separate lazy steps. */
  lazy_regularization?: boolean;
  G_reg_interval?: number;
  D_reg_interval?: number;
  minibatch_repeats?: number;
  D_repeats?: number;
  reset_opt_for_new_lod?: boolean;
  mirror_augment?: boolean;
  loss?: string;
  r1_gamma?: number;
  r2_gamma?: number;
  wgan_lambda?: number;
  wgan_epsilon?: number;
  wgan_target?: number;
  style_mixing_prob?: number;
  no_pixel_norm?: boolean;
  no_instance_norm?: boolean;
  no_noise?: boolean;
  no_styles?: boolean;
  no_const_input?: boolean;
  no_blur?: boolean;
  no_wscale?: boolean;
  nonlinearity?: 'relu' | 'lrelu';
  fp16?: boolean;
  seed?: number;
  image_snapshot_ticks?: number;
  network_snapshot_ticks?: number;
  grid_size?: string;
  metrics?: string[];
  metrics_args?: MetricsArgs;
  resume?: string;
}

/**
 * `"4:128,8:64"` → {4: 128, 8: 64}. Keys must be powers of two ≥ 4 (resolutions); `flag` names the
 * flag in errors. An empty string is an empty dict (so the base value applies everywhere).
 */
export function parseResolutionDict(text: string, flag: string): Record<number, number> {
  const out: Record<number, number> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const m = /^(\d+)\s*[:=]\s*([0-9.eE+-]+)$/.exec(part);
    const res = m ? Number(m[1]) : NaN;
    const value = m ? Number(m[2]) : NaN;
    if (!m || !(res >= 4 && Number.isInteger(Math.log2(res))) || !Number.isFinite(value) || value <= 0) {
      throw new UserError(`--${flag}: expected resolution:value pairs like 4:128,8:64 (resolutions powers of two ≥ 4, values > 0), got '${part}'`, 2);
    }
    out[res] = value;
  }
  return out;
}

/** The snapshot grid [columns, rows]: NVIDIA's named sizes for this image size, or 'WxH'. */
export function parseGridSize(size: string): { named: '1080p' | '4k' | '8k' } | { cols: number; rows: number } {
  if (size === '1080p' || size === '4k' || size === '8k') return { named: size };
  const m = /^(\d+)x(\d+)$/.exec(size);
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1 || Number(m[1]) * Number(m[2]) > 4096) {
    throw new UserError(`--grid-size: expected 1080p, 4k, 8k or COLSxROWS like 8x4 (at most 4096 images), got '${size}'`, 2);
  }
  return { cols: Number(m[1]), rows: Number(m[2]) };
}

/** Flags only one family has: [override key, flag, why the other family has no use for it]. */
const PROGRESSIVE_ONLY: [keyof TrainOverrides, string, string][] = [
  ['minibatch_dict', 'minibatch-dict', 'no per-resolution schedule (it trains at full resolution from the start; use --minibatch-base)'],
  ['G_lrate_dict', 'G-lrate-dict', 'no per-resolution schedule (use --G-lrate-base)'],
  ['D_lrate_dict', 'D-lrate-dict', 'no per-resolution schedule (use --D-lrate-base)'],
  ['lod_initial_resolution', 'lod-initial-resolution', 'no progressive growing'],
  ['lod_training_kimg', 'lod-training-kimg', 'no progressive growing'],
  ['lod_transition_kimg', 'lod-transition-kimg', 'no progressive growing'],
  ['reset_opt_for_new_lod', 'reset-opt-for-new-lod', 'no progressive growing (lod stays 0, so Adam is never reset)'],
  ['D_repeats', 'D-repeats', 'no D repeats (one G step and one D step per minibatch)'],
  ['loss', 'loss', 'one loss pair, G_logistic_ns_pathreg + D_logistic_r1 (see --pl-weight, --r1-gamma)'],
  ['r2_gamma', 'r2-gamma', 'no R2 term (D_logistic_r1)'],
  ['wgan_lambda', 'wgan-lambda', 'no WGAN loss (D_logistic_r1)'],
  ['wgan_epsilon', 'wgan-epsilon', 'no WGAN loss (D_logistic_r1)'],
  ['wgan_target', 'wgan-target', 'no WGAN loss (D_logistic_r1)'],
  ['no_pixel_norm', 'no-pixel-norm', 'no pixel norm in G_main'],
  ['no_instance_norm', 'no-instance-norm', 'no instance norm (weight demodulation replaces it)'],
  ['no_noise', 'no-noise', 'no switch for the noise inputs in G_main'],
  ['no_styles', 'no-styles', 'no switch for the styles in G_main'],
  ['no_const_input', 'no-const-input', 'no switch for the constant input in G_main'],
  ['no_blur', 'no-blur', 'no [1,2,1] blur (it resamples with the [1,3,3,1] FIR filter)'],
  ['no_wscale', 'no-wscale', 'no switch for the equalized learning rate'],
  ['fp16', 'fp16', "no mixed-precision option in NVIDIA's run_training.py (and tfjs has no float16 tensors)"],
];
const STYLEGAN2_ONLY: [keyof TrainOverrides, string][] = [
  ['pl_weight', 'pl-weight'], ['lazy_regularization', 'lazy-regularization'], ['G_reg_interval', 'G-reg-interval'], ['D_reg_interval', 'D-reg-interval'],
];

/** A flag of the other family is refused with one line naming it, never ignored. */
function refuseFlagsOfOtherFamily(family: TrainingFamily, config: ConfigName, o: TrainOverrides): void {
  // A feature switch (--no-*, --fp16) is given when on; any other flag when it has a value (false included).
  const given = (k: keyof TrainOverrides) => (k.startsWith('no_') || k === 'fp16' ? o[k] === true : o[k] !== undefined);
  if (family === 'baseline') {
    for (const [k, flag, why] of BASELINE_REFUSED) {
      if (given(k)) throw new UserError(`--${flag}: config ${config} (a classic baseline) has ${why}`, 2);
    }
    if (o.max_label_size === 'full') throw new UserError(`--max-label-size full: config ${config} (a classic baseline) is unconditional`, 2);
  } else if (family === 'stylegan2') {
    for (const [k, flag, why] of PROGRESSIVE_ONLY) {
      if (given(k)) throw new UserError(`--${flag}: StyleGAN2 (config ${config}) has ${why}`, 2);
    }
  } else {
    for (const [k, flag] of STYLEGAN2_ONLY) {
      if (given(k)) throw new UserError(`--${flag}: only for the StyleGAN2 configs sg2-e and sg2-f (config ${config} trains with StyleGAN's loop)`, 2);
    }
  }
}

const STYLE_ONLY = (config: ConfigName, flag: string) => {
  if (config === 'progan') throw new UserError(`--${flag}: config progan (G_paper) has no such feature; it applies to configs a–f (G_style)`, 2);
};

/**
 * Applies `o` to the preset of `o.config`. A feature switch that the chosen config already has off
 * (e.g. --no-noise with config d) is refused rather than accepted as a no-op.
 */
export function resolveTrainConfig(o: TrainOverrides): TrainConfig {
  const config = o.config ?? 'f';
  if (!/^[\w.+-]+$/.test(o.dataset)) throw new UserError(`--dataset: '${o.dataset}' is not a dataset directory name (letters, digits, . _ + -)`, 2);
  const c = presetConfig(config, o.dataset);
  refuseFlagsOfOtherFamily(c.family, config, o);
  const netG = { ...NETWORK_CONFIGS[config].G_args };
  const G = c.G_args;
  const D = c.D_args;
  const set = <T>(v: T | undefined, apply: (v: T) => void) => { if (v !== undefined) apply(v); };

  set(o.data_dir, (v) => { c.dataset.data_dir = v; });
  set(o.resolution, (v) => { c.dataset.resolution = v; });
  set(o.max_label_size, (v) => { c.dataset.max_label_size = v; });
  set(o.result_dir, (v) => { c.result_dir = v; });
  set(o.total_kimg, (v) => { c.train.total_kimg = v; });

  // Network kwargs shared by G and D.
  set(o.fmap_base, (v) => { G.fmap_base = v; D.fmap_base = v; });
  set(o.fmap_max, (v) => { G.fmap_max = v; D.fmap_max = v; });
  set(o.fmap, (v) => {
    if (NETWORK_CONFIGS[config].G_func !== 'G_dcgan') throw new UserError(`--fmap: only for dcgan and wgan-gp (config ${config} sizes its layers ${c.family === 'baseline' ? 'with fixed widths' : 'with --fmap-base / --fmap-max'})`, 2);
    G.fmap = v;
    D.fmap = v;
  });
  set(o.no_wscale, (v) => { if (v) { G.use_wscale = false; D.use_wscale = false; } });
  set(o.nonlinearity, (v) => {
    if (config === 'progan') {
      // ProGAN's -noleakyrelu: only G has the switch (D_paper is always leaky).
      G.use_leakyrelu = v === 'lrelu';
    } else {
      G.nonlinearity = v;
      D.nonlinearity = v;
    }
  });
  set(o.mapping_layers, (v) => { STYLE_ONLY(config, 'mapping-layers'); G.mapping_layers = v; });
  set(o.mapping_fmaps, (v) => { STYLE_ONLY(config, 'mapping-fmaps'); G.mapping_fmaps = v; });
  set(o.latent_size, (v) => {
    G.latent_size = v;
    if (config !== 'progan' && c.family !== 'baseline') G.dlatent_size = v;
  });
  set(o.style_mixing_prob, (v) => {
    STYLE_ONLY(config, 'style-mixing-prob');
    if (!(v >= 0 && v <= 1)) throw new UserError(`--style-mixing-prob: expected a probability in [0, 1], got ${v}`, 2);
    G.style_mixing_prob = v;
  });
  // Feature switches: refuse when the config has the feature off already.
  const off = (flag: string, on: boolean | undefined, key: string, has: boolean, apply: () => void) => {
    if (!on) return;
    if (!has) throw new UserError(`--${flag}: config ${config} has no ${key} to switch off`, 2);
    apply();
  };
  const styleHas = (key: string, dflt: boolean) => config !== 'progan' && (Object.hasOwn(netG, key) ? netG[key] !== false && netG[key] !== null : dflt);
  off('no-pixel-norm', o.no_pixel_norm, 'pixel norm', config === 'progan' ? true : styleHas('use_pixel_norm', false), () => {
    if (config === 'progan') G.use_pixelnorm = false; else G.use_pixel_norm = false;
  });
  off('no-instance-norm', o.no_instance_norm, 'instance norm', styleHas('use_instance_norm', true), () => { G.use_instance_norm = false; });
  off('no-noise', o.no_noise, 'noise inputs', styleHas('use_noise', true), () => { G.use_noise = false; });
  off('no-styles', o.no_styles, 'styles', styleHas('use_styles', true), () => { G.use_styles = false; });
  off('no-const-input', o.no_const_input, 'constant input', styleHas('const_input_layer', true), () => { G.const_input_layer = false; });
  off('no-blur', o.no_blur, 'blur', styleHas('blur_filter', true), () => { G.blur_filter = null; D.blur_filter = null; });

  // Schedule.
  const s = c.sched;
  set(o.minibatch_base, (v) => { s.minibatch_base = v; });
  set(o.minibatch_dict, (v) => { s.minibatch_dict = v; });
  set(o.G_lrate_base, (v) => { s.G_lrate_base = v; });
  set(o.D_lrate_base, (v) => { s.D_lrate_base = v; });
  set(o.G_lrate_dict, (v) => { s.G_lrate_dict = v; });
  set(o.D_lrate_dict, (v) => { s.D_lrate_dict = v; });
  set(o.lrate_rampup_kimg, (v) => { s.lrate_rampup_kimg = v; });
  set(o.lod_initial_resolution, (v) => {
    if (!(v >= 4 && Number.isInteger(Math.log2(v)))) throw new UserError(`--lod-initial-resolution: expected a power of two ≥ 4, got ${v}`, 2);
    s.lod_initial_resolution = v;
  });
  set(o.lod_training_kimg, (v) => { s.lod_training_kimg = v; });
  set(o.lod_transition_kimg, (v) => { s.lod_transition_kimg = v; });
  set(o.tick_kimg_base, (v) => { s.tick_kimg_base = v; });
  set(o.tick_kimg_dict, (v) => { s.tick_kimg_dict = v; });

  // Loop.
  const t = c.train;
  set(o.G_smoothing_kimg, (v) => { t.G_smoothing_kimg = v; });
  // StyleGAN2's regularisation (refused above for other configs, so c.reg exists here).
  set(o.pl_weight, (v) => {
    if (!(Number.isFinite(v) && v >= 0)) throw new UserError(`--pl-weight: expected a number ≥ 0 (0 = no path-length regularisation), got ${v}`, 2);
    c.G_loss.args.pl_weight = v;
  });
  set(o.lazy_regularization, (v) => { c.reg!.lazy_regularization = v; });
  for (const [key, flag] of [['G_reg_interval', 'G-reg-interval'], ['D_reg_interval', 'D-reg-interval']] as const) {
    set(o[key], (v) => {
      if (!(Number.isInteger(v) && v >= 1)) throw new UserError(`--${flag}: expected a whole number ≥ 1, got ${v}`, 2);
      if (o.lazy_regularization === false) throw new UserError(`--${flag}: has no effect with --lazy-regularization false (the regularisers are added to every minibatch's loss)`, 2);
      c.reg![key] = v;
    });
  }
  set(o.minibatch_repeats, (v) => { t.minibatch_repeats = v; });
  set(o.D_repeats, (v) => { t.D_repeats = v; });
  set(o.reset_opt_for_new_lod, (v) => { t.reset_opt_for_new_lod = v; });
  set(o.mirror_augment, (v) => { t.mirror_augment = v; });
  set(o.image_snapshot_ticks, (v) => { t.image_snapshot_ticks = v; });
  set(o.network_snapshot_ticks, (v) => { t.network_snapshot_ticks = v; });
  set(o.seed, (v) => { t.seed = v; });
  set(o.grid_size, (v) => { parseGridSize(v); c.grid.size = v; });
  set(o.metrics, (v) => { c.metrics = v; });
  set(o.metrics_args, (v) => {
    const given = Object.entries(v).filter(([, x]) => x !== undefined);
    if (given.length === 0) return;
    if (c.metrics.length === 0) throw new UserError(`--${given[0]![0] === 'num_images' ? 'metrics-num-images' : given[0]![0].replace(/_/g, '-')}: only with --metrics (no metrics are run at snapshots)`, 2);
    c.metrics_args = Object.fromEntries(given) as MetricsArgs;
  });
  set(o.resume, (v) => { c.resume = v; });

  // Losses.
  if (o.loss !== undefined) {
    const [g, d] = parseLossPair(o.loss);
    c.G_loss = { func_name: g, args: {} };
    c.D_loss = { func_name: d, args: d === 'D_logistic_simplegp' ? { r1_gamma: 10.0 } : {} };
    // A gradient penalty is per sample; batch norm mixes the samples of a minibatch (Gulrajani et al. §4).
    const D_bn = c.family === 'baseline' && NETWORK_CONFIGS[config].D_func === 'D_dcgan' && NETWORK_CONFIGS[config].D_args.use_batchnorm !== false;
    if (D_bn && /gp$/.test(d)) throw new UserError(`--loss ${o.loss}: config ${config}'s D has batch norm, which a per-sample gradient penalty cannot be taken through; use --config wgan-gp (the critic without batch norm)`, 2);
  }
  const lossArgs: [string, number | undefined][] = [
    ['r1_gamma', o.r1_gamma], ['r2_gamma', o.r2_gamma], ['wgan_lambda', o.wgan_lambda], ['wgan_epsilon', o.wgan_epsilon], ['wgan_target', o.wgan_target],
  ];
  for (const [key, v] of lossArgs) {
    if (v === undefined) continue;
    const accepted = D_LOSS_ARGS[c.D_loss.func_name] ?? [];
    if (!accepted.includes(key)) {
      throw new UserError(`--${key.replace('_', '-')}: the D loss ${c.D_loss.func_name} takes no ${key}${accepted.length ? ` (it takes ${accepted.join(', ')})` : ''}`, 2);
    }
    if (!(Number.isFinite(v) && v >= 0) || (key === 'wgan_target' && v === 0)) throw new UserError(`--${key.replace('_', '-')}: expected a number ≥ 0${key === 'wgan_target' ? ' (non-zero)' : ''}, got ${v}`, 2);
    // StyleGAN2's D_logistic_r1 calls R1's weight `gamma` (run_training.py's --gamma).
    c.D_loss.args[c.D_loss.func_name === 'D_logistic_r1' && key === 'r1_gamma' ? 'gamma' : key] = v;
  }

  // fp16: NVIDIA's -fp16 line turns on loss scaling in both optimizers (and ProGAN's pixelnorm ε 1e-4).
  if (o.fp16) {
    c.fp16 = true;
    c.G_opt.use_loss_scaling = true;
    c.D_opt.use_loss_scaling = true;
    if (config === 'progan') G.pixelnorm_epsilon = 1e-4;
    c.desc = config === 'progan' ? c.desc.replace(/-fp32$/, '-fp16') : `${c.desc}-fp16`;
  }

  if (o.desc) c.desc += `-${o.desc}`;
  return c;
}

/** The start-up line saying exactly what --fp16 does here (tfjs has no float16 tensors). */
export function fp16Description(c: TrainConfig, backend: string): string {
  if (!c.fp16) return 'fp16: off (float32 throughout)';
  const parts = [
    `fp16 on the ${backend} backend: tfjs has no float16 tensors, so G and D compute and store float32;`,
    'what --fp16 does here is NVIDIA\'s dynamic loss scaling in both Adam optimizers',
    '(scale 2^64 at start, ×2^0.0005 per finite step, ÷2 and the update skipped per overflow);',
    'in float32 a power-of-two scale is exact, so results change only where a scaled gradient overflows float32',
  ];
  let line = parts.join(' ');
  if (c.network_config === 'progan') line += '; it also sets G_paper pixelnorm_epsilon 1e-4 (ProGAN\'s -fp16 line)';
  return line;
}
