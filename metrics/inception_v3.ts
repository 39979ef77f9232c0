// The FID feature network: Inception-v3 of the TF graph `inception-2015-12-05`, as pytorch-fid's
// FIDInceptionA/C/E_1/E_2 patches of torchvision's Inception3 define it, returning the 2048-d
// pool3 features. Differences from the classification Inception that matter for FID:
// BatchNorm eps 0.001; the 3×3 average pools inside Mixed_5*/6b-e/7b ignore the zero padding
// (TF's SAME avg pool, count_include_pad=False); Mixed_7c pools with max instead of average.
//
// Weights: pytorch-fid's state-dict layout (pt_inception-2015-12-05-6726825d.pth), e.g.
// `Conv2d_1a_3x3.conv.weight` [32,3,3,3] and `Mixed_5b.branch1x1.bn.running_var` [64]; the fc
// layer is not needed. BatchNorm is folded into each convolution at load time.
//
// Input pipeline (featuresFromUint8): uint8-valued NCHW RGB → float → bilinear resize to 299²
// → (x − 128)/128 → network. Which bilinear NVIDIA's inception_v3_features.pkl used is
// [uncertain]; the default 'tf1-legacy' is TF1's tf.image.resize_bilinear(align_corners=False)
// (source pixel = dst·in/out, no half-pixel offset), which the 2015-12-05 graph and TF1-era
// code use. 'half-pixel' is PyTorch's F.interpolate(bilinear, align_corners=False), what
// pytorch-fid does. The choice is recorded in every metric's JSON line.

import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { missingWeights, oihwToHwio, takeWeight, type LayoutEntry, type WeightMap } from './weight_map.ts';

const BN_EPS = 0.001;
const WHAT = 'Inception-v3 (FID)';

/** One BasicConv2d: conv (no bias) + BatchNorm(eps 0.001) + ReLU. */
interface ConvSpec { name: string; cin: number; cout: number; k: [number, number]; stride: number; pad: 'same' | 'valid' }

const conv = (name: string, cin: number, cout: number, k: number | [number, number], stride = 1, pad: 'same' | 'valid' = 'same'): ConvSpec =>
  ({ name, cin, cout, k: typeof k === 'number' ? [k, k] : k, stride, pad });

/** Mixed_5b/5c/5d (FIDInceptionA). */
function blockA(p: string, cin: number, poolFeatures: number): ConvSpec[] {
  return [
    conv(`${p}.branch1x1`, cin, 64, 1),
    conv(`${p}.branch5x5_1`, cin, 48, 1), conv(`${p}.branch5x5_2`, 48, 64, 5),
    conv(`${p}.branch3x3dbl_1`, cin, 64, 1), conv(`${p}.branch3x3dbl_2`, 64, 96, 3), conv(`${p}.branch3x3dbl_3`, 96, 96, 3),
    conv(`${p}.branch_pool`, cin, poolFeatures, 1),
  ];
}
/** Mixed_6a (InceptionB). */
function blockB(p: string, cin: number): ConvSpec[] {
  return [
    conv(`${p}.branch3x3`, cin, 384, 3, 2, 'valid'),
    conv(`${p}.branch3x3dbl_1`, cin, 64, 1), conv(`${p}.branch3x3dbl_2`, 64, 96, 3), conv(`${p}.branch3x3dbl_3`, 96, 96, 3, 2, 'valid'),
  ];
}
/** Mixed_6b..6e (FIDInceptionC). */
function blockC(p: string, cin: number, c7: number): ConvSpec[] {
  return [
    conv(`${p}.branch1x1`, cin, 192, 1),
    conv(`${p}.branch7x7_1`, cin, c7, 1), conv(`${p}.branch7x7_2`, c7, c7, [1, 7]), conv(`${p}.branch7x7_3`, c7, 192, [7, 1]),
    conv(`${p}.branch7x7dbl_1`, cin, c7, 1), conv(`${p}.branch7x7dbl_2`, c7, c7, [7, 1]), conv(`${p}.branch7x7dbl_3`, c7, c7, [1, 7]),
    conv(`${p}.branch7x7dbl_4`, c7, c7, [7, 1]), conv(`${p}.branch7x7dbl_5`, c7, 192, [1, 7]),
    conv(`${p}.branch_pool`, cin, 192, 1),
  ];
}
/** Mixed_7a (InceptionD). */
function blockD(p: string, cin: number): ConvSpec[] {
  return [
    conv(`${p}.branch3x3_1`, cin, 192, 1), conv(`${p}.branch3x3_2`, 192, 320, 3, 2, 'valid'),
    conv(`${p}.branch7x7x3_1`, cin, 192, 1), conv(`${p}.branch7x7x3_2`, 192, 192, [1, 7]),
    conv(`${p}.branch7x7x3_3`, 192, 192, [7, 1]), conv(`${p}.branch7x7x3_4`, 192, 192, 3, 2, 'valid'),
  ];
}
/** Mixed_7b/7c (FIDInceptionE_1/E_2). */
function blockE(p: string, cin: number): ConvSpec[] {
  return [
    conv(`${p}.branch1x1`, cin, 320, 1),
    conv(`${p}.branch3x3_1`, cin, 384, 1), conv(`${p}.branch3x3_2a`, 384, 384, [1, 3]), conv(`${p}.branch3x3_2b`, 384, 384, [3, 1]),
    conv(`${p}.branch3x3dbl_1`, cin, 448, 1), conv(`${p}.branch3x3dbl_2`, 448, 384, 3),
    conv(`${p}.branch3x3dbl_3a`, 384, 384, [1, 3]), conv(`${p}.branch3x3dbl_3b`, 384, 384, [3, 1]),
    conv(`${p}.branch_pool`, cin, 192, 1),
  ];
}

