// Network architectures of the StyleGAN paper (NVIDIA's training/networks_stylegan.py): the
// style-based generator G_style = G_mapping + G_synthesis, and the discriminator D_basic.
// Every keyword argument of NVIDIA's build functions is accepted with the same default; public
// tensors are NVIDIA's (images NCHW in [-1, 1]); activations run NHWC inside.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { Network, assignVar, resolveKwargs, checkChoice, type NetworkOptions } from './network.ts';
import { Bias, Conv2d, Dense, type VarFactory } from './layers.ts';
import * as ops from './ops.ts';
import { growDiscriminator, growGenerator } from './structure.ts';

export type FusedScale = boolean | 'auto';
export type Structure = 'auto' | 'fixed' | 'linear' | 'recursive';
export type Rng = () => number;

/** A uint32 seed for tfjs' random ops drawn from a JS random source. */
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

// ---------------------------------------------------------------------------------------------
// G_mapping

export const G_MAPPING_DEFAULTS = {
  latent_size: 512,
  label_size: 0,
  dlatent_size: 512,
  dlatent_broadcast: null as number | null,
  mapping_layers: 8,
  mapping_fmaps: 512,
  mapping_lrmul: 0.01,
  mapping_nonlinearity: 'lrelu' as ops.Nonlinearity,
  use_wscale: true,
  normalize_latents: true,
  dtype: 'float32',
};
export type G_mappingKwargs = typeof G_MAPPING_DEFAULTS;

// ---------------------------------------------------------------------------------------------
// G_synthesis

export const G_SYNTHESIS_DEFAULTS = {
  dlatent_size: 512,
  num_channels: 3,
  resolution: 1024,
  fmap_base: 8192,
  fmap_decay: 1.0,
  fmap_max: 512,
  use_styles: true,
  const_input_layer: true,
  use_noise: true,
  randomize_noise: true,
  nonlinearity: 'lrelu' as ops.Nonlinearity,
  use_wscale: true,
  use_pixel_norm: false,
  use_instance_norm: true,
  dtype: 'float32',
  fused_scale: 'auto' as FusedScale,
  blur_filter: [1, 2, 1] as number[] | null,
  structure: 'auto' as Structure,
  is_template_graph: false,
  force_clean_graph: false,
};
export type G_synthesisKwargs = typeof G_SYNTHESIS_DEFAULTS;

/** G_style passes its **kwargs to both sub-networks, and each ignores the other's keys. */
const SUBNETWORK_DEFAULTS = { ...G_MAPPING_DEFAULTS, ...G_SYNTHESIS_DEFAULTS };

function pick<T extends object>(defaults: T, kwargs: Record<string, unknown>): Partial<T> {
  return Object.fromEntries(Object.entries(kwargs).filter(([k]) => k in defaults)) as Partial<T>;
}

export class G_mapping extends Network {
  readonly kw: G_mappingKwargs;
  private readonly labelConcat: tf.Variable | null = null;
  private readonly dense: Dense[] = [];

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G_mapping', kwargs, opts);
    resolveKwargs('G_mapping', SUBNETWORK_DEFAULTS, kwargs);
    const kw = (this.kw = resolveKwargs('G_mapping', G_MAPPING_DEFAULTS, pick(G_MAPPING_DEFAULTS, kwargs)));
    checkChoice('G_mapping', 'mapping_nonlinearity', kw.mapping_nonlinearity, ['relu', 'lrelu']);
    checkDtype('G_mapping', kw.dtype);
    const gain = ops.SQRT2;

