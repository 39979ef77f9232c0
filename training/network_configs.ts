// The network side of train.py's config blocks: which build functions and keyword arguments each
// configuration of the StyleGAN paper's Table 1 uses (spec §3.1), plus the ProGAN block (§3.2), and
// building G and D from them the way training_loop does (dataset shape passed as kwargs).
import { UserError } from '../dnnlib/errors.ts';
import type { Network } from './network.ts';
import { D_basic, G_style } from './networks_stylegan.ts';
import { D_paper, G_paper } from './networks_progan.ts';
import { D_stylegan2, G_main } from './networks_stylegan2.ts';
import { D_dcgan, D_mlp, G_dcgan, G_mlp } from './networks_baseline.ts';

export const CONFIG_NAMES = ['a', 'b', 'c', 'd', 'e', 'f', 'progan', 'sg2-e', 'sg2-f', 'gan-mlp', 'dcgan', 'wgan-gp'] as const;
export type ConfigName = (typeof CONFIG_NAMES)[number];

export interface NetworkConfig {
  /** NVIDIA's run description suffix for this configuration. */
  desc: string;
  /** What the configuration is, for --help and logs. */
  describe: string;
  G_func: 'G_style' | 'G_paper' | 'G_main' | 'G_mlp' | 'G_dcgan';
  D_func: 'D_basic' | 'D_paper' | 'D_stylegan2' | 'D_mlp' | 'D_dcgan';
  G_args: Record<string, unknown>;
  D_args: Record<string, unknown>;
}

// train.py's '-tuned-baseline' line: a traditional generator inside G_style.
const TUNED_BASELINE = {
  use_styles: false, use_pixel_norm: true, use_instance_norm: false, mapping_layers: 0,
  truncation_psi: null, const_input_layer: false, style_mixing_prob: 0.0, use_noise: false,
};

export const NETWORK_CONFIGS: Record<ConfigName, NetworkConfig> = {
  a: {
    desc: '-baseline', describe: 'A: ProGAN-like baseline inside G_style/D_basic (tuned baseline without the [1,2,1] blur)',
    G_func: 'G_style', D_func: 'D_basic', G_args: { ...TUNED_BASELINE, blur_filter: null }, D_args: { blur_filter: null },
  },
  b: {
    desc: '-tuned-baseline', describe: 'B: tuned baseline (traditional generator, pixel norm, blurred up/down)',
    G_func: 'G_style', D_func: 'D_basic', G_args: { ...TUNED_BASELINE }, D_args: {},
  },
  c: {
    desc: '-add-mapping-and-styles', describe: 'C: + mapping network and styles (AdaIN), dense input',
    G_func: 'G_style', D_func: 'D_basic', G_args: { const_input_layer: false, style_mixing_prob: 0.0, use_noise: false }, D_args: {},
  },
  d: {
    desc: '-remove-traditional-input', describe: 'D: + learned constant input instead of the dense input',
    G_func: 'G_style', D_func: 'D_basic', G_args: { style_mixing_prob: 0.0, use_noise: false }, D_args: {},
  },
  e: {
    desc: '-add-noise-inputs', describe: 'E: + per-layer noise inputs',
    G_func: 'G_style', D_func: 'D_basic', G_args: { style_mixing_prob: 0.0 }, D_args: {},
  },
  f: {
    desc: '-mixing-regularization', describe: 'F: + mixing regularization (the full StyleGAN, the default)',
    G_func: 'G_style', D_func: 'D_basic', G_args: {}, D_args: {},
  },
  progan: {
    desc: '-pgan', describe: "ProGAN's own networks (networks_progan.py G_paper / D_paper)",
    G_func: 'G_paper', D_func: 'D_paper', G_args: {}, D_args: {},
  },
  // StyleGAN2 (NVlabs/stylegan2 run_training.py): no growing, G skip / D resnet, fmap_base 8192 (e) or 16384 (f).
  'sg2-e': {
    desc: '-config-e', describe: 'StyleGAN2 config E: G_main (skip) / D_stylegan2 (resnet), weight demodulation, fmap_base 8192',
    G_func: 'G_main', D_func: 'D_stylegan2', G_args: { fmap_base: 8192 }, D_args: { fmap_base: 8192 },
  },
  'sg2-f': {
    desc: '-config-f', describe: 'StyleGAN2 config F: as E with fmap_base 16384 (the StyleGAN2 paper\'s networks)',
    G_func: 'G_main', D_func: 'D_stylegan2', G_args: {}, D_args: {},
  },
  // The classic baselines (training/networks_baseline.ts): fixed resolution, no styles, no noise.
  'gan-mlp': {
    desc: '-gan-mlp', describe: 'The fully-connected GAN (PyTorch-GAN gan.py: Linear + LeakyReLU, BatchNorm1d eps 0.8, tanh; BCE loss)',
    G_func: 'G_mlp', D_func: 'D_mlp', G_args: {}, D_args: {},
  },
  dcgan: {
    desc: '-dcgan', describe: 'DCGAN (Radford et al.; the PyTorch tutorial\'s layers scaled to the resolution; BCE loss)',
    G_func: 'G_dcgan', D_func: 'D_dcgan', G_args: {}, D_args: {},
  },
  'wgan-gp': {
    desc: '-wgan-gp', describe: 'WGAN-GP (Gulrajani et al.): the DCGAN generator and a DCGAN critic without batch norm, with conv biases',
    G_func: 'G_dcgan', D_func: 'D_dcgan', G_args: {}, D_args: { use_batchnorm: false, use_bias: true },
  },
};