const CONVS: ConvSpec[] = [
  conv('Conv2d_1a_3x3', 3, 32, 3, 2, 'valid'),
  conv('Conv2d_2a_3x3', 32, 32, 3, 1, 'valid'),
  conv('Conv2d_2b_3x3', 32, 64, 3),
  conv('Conv2d_3b_1x1', 64, 80, 1, 1, 'valid'),
  conv('Conv2d_4a_3x3', 80, 192, 3, 1, 'valid'),
  ...blockA('Mixed_5b', 192, 32), ...blockA('Mixed_5c', 256, 64), ...blockA('Mixed_5d', 288, 64),
  ...blockB('Mixed_6a', 288),
  ...blockC('Mixed_6b', 768, 128), ...blockC('Mixed_6c', 768, 160), ...blockC('Mixed_6d', 768, 160), ...blockC('Mixed_6e', 768, 192),
  ...blockD('Mixed_7a', 768),
  ...blockE('Mixed_7b', 1280), ...blockE('Mixed_7c', 2048),
];

/** pytorch-fid's state-dict names and shapes this network reads (fc and num_batches_tracked aside). */
export const INCEPTION_V3_LAYOUT: readonly LayoutEntry[] = CONVS.flatMap((c) => [
  [`${c.name}.conv.weight`, [c.cout, c.cin, c.k[0], c.k[1]]],
  [`${c.name}.bn.weight`, [c.cout]], [`${c.name}.bn.bias`, [c.cout]],
  [`${c.name}.bn.running_mean`, [c.cout]], [`${c.name}.bn.running_var`, [c.cout]],
] as LayoutEntry[]);

export type ResizeMethod = 'tf1-legacy' | 'half-pixel';

export interface InceptionInputOptions {
  /** Side the images are resized to before the network; 299 for FID. */
  size?: number;
  resize?: ResizeMethod;
}

/** Bilinear resize of NCHW images (float) to [h, w] by the given convention. */
export function resizeBilinearNCHW(images: tf.Tensor4D, size: [number, number], method: ResizeMethod): tf.Tensor4D {
  return tf.tidy(() => {
    const [, , h, w] = images.shape;
    if (h === size[0] && w === size[1]) return tf.cast(images, 'float32');
    const nhwc = tf.transpose(tf.cast(images, 'float32'), [0, 2, 3, 1]) as tf.Tensor4D;
    const r = tf.image.resizeBilinear(nhwc, size, false, method === 'half-pixel');
    return tf.transpose(r, [0, 3, 1, 2]);
  });
}