    this.addLayer('latents_in', [null, kw.latent_size]);
    this.addLayer('labels_in', [null, kw.label_size]);
    let fanIn = kw.latent_size;
    if (kw.label_size) {
      // Label embedding: N(0,1) init, no wscale, no bias.
      this.labelConcat = this.makeVar('LabelConcat/weight', [kw.label_size, kw.latent_size], { normal: 1 });
      fanIn += kw.latent_size;
      this.addLayer('LabelConcat', [null, fanIn]);
    }
    if (kw.normalize_latents) this.addLayer('PixelNorm', [null, fanIn]);
    for (let i = 0; i < kw.mapping_layers; i++) {
      const fmaps = i === kw.mapping_layers - 1 ? kw.dlatent_size : kw.mapping_fmaps;
      this.dense.push(new Dense(this, `Dense${i}`, fanIn, fmaps, { gain, use_wscale: kw.use_wscale, lrmul: kw.mapping_lrmul }));
      this.addLayer(`Dense${i}`, [null, fmaps]);
      fanIn = fmaps;
    }
    const outShape = kw.dlatent_broadcast !== null ? [null, kw.dlatent_broadcast, fanIn] : [null, fanIn];
    if (kw.dlatent_broadcast !== null) this.addLayer('Broadcast', outShape);
    this.addLayer('dlatents_out', outShape);
    this.setIO({ latents_in: [null, kw.latent_size], labels_in: [null, kw.label_size] }, { dlatents_out: outShape });
  }

  protected rebuild(name: string): G_mapping {
    return new G_mapping({ ...this.static_kwargs }, { name, initialize: false });
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
        if (!labels || labels.rank !== 2 || labels.shape[1] !== kw.label_size) {
          throw new UserError(`G_mapping: labels must be [N, ${kw.label_size}]`);
        }
        x = tf.concat([x, tf.matMul(labels, this.labelConcat as tf.Tensor as tf.Tensor2D)], 1) as tf.Tensor2D;
      }
      if (kw.normalize_latents) x = ops.pixelNorm(x);
      for (const layer of this.dense) x = ops.activate(layer.apply(x), kw.mapping_nonlinearity);
      if (kw.dlatent_broadcast === null) return x;
      return tf.tile(tf.expandDims(x, 1), [1, kw.dlatent_broadcast, 1]);
    });
  }
}

/** Noise → bias → activation → (pixel norm) → (instance norm) → (style_mod): NVIDIA's layer_epilogue. */
class LayerEpilogue {
  readonly noiseWeight: tf.Variable | null = null;
  readonly bias: Bias;
  readonly style: Dense | null = null;
  constructor(net: VarFactory, scope: string, readonly fmaps: number, readonly layerIdx: number, private readonly kw: G_synthesisKwargs) {
    if (kw.use_noise) this.noiseWeight = net.makeVar(`${scope}/Noise/weight`, [fmaps], 'zeros');
    this.bias = new Bias(net, scope, fmaps);
    if (kw.use_styles) this.style = new Dense(net, `${scope}/StyleMod`, kw.dlatent_size, fmaps * 2, { gain: 1, use_wscale: kw.use_wscale });
  }

  /** `biasApplied`: the caller already fused the bias into its conv (addition commutes with the noise add). */
  apply(x: tf.Tensor4D, dlatent: tf.Tensor2D | null, noise: tf.Tensor4D | null, biasApplied = false): tf.Tensor4D {
    if (this.noiseWeight && noise) x = ops.applyNoise(x, noise, this.noiseWeight as tf.Tensor as tf.Tensor1D);
    if (!biasApplied) x = ops.applyBias(x, this.bias.value());
    x = ops.activate(x, this.kw.nonlinearity);
    if (this.kw.use_pixel_norm) x = ops.pixelNorm(x);
    const style = this.style && dlatent ? this.style.apply(dlatent) : null;
    if (this.kw.use_instance_norm && style) return ops.adaIN(x, style);
    if (this.kw.use_instance_norm) x = ops.instanceNorm(x);
    if (style) x = ops.styleMod(x, style);
    return x;
  }
}

export interface SynthesisRunOptions {
  /** Fresh N(0,1) noise per call (true) or the stored noiseK variables (false). Default: the kwarg. */
  randomize_noise?: boolean;
  /** Per-layer noise overriding both, NVIDIA layout [1 or N, 1, H, W]; null entries fall back. */
  noise?: (tf.Tensor | null)[];
  /** Random source for fresh noise (seeds tfjs' generator); default Math.random. */
  rng?: Rng;
}

