// Network architectures of StyleGAN2 (NVIDIA's training/networks_stylegan2.py, configs e and f):
// G_main = G_mapping + G_synthesis_stylegan2 (modulated convolutions with weight demodulation,
// architecture orig / skip / resnet) and D_stylegan2 (orig / skip / resnet). Every keyword argument of
// NVIDIA's build functions is accepted with its default; variables carry NVIDIA's local names and
// shapes (spec §A.10), so a StyleGAN2 pickle loads by name. Public tensors are NCHW; activations
// run NHWC inside.
//
// Modulated convolution runs in NVIDIA's non-fused form (scale the input activations by the style,
// one shared convolution, scale the output by the demodulation factor). tfjs has no grouped
// convolution, so the fused form (batch folded into groups) would need a block-diagonal weight
// N times larger and N times the FLOPs; both forms are the same math, so `fused_modconv` is accepted
// and only selects nothing.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { Network, assignVar, resolveKwargs, checkChoice, type NetworkOptions, type VarInit, type LayerInfo } from './network.ts';
import * as ops from './ops.ts';
import { convDownsample2d, downsample2d, upsample2d, upsampleConv2d } from './upfirdn_2d.ts';
import { G_style, mixDlatents, truncateDlatents, type GRunOptions, type Rng, type SynthesisRunOptions } from './networks_stylegan.ts';

export type Architecture = 'orig' | 'skip' | 'resnet';
export type Nonlinearity2 = 'linear' | 'relu' | 'lrelu';

function seedFrom(rng: Rng): number {
  return Math.floor(rng() * 4294967296);
}

function checkResolution(what: string, resolution: number): number {
  const log2 = Math.log2(resolution);
  if (!Number.isInteger(log2) || resolution < 4) throw new UserError(`${what}: resolution must be a power of two ≥ 4, got ${resolution}`);
  return log2;
}

function checkDtype(what: string, dtype: string): void {
  if (dtype !== 'float32') throw new UserError(`${what}: dtype '${dtype}' is not supported (only 'float32')`);
}

/** nf(stage) of networks_stylegan2.py: clip(int(fmap_base / 2^(stage·fmap_decay)), fmap_min, fmap_max). */
export function nf2(stage: number, fmap_base: number, fmap_decay: number, fmap_min: number, fmap_max: number): number {
  return Math.min(Math.max(Math.trunc(fmap_base / 2.0 ** (stage * fmap_decay)), fmap_min), fmap_max);
}

/** fused_bias_act: act(x + b·lrmul)·gain (lrelu α 0.2 and relu gain √2, linear 1). */
export function biasAct<T extends tf.Tensor>(x: T, b: tf.Tensor1D | null, act: Nonlinearity2 = 'linear', lrmul = 1): T {
  if (b) x = tf.add(x, lrmul === 1 ? b : tf.mul(b, lrmul)) as T;
  if (act === 'linear') return x;
  const y = act === 'relu' ? tf.relu(x) : tf.leakyRelu(x, 0.2);
  return tf.mul(y, ops.SQRT2) as T;
}

/** What a layer needs from its network: variable creation under a local name. */
interface VarFactory {
  makeVar(localName: string, shape: number[], init: VarInit, trainable?: boolean): tf.Variable;
}

/** get_weight() with SG2's defaults (gain 1, use_wscale): the raw variable and its runtime scale. */
class Weight {
  readonly variable: tf.Variable;
  readonly coef: number;
  constructor(net: VarFactory, name: string, shape: number[], lrmul = 1) {
    const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
    this.variable = net.makeVar(name, shape, { normal: 1 / lrmul });
    this.coef = (1 / Math.sqrt(fanIn)) * lrmul;
  }
  /** The effective weight (variable · he_std · lrmul). */
  value(): tf.Tensor {
    return tf.mul(this.variable, this.coef);
  }
}

/** dense_layer + apply_bias_act of one scope: `<scope>/weight` [in, out], `<scope>/bias` [out]. */
class DenseLayer {
  readonly weight: Weight;
  readonly bias: tf.Variable;
  constructor(net: VarFactory, scope: string, fanIn: number, fmaps: number, readonly act: Nonlinearity2, readonly lrmul = 1) {
    this.weight = new Weight(net, `${scope}/weight`, [fanIn, fmaps], lrmul);
    this.bias = net.makeVar(`${scope}/bias`, [fmaps], 'zeros');
  }
  /** x (rank > 2 is flattened in memory order: callers pass NCHW) → act(x·W + b)·gain. */
  apply(x: tf.Tensor): tf.Tensor2D {
    const b = this.lrmul === 1 ? (this.bias as tf.Tensor as tf.Tensor1D) : tf.mul(this.bias, this.lrmul) as tf.Tensor1D;
    const y = ops.dense(x, this.weight.variable as tf.Tensor as tf.Tensor2D, this.weight.coef, b);
    return biasAct(y, null, this.act);
  }
}

export type ModResample = 'none' | 'up';

/**
 * modulated_conv2d_layer of one scope: `weight` [k,k,I,O], `mod_weight` [D,I], `mod_bias` [I]
 * (style s = w·A/√D + b + 1), optional demodulation d = rsqrt(Σ_{k,k,I} (W·s)² + 1e-8).
 */
