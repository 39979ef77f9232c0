// The classic GANs researchers meet before StyleGAN, as Networks of this toolkit (issue 12):
//   G_mlp / D_mlp     the fully-connected GAN of the widely copied PyTorch-GAN `gan.py` (Linear +
//                     LeakyReLU 0.2, BatchNorm1d with eps 0.8 — that script passes 0.8 positionally,
//                     which lands on eps, not momentum — tanh out; D ends in one logit);
//   G_dcgan / D_dcgan Radford et al.'s DCGAN as the PyTorch DCGAN tutorial builds it (no conv biases,
//                     k4 s2 p1 transposed convs with BN + ReLU, tanh; strided convs with LeakyReLU 0.2,
//                     BN except on the first layer, a final 4×4 conv to one logit), scaled to the
//                     dataset resolution: one doubling per layer from 4×4, fmap channels next to the
//                     image, doubling toward 4×4.
// WGAN-GP uses G_dcgan and D_dcgan with use_batchnorm off (Gulrajani et al. §4: a gradient penalty is
// per sample, which batch norm breaks; their gan_cifar/gan_mnist critics have no normalisation and
// keep conv biases, so the config turns use_bias on).
//
// Conventions of the rest of the toolkit: NCHW images in [-1, 1] at the boundary, NVIDIA's weight
// layouts (dense [in, out], conv [k, k, in, out]), D returns raw logits [N, 1] (the sigmoid of the
// papers lives in the BCE-with-logits losses D_logistic / G_logistic_nonsaturating, which are the
// same function computed without overflow). Batch-norm running statistics are non-trainable
// variables: saved in snapshots and copied into Gs, never counted as parameters or optimised.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { Network, assignVar, resolveKwargs, type NetworkOptions, type VarInit } from './network.ts';
import * as ops from './ops.ts';

export interface BaselineRunOptions {
  /**
   * Training mode: batch norm normalises with the minibatch's statistics and updates the running
   * ones (PyTorch's module.train()); otherwise the running statistics are used (module.eval()).
   */
  is_training?: boolean;
  /** Accepted for the training loop's sake; these networks do not grow, so only lod 0 is valid. */
  lod?: number;
}

// ---------------------------------------------------------------------------------------------
// Layers.

/** What a batch-norm layer needs from its network. */
export interface BatchNormOwner {
  makeVar(localName: string, shape: number[], init: VarInit, trainable?: boolean): tf.Variable;
  /** false while building a network whose values are about to be loaded. */
  readonly initializing: boolean;
}

/**
 * PyTorch's BatchNorm1d/2d over the channel (last) axis. Training: (x − μ_B)/√(σ²_B + ε)·γ + β with the
 * biased batch variance, then running_mean ← (1−m)·running_mean + m·μ_B and running_var ← (1−m)·running_var
 * + m·σ²_B·n/(n−1) (the unbiased variance, n = values per channel). Inference: the running statistics.
 */
export class BatchNorm {
  readonly gamma: tf.Variable;
  readonly beta: tf.Variable;
  readonly moving_mean: tf.Variable;
  readonly moving_variance: tf.Variable;

  constructor(net: BatchNormOwner, scope: string, fmaps: number, readonly epsilon: number, readonly momentum: number, gammaStd: number | null) {
    // γ ~ N(1, gammaStd) as the DCGAN tutorial's weights_init; null = PyTorch's default γ = 1.
    this.gamma = gammaStd === null ? net.makeVar(`${scope}/gamma`, [fmaps], 'ones') : net.makeVar(`${scope}/gamma`, [fmaps], { normal: gammaStd });
    if (gammaStd !== null && net.initializing) assignVar(this.gamma, tf.add(this.gamma, 1));
    this.beta = net.makeVar(`${scope}/beta`, [fmaps], 'zeros');
    this.moving_mean = net.makeVar(`${scope}/moving_mean`, [fmaps], 'zeros', false);
    this.moving_variance = net.makeVar(`${scope}/moving_variance`, [fmaps], 'ones', false);
  }