export class G_synthesis extends Network {
  readonly kw: G_synthesisKwargs;
  readonly resolution_log2: number;
  readonly num_layers: number;
  readonly num_styles: number;
  /** 'fixed' | 'linear' | 'recursive' after resolving 'auto'. */
  readonly structure: Exclude<Structure, 'auto'>;
  private readonly randomizeNoiseDefault: boolean;
  private readonly lodVar: tf.Variable;
  private lodValue = 0;
  readonly noiseVars: tf.Variable[] = [];
  private readonly constInput: tf.Variable | null = null;
  private readonly denseInput: Dense | null = null;
  private readonly convs: Conv2d[] = []; // per layer: layer 0 has none with const input
  private readonly epilogues: LayerEpilogue[] = [];
  private readonly torgb = new Map<number, { conv: Conv2d; bias: Bias }>(); // by res

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G_synthesis', kwargs, opts);
    resolveKwargs('G_synthesis', SUBNETWORK_DEFAULTS, kwargs);
    const kw = (this.kw = resolveKwargs('G_synthesis', G_SYNTHESIS_DEFAULTS, pick(G_SYNTHESIS_DEFAULTS, kwargs)));
    checkChoice('G_synthesis', 'nonlinearity', kw.nonlinearity, ['relu', 'lrelu']);
    checkChoice('G_synthesis', 'fused_scale', kw.fused_scale, [true, false, 'auto']);
    checkChoice('G_synthesis', 'structure', kw.structure, ['auto', 'fixed', 'linear', 'recursive']);
    checkDtype('G_synthesis', kw.dtype);
    const R = (this.resolution_log2 = checkResolution('G_synthesis', kw.resolution));
    const nf = (stage: number) => ops.nf(stage, kw.fmap_base, kw.fmap_decay, kw.fmap_max);
    const forceClean = kw.is_template_graph || kw.force_clean_graph;
    this.randomizeNoiseDefault = forceClean ? false : kw.randomize_noise;
    // We always run eagerly, so 'auto' means NVIDIA's non-template choice.
    this.structure = kw.structure === 'auto' ? (forceClean ? 'linear' : 'recursive') : kw.structure;
    const gain = ops.SQRT2;
    const ws = { gain, use_wscale: kw.use_wscale };
    this.num_layers = R * 2 - 2;
    this.num_styles = kw.use_styles ? this.num_layers : 1;

    this.addLayer('dlatents_in', [null, this.num_styles, kw.dlatent_size]);
    this.lodVar = this.makeVar('lod', [], 'zeros', false);
    this.addLayer('lod', []);
    if (kw.use_noise) {
      for (let i = 0; i < this.num_layers; i++) {
        const res = 2 ** ((i >> 1) + 2);
        this.noiseVars.push(this.makeVar(`noise${i}`, [1, 1, res, res], { normal: 1 }, false));
        this.addLayer(`noise${i}`, [1, 1, res, res]);
      }
    }

    // 4x4: learned constant or (traditional input) a dense layer from the first dlatent.
    if (kw.const_input_layer) {
      this.constInput = this.makeVar('4x4/Const/const', [1, nf(1), 4, 4], 'ones');
      this.epilogues.push(new LayerEpilogue(this, '4x4/Const', nf(1), 0, kw));
      this.addLayer('4x4/Const', [null, nf(1), 4, 4]);
    } else {
      // NVIDIA tweaks the gain to √2/4 to match the ProGAN implementation; the bias comes from the epilogue.
      this.denseInput = new Dense(this, '4x4/Dense', kw.dlatent_size, nf(1) * 16, { gain: gain / 4, use_wscale: kw.use_wscale, bias: false });
      this.epilogues.push(new LayerEpilogue(this, '4x4/Dense', nf(1), 0, kw));
      this.addLayer('4x4/Dense', [null, nf(1), 4, 4]);
    }
    this.convs.push(new Conv2d(this, '4x4/Conv', nf(1), nf(1), 3, 'none', false, ws));
    this.epilogues.push(new LayerEpilogue(this, '4x4/Conv', nf(1), 1, kw));
    this.addLayer('4x4/Conv', [null, nf(1), 4, 4]);
    if (this.structure !== 'fixed') this.makeToRGB(2, nf(1));