export class ModulatedConv2d {
  readonly weight: Weight;
  readonly modWeight: Weight;
  readonly modBias: tf.Variable;
  constructor(net: VarFactory, readonly scope: string, dlatentSize: number, fmapsIn: number, fmapsOut: number, readonly kernel: number,
    readonly demodulate = true, readonly resample: ModResample = 'none', readonly resampleKernel: number[] = [1, 3, 3, 1]) {
    this.weight = new Weight(net, `${scope}/weight`, [kernel, kernel, fmapsIn, fmapsOut]);
    this.modWeight = new Weight(net, `${scope}/mod_weight`, [dlatentSize, fmapsIn]);
    this.modBias = net.makeVar(`${scope}/mod_bias`, [fmapsIn], 'zeros');
  }

  /** The styles s [N, I] of dlatents [N, D]. */
  styles(dlatent: tf.Tensor2D): tf.Tensor2D {
    return tf.add(ops.dense(dlatent, this.modWeight.variable as tf.Tensor as tf.Tensor2D, this.modWeight.coef, this.modBias as tf.Tensor as tf.Tensor1D), 1);
  }

  /** x [N,H,W,I] (NHWC), dlatent [N,D] → [N,H',W',O]: x·s → conv (or up-conv) → ·d. */
  apply(x: tf.Tensor4D, dlatent: tf.Tensor2D): tf.Tensor4D {
    const [n, , , cin] = x.shape;
    const w = this.weight.value() as tf.Tensor4D;
    const s = this.styles(dlatent);
    const xs = tf.mul(x, tf.reshape(s, [n, 1, 1, cin])) as tf.Tensor4D;
    let y: tf.Tensor4D = this.resample === 'up'
      ? upsampleConv2d(xs, w, this.resampleKernel)
      : tf.conv2d(xs, w, 1, 'same');
    if (this.demodulate) {
      const wsq = tf.sum(tf.square(w), [0, 1]) as tf.Tensor2D; // [I, O]
      const d = tf.rsqrt(tf.add(tf.matMul(tf.square(s), wsq), 1e-8)); // [N, O]
      y = tf.mul(y, tf.reshape(d, [n, 1, 1, -1])) as tf.Tensor4D;
    }
    return y;
  }
}

/** One synthesis layer: modulated conv, noise·noise_strength, bias, lrelu·√2 (NVIDIA's layer()). */
class SynthesisLayer {
  readonly conv: ModulatedConv2d;
  readonly noiseStrength: tf.Variable;
  readonly bias: tf.Variable;
  constructor(net: VarFactory, scope: string, dlatentSize: number, fmapsIn: number, fmapsOut: number, up: boolean, kw: G_synthesis_stylegan2Kwargs) {
    this.conv = new ModulatedConv2d(net, scope, dlatentSize, fmapsIn, fmapsOut, 3, true, up ? 'up' : 'none', kw.resample_kernel);
    this.noiseStrength = net.makeVar(`${scope}/noise_strength`, [], 'zeros');
    this.bias = net.makeVar(`${scope}/bias`, [fmapsOut], 'zeros');
  }
  apply(x: tf.Tensor4D, dlatent: tf.Tensor2D, noise: tf.Tensor4D | null, act: Nonlinearity2): tf.Tensor4D {
    let y = this.conv.apply(x, dlatent);
    if (noise) y = tf.add(y, tf.mul(noise, this.noiseStrength));
    return biasAct(y, this.bias as tf.Tensor as tf.Tensor1D, act);
  }
}

/** ToRGB: modulated 1×1 conv without demodulation, + bias, linear. */
class ToRGBLayer {
  readonly conv: ModulatedConv2d;
  readonly bias: tf.Variable;
  constructor(net: VarFactory, scope: string, dlatentSize: number, fmapsIn: number, channels: number) {
    this.conv = new ModulatedConv2d(net, scope, dlatentSize, fmapsIn, channels, 1, false);
    this.bias = net.makeVar(`${scope}/bias`, [channels], 'zeros');
  }
  apply(x: tf.Tensor4D, dlatent: tf.Tensor2D): tf.Tensor4D {
    return biasAct(this.conv.apply(x, dlatent), this.bias as tf.Tensor as tf.Tensor1D, 'linear');
  }
}