/** The configs whose networks are the classic baselines (no lod, no styles, no noise). */
export const BASELINE_CONFIGS: readonly ConfigName[] = ['gan-mlp', 'dcgan', 'wgan-gp'];
export const isBaselineConfig = (config: ConfigName): boolean => BASELINE_CONFIGS.includes(config);

/**
 * The image shape `train.ts --dry-run` builds for when none is given: NVIDIA's 1024² RGB for the StyleGAN
 * configs; for the baselines the shapes their sources are known by (gan.py's 28×28 MNIST, the DCGAN
 * tutorial's 64² RGB), so the printed totals are the familiar ones.
 */
export function dryRunShape(config: ConfigName): { resolution: number; num_channels: number } {
  if (config === 'gan-mlp') return { resolution: 28, num_channels: 1 };
  if (isBaselineConfig(config)) return { resolution: 64, num_channels: 3 };
  return { resolution: 1024, num_channels: 3 };
}

const G_BUILDERS = { G_style, G_paper, G_main, G_mlp, G_dcgan } as const;
const D_BUILDERS = { D_basic, D_paper, D_stylegan2, D_mlp, D_dcgan } as const;

export interface BuildNetworksOptions {
  config: ConfigName;
  /** The dataset's shape, which training_loop passes to both networks. */
  num_channels: number;
  resolution: number;
  label_size: number;
  /** Extra kwargs for both networks (fmap_base, fmap_max, …) and for G only (mapping_layers, …). */
  both_args?: Record<string, unknown>;
  G_args?: Record<string, unknown>;
  seed?: number;
}

/** Builds G and D as training_loop does: Network('G', func, num_channels, resolution, label_size, **G_args). */
export function buildNetworks(opts: BuildNetworksOptions): { G: Network; D: Network; config: NetworkConfig } {
  const config = NETWORK_CONFIGS[opts.config];
  if (!config) throw new UserError(`unknown network config '${opts.config}' (expected one of ${CONFIG_NAMES.join(', ')})`);
  const shape = { num_channels: opts.num_channels, resolution: opts.resolution, label_size: opts.label_size };
  const gKwargs = { ...shape, ...config.G_args, ...opts.both_args, ...opts.G_args };
  const dKwargs = { ...shape, ...config.D_args, ...opts.both_args };
  const seed = opts.seed;
  const G = new G_BUILDERS[config.G_func](gKwargs, { name: 'G', seed });
  try {
    const dSeed = seed === undefined ? undefined : seed + 500_000; // a stream apart from G's
    const D = new D_BUILDERS[config.D_func](dKwargs, { name: 'D', seed: dSeed });
    return { G, D, config };
  } catch (err) {
    G.dispose();
    throw err;
  }
}