  apply<T extends tf.Tensor>(x: T, is_training: boolean): T {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    if (!is_training) {
      return tf.add(tf.mul(tf.sub(x, this.moving_mean), tf.mul(tf.rsqrt(tf.add(this.moving_variance, this.epsilon)), this.gamma)), this.beta) as T;
    }
    const n = x.size / x.shape[x.rank - 1]!;
    if (n < 2) throw new UserError(`batch norm in training mode needs more than one value per channel (got a minibatch of ${x.shape[0]})`);
    const mean = tf.mean(x, axes);
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), axes);
    // The running statistics are a side effect: under a gradient tape their ops lead to no loss, so
    // backprop never visits them (tfjs differentiates only the paths from the variables to the loss).
    const m = this.momentum;
    assignVar(this.moving_mean, tf.tidy(() => tf.add(tf.mul(this.moving_mean, 1 - m), tf.mul(mean, m))));
    assignVar(this.moving_variance, tf.tidy(() => tf.add(tf.mul(this.moving_variance, 1 - m), tf.mul(variance, m * n / (n - 1)))));
    return tf.add(tf.mul(centred, tf.mul(tf.rsqrt(tf.add(variance, this.epsilon)), this.gamma)), this.beta) as T;
  }
}

/** torch.nn.Linear with PyTorch's default init (W and b ~ U(±1/√fan_in)), stored as NVIDIA's [in, out]. */
class Linear {
  readonly weight: tf.Variable;
  readonly bias: tf.Variable;
  constructor(net: BaselineNet, scope: string, fanIn: number, fmaps: number) {
    this.weight = net.makeUniformVar(`${scope}/weight`, [fanIn, fmaps], 1 / Math.sqrt(fanIn));
    this.bias = net.makeUniformVar(`${scope}/bias`, [fmaps], 1 / Math.sqrt(fanIn));
  }
  apply(x: tf.Tensor2D): tf.Tensor2D {
    return tf.fused.matMul({ a: x, b: this.weight as tf.Tensor as tf.Tensor2D, bias: this.bias as tf.Tensor as tf.Tensor1D }) as tf.Tensor2D;
  }
}

/** Shared plumbing of the four networks: lod pinned at 0, labels refused, seeded uniform init. */
abstract class BaselineNet extends Network {
  get lod(): number {
    return 0;
  }

  setLod(lod: number): void {
    if (lod !== 0) throw new UserError(`${this.name}: ${this.constructor.name} does not grow progressively (lod must be 0, got ${lod})`);
  }

  get initializing(): boolean {
    return this.initialize;
  }

  /**
   * A U(−bound, bound) variable from the network's seeded normal stream: if x ~ N(0,1) then
   * erf(x/√2) ~ U(−1,1) exactly (2Φ(x) − 1), so the seeds of makeVar stay the only source of randomness.
   */
  makeUniformVar(localName: string, shape: number[], bound: number): tf.Variable {
    const v = this.makeVar(localName, shape, { normal: 1 });
    if (this.initialize) assignVar(v, tf.tidy(() => tf.mul(tf.erf(tf.mul(v, Math.SQRT1_2)), bound)));
    return v;
  }

  protected checkShape(kw: { num_channels: number; resolution: number; label_size: number }, minResolution: number, powerOfTwo: boolean): void {
    const what = this.constructor.name;
    if (kw.label_size !== 0) throw new UserError(`${what}: the baseline networks are unconditional (label_size must be 0, got ${kw.label_size}); train without --max-label-size`);
    if (!(Number.isInteger(kw.num_channels) && kw.num_channels >= 1)) throw new UserError(`${what}: num_channels must be a positive integer, got ${kw.num_channels}`);
    const ok = Number.isInteger(kw.resolution) && kw.resolution >= minResolution && (!powerOfTwo || Number.isInteger(Math.log2(kw.resolution)));
    if (!ok) throw new UserError(`${what}: resolution must be ${powerOfTwo ? 'a power of two ' : 'an integer '}≥ ${minResolution}, got ${kw.resolution}`);
  }

  protected checkLod(opts: BaselineRunOptions): void {
    if (opts.lod !== undefined) this.setLod(opts.lod);
  }
}