/** conv2d_layer (no modulation) with up/down resampling; weight `<scope>/weight` [k,k,I,O]. */
class Conv2dLayer {
  readonly weight: Weight;
  constructor(net: VarFactory, scope: string, fmapsIn: number, fmapsOut: number, readonly kernel: number,
    readonly resample: 'none' | 'up' | 'down', readonly resampleKernel: number[]) {
    this.weight = new Weight(net, `${scope}/weight`, [kernel, kernel, fmapsIn, fmapsOut]);
  }
  apply(x: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D {
    const w = this.weight.value() as tf.Tensor4D;
    if (this.resample === 'down') return convDownsample2d(x, w, this.resampleKernel, 2, 1, bias);
    if (this.resample === 'up') {
      const y = upsampleConv2d(x, w, this.resampleKernel);
      return bias ? tf.add(y, bias) : y;
    }
    return tf.fused.conv2d({ x, filter: w, strides: 1, pad: 'same', bias });
  }
}

// ---------------------------------------------------------------------------------------------
// Keyword arguments

export const G_MAPPING2_DEFAULTS = {
  latent_size: 512,
  label_size: 0,
  dlatent_size: 512,
  dlatent_broadcast: null as number | null,
  mapping_layers: 8,
  mapping_fmaps: 512,
  mapping_lrmul: 0.01,
  mapping_nonlinearity: 'lrelu' as Nonlinearity2,
  normalize_latents: true,
  dtype: 'float32',
};
export type G_mapping2Kwargs = typeof G_MAPPING2_DEFAULTS;

export const G_SYNTHESIS_STYLEGAN2_DEFAULTS = {
  dlatent_size: 512,
  num_channels: 3,
  resolution: 1024,
  fmap_base: 16 << 10,
  fmap_decay: 1.0,
  fmap_min: 1,
  fmap_max: 512,
  randomize_noise: true,
  architecture: 'skip' as Architecture,
  nonlinearity: 'lrelu' as Nonlinearity2,
  dtype: 'float32',
  resample_kernel: [1, 3, 3, 1] as number[],
  fused_modconv: true,
};
export type G_synthesis_stylegan2Kwargs = typeof G_SYNTHESIS_STYLEGAN2_DEFAULTS;

/** G_main forwards its **kwargs to both components; each ignores the other's keys (NVIDIA's **_kwargs). */
const SUBNETWORK2_DEFAULTS = { ...G_MAPPING2_DEFAULTS, ...G_SYNTHESIS_STYLEGAN2_DEFAULTS, is_template_graph: false };

function pick<T extends object>(defaults: T, kwargs: Record<string, unknown>): Partial<T> {
  return Object.fromEntries(Object.entries(kwargs).filter(([k]) => k in defaults)) as Partial<T>;
}

// ---------------------------------------------------------------------------------------------
// G_mapping (networks_stylegan2.py)

export class G_mapping_stylegan2 extends Network {
  readonly kw: G_mapping2Kwargs;
  private readonly labelConcat: tf.Variable | null = null;
  private readonly dense: DenseLayer[] = [];

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G_mapping', kwargs, opts);
    resolveKwargs('G_mapping', SUBNETWORK2_DEFAULTS, kwargs);
    const kw = (this.kw = resolveKwargs('G_mapping', G_MAPPING2_DEFAULTS, pick(G_MAPPING2_DEFAULTS, kwargs)));
    checkChoice('G_mapping', 'mapping_nonlinearity', kw.mapping_nonlinearity, ['linear', 'relu', 'lrelu']);
    checkDtype('G_mapping', kw.dtype);
    this.addLayer('latents_in', [null, kw.latent_size]);
    this.addLayer('labels_in', [null, kw.label_size]);
    let fanIn = kw.latent_size;
    if (kw.label_size) {
      this.labelConcat = this.makeVar('LabelConcat/weight', [kw.label_size, kw.latent_size], { normal: 1 });
      fanIn += kw.latent_size;
      this.addLayer('LabelConcat', [null, fanIn]);
    }
    if (kw.normalize_latents) this.addLayer('Normalize', [null, fanIn]);
    for (let i = 0; i < kw.mapping_layers; i++) {
      const fmaps = i === kw.mapping_layers - 1 ? kw.dlatent_size : kw.mapping_fmaps;
      this.dense.push(new DenseLayer(this, `Dense${i}`, fanIn, fmaps, kw.mapping_nonlinearity, kw.mapping_lrmul));
      this.addLayer(`Dense${i}`, [null, fmaps]);
      fanIn = fmaps;
    }
    const outShape = kw.dlatent_broadcast !== null ? [null, kw.dlatent_broadcast, fanIn] : [null, fanIn];
    if (kw.dlatent_broadcast !== null) this.addLayer('Broadcast', outShape);
    this.addLayer('dlatents_out', outShape);
    this.setIO({ latents_in: [null, kw.latent_size], labels_in: [null, kw.label_size] }, { dlatents_out: outShape });
  }

  protected rebuild(name: string): G_mapping_stylegan2 {
    return new G_mapping_stylegan2({ ...this.static_kwargs }, { name, initialize: false });
  }

  /** latents [N, latent_size], labels [N, label_size] → dlatents [N, dlatent_broadcast, dlatent_size] (or [N, dlatent_size]). */
  run(latents: tf.Tensor2D, labels?: tf.Tensor2D | null): tf.Tensor {
    const kw = this.kw;
    if (latents.rank !== 2 || latents.shape[1] !== kw.latent_size) {
      throw new UserError(`G_mapping: latents must be [N, ${kw.latent_size}], got [${latents.shape.join(',')}]`);
    }
    return tf.tidy(() => {
      let x: tf.Tensor2D = latents;
      if (this.labelConcat) {
        if (!labels || labels.rank !== 2 || labels.shape[1] !== kw.label_size) throw new UserError(`G_mapping: labels must be [N, ${kw.label_size}]`);
        x = tf.concat([x, tf.matMul(labels, this.labelConcat as tf.Tensor as tf.Tensor2D)], 1) as tf.Tensor2D;
      }
      if (kw.normalize_latents) x = tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), 1, true), 1e-8)));
      for (const layer of this.dense) x = layer.apply(x);
      if (kw.dlatent_broadcast === null) return x;
      return tf.tile(tf.expandDims(x, 1), [1, kw.dlatent_broadcast, 1]);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// G_synthesis_stylegan2