/** A folded conv layer: HWIO kernel with BatchNorm scale, per-channel bias. */
interface FoldedConv { spec: ConvSpec; filter: tf.Tensor4D; bias: tf.Tensor1D }

export class InceptionV3Features {
  static readonly featureDim = 2048;
  private readonly layers = new Map<string, FoldedConv>();

  constructor(weights: WeightMap) {
    const missing = missingWeights(weights, INCEPTION_V3_LAYOUT);
    if (missing.length > 0) {
      throw new UserError(`${WHAT}: ${missing.length} weights missing, e.g. ${missing.slice(0, 3).join(', ')} (expected pytorch-fid's state-dict layout)`);
    }
    for (const c of CONVS) {
      const wShape = [c.cout, c.cin, c.k[0], c.k[1]];
      const w = takeWeight(weights, `${c.name}.conv.weight`, wShape, WHAT);
      const gamma = takeWeight(weights, `${c.name}.bn.weight`, [c.cout], WHAT);
      const beta = takeWeight(weights, `${c.name}.bn.bias`, [c.cout], WHAT);
      const mean = takeWeight(weights, `${c.name}.bn.running_mean`, [c.cout], WHAT);
      const variance = takeWeight(weights, `${c.name}.bn.running_var`, [c.cout], WHAT);
      // Fold BN (inference mode) into the conv: w·s and β − μ·s with s = γ/√(σ² + eps), in float64.
      const per = c.cin * c.k[0] * c.k[1];
      const folded = new Float32Array(w.length);
      const bias = new Float32Array(c.cout);
      for (let o = 0; o < c.cout; o++) {
        const s = gamma[o] / Math.sqrt(variance[o] + BN_EPS);
        for (let i = 0; i < per; i++) folded[o * per + i] = w[o * per + i] * s;
        bias[o] = beta[o] - mean[o] * s;
      }
      this.layers.set(c.name, {
        spec: c,
        filter: tf.tensor4d(oihwToHwio(folded, wShape), [c.k[0], c.k[1], c.cin, c.cout]),
        bias: tf.tensor1d(bias),
      });
    }
  }

  /** uint8-valued NCHW RGB images (any size) → [N, 2048] pool3 features. */
  featuresFromUint8(images: tf.Tensor4D, opts: InceptionInputOptions = {}): tf.Tensor2D {
    const size = opts.size ?? 299;
    return tf.tidy(() => {
      let x = images.shape[1] === 1 ? tf.tile(images, [1, 3, 1, 1]) : images;
      x = resizeBilinearNCHW(x as tf.Tensor4D, [size, size], opts.resize ?? 'tf1-legacy');
      return this.features(tf.div(tf.sub(x, 128), 128) as tf.Tensor4D);
    });
  }