    for (let r = 3; r <= R; r++) {
      const s = `${2 ** r}x${2 ** r}`;
      const fused = kw.fused_scale === 'auto' ? 2 ** r >= 128 : kw.fused_scale;
      this.convs.push(new Conv2d(this, `${s}/Conv0_up`, nf(r - 2), nf(r - 1), 3, 'up', fused, ws));
      this.epilogues.push(new LayerEpilogue(this, `${s}/Conv0_up`, nf(r - 1), r * 2 - 4, kw));
      this.addLayer(`${s}/Conv0_up`, [null, nf(r - 1), 2 ** r, 2 ** r]);
      this.convs.push(new Conv2d(this, `${s}/Conv1`, nf(r - 1), nf(r - 1), 3, 'none', false, ws));
      this.epilogues.push(new LayerEpilogue(this, `${s}/Conv1`, nf(r - 1), r * 2 - 3, kw));
      this.addLayer(`${s}/Conv1`, [null, nf(r - 1), 2 ** r, 2 ** r]);
      if (this.structure !== 'fixed' || r === R) this.makeToRGB(r, nf(r - 1));
    }
    this.addLayer('images_out', [null, kw.num_channels, kw.resolution, kw.resolution]);
    this.setIO({ dlatents_in: [null, this.num_styles, kw.dlatent_size] }, { images_out: [null, kw.num_channels, kw.resolution, kw.resolution] });
  }

  private makeToRGB(res: number, fmaps: number): void {
    const scope = `ToRGB_lod${this.resolution_log2 - res}`;
    const conv = new Conv2d(this, scope, fmaps, this.kw.num_channels, 1, 'none', false, { gain: 1, use_wscale: this.kw.use_wscale });
    this.torgb.set(res, { conv, bias: new Bias(this, scope, this.kw.num_channels) });
    this.addLayer(scope, [null, this.kw.num_channels, 2 ** res, 2 ** res]);
  }

  protected rebuild(name: string): G_synthesis {
    return new G_synthesis({ ...this.static_kwargs }, { name, initialize: false });
  }

  protected override onVarsAssigned(): void {
    this.lodValue = (this.lodVar.dataSync() as Float32Array)[0]!;
  }

  get lod(): number {
    return this.lodValue;
  }

  /** Sets the level of detail (NVIDIA assigns it from G's `lod` before every call). */
  setLod(lod: number): void {
    if (lod === this.lodValue) return;
    this.lodValue = lod;
    assignVar(this.lodVar, tf.scalar(lod));
  }

  /** dlatents [N, num_styles, dlatent_size] → images [N, num_channels, R, R] (NCHW, unclamped). */
  run(dlatents: tf.Tensor, opts: SynthesisRunOptions = {}): tf.Tensor4D {
    const kw = this.kw;
    if (dlatents.rank !== 3 || dlatents.shape[1] !== this.num_styles || dlatents.shape[2] !== kw.dlatent_size) {
      throw new UserError(`G_synthesis: dlatents must be [N, ${this.num_styles}, ${kw.dlatent_size}], got [${dlatents.shape.join(',')}]`);
    }
    const randomize = opts.randomize_noise ?? this.randomizeNoiseDefault;
    const rng = opts.rng ?? Math.random;
    return tf.tidy(() => {
      const n = dlatents.shape[0];
      const styles = tf.unstack(dlatents, 1) as tf.Tensor2D[];
      const noiseFor = (layerIdx: number, size: number): tf.Tensor4D | null => {
        if (!kw.use_noise) return null;
        const given = opts.noise?.[layerIdx];
        // [1|N, 1, H, W] and [1|N, H, W, 1] have the same memory order, so NCHW→NHWC is a reshape.
        if (given) return tf.reshape(given, [given.shape[0]!, size, size, 1]);
        if (randomize) return tf.randomNormal([n, size, size, 1], 0, 1, 'float32', seedFrom(rng));
        return tf.reshape(this.noiseVars[layerIdx]!, [1, size, size, 1]);
      };
      const layer = (idx: number, x: tf.Tensor4D, size: number, biasApplied: boolean) =>
        this.epilogues[idx]!.apply(x, styles[kw.use_styles ? idx : 0]!, noiseFor(idx, size), biasApplied);
      const convLayer = (x: tf.Tensor4D, idx: number, size: number, blur: boolean): tf.Tensor4D => {
        const conv = this.convs[idx - 1]!;
        if (blur && kw.blur_filter) return layer(idx, ops.blur2d(conv.apply(x), kw.blur_filter), size, false);
        // Without a blur in between, the bias can ride in the conv: it commutes with the noise add.
        const fuse = conv.resample === 'none';
        return layer(idx, conv.apply(x, fuse ? this.epilogues[idx]!.bias.value() : undefined), size, fuse);
      };

      // 4x4 block.
      let x: tf.Tensor4D;
      if (this.constInput) {
        x = tf.tile(ops.nchwToNhwc(this.constInput as tf.Tensor as tf.Tensor4D), [n, 1, 1, 1]);
      } else {
        const nf1 = this.convs[0]!.weight.variable.shape[2]!;
        x = ops.nchwToNhwc(tf.reshape(this.denseInput!.apply(styles[0]!), [n, nf1, 4, 4]));
      }
      x = layer(0, x, 4, false);
      x = convLayer(x, 1, 4, false);

      const R = this.resolution_log2;
      const block = (xin: tf.Tensor4D, res: number): tf.Tensor4D => {
        const size = 2 ** res;
        const y = convLayer(xin, res * 2 - 4, size, true);
        return convLayer(y, res * 2 - 3, size, false);
      };
      const toRGB = (xin: tf.Tensor4D, res: number): tf.Tensor4D => {
        const t = this.torgb.get(res)!;
        return t.conv.apply(xin, t.bias.value());
      };

      let img: tf.Tensor4D;
      if (this.structure === 'fixed') {
        for (let r = 3; r <= R; r++) x = block(x, r);
        img = toRGB(x, R);
      } else {
        img = growGenerator(this.structure, R, this.lodValue, x, block, toRGB);
      }
      return ops.nhwcToNchw(img);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// G_style

export const G_STYLE_OWN_DEFAULTS = {
  truncation_psi: 0.7 as number | null,
  truncation_cutoff: 8 as number | null,
  truncation_psi_val: null as number | null,
  truncation_cutoff_val: null as number | null,
  dlatent_avg_beta: 0.995 as number | null,
  style_mixing_prob: 0.9 as number | null,
  is_training: false,
  is_validation: false,
  is_template_graph: false,
};
const { dlatent_broadcast: _unusedBroadcast, ...G_STYLE_FORWARDED } = SUBNETWORK_DEFAULTS;
/** Every keyword G_style accepts: its own and those it forwards to G_mapping and G_synthesis. */
export const G_STYLE_DEFAULTS = { ...G_STYLE_OWN_DEFAULTS, ...G_STYLE_FORWARDED };
export type G_styleKwargs = typeof G_STYLE_DEFAULTS;

export interface GRunOptions extends SynthesisRunOptions {
  truncation_psi?: number | null;
  truncation_cutoff?: number | null;
  truncation_psi_val?: number | null;
  truncation_cutoff_val?: number | null;
  dlatent_avg_beta?: number | null;
  style_mixing_prob?: number | null;
  is_training?: boolean;
  is_validation?: boolean;
  /** Sets G's `lod` variable (and the synthesis network's) before running. */
  lod?: number;
  /** Random source for the style-mixing draw and the second latents (default Math.random). */
  rng?: Rng;
}

export class G_style extends Network {
  readonly kw: G_styleKwargs;
  override readonly components: { synthesis: G_synthesis; mapping: G_mapping };
  readonly num_layers: number;
  private readonly lodVar: tf.Variable;
  private readonly dlatentAvg: tf.Variable;
  private lodValue = 0;

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G', kwargs, opts);
    const kw = (this.kw = resolveKwargs('G_style', G_STYLE_DEFAULTS, kwargs));
    if (kw.is_training && kw.is_validation) throw new UserError('G_style: is_training and is_validation are exclusive');
    const sub = Object.fromEntries(Object.entries(kwargs).filter(([k]) => !(k in G_STYLE_OWN_DEFAULTS)));
    const seed = opts.seed;
    const init = opts.initialize;
    const synthesis = new G_synthesis(sub, { name: 'G_synthesis', seed: seed === undefined ? undefined : seed + 1_000_000, initialize: init });
    this.num_layers = synthesis.num_styles;
    const mapping = new G_mapping({ ...sub, dlatent_broadcast: this.num_layers }, { name: 'G_mapping', seed: seed === undefined ? undefined : seed + 2_000_000, initialize: init });
    this.components = { synthesis, mapping };
    this.lodVar = this.makeVar('lod', [], 'zeros', false);
    this.dlatentAvg = this.makeVar('dlatent_avg', [synthesis.kw.dlatent_size], 'zeros', false);
    this.setIO(
      { latents_in: mapping.input_shapes[0]!, labels_in: mapping.input_shapes[1]! },
      { images_out: synthesis.output_shape },
    );
  }

  protected rebuild(name: string): G_style {
    return new G_style({ ...this.static_kwargs }, { name, initialize: false });
  }

  override layers() {
    const m = this.components.mapping.kw;
    const rows = [
      { name: 'latents_in', outputShape: [null, m.latent_size] },
      { name: 'labels_in', outputShape: [null, m.label_size] },
      { name: 'lod', outputShape: [] },
      { name: 'dlatent_avg', outputShape: [this.components.synthesis.kw.dlatent_size] },
      ...this.componentLayers('mapping'),
    ];
    const dl = [null, this.num_layers, m.dlatent_size];
    if (this.kw.truncation_psi !== null && this.kw.truncation_psi !== 1 && this.kw.truncation_cutoff !== null && this.kw.truncation_cutoff > 0) {
      rows.push({ name: 'Truncation', outputShape: dl });
    }
    const s = this.components.synthesis.kw;
    return [...rows, ...this.componentLayers('synthesis'), { name: 'images_out', outputShape: [null, s.num_channels, s.resolution, s.resolution] }];
  }

  protected override onVarsAssigned(): void {
    this.lodValue = (this.lodVar.dataSync() as Float32Array)[0]!;
  }

  get lod(): number {
    return this.lodValue;
  }

  setLod(lod: number): void {
    if (lod !== this.lodValue) {
      this.lodValue = lod;
      assignVar(this.lodVar, tf.scalar(lod));
    }
    this.components.synthesis.setLod(lod);
  }

  /** The running average of W (NVIDIA's `dlatent_avg` variable). */
  get dlatent_avg(): tf.Variable {
    return this.dlatentAvg;
  }

  /**
   * latents [N, latent_size], labels [N, label_size] → images [N, C, R, R] (NCHW). With is_training the
   * W average is updated (β = dlatent_avg_beta) and styles are mixed; otherwise truncation applies.
   */
  run(latents: tf.Tensor2D, labels?: tf.Tensor2D | null, opts: GRunOptions = {}): tf.Tensor4D {
    const o = { ...this.kw, ...Object.fromEntries(Object.entries(opts).filter(([, v]) => v !== undefined)) } as G_styleKwargs & GRunOptions;
    if (o.is_training && o.is_validation) throw new UserError('G_style: is_training and is_validation are exclusive');
    // NVIDIA's normalisation of the training/validation switches.
    let psi = o.is_validation ? o.truncation_psi_val : o.truncation_psi;
    let cutoff = o.is_validation ? o.truncation_cutoff_val : o.truncation_cutoff;
    if (o.is_training || psi === 1) psi = null;
    if (o.is_training || (cutoff !== null && cutoff <= 0)) cutoff = null;
    const beta = !o.is_training || o.dlatent_avg_beta === 1 ? null : o.dlatent_avg_beta;
    const mixing = !o.is_training || o.style_mixing_prob === null || o.style_mixing_prob <= 0 ? null : o.style_mixing_prob;
    const rng = opts.rng ?? Math.random;
    if (opts.lod !== undefined) this.setLod(opts.lod);
    else this.components.synthesis.setLod(this.lodValue);
    const { mapping, synthesis } = this.components;

    return tf.tidy(() => {
      let dlatents = mapping.run(latents, labels) as tf.Tensor3D;
      if (beta !== null) this.updateDlatentAvg(dlatents, beta);
      if (mixing !== null) dlatents = this.styleMix(dlatents, latents, labels, mixing, rng);
      if (psi !== null && cutoff !== null) dlatents = this.truncate(dlatents, psi, cutoff);
      // Unset randomize_noise falls to the synthesis network's own resolved default (a clean graph forces false).
      return synthesis.run(dlatents, { randomize_noise: opts.randomize_noise, noise: opts.noise, rng: opts.rng });
    });
  }

  /** dlatent_avg ← lerp(batch mean of w₀, dlatent_avg, β). */
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
    if (cutoff >= this.num_layers) return dlatents; // layers ≥ cutoff would come from w₂: there are none
    const dlatents2 = this.components.mapping.run(latents2 as tf.Tensor2D, labels) as tf.Tensor3D;
    return mixDlatents(dlatents, dlatents2, cutoff);
  }

  private truncate(dlatents: tf.Tensor3D, psi: number, cutoff: number): tf.Tensor3D {
    return truncateDlatents(dlatents, this.dlatentAvg as tf.Tensor as tf.Tensor1D, psi, cutoff);
  }
}

/** Style mixing crossover: layers < cutoff from the first dlatents, ≥ cutoff from the second. */
export function mixDlatents(w1: tf.Tensor3D, w2: tf.Tensor3D, cutoff: number): tf.Tensor3D {
  const L = w1.shape[1];
  if (cutoff <= 0) return w2;
  if (cutoff >= L) return w1;
  return tf.concat([tf.slice(w1, [0, 0, 0], [-1, cutoff, -1]), tf.slice(w2, [0, cutoff, 0], [-1, -1, -1])], 1);
}

/** Truncation trick: w' = avg + (w − avg)·coef_l with coef_l = ψ for layers < cutoff, 1 otherwise. */
export function truncateDlatents(dlatents: tf.Tensor3D, avg: tf.Tensor1D, psi: number, cutoff: number): tf.Tensor3D {
  const L = dlatents.shape[1];
  const coefs = tf.tensor3d(Array.from({ length: L }, (_, l) => (l < cutoff ? psi : 1)), [1, L, 1]);
  return ops.lerp(tf.reshape(avg, [1, 1, -1]), dlatents, coefs) as tf.Tensor3D;
}

// ---------------------------------------------------------------------------------------------
// D_basic

export const D_BASIC_DEFAULTS = {
  num_channels: 1,
  resolution: 32,
  label_size: 0,
  fmap_base: 8192,
  fmap_decay: 1.0,
  fmap_max: 512,
  nonlinearity: 'lrelu' as ops.Nonlinearity,
  use_wscale: true,
  mbstd_group_size: 4,
  mbstd_num_features: 1,
  dtype: 'float32',
  fused_scale: 'auto' as FusedScale,
  blur_filter: [1, 2, 1] as number[] | null,
  structure: 'auto' as Structure,
  is_template_graph: false,
};
export type D_basicKwargs = typeof D_BASIC_DEFAULTS;

export interface DRunOptions {
  /** Sets D's `lod` variable before running. */
  lod?: number;
}

interface ConvBias {
  conv: Conv2d;
  bias: Bias;
}

export class D_basic extends Network {
  readonly kw: D_basicKwargs;
  readonly resolution_log2: number;
  readonly structure: Exclude<Structure, 'auto'>;
  private readonly lodVar: tf.Variable;
  private lodValue = 0;
  private readonly fromrgb = new Map<number, ConvBias>();
  private readonly blocks = new Map<number, { conv0: ConvBias; conv1: ConvBias }>();
  private readonly epilogueConv: ConvBias;
  private readonly dense0: Dense;
  private readonly dense1: Dense;

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('D', kwargs, opts);
    const kw = (this.kw = resolveKwargs('D_basic', D_BASIC_DEFAULTS, kwargs));
    checkChoice('D_basic', 'nonlinearity', kw.nonlinearity, ['relu', 'lrelu']);
    checkChoice('D_basic', 'fused_scale', kw.fused_scale, [true, false, 'auto']);
    checkChoice('D_basic', 'structure', kw.structure, ['auto', 'fixed', 'linear', 'recursive']);
    checkDtype('D_basic', kw.dtype);
    const R = (this.resolution_log2 = checkResolution('D_basic', kw.resolution));
    this.structure = kw.structure === 'auto' ? (kw.is_template_graph ? 'linear' : 'recursive') : kw.structure;
    const nf = (stage: number) => ops.nf(stage, kw.fmap_base, kw.fmap_decay, kw.fmap_max);
    const ws = { gain: ops.SQRT2, use_wscale: kw.use_wscale };
    const convBias = (scope: string, cin: number, cout: number, k: number, resample: 'none' | 'down' = 'none', fused = false): ConvBias => {
      const conv = new Conv2d(this, scope, cin, cout, k, resample, fused, ws);
      return { conv, bias: new Bias(this, scope, cout) };
    };

    this.addLayer('images_in', [null, kw.num_channels, kw.resolution, kw.resolution]);
    this.addLayer('labels_in', [null, kw.label_size]);
    this.lodVar = this.makeVar('lod', [], 'zeros', false);
    this.addLayer('lod', []);
    const fromrgb = (res: number) => {
      const scope = `FromRGB_lod${R - res}`;
      this.fromrgb.set(res, convBias(scope, kw.num_channels, nf(res - 1), 1));
      this.addLayer(scope, [null, nf(res - 1), 2 ** res, 2 ** res]);
    };
    fromrgb(R);
    for (let r = R; r >= 3; r--) {
      const s = `${2 ** r}x${2 ** r}`;
      const fused = kw.fused_scale === 'auto' ? 2 ** r >= 128 : kw.fused_scale;
      const conv0 = convBias(`${s}/Conv0`, nf(r - 1), nf(r - 1), 3);
      this.addLayer(`${s}/Conv0`, [null, nf(r - 1), 2 ** r, 2 ** r]);
      const conv1 = convBias(`${s}/Conv1_down`, nf(r - 1), nf(r - 2), 3, 'down', fused);
      this.addLayer(`${s}/Conv1_down`, [null, nf(r - 2), 2 ** (r - 1), 2 ** (r - 1)]);
      this.blocks.set(r, { conv0, conv1 });
      if (this.structure !== 'fixed') fromrgb(r - 1);
    }
    const mbstd = kw.mbstd_group_size > 1 ? kw.mbstd_num_features : 0;
    if (mbstd) this.addLayer('4x4/MinibatchStddev', [null, nf(1) + mbstd, 4, 4]);
    this.epilogueConv = convBias('4x4/Conv', nf(1) + mbstd, nf(1), 3);
    this.addLayer('4x4/Conv', [null, nf(1), 4, 4]);
    this.dense0 = new Dense(this, '4x4/Dense0', nf(1) * 16, nf(0), ws);
    this.addLayer('4x4/Dense0', [null, nf(0)]);
    this.dense1 = new Dense(this, '4x4/Dense1', nf(0), Math.max(kw.label_size, 1), { gain: 1, use_wscale: kw.use_wscale });
    this.addLayer('4x4/Dense1', [null, Math.max(kw.label_size, 1)]);
    this.addLayer('scores_out', [null, 1]);
    this.setIO({ images_in: [null, kw.num_channels, kw.resolution, kw.resolution], labels_in: [null, kw.label_size] }, { scores_out: [null, 1] });
  }

  protected rebuild(name: string): D_basic {
    return new D_basic({ ...this.static_kwargs }, { name, initialize: false });
  }

  protected override onVarsAssigned(): void {
    this.lodValue = (this.lodVar.dataSync() as Float32Array)[0]!;
  }

  get lod(): number {
    return this.lodValue;
  }

  setLod(lod: number): void {
    if (lod === this.lodValue) return;
    this.lodValue = lod;
    assignVar(this.lodVar, tf.scalar(lod));
  }

  /** images [N, C, R, R] (NCHW, [-1, 1]), labels [N, label_size] → scores [N, 1]. */
  run(images: tf.Tensor4D, labels?: tf.Tensor2D | null, opts: DRunOptions = {}): tf.Tensor2D {
    const kw = this.kw;
    const [, c, h, w] = images.shape;
    if (images.rank !== 4 || c !== kw.num_channels || h !== kw.resolution || w !== kw.resolution) {
      throw new UserError(`D_basic: images must be [N, ${kw.num_channels}, ${kw.resolution}, ${kw.resolution}], got [${images.shape.join(',')}]`);
    }
    if (kw.label_size && (!labels || labels.rank !== 2 || labels.shape[1] !== kw.label_size)) {
      throw new UserError(`D_basic: labels must be [N, ${kw.label_size}]`);
    }
    if (opts.lod !== undefined) this.setLod(opts.lod);
    const R = this.resolution_log2;
    return tf.tidy(() => {
      const act = (x: tf.Tensor4D) => ops.activate(x, kw.nonlinearity);
      const fromrgb = (img: tf.Tensor4D, res: number) => {
        const { conv, bias } = this.fromrgb.get(res)!;
        return act(conv.apply(img, bias.value()));
      };
      const block = (x: tf.Tensor4D, res: number) => {
        const { conv0, conv1 } = this.blocks.get(res)!;
        x = act(conv0.conv.apply(x, conv0.bias.value()));
        if (kw.blur_filter) x = ops.blur2d(x, kw.blur_filter);
        return act(conv1.conv.apply(x, conv1.bias.value()));
      };
      const img0 = ops.nchwToNhwc(images);
      let x: tf.Tensor4D;
      if (this.structure === 'fixed') {
        x = fromrgb(img0, R);
        for (let r = R; r >= 3; r--) x = block(x, r);
      } else {
        x = growDiscriminator(this.structure, R, this.lodValue, img0, fromrgb, block);
      }
      let scores = this.epilogue(x);
      if (kw.label_size) scores = tf.sum(tf.mul(scores, labels!), 1, true);
      return scores;
    });
  }

  /** The 4×4 block: minibatch stddev, Conv, Dense0 (from NCHW-flattened features), Dense1. */
  private epilogue(x: tf.Tensor4D): tf.Tensor2D {
    const kw = this.kw;
    if (kw.mbstd_group_size > 1) x = ops.minibatchStddev(x, kw.mbstd_group_size, kw.mbstd_num_features);
    x = ops.activate(this.epilogueConv.conv.apply(x, this.epilogueConv.bias.value()), kw.nonlinearity);
    const y = ops.activate(this.dense0.apply(ops.nhwcToNchw(x)), kw.nonlinearity);
    return this.dense1.apply(y);
  }
}
