// Network architectures of the ProGAN paper as shipped in NVIDIA's stylegan repo
// (training/networks_progan.py): G_paper and D_paper. Same conventions as networks_stylegan.ts:
// NVIDIA's kwargs and defaults, variable names in creation order, NCHW at the boundary.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { Network, assignVar, resolveKwargs, checkChoice, type NetworkOptions } from './network.ts';
import { Bias, Conv2d, Dense } from './layers.ts';
import * as ops from './ops.ts';
import { growDiscriminator, growGenerator } from './structure.ts';

/** structure: null = NVIDIA's automatic choice ('recursive' outside the template graph). */
export type ProganStructure = 'linear' | 'recursive' | null;

function resolutionLog2(what: string, resolution: number): number {
  const log2 = Math.log2(resolution);
  if (!Number.isInteger(log2) || resolution < 4) throw new UserError(`${what}: resolution must be a power of two ≥ 4, got ${resolution}`);
  return log2;
}

export const G_PAPER_DEFAULTS = {
  num_channels: 1,
  resolution: 32,
  label_size: 0,
  fmap_base: 8192,
  fmap_decay: 1.0,
  fmap_max: 512,
  latent_size: null as number | null,
  normalize_latents: true,
  use_wscale: true,
  use_pixelnorm: true,
  pixelnorm_epsilon: 1e-8,
  use_leakyrelu: true,
  dtype: 'float32',
  fused_scale: true,
  structure: null as ProganStructure,
  is_template_graph: false,
};
export type G_paperKwargs = typeof G_PAPER_DEFAULTS;

interface ConvBias {
  conv: Conv2d;
  bias: Bias;
}

export class G_paper extends Network {
  readonly kw: G_paperKwargs;
  readonly resolution_log2: number;
  readonly latent_size: number;
  readonly structure: 'linear' | 'recursive';
  private readonly lodVar: tf.Variable;
  private lodValue = 0;
  private readonly dense: Dense;
  private readonly denseBias: Bias;
  private readonly convs = new Map<string, ConvBias>(); // by scope
  private readonly torgb = new Map<number, ConvBias>(); // by res

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G', kwargs, opts);
    const kw = (this.kw = resolveKwargs('G_paper', G_PAPER_DEFAULTS, kwargs));
    checkChoice('G_paper', 'structure', kw.structure, ['linear', 'recursive', null]);
    checkChoice('G_paper', 'fused_scale', kw.fused_scale, [true, false]);
    if (kw.dtype !== 'float32') throw new UserError(`G_paper: dtype '${kw.dtype}' is not supported (only 'float32')`);
    const R = (this.resolution_log2 = resolutionLog2('G_paper', kw.resolution));
    const nf = (stage: number) => ops.nf(stage, kw.fmap_base, kw.fmap_decay, kw.fmap_max);
    this.latent_size = kw.latent_size ?? nf(0);
    this.structure = kw.structure ?? (kw.is_template_graph ? 'linear' : 'recursive');
    const ws = { use_wscale: kw.use_wscale };
    const convBias = (scope: string, cin: number, cout: number, k: number, resample: 'none' | 'up', gain = ops.SQRT2) => {
      const cb = { conv: new Conv2d(this, scope, cin, cout, k, resample, true, { ...ws, gain }), bias: new Bias(this, scope, cout) };
      this.convs.set(scope, cb);
      return cb;
    };