  /** Network body on normalised NCHW input ((x − 128)/128) of any size ≥ 75² → [N, 2048]. */
  features(x: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let h = tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D; // NHWC inside
      h = this.c('Conv2d_1a_3x3', h);
      h = this.c('Conv2d_2a_3x3', h);
      h = this.c('Conv2d_2b_3x3', h);
      h = tf.maxPool(h, 3, 2, 'valid');
      h = this.c('Conv2d_3b_1x1', h);
      h = this.c('Conv2d_4a_3x3', h);
      h = tf.maxPool(h, 3, 2, 'valid');
      for (const p of ['Mixed_5b', 'Mixed_5c', 'Mixed_5d']) h = this.blockA(p, h);
      h = this.blockB('Mixed_6a', h);
      for (const p of ['Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e']) h = this.blockC(p, h);
      h = this.blockD('Mixed_7a', h);
      h = this.blockE('Mixed_7b', h, 'avg');
      h = this.blockE('Mixed_7c', h, 'max'); // pytorch-fid's E_2: the 2015 graph max-pools here
      return tf.mean(h, [1, 2]) as tf.Tensor2D;
    });
  }

  dispose(): void {
    for (const l of this.layers.values()) { l.filter.dispose(); l.bias.dispose(); }
    this.layers.clear();
  }

  private c(name: string, x: tf.Tensor4D): tf.Tensor4D {
    const l = this.layers.get(name)!;
    return tf.relu(tf.add(tf.conv2d(x, l.filter, l.spec.stride, l.spec.pad), l.bias)) as tf.Tensor4D;
  }

  /** TF's SAME 3×3 average pool, which divides by the number of real (unpadded) inputs. */
  private avg3(x: tf.Tensor4D): tf.Tensor4D {
    return tf.avgPool(x, 3, 1, 'same');
  }

  private blockA(p: string, x: tf.Tensor4D): tf.Tensor4D {
    const b1 = this.c(`${p}.branch1x1`, x);
    const b5 = this.c(`${p}.branch5x5_2`, this.c(`${p}.branch5x5_1`, x));
    const b3 = this.c(`${p}.branch3x3dbl_3`, this.c(`${p}.branch3x3dbl_2`, this.c(`${p}.branch3x3dbl_1`, x)));
    const bp = this.c(`${p}.branch_pool`, this.avg3(x));
    return tf.concat([b1, b5, b3, bp], 3);
  }

  private blockB(p: string, x: tf.Tensor4D): tf.Tensor4D {
    const b3 = this.c(`${p}.branch3x3`, x);
    const bd = this.c(`${p}.branch3x3dbl_3`, this.c(`${p}.branch3x3dbl_2`, this.c(`${p}.branch3x3dbl_1`, x)));
    return tf.concat([b3, bd, tf.maxPool(x, 3, 2, 'valid')], 3);
  }

  private blockC(p: string, x: tf.Tensor4D): tf.Tensor4D {
    const b1 = this.c(`${p}.branch1x1`, x);
    let b7 = x;
    for (const s of ['branch7x7_1', 'branch7x7_2', 'branch7x7_3']) b7 = this.c(`${p}.${s}`, b7);
    let bd = x;
    for (let i = 1; i <= 5; i++) bd = this.c(`${p}.branch7x7dbl_${i}`, bd);
    const bp = this.c(`${p}.branch_pool`, this.avg3(x));
    return tf.concat([b1, b7, bd, bp], 3);
  }

  private blockD(p: string, x: tf.Tensor4D): tf.Tensor4D {
    const b3 = this.c(`${p}.branch3x3_2`, this.c(`${p}.branch3x3_1`, x));
    let b7 = x;
    for (let i = 1; i <= 4; i++) b7 = this.c(`${p}.branch7x7x3_${i}`, b7);
    return tf.concat([b3, b7, tf.maxPool(x, 3, 2, 'valid')], 3);
  }

  private blockE(p: string, x: tf.Tensor4D, pool: 'avg' | 'max'): tf.Tensor4D {
    const b1 = this.c(`${p}.branch1x1`, x);
    const b3 = this.c(`${p}.branch3x3_1`, x);
    const b3cat = tf.concat([this.c(`${p}.branch3x3_2a`, b3), this.c(`${p}.branch3x3_2b`, b3)], 3);
    const bd = this.c(`${p}.branch3x3dbl_2`, this.c(`${p}.branch3x3dbl_1`, x));
    const bdcat = tf.concat([this.c(`${p}.branch3x3dbl_3a`, bd), this.c(`${p}.branch3x3dbl_3b`, bd)], 3);
    const pooled = pool === 'avg' ? this.avg3(x) : tf.maxPool(x, 3, 1, 'same');
    const bp = this.c(`${p}.branch_pool`, pooled);
    return tf.concat([b1, b3cat, bdcat, bp], 3);
  }
}

/**
 * The FID loop's view of this network (frechet_inception_distance.ts FeatureNetwork): uint8 images
 * in, 2048-d features out, with the weights and input pipeline recorded for the JSON line.
 */
export function inceptionFeatureNetwork(net: InceptionV3Features, weights: { file: string; sha256: string | null }, opts: InceptionInputOptions = {}) {
  const size = opts.size ?? 299, resize = opts.resize ?? 'tf1-legacy';
  return {
    dim: InceptionV3Features.featureDim,
    features: (images: tf.Tensor4D) => net.featuresFromUint8(images, { size, resize }),
    weights: { name: 'inception_v3 (pytorch-fid layout)', ...weights },
    inputPipeline: `bilinear ${resize} to ${size}x${size}, (x-128)/128`,
  };
}