function checkLatents(what: string, latents: tf.Tensor, latent_size: number): void {
  if (latents.rank !== 2 || latents.shape[1] !== latent_size) throw new UserError(`${what}: latents must be [N, ${latent_size}], got [${latents.shape.join(',')}]`);
}

function checkImages(what: string, images: tf.Tensor, kw: { num_channels: number; resolution: number }): void {
  const [, c, h, w] = images.shape;
  if (images.rank !== 4 || c !== kw.num_channels || h !== kw.resolution || w !== kw.resolution) {
    throw new UserError(`${what}: images must be [N, ${kw.num_channels}, ${kw.resolution}, ${kw.resolution}], got [${images.shape.join(',')}]`);
  }
}

// ---------------------------------------------------------------------------------------------
// The fully-connected GAN.

export const G_MLP_DEFAULTS = {
  num_channels: 1,
  resolution: 28,
  label_size: 0,
  latent_size: 100,
  /** BatchNorm1d(out_feat, 0.8) in gan.py: eps = 0.8. */
  bn_epsilon: 0.8,
  bn_momentum: 0.1,
};
export type G_mlpKwargs = typeof G_MLP_DEFAULTS;

/** Widths of G's hidden layers (gan.py's block(latent,128) … block(512,1024)); the first has no batch norm. */
const G_MLP_FMAPS = [128, 256, 512, 1024] as const;
const D_MLP_FMAPS = [512, 256] as const;

export class G_mlp extends BaselineNet {
  readonly kw: G_mlpKwargs;
  readonly latent_size: number;
  private readonly dense: Linear[] = [];
  private readonly bn: (BatchNorm | null)[] = [];
  private readonly out: Linear;

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G', kwargs, opts);
    const kw = (this.kw = resolveKwargs('G_mlp', G_MLP_DEFAULTS, kwargs));
    this.checkShape(kw, 1, false);
    this.latent_size = kw.latent_size;
    this.addLayer('latents_in', [null, kw.latent_size]);
    let fanIn = kw.latent_size;
    G_MLP_FMAPS.forEach((fmaps, i) => {
      this.dense.push(new Linear(this, `Dense${i}`, fanIn, fmaps));
      this.bn.push(i === 0 ? null : new BatchNorm(this, `Dense${i}/BatchNorm`, fmaps, kw.bn_epsilon, kw.bn_momentum, null));
      this.addLayer(`Dense${i}`, [null, fmaps]);
      fanIn = fmaps;
    });
    const size = kw.num_channels * kw.resolution * kw.resolution;
    this.out = new Linear(this, 'Output', fanIn, size);
    this.addLayer('Output', [null, size]);
    const shape = [null, kw.num_channels, kw.resolution, kw.resolution];
    this.addLayer('images_out', shape);
    this.setIO({ latents_in: [null, kw.latent_size], labels_in: [null, 0] }, { images_out: shape });
  }

  protected rebuild(name: string): G_mlp {
    return new G_mlp({ ...this.static_kwargs }, { name, initialize: false });
  }

  /** latents [N, latent_size] → images [N, C, R, R] in [-1, 1]; labels are ignored (must be [N, 0]). */
  run(latents: tf.Tensor2D, _labels?: tf.Tensor2D | null, opts: BaselineRunOptions = {}): tf.Tensor4D {
    checkLatents('G_mlp', latents, this.latent_size);
    this.checkLod(opts);
    const train = opts.is_training ?? false;
    const { num_channels: C, resolution: R } = this.kw;
    return tf.tidy(() => {
      let x = latents;
      this.dense.forEach((layer, i) => {
        const bn = this.bn[i];
        x = ops.leakyRelu(bn ? bn.apply(layer.apply(x), train) : layer.apply(x));
      });
      // The flat output is in NCHW order (PyTorch's img.view(N, C, H, W)).
      return tf.reshape(tf.tanh(this.out.apply(x)), [latents.shape[0], C, R, R]) as tf.Tensor4D;
    });
  }
}

export const D_MLP_DEFAULTS = {
  num_channels: 1,
  resolution: 28,
  label_size: 0,
};
export type D_mlpKwargs = typeof D_MLP_DEFAULTS;