    this.addLayer('latents_in', [null, this.latent_size]);
    this.addLayer('labels_in', [null, kw.label_size]);
    this.lodVar = this.makeVar('lod', [], 'zeros', false);
    this.addLayer('lod', []);
    // 4x4: NVIDIA overrides the gain to √2/4 to match the original Theano implementation.
    this.dense = new Dense(this, '4x4/Dense', this.latent_size + kw.label_size, nf(1) * 16, { ...ws, gain: ops.SQRT2 / 4, bias: false });
    this.denseBias = new Bias(this, '4x4/Dense', nf(1));
    this.addLayer('4x4/Dense', [null, nf(1), 4, 4]);
    convBias('4x4/Conv', nf(1), nf(1), 3, 'none');
    this.addLayer('4x4/Conv', [null, nf(1), 4, 4]);
    const torgb = (res: number) => {
      const scope = `ToRGB_lod${R - res}`;
      this.torgb.set(res, { conv: new Conv2d(this, scope, nf(res - 1), kw.num_channels, 1, 'none', false, { ...ws, gain: 1 }), bias: new Bias(this, scope, kw.num_channels) });
      this.addLayer(scope, [null, kw.num_channels, 2 ** res, 2 ** res]);
    };
    torgb(2);
    for (let r = 3; r <= R; r++) {
      const s = `${2 ** r}x${2 ** r}`;
      // fused_scale=False: a separate Upscale2D, then a plain conv named Conv0.
      const first = kw.fused_scale ? `${s}/Conv0_up` : `${s}/Conv0`;
      if (!kw.fused_scale) this.addLayer(`${s}/Upscale2D`, [null, nf(r - 2), 2 ** r, 2 ** r]);
      convBias(first, nf(r - 2), nf(r - 1), 3, kw.fused_scale ? 'up' : 'none');
      this.addLayer(first, [null, nf(r - 1), 2 ** r, 2 ** r]);
      convBias(`${s}/Conv1`, nf(r - 1), nf(r - 1), 3, 'none');
      this.addLayer(`${s}/Conv1`, [null, nf(r - 1), 2 ** r, 2 ** r]);
      torgb(r);
    }
    this.addLayer('images_out', [null, kw.num_channels, kw.resolution, kw.resolution]);
    this.setIO({ latents_in: [null, this.latent_size], labels_in: [null, kw.label_size] }, { images_out: [null, kw.num_channels, kw.resolution, kw.resolution] });
  }

  protected rebuild(name: string): G_paper {
    return new G_paper({ ...this.static_kwargs }, { name, initialize: false });
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

  /** latents [N, latent_size], labels [N, label_size] → images [N, C, R, R] (NCHW). */
  run(latents: tf.Tensor2D, labels?: tf.Tensor2D | null, opts: { lod?: number } = {}): tf.Tensor4D {
    const kw = this.kw;
    if (latents.rank !== 2 || latents.shape[1] !== this.latent_size) {
      throw new UserError(`G_paper: latents must be [N, ${this.latent_size}], got [${latents.shape.join(',')}]`);
    }
    if (kw.label_size && (!labels || labels.rank !== 2 || labels.shape[1] !== kw.label_size)) {
      throw new UserError(`G_paper: labels must be [N, ${kw.label_size}]`);
    }
    if (opts.lod !== undefined) this.setLod(opts.lod);
    const R = this.resolution_log2;
    return tf.tidy(() => {
      const PN = <T extends tf.Tensor>(x: T): T => (kw.use_pixelnorm ? ops.pixelNorm(x, kw.pixelnorm_epsilon) : x);
      const act = (x: tf.Tensor4D) => (kw.use_leakyrelu ? ops.leakyRelu(x) : tf.relu(x));
      const conv = (x: tf.Tensor4D, scope: string) => {
        const { conv: c, bias } = this.convs.get(scope)!;
        // Upsampling convs add the bias after the transposed conv; the others fuse it.
        return PN(act(c.resample === 'up' ? ops.applyBias(c.apply(x), bias.value()) : c.apply(x, bias.value())));
      };
      let combo: tf.Tensor2D = kw.label_size ? tf.concat([latents, labels!], 1) as tf.Tensor2D : latents;
      if (kw.normalize_latents) combo = ops.pixelNorm(combo, kw.pixelnorm_epsilon);
      const n = latents.shape[0];
      const nf1 = this.denseBias.variable.shape[0]!;
      let x = ops.nchwToNhwc(tf.reshape(this.dense.apply(combo), [n, nf1, 4, 4]));
      x = PN(act(ops.applyBias(x, this.denseBias.value())));
      x = conv(x, '4x4/Conv');
      const block = (xin: tf.Tensor4D, res: number): tf.Tensor4D => {
        const s = `${2 ** res}x${2 ** res}`;
        const y = kw.fused_scale ? conv(xin, `${s}/Conv0_up`) : conv(ops.upscale2d(xin), `${s}/Conv0`);
        return conv(y, `${s}/Conv1`);
      };
      const toRGB = (xin: tf.Tensor4D, res: number): tf.Tensor4D => {
        const t = this.torgb.get(res)!;
        return t.conv.apply(xin, t.bias.value());
      };
      return ops.nhwcToNchw(growGenerator(this.structure, R, this.lodValue, x, block, toRGB));
    });
  }
}

export const D_PAPER_DEFAULTS = {
  num_channels: 1,
  resolution: 32,
  label_size: 0,
  fmap_base: 8192,
  fmap_decay: 1.0,
  fmap_max: 512,
  use_wscale: true,
  mbstd_group_size: 4,
  dtype: 'float32',
  fused_scale: true,
  structure: null as ProganStructure,
  is_template_graph: false,
};
export type D_paperKwargs = typeof D_PAPER_DEFAULTS;