export class G_synthesis_stylegan2 extends Network {
  readonly kw: G_synthesis_stylegan2Kwargs;
  readonly resolution_log2: number;
  readonly num_layers: number;
  /** Same as num_layers (G_style's name for the number of dlatent columns). */
  readonly num_styles: number;
  readonly noiseVars: tf.Variable[] = [];
  private readonly constInput: tf.Variable;
  private readonly layers4: SynthesisLayer;
  private readonly blocks = new Map<number, { conv0: SynthesisLayer; conv1: SynthesisLayer; skip: Conv2dLayer | null }>();
  private readonly torgb = new Map<number, ToRGBLayer>();

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G_synthesis', kwargs, opts);
    resolveKwargs('G_synthesis_stylegan2', SUBNETWORK2_DEFAULTS, kwargs);
    const kw = (this.kw = resolveKwargs('G_synthesis_stylegan2', G_SYNTHESIS_STYLEGAN2_DEFAULTS, pick(G_SYNTHESIS_STYLEGAN2_DEFAULTS, kwargs)));
    checkChoice('G_synthesis_stylegan2', 'architecture', kw.architecture, ['orig', 'skip', 'resnet']);
    checkChoice('G_synthesis_stylegan2', 'nonlinearity', kw.nonlinearity, ['linear', 'relu', 'lrelu']);
    checkDtype('G_synthesis_stylegan2', kw.dtype);
    const R = (this.resolution_log2 = checkResolution('G_synthesis_stylegan2', kw.resolution));
    const nf = (stage: number) => nf2(stage, kw.fmap_base, kw.fmap_decay, kw.fmap_min, kw.fmap_max);
    const D = kw.dlatent_size;
    this.num_layers = this.num_styles = R * 2 - 2;
    const C = kw.num_channels;