export class D_mlp extends BaselineNet {
  readonly kw: D_mlpKwargs;
  private readonly dense: Linear[] = [];
  private readonly out: Linear;

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('D', kwargs, opts);
    const kw = (this.kw = resolveKwargs('D_mlp', D_MLP_DEFAULTS, kwargs));
    this.checkShape(kw, 1, false);
    const shape = [null, kw.num_channels, kw.resolution, kw.resolution];
    this.addLayer('images_in', shape);
    let fanIn = kw.num_channels * kw.resolution * kw.resolution;
    D_MLP_FMAPS.forEach((fmaps, i) => {
      this.dense.push(new Linear(this, `Dense${i}`, fanIn, fmaps));
      this.addLayer(`Dense${i}`, [null, fmaps]);
      fanIn = fmaps;
    });
    this.out = new Linear(this, 'Output', fanIn, 1);
    this.addLayer('Output', [null, 1]);
    // gan.py ends in nn.Sigmoid(); here the sigmoid is inside the BCE-with-logits loss.
    this.addLayer('scores_out', [null, 1]);
    this.setIO({ images_in: shape, labels_in: [null, 0] }, { scores_out: [null, 1] });
  }

  protected rebuild(name: string): D_mlp {
    return new D_mlp({ ...this.static_kwargs }, { name, initialize: false });
  }

  /** images [N, C, R, R] → logits [N, 1]. */
  run(images: tf.Tensor4D, _labels?: tf.Tensor2D | null, opts: BaselineRunOptions = {}): tf.Tensor2D {
    checkImages('D_mlp', images, this.kw);
    this.checkLod(opts);
    return tf.tidy(() => {
      let x = tf.reshape(images, [images.shape[0], -1]) as tf.Tensor2D; // NCHW flatten = img.view(N, -1)
      for (const layer of this.dense) x = ops.leakyRelu(layer.apply(x));
      return this.out.apply(x);
    });
  }
}

// ---------------------------------------------------------------------------------------------
// DCGAN.

export const G_DCGAN_DEFAULTS = {
  num_channels: 1,
  resolution: 32,
  label_size: 0,
  /** nz of the tutorial. */
  latent_size: 100,
  /** ngf: channels of the last hidden layer; ×2 per halving of the resolution toward 4×4. */
  fmap: 64,
  /** nn.BatchNorm2d defaults. */
  bn_epsilon: 1e-5,
  bn_momentum: 0.1,
};
export type G_dcganKwargs = typeof G_DCGAN_DEFAULTS;

/** DCGAN's init: conv weights and BN γ − 1 ~ N(0, 0.02) (the tutorial's weights_init). */
const DCGAN_INIT_STD = 0.02;

/** Channels of the feature map at resolution 2^k in a DCGAN of resolution 2^r: fmap·2^(r−1−k). */
const dcganChannels = (fmap: number, r: number, k: number) => fmap * 2 ** (r - 1 - k);

