// Layers that own their variables under NVIDIA's scope names. Each one creates its variables in the
// order NVIDIA's get_variable calls do (weight, then Noise/weight, bias, StyleMod/…), because that
// order is the order of a pickle's variable list.
import * as tf from '@tensorflow/tfjs';
import * as ops from './ops.ts';
import type { VarInit } from './network.ts';

/** What a layer needs from its network: variable creation under a local name. */
export interface VarFactory {
  makeVar(localName: string, shape: number[], init: VarInit, trainable?: boolean): tf.Variable;
}

export interface WeightOpts {
  gain?: number;
  use_wscale?: boolean;
  lrmul?: number;
}

/** get_weight(): the raw variable `<scope>/weight` and its runtime multiplier. */
export class Weight {
  readonly variable: tf.Variable;
  readonly coef: number;
  constructor(net: VarFactory, scope: string, shape: number[], { gain = ops.SQRT2, use_wscale = false, lrmul = 1 }: WeightOpts) {
    const { initStd, runtimeCoef } = ops.getWeightScale(shape, gain, use_wscale, lrmul);
    this.variable = net.makeVar(`${scope}/weight`, shape, { normal: initStd });
    this.coef = runtimeCoef;
  }
  get w4(): tf.Tensor4D {
    return this.variable as tf.Tensor as tf.Tensor4D;
  }
  get w2(): tf.Tensor2D {
    return this.variable as tf.Tensor as tf.Tensor2D;
  }
}

/** apply_bias()'s variable `<scope>/bias` [fmaps], initialised to zero; lrmul applied at runtime. */
export class Bias {
  readonly variable: tf.Variable;
  constructor(net: VarFactory, scope: string, fmaps: number, readonly lrmul = 1) {
    this.variable = net.makeVar(`${scope}/bias`, [fmaps], 'zeros');
  }
  /** The effective bias vector (b·lrmul). */
  value(): tf.Tensor1D {
    const b = this.variable as tf.Tensor as tf.Tensor1D;
    return this.lrmul === 1 ? b : tf.mul(b, this.lrmul);
  }
}

/** Fully-connected layer `<scope>/weight` [in, out] (+ optional `<scope>/bias`). */
export class Dense {
  readonly weight: Weight;
  readonly bias: Bias | null;
  constructor(net: VarFactory, scope: string, fanIn: number, fmaps: number, opts: WeightOpts & { bias?: boolean }) {
    this.weight = new Weight(net, scope, [fanIn, fmaps], opts);
    this.bias = opts.bias === false ? null : new Bias(net, scope, fmaps, opts.lrmul ?? 1);
  }
  /** x·W (+b); rank > 2 inputs are flattened in their memory order (callers pass NCHW order). */
  apply(x: tf.Tensor): tf.Tensor2D {
    return ops.dense(x, this.weight.w2, this.weight.coef, this.bias?.value());
  }
}

export type Resample = 'none' | 'up' | 'down';

/**
 * conv2d / upscale2d_conv2d / conv2d_downscale2d of one scope: `<scope>/weight` [k,k,in,out].
 * The bias is not created here, because NVIDIA creates it after the noise weight in G.
 */
export class Conv2d {
  readonly weight: Weight;
  constructor(net: VarFactory, scope: string, fmapsIn: number, fmapsOut: number, kernel: number,
    readonly resample: Resample = 'none', readonly fused = false, opts: WeightOpts = {}) {
    this.weight = new Weight(net, scope, [kernel, kernel, fmapsIn, fmapsOut], opts);
  }
  /** The convolution (with resampling); `bias`, when given, is fused into the conv where the math allows. */
  apply(x: tf.Tensor4D, bias?: tf.Tensor1D): tf.Tensor4D {
    const { w4, coef } = this.weight;
    if (this.resample === 'up') {
      const y = this.fused ? ops.upscale2dConv2dFused(x, w4, coef) : ops.conv2d(ops.upscale2d(x), w4, coef);
      return bias ? ops.applyBias(y, bias) : y;
    }
    if (this.resample === 'down') {
      if (this.fused) return ops.conv2dDownscale2dFused(x, w4, coef, bias);
      const y = ops.downscale2d(ops.conv2d(x, w4, coef));
      return bias ? ops.applyBias(y, bias) : y;
    }
    return ops.conv2d(x, w4, coef, bias);
  }
}