export class D_paper extends Network {
  readonly kw: D_paperKwargs;
  readonly resolution_log2: number;
  readonly structure: 'linear' | 'recursive';
  private readonly lodVar: tf.Variable;
  private lodValue = 0;
  private readonly fromrgb = new Map<number, ConvBias>();
  private readonly blocks = new Map<number, { conv0: ConvBias; conv1: ConvBias }>();
  private readonly epilogueConv: ConvBias;
  private readonly dense0: Dense;
  private readonly dense1: Dense;

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('D', kwargs, opts);
    const kw = (this.kw = resolveKwargs('D_paper', D_PAPER_DEFAULTS, kwargs));
    checkChoice('D_paper', 'structure', kw.structure, ['linear', 'recursive', null]);
    checkChoice('D_paper', 'fused_scale', kw.fused_scale, [true, false]);
    if (kw.dtype !== 'float32') throw new UserError(`D_paper: dtype '${kw.dtype}' is not supported (only 'float32')`);
    const R = (this.resolution_log2 = resolutionLog2('D_paper', kw.resolution));
    this.structure = kw.structure ?? (kw.is_template_graph ? 'linear' : 'recursive');
    const nf = (stage: number) => ops.nf(stage, kw.fmap_base, kw.fmap_decay, kw.fmap_max);
    const ws = { gain: ops.SQRT2, use_wscale: kw.use_wscale };
    const convBias = (scope: string, cin: number, cout: number, k: number, resample: 'none' | 'down' = 'none'): ConvBias => ({
      conv: new Conv2d(this, scope, cin, cout, k, resample, true, ws),
      bias: new Bias(this, scope, cout),
    });

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
      const conv0 = convBias(`${s}/Conv0`, nf(r - 1), nf(r - 1), 3);
      this.addLayer(`${s}/Conv0`, [null, nf(r - 1), 2 ** r, 2 ** r]);
      // fused_scale=False: a plain conv named Conv1, then a separate Downscale2D (2×2 average).
      const name1 = kw.fused_scale ? `${s}/Conv1_down` : `${s}/Conv1`;
      const conv1 = convBias(name1, nf(r - 1), nf(r - 2), 3, kw.fused_scale ? 'down' : 'none');
      this.addLayer(name1, kw.fused_scale ? [null, nf(r - 2), 2 ** (r - 1), 2 ** (r - 1)] : [null, nf(r - 2), 2 ** r, 2 ** r]);
      if (!kw.fused_scale) this.addLayer(`${s}/Downscale2D`, [null, nf(r - 2), 2 ** (r - 1), 2 ** (r - 1)]);
      this.blocks.set(r, { conv0, conv1 });
      fromrgb(r - 1);
    }
    const mbstd = kw.mbstd_group_size > 1 ? 1 : 0;
    if (mbstd) this.addLayer('4x4/MinibatchStddev', [null, nf(1) + 1, 4, 4]);
    this.epilogueConv = convBias('4x4/Conv', nf(1) + mbstd, nf(1), 3);
    this.addLayer('4x4/Conv', [null, nf(1), 4, 4]);
    this.dense0 = new Dense(this, '4x4/Dense0', nf(1) * 16, nf(0), ws);
    this.addLayer('4x4/Dense0', [null, nf(0)]);
    this.dense1 = new Dense(this, '4x4/Dense1', nf(0), 1, { gain: 1, use_wscale: kw.use_wscale });
    this.addLayer('4x4/Dense1', [null, 1]);
    this.addLayer('scores_out', [null, 1]);
    this.setIO({ images_in: [null, kw.num_channels, kw.resolution, kw.resolution], labels_in: [null, kw.label_size] }, { scores_out: [null, 1] });
  }

  protected rebuild(name: string): D_paper {
    return new D_paper({ ...this.static_kwargs }, { name, initialize: false });
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

  /** images [N, C, R, R] (NCHW) → scores [N, 1]. NVIDIA's D_paper takes labels but does not use them. */
  run(images: tf.Tensor4D, _labels?: tf.Tensor2D | null, opts: { lod?: number } = {}): tf.Tensor2D {
    const kw = this.kw;
    const [, c, h, w] = images.shape;
    if (images.rank !== 4 || c !== kw.num_channels || h !== kw.resolution || w !== kw.resolution) {
      throw new UserError(`D_paper: images must be [N, ${kw.num_channels}, ${kw.resolution}, ${kw.resolution}], got [${images.shape.join(',')}]`);
    }
    if (opts.lod !== undefined) this.setLod(opts.lod);
    return tf.tidy(() => {
      const act = (x: tf.Tensor4D) => ops.leakyRelu(x);
      const fromrgb = (img: tf.Tensor4D, res: number) => {
        const { conv, bias } = this.fromrgb.get(res)!;
        return act(conv.apply(img, bias.value()));
      };
      const block = (x: tf.Tensor4D, res: number) => {
        const { conv0, conv1 } = this.blocks.get(res)!;
        x = act(conv0.conv.apply(x, conv0.bias.value()));
        x = act(conv1.conv.apply(x, conv1.bias.value()));
        // Unfused, NVIDIA downscales after the activation.
        return kw.fused_scale ? x : ops.downscale2d(x);
      };
      let x = growDiscriminator(this.structure, this.resolution_log2, this.lodValue, ops.nchwToNhwc(images), fromrgb, block);
      if (kw.mbstd_group_size > 1) x = ops.minibatchStddev(x, kw.mbstd_group_size, 1);
      x = act(this.epilogueConv.conv.apply(x, this.epilogueConv.bias.value()));
      const y = ops.leakyRelu(this.dense0.apply(ops.nhwcToNchw(x)));
      return this.dense1.apply(y);
    });
  }
}