export class G_dcgan extends BaselineNet {
  readonly kw: G_dcganKwargs;
  readonly latent_size: number;
  readonly resolution_log2: number;
  private readonly project: tf.Variable;
  private readonly convs: tf.Variable[] = [];
  private readonly bn: BatchNorm[] = [];

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('G', kwargs, opts);
    const kw = (this.kw = resolveKwargs('G_dcgan', G_DCGAN_DEFAULTS, kwargs));
    this.checkShape(kw, 8, true);
    if (!(Number.isInteger(kw.fmap) && kw.fmap >= 1)) throw new UserError(`G_dcgan: fmap must be a positive integer, got ${kw.fmap}`);
    const r = (this.resolution_log2 = Math.log2(kw.resolution));
    this.latent_size = kw.latent_size;
    const nf = (k: number) => dcganChannels(kw.fmap, r, k);
    const bn = (scope: string, fmaps: number) => this.bn.push(new BatchNorm(this, `${scope}/BatchNorm`, fmaps, kw.bn_epsilon, kw.bn_momentum, DCGAN_INIT_STD));
    this.addLayer('latents_in', [null, kw.latent_size]);
    // ConvTranspose2d(nz, nf, 4, 1, 0) on the 1×1 latent is a dense layer to nf·4·4 in NCHW order
    // (torch weight [nz, nf, 4, 4] reshaped), as G_paper's '4x4/Dense'.
    this.project = this.makeVar('4x4/Dense/weight', [kw.latent_size, nf(2) * 16], { normal: DCGAN_INIT_STD });
    bn('4x4/Dense', nf(2));
    this.addLayer('4x4/Dense', [null, nf(2), 4, 4]);
    for (let k = 3; k <= r; k++) {
      const scope = `${2 ** k}x${2 ** k}/Conv0_up`;
      const cout = k === r ? kw.num_channels : nf(k);
      this.convs.push(this.makeVar(`${scope}/weight`, [4, 4, nf(k - 1), cout], { normal: DCGAN_INIT_STD }));
      if (k < r) bn(scope, cout);
      this.addLayer(scope, [null, cout, 2 ** k, 2 ** k]);
    }
    const shape = [null, kw.num_channels, kw.resolution, kw.resolution];
    this.addLayer('images_out', shape);
    this.setIO({ latents_in: [null, kw.latent_size], labels_in: [null, 0] }, { images_out: shape });
  }

  protected rebuild(name: string): G_dcgan {
    return new G_dcgan({ ...this.static_kwargs }, { name, initialize: false });
  }

  /** latents [N, latent_size] → images [N, C, R, R] in [-1, 1]; labels are ignored (must be [N, 0]). */
  run(latents: tf.Tensor2D, _labels?: tf.Tensor2D | null, opts: BaselineRunOptions = {}): tf.Tensor4D {
    checkLatents('G_dcgan', latents, this.latent_size);
    this.checkLod(opts);
    const train = opts.is_training ?? false;
    const n = latents.shape[0];
    return tf.tidy(() => {
      const nf0 = this.project.shape[1]! / 16;
      let x = ops.nchwToNhwc(tf.reshape(tf.matMul(latents, this.project as tf.Tensor as tf.Tensor2D), [n, nf0, 4, 4]));
      x = tf.relu(this.bn[0]!.apply(x, train));
      this.convs.forEach((w, i) => {
        // ConvTranspose2d(k4, s2, p1): the adjoint of a k4 s2 p1 cross-correlation, which is what
        // conv2dTranspose computes with the [k, k, out, in] filter. For k4 s2 on an even size, SAME
        // pads exactly 1 on each side (TF backends take only 'same'/'valid' here).
        const [, h, wd] = x.shape;
        const y = tf.conv2dTranspose(x, tf.transpose(w as tf.Tensor as tf.Tensor4D, [0, 1, 3, 2]), [n, h * 2, wd * 2, w.shape[3]!], 2, 'same');
        x = i === this.convs.length - 1 ? tf.tanh(y) : tf.relu(this.bn[i + 1]!.apply(y, train));
      });
      return ops.nhwcToNchw(x);
    });
  }
}

export const D_DCGAN_DEFAULTS = {
  num_channels: 1,
  resolution: 32,
  label_size: 0,
  /** ndf: channels of the first conv; ×2 per halving of the resolution toward 4×4. */
  fmap: 64,
  /** Batch norm after every conv but the first (DCGAN); off for a WGAN-GP critic. */
  use_batchnorm: true,
  /** Conv biases (the tutorial has none; Gulrajani's critic has them). */
  use_bias: false,
  bn_epsilon: 1e-5,
  bn_momentum: 0.1,
};
export type D_dcganKwargs = typeof D_DCGAN_DEFAULTS;

export class D_dcgan extends BaselineNet {
  readonly kw: D_dcganKwargs;
  readonly resolution_log2: number;
  private readonly convs: { weight: tf.Variable; bias: tf.Variable | null; bn: BatchNorm | null }[] = [];
  private readonly outWeight: tf.Variable;
  private readonly outBias: tf.Variable | null;