    this.addLayer('dlatents_in', [null, this.num_layers, D]);
    for (let i = 0; i < this.num_layers - 1; i++) {
      const res = 2 ** ((i + 5) >> 1);
      this.noiseVars.push(this.makeVar(`noise${i}`, [1, 1, res, res], { normal: 1 }, false));
      this.addLayer(`noise${i}`, [1, 1, res, res]);
    }
    this.constInput = this.makeVar('4x4/Const/const', [1, nf(1), 4, 4], { normal: 1 });
    this.addLayer('4x4/Const', [null, nf(1), 4, 4]);
    this.layers4 = new SynthesisLayer(this, '4x4/Conv', D, nf(1), nf(1), false, kw);
    this.addLayer('4x4/Conv', [null, nf(1), 4, 4]);
    if (kw.architecture === 'skip') this.makeToRGB(2, nf(1));
    for (let r = 3; r <= R; r++) {
      const s = `${2 ** r}x${2 ** r}`;
      const shape = [null, nf(r - 1), 2 ** r, 2 ** r];
      const conv0 = new SynthesisLayer(this, `${s}/Conv0_up`, D, nf(r - 2), nf(r - 1), true, kw);
      this.addLayer(`${s}/Conv0_up`, shape);
      const conv1 = new SynthesisLayer(this, `${s}/Conv1`, D, nf(r - 1), nf(r - 1), false, kw);
      this.addLayer(`${s}/Conv1`, shape);
      let skip: Conv2dLayer | null = null;
      if (kw.architecture === 'resnet') {
        skip = new Conv2dLayer(this, `${s}/Skip`, nf(r - 2), nf(r - 1), 1, 'up', kw.resample_kernel);
        this.addLayer(`${s}/Skip`, shape);
      }
      this.blocks.set(r, { conv0, conv1, skip });
      if (kw.architecture === 'skip') this.addLayer(`${s}/Upsample`, [null, C, 2 ** r, 2 ** r]);
      if (kw.architecture === 'skip' || r === R) this.makeToRGB(r, nf(r - 1));
    }
    this.addLayer('images_out', [null, C, kw.resolution, kw.resolution]);
    this.setIO({ dlatents_in: [null, this.num_layers, D] }, { images_out: [null, C, kw.resolution, kw.resolution] });
  }

  private makeToRGB(res: number, fmaps: number): void {
    const scope = `${2 ** res}x${2 ** res}/ToRGB`;
    this.torgb.set(res, new ToRGBLayer(this, scope, this.kw.dlatent_size, fmaps, this.kw.num_channels));
    this.addLayer(scope, [null, this.kw.num_channels, 2 ** res, 2 ** res]);
  }

  protected rebuild(name: string): G_synthesis_stylegan2 {
    return new G_synthesis_stylegan2({ ...this.static_kwargs }, { name, initialize: false });
  }

  /** dlatents [N, num_layers, dlatent_size] → images [N, num_channels, R, R] (NCHW, unclamped). */
  run(dlatents: tf.Tensor, opts: SynthesisRunOptions = {}): tf.Tensor4D {
    const kw = this.kw;
    if (dlatents.rank !== 3 || dlatents.shape[1] !== this.num_layers || dlatents.shape[2] !== kw.dlatent_size) {
      throw new UserError(`G_synthesis: dlatents must be [N, ${this.num_layers}, ${kw.dlatent_size}], got [${dlatents.shape.join(',')}]`);
    }
    const randomize = opts.randomize_noise ?? kw.randomize_noise;
    const rng = opts.rng ?? Math.random;
    const act = kw.nonlinearity;
    return tf.tidy(() => {
      const n = dlatents.shape[0]!;
      const w = tf.unstack(dlatents, 1) as tf.Tensor2D[];
      const noiseFor = (idx: number, size: number): tf.Tensor4D => {
        const given = opts.noise?.[idx];
        // [1|N, 1, H, W] and [1|N, H, W, 1] have the same memory order.
        if (given) return tf.reshape(given, [given.shape[0]!, size, size, 1]);
        if (randomize) return tf.randomNormal([n, size, size, 1], 0, 1, 'float32', seedFrom(rng));
        return tf.reshape(this.noiseVars[idx]!, [1, size, size, 1]);
      };
      let x = tf.tile(ops.nchwToNhwc(this.constInput as tf.Tensor as tf.Tensor4D), [n, 1, 1, 1]) as tf.Tensor4D;
      x = this.layers4.apply(x, w[0]!, noiseFor(0, 4), act);
      let y: tf.Tensor4D | null = kw.architecture === 'skip' ? this.torgb.get(2)!.apply(x, w[1]!) : null;
      const R = this.resolution_log2;
      for (let r = 3; r <= R; r++) {
        const size = 2 ** r;
        const { conv0, conv1, skip } = this.blocks.get(r)!;
        const t = x;
        x = conv0.apply(x, w[r * 2 - 5]!, noiseFor(r * 2 - 5, size), act);
        x = conv1.apply(x, w[r * 2 - 4]!, noiseFor(r * 2 - 4, size), act);
        if (skip) x = tf.mul(tf.add(x, skip.apply(t)), Math.SQRT1_2) as tf.Tensor4D;
        if (kw.architecture === 'skip') y = upsample2d(y!, kw.resample_kernel);
        if (kw.architecture === 'skip' || r === R) {
          const rgb = this.torgb.get(r)!.apply(x, w[r * 2 - 3]!);
          y = y ? (tf.add(y, rgb) as tf.Tensor4D) : rgb;
        }
      }
      return ops.nhwcToNchw(y!);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// G_main

export const G_MAIN_OWN_DEFAULTS = {
  truncation_psi: 0.5 as number | null,
  truncation_cutoff: null as number | null,
  truncation_psi_val: null as number | null,
  truncation_cutoff_val: null as number | null,
  dlatent_avg_beta: 0.995 as number | null,
  style_mixing_prob: 0.9 as number | null,
  is_training: false,
  is_validation: false,
  return_dlatents: false,
  is_template_graph: false,
  mapping_func: 'G_mapping',
  synthesis_func: 'G_synthesis_stylegan2',
};
const { dlatent_broadcast: _unusedBroadcast, ...G_MAIN_FORWARDED } = SUBNETWORK2_DEFAULTS;
/** Every keyword G_main accepts: its own and those it forwards to G_mapping and G_synthesis_stylegan2. */
export const G_MAIN_DEFAULTS = { ...G_MAIN_OWN_DEFAULTS, ...G_MAIN_FORWARDED };
export type G_mainKwargs = typeof G_MAIN_DEFAULTS;

export class G_main extends Network {
  readonly kw: G_mainKwargs;
  override readonly components: { synthesis: G_synthesis_stylegan2; mapping: G_mapping_stylegan2 };
  readonly num_layers: number;
  private readonly lodVar: tf.Variable;
  private readonly dlatentAvg: tf.Variable;
  private lodValue = 0;

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G', kwargs, opts);
    const kw = (this.kw = resolveKwargs('G_main', G_MAIN_DEFAULTS, kwargs));
    if (kw.is_training && kw.is_validation) throw new UserError('G_main: is_training and is_validation are exclusive');
    checkChoice('G_main', 'mapping_func', kw.mapping_func, ['G_mapping']);
    checkChoice('G_main', 'synthesis_func', kw.synthesis_func, ['G_synthesis_stylegan2']);
    const sub = Object.fromEntries(Object.entries(kwargs).filter(([k]) => !(k in G_MAIN_OWN_DEFAULTS) || k === 'is_template_graph'));
    const seed = opts.seed;
    const init = opts.initialize;
    const synthesis = new G_synthesis_stylegan2(sub, { name: 'G_synthesis', seed: seed === undefined ? undefined : seed + 1_000_000, initialize: init });
    this.num_layers = synthesis.num_layers;
    const mapping = new G_mapping_stylegan2({ ...sub, dlatent_broadcast: this.num_layers }, { name: 'G_mapping', seed: seed === undefined ? undefined : seed + 2_000_000, initialize: init });
    this.components = { synthesis, mapping };
    this.lodVar = this.makeVar('lod', [], 'zeros', false);
    this.dlatentAvg = this.makeVar('dlatent_avg', [synthesis.kw.dlatent_size], 'zeros', false);
    this.setIO({ latents_in: mapping.input_shapes[0]!, labels_in: mapping.input_shapes[1]! }, { images_out: synthesis.output_shape });
  }

  protected rebuild(name: string): G_main {
    return new G_main({ ...this.static_kwargs }, { name, initialize: false });
  }

  override layers(): LayerInfo[] {
    const m = this.components.mapping.kw;
    const s = this.components.synthesis.kw;
    const rows: LayerInfo[] = [
      { name: 'latents_in', outputShape: [null, m.latent_size] },
      { name: 'labels_in', outputShape: [null, m.label_size] },
      { name: 'lod', outputShape: [] },
      { name: 'dlatent_avg', outputShape: [s.dlatent_size] },
      ...this.componentLayers('mapping'),
    ];
    if (this.kw.truncation_psi !== null && this.kw.truncation_psi !== 1) rows.push({ name: 'Truncation', outputShape: [null, this.num_layers, m.dlatent_size] });
    return [...rows, ...this.componentLayers('synthesis'), { name: 'images_out', outputShape: [null, s.num_channels, s.resolution, s.resolution] }];
  }

  protected override onVarsAssigned(): void {
    this.lodValue = (this.lodVar.dataSync() as Float32Array)[0]!;
  }

  get lod(): number {
    return this.lodValue;
  }

  /** Sets G's `lod` (only the style-mixing layer count reads it in StyleGAN2). */
  setLod(lod: number): void {
    if (lod === this.lodValue) return;
    this.lodValue = lod;
    assignVar(this.lodVar, tf.scalar(lod));
  }

  /** The running average of W (NVIDIA's `dlatent_avg` variable). */
  get dlatent_avg(): tf.Variable {
    return this.dlatentAvg;
  }

  /**
   * latents [N, latent_size], labels [N, label_size] → images [N, C, R, R] (NCHW). With is_training the
   * W average is updated and styles are mixed; otherwise truncation applies (ψ 0.5 on all layers by default).
   */
  run(latents: tf.Tensor2D, labels?: tf.Tensor2D | null, opts: GRunOptions = {}): tf.Tensor4D {
    return this.runWithDlatents(latents, labels, opts).images;
  }

  /** As run(), also returning the dlatents fed to synthesis (NVIDIA's return_dlatents=True). */
  runWithDlatents(latents: tf.Tensor2D, labels?: tf.Tensor2D | null, opts: GRunOptions = {}): { images: tf.Tensor4D; dlatents: tf.Tensor3D } {
    const o = { ...this.kw, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as G_mainKwargs & GRunOptions;
    if (o.is_training && o.is_validation) throw new UserError('G_main: is_training and is_validation are exclusive');
    let psi = o.is_validation ? o.truncation_psi_val : o.truncation_psi;
    let cutoff = o.is_validation ? o.truncation_cutoff_val : o.truncation_cutoff;
    if (o.is_training || psi === 1) psi = null;
    if (o.is_training) cutoff = null;
    const beta = !o.is_training || o.dlatent_avg_beta === 1 ? null : o.dlatent_avg_beta;
    const mixing = !o.is_training || o.style_mixing_prob === null || o.style_mixing_prob <= 0 ? null : o.style_mixing_prob;
    const rng = opts.rng ?? Math.random;
    if (opts.lod !== undefined) this.setLod(opts.lod);
    const { mapping, synthesis } = this.components;
    return tf.tidy(() => {
      let dlatents = mapping.run(latents, labels) as tf.Tensor3D;
      if (beta !== null) this.updateDlatentAvg(dlatents, beta);
      if (mixing !== null) dlatents = this.styleMix(dlatents, latents, labels, mixing, rng);
      if (psi !== null) dlatents = truncateDlatents(dlatents, this.dlatentAvg as tf.Tensor as tf.Tensor1D, psi, cutoff ?? this.num_layers);
      const images = synthesis.run(dlatents, { randomize_noise: opts.randomize_noise, noise: opts.noise, rng: opts.rng });
      return { images, dlatents };
    });
  }

  /**
   * The dlatents G feeds to synthesis while training (mapping, W-average update, style mixing; no
   * truncation): the `mapping` half of the path-length regularizer (loss_stylegan2.StyleGeneratorFns),
   * whose gradient is taken with respect to exactly these dlatents as NVIDIA's return_dlatents gives them.
   */
  trainingDlatents(latents: tf.Tensor2D, labels?: tf.Tensor2D | null, rng: Rng = Math.random): tf.Tensor3D {
    const beta = this.kw.dlatent_avg_beta === 1 ? null : this.kw.dlatent_avg_beta;
    const mixing = this.kw.style_mixing_prob === null || this.kw.style_mixing_prob <= 0 ? null : this.kw.style_mixing_prob;
    return tf.tidy(() => {
      let dlatents = this.components.mapping.run(latents, labels) as tf.Tensor3D;
      if (beta !== null) this.updateDlatentAvg(dlatents, beta);
      if (mixing !== null) dlatents = this.styleMix(dlatents, latents, labels, mixing, rng);
      return dlatents;
    });
  }

  private updateDlatentAvg(dlatents: tf.Tensor3D, beta: number): void {
    const next = tf.tidy(() => {
      const batchAvg = tf.mean(tf.squeeze(tf.slice(dlatents, [0, 0, 0], [-1, 1, -1]), [1]), 0);
      return ops.lerp(batchAvg, this.dlatentAvg as tf.Tensor as tf.Tensor1D, beta);
    });
    assignVar(this.dlatentAvg, next);
  }

  /** The style-mixing cutoff: one Bernoulli(p) draw per minibatch, cutoff ~ U[1, cur_layers) on success. */
  mixingCutoff(prob: number, rng: Rng): number {
    const curLayers = this.num_layers - Math.trunc(this.lodValue) * 2;
    if (rng() < prob) return 1 + Math.floor(rng() * (curLayers - 1));
    return curLayers;
  }

  private styleMix(dlatents: tf.Tensor3D, latents: tf.Tensor2D, labels: tf.Tensor2D | null | undefined, prob: number, rng: Rng): tf.Tensor3D {
    const latents2 = tf.randomNormal(latents.shape, 0, 1, 'float32', seedFrom(rng));
    const cutoff = this.mixingCutoff(prob, rng);
    if (cutoff >= this.num_layers) return dlatents;
    const dlatents2 = this.components.mapping.run(latents2 as tf.Tensor2D, labels) as tf.Tensor3D;
    return mixDlatents(dlatents, dlatents2, cutoff);
  }
}

// ---------------------------------------------------------------------------------------------
// D_stylegan2

export const D_STYLEGAN2_DEFAULTS = {
  num_channels: 3,
  resolution: 1024,
  label_size: 0,
  fmap_base: 16 << 10,
  fmap_decay: 1.0,
  fmap_min: 1,
  fmap_max: 512,
  architecture: 'resnet' as Architecture,
  nonlinearity: 'lrelu' as Nonlinearity2,
  mbstd_group_size: 4,
  mbstd_num_features: 1,
  dtype: 'float32',
  resample_kernel: [1, 3, 3, 1] as number[],
  is_template_graph: false,
};
export type D_stylegan2Kwargs = typeof D_STYLEGAN2_DEFAULTS;

interface ConvBias {
  conv: Conv2dLayer;
  bias: tf.Variable;
}

export class D_stylegan2 extends Network {
  readonly kw: D_stylegan2Kwargs;
  readonly resolution_log2: number;
  private readonly fromrgb = new Map<number, ConvBias>();
  private readonly blocks = new Map<number, { conv0: ConvBias; conv1: ConvBias; skip: Conv2dLayer | null }>();
  private readonly epilogueConv: ConvBias;
  private readonly dense0: DenseLayer;
  private readonly output: DenseLayer;

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('D', kwargs, opts);
    const kw = (this.kw = resolveKwargs('D_stylegan2', D_STYLEGAN2_DEFAULTS, kwargs));
    checkChoice('D_stylegan2', 'architecture', kw.architecture, ['orig', 'skip', 'resnet']);
    checkChoice('D_stylegan2', 'nonlinearity', kw.nonlinearity, ['linear', 'relu', 'lrelu']);
    checkDtype('D_stylegan2', kw.dtype);
    const R = (this.resolution_log2 = checkResolution('D_stylegan2', kw.resolution));
    const nf = (stage: number) => nf2(stage, kw.fmap_base, kw.fmap_decay, kw.fmap_min, kw.fmap_max);
    const rk = kw.resample_kernel;
    const convBias = (scope: string, cin: number, cout: number, k: number, resample: 'none' | 'down' = 'none'): ConvBias => {
      const conv = new Conv2dLayer(this, scope, cin, cout, k, resample, rk);
      return { conv, bias: this.makeVar(`${scope}/bias`, [cout], 'zeros') };
    };
    const fromrgb = (res: number) => {
      const scope = `${2 ** res}x${2 ** res}/FromRGB`;
      this.fromrgb.set(res, convBias(scope, kw.num_channels, nf(res - 1), 1));
      this.addLayer(scope, [null, nf(res - 1), 2 ** res, 2 ** res]);
    };

    this.addLayer('images_in', [null, kw.num_channels, kw.resolution, kw.resolution]);
    this.addLayer('labels_in', [null, kw.label_size]);
    for (let r = R; r >= 3; r--) {
      const s = `${2 ** r}x${2 ** r}`;
      if (kw.architecture === 'skip' || r === R) fromrgb(r);
      const conv0 = convBias(`${s}/Conv0`, nf(r - 1), nf(r - 1), 3);
      this.addLayer(`${s}/Conv0`, [null, nf(r - 1), 2 ** r, 2 ** r]);
      const conv1 = convBias(`${s}/Conv1_down`, nf(r - 1), nf(r - 2), 3, 'down');
      this.addLayer(`${s}/Conv1_down`, [null, nf(r - 2), 2 ** (r - 1), 2 ** (r - 1)]);
      let skip: Conv2dLayer | null = null;
      if (kw.architecture === 'resnet') {
        skip = new Conv2dLayer(this, `${s}/Skip`, nf(r - 1), nf(r - 2), 1, 'down', rk);
        this.addLayer(`${s}/Skip`, [null, nf(r - 2), 2 ** (r - 1), 2 ** (r - 1)]);
      }
      this.blocks.set(r, { conv0, conv1, skip });
      if (kw.architecture === 'skip') this.addLayer(`${s}/Downsample`, [null, kw.num_channels, 2 ** (r - 1), 2 ** (r - 1)]);
    }
    if (kw.architecture === 'skip') fromrgb(2);
    const mbstd = kw.mbstd_group_size > 1 ? kw.mbstd_num_features : 0;
    if (mbstd) this.addLayer('4x4/MinibatchStddev', [null, nf(1) + mbstd, 4, 4]);
    this.epilogueConv = convBias('4x4/Conv', nf(1) + mbstd, nf(1), 3);
    this.addLayer('4x4/Conv', [null, nf(1), 4, 4]);
    this.dense0 = new DenseLayer(this, '4x4/Dense0', nf(1) * 16, nf(0), kw.nonlinearity);
    this.addLayer('4x4/Dense0', [null, nf(0)]);
    this.output = new DenseLayer(this, 'Output', nf(0), Math.max(kw.label_size, 1), 'linear');
    this.addLayer('Output', [null, Math.max(kw.label_size, 1)]);
    this.addLayer('scores_out', [null, 1]);
    this.setIO({ images_in: [null, kw.num_channels, kw.resolution, kw.resolution], labels_in: [null, kw.label_size] }, { scores_out: [null, 1] });
  }

  protected rebuild(name: string): D_stylegan2 {
    return new D_stylegan2({ ...this.static_kwargs }, { name, initialize: false });
  }

  /** images [N, C, R, R] (NCHW, [-1, 1]), labels [N, label_size] → scores [N, 1]. */
  run(images: tf.Tensor4D, labels?: tf.Tensor2D | null): tf.Tensor2D {
    const kw = this.kw;
    const [, c, h, w] = images.shape;
    if (images.rank !== 4 || c !== kw.num_channels || h !== kw.resolution || w !== kw.resolution) {
      throw new UserError(`D_stylegan2: images must be [N, ${kw.num_channels}, ${kw.resolution}, ${kw.resolution}], got [${images.shape.join(',')}]`);
    }
    if (kw.label_size && (!labels || labels.rank !== 2 || labels.shape[1] !== kw.label_size)) throw new UserError(`D_stylegan2: labels must be [N, ${kw.label_size}]`);
    const R = this.resolution_log2;
    const act = kw.nonlinearity;
    return tf.tidy(() => {
      const convAct = ({ conv, bias }: ConvBias, x: tf.Tensor4D) => biasAct(conv.apply(x, bias as tf.Tensor as tf.Tensor1D), null, act);
      const fromrgb = (x: tf.Tensor4D | null, y: tf.Tensor4D, res: number) => {
        const t = convAct(this.fromrgb.get(res)!, y);
        return x ? (tf.add(x, t) as tf.Tensor4D) : t;
      };
      let y = ops.nchwToNhwc(images);
      let x: tf.Tensor4D | null = null;
      for (let r = R; r >= 3; r--) {
        if (kw.architecture === 'skip' || r === R) x = fromrgb(x, y, r);
        const { conv0, conv1, skip } = this.blocks.get(r)!;
        const t: tf.Tensor4D = x!;
        x = convAct(conv1, convAct(conv0, x!));
        if (skip) x = tf.mul(tf.add(x, skip.apply(t)), Math.SQRT1_2) as tf.Tensor4D;
        if (kw.architecture === 'skip') y = downsample2d(y, kw.resample_kernel);
      }
      if (kw.architecture === 'skip') x = fromrgb(x, y, 2);
      if (kw.mbstd_group_size > 1) x = ops.minibatchStddev(x!, kw.mbstd_group_size, kw.mbstd_num_features);
      x = convAct(this.epilogueConv, x!);
      let scores = this.output.apply(this.dense0.apply(ops.nhwcToNchw(x)));
      if (kw.label_size) scores = tf.sum(tf.mul(scores, labels!), 1, true);
      return scores;
    });
  }
}

// ---------------------------------------------------------------------------------------------
// The generator surface the generation scripts use (figures, morph, metrics): G_style and G_main
// both have run(z, labels, opts), components.mapping / components.synthesis (noiseVars, run,
// kw.resolution / num_channels), dlatent_avg and num_layers.

export type StyleGenerator = G_style | G_main;

/** True for either style-based generator (StyleGAN's G_style or StyleGAN2's G_main). */
export function isStyleGenerator(net: Network): net is StyleGenerator {
  return net instanceof G_main || net instanceof G_style;
}