  constructor(kwargs: Record<string, unknown> = {}, opts: NetworkOptions = {}) {
    super('D', kwargs, opts);
    const kw = (this.kw = resolveKwargs('D_dcgan', D_DCGAN_DEFAULTS, kwargs));
    this.checkShape(kw, 8, true);
    if (!(Number.isInteger(kw.fmap) && kw.fmap >= 1)) throw new UserError(`D_dcgan: fmap must be a positive integer, got ${kw.fmap}`);
    const r = (this.resolution_log2 = Math.log2(kw.resolution));
    const nf = (k: number) => dcganChannels(kw.fmap, r, k);
    const shape = [null, kw.num_channels, kw.resolution, kw.resolution];
    this.addLayer('images_in', shape);
    for (let k = r; k >= 3; k--) {
      // Scoped by input resolution like NVIDIA's D blocks; each halves it.
      const scope = `${2 ** k}x${2 ** k}/Conv0_down`;
      const cin = k === r ? kw.num_channels : nf(k);
      const cout = nf(k - 1);
      const weight = this.makeVar(`${scope}/weight`, [4, 4, cin, cout], { normal: DCGAN_INIT_STD });
      const bias = kw.use_bias ? this.makeVar(`${scope}/bias`, [cout], 'zeros') : null;
      const bn = kw.use_batchnorm && k < r ? new BatchNorm(this, `${scope}/BatchNorm`, cout, kw.bn_epsilon, kw.bn_momentum, DCGAN_INIT_STD) : null;
      this.convs.push({ weight, bias, bn });
      this.addLayer(scope, [null, cout, 2 ** (k - 1), 2 ** (k - 1)]);
    }
    // Conv2d(nf, 1, 4, 1, 0) on the 4×4 map is a dense layer over its NCHW flattening (torch weight
    // [1, nf, 4, 4] reshaped and transposed).
    this.outWeight = this.makeVar('4x4/Dense/weight', [nf(2) * 16, 1], { normal: DCGAN_INIT_STD });
    this.outBias = kw.use_bias ? this.makeVar('4x4/Dense/bias', [1], 'zeros') : null;
    this.addLayer('4x4/Dense', [null, 1]);
    // The tutorial's nn.Sigmoid() (dcgan) is inside the BCE-with-logits loss; a WGAN critic has none.
    this.addLayer('scores_out', [null, 1]);
    this.setIO({ images_in: shape, labels_in: [null, 0] }, { scores_out: [null, 1] });
  }

  protected rebuild(name: string): D_dcgan {
    return new D_dcgan({ ...this.static_kwargs }, { name, initialize: false });
  }

  /** images [N, C, R, R] → logits (dcgan) or critic values (wgan-gp) [N, 1]. */
  run(images: tf.Tensor4D, _labels?: tf.Tensor2D | null, opts: BaselineRunOptions = {}): tf.Tensor2D {
    checkImages('D_dcgan', images, this.kw);
    this.checkLod(opts);
    const train = opts.is_training ?? false;
    return tf.tidy(() => {
      let x = ops.nchwToNhwc(images);
      for (const { weight, bias, bn } of this.convs) {
        let y = tf.conv2d(x, weight as tf.Tensor as tf.Tensor4D, 2, 'same'); // k4 s2: SAME = pad 1 each side
        if (bias) y = tf.add(y, bias);
        x = ops.leakyRelu(bn ? bn.apply(y, train) : y);
      }
      const flat = tf.reshape(ops.nhwcToNchw(x), [x.shape[0], -1]) as tf.Tensor2D;
      const logits = tf.matMul(flat, this.outWeight as tf.Tensor as tf.Tensor2D);
      return (this.outBias ? tf.add(logits, this.outBias) : logits) as tf.Tensor2D;
    });
  }
}

// ---------------------------------------------------------------------------------------------

export type BaselineGenerator = G_mlp | G_dcgan;
export type BaselineDiscriminator = D_mlp | D_dcgan;

/** True for the generators without styles or noise (what the style figures and w-space metrics refuse). */
export function isBaselineGenerator(net: Network): net is BaselineGenerator {
  return net instanceof G_mlp || net instanceof G_dcgan;
}

export function isBaselineDiscriminator(net: Network): net is BaselineDiscriminator {
  return net instanceof D_mlp || net instanceof D_dcgan;
}
