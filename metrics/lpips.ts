// LPIPS (Zhang et al. 2018, v0.1) over VGG16: the perceptual distance PPL measures with
// (NVIDIA's vgg16_zhang_perceptual.pkl). Per pair of images:
//   x ∈ [0, 255] → x/127.5 − 1 → (x − shift)/scale (lpips' ScalingLayer)
//   → VGG16 features at relu1_2, relu2_2, relu3_3, relu4_3, relu5_3
//   → each unit-normalised over channels (x / (‖x‖ + 1e-10)) → squared difference
//   → learned non-negative 1×1 weights lin0..lin4 → spatial mean → sum over the five layers.
// Weights: torchvision's VGG16 `features.N.weight` [O,I,3,3] / `features.N.bias` and lpips'
// `linK.model.1.weight` [1,C,1,1] (weights/v0.1/vgg.pth), merged in one map.
// NVIDIA's pickle takes [0, 255] images; how it maps them to LPIPS' [-1, 1] inside is
// [uncertain] — the affine map above is the natural one and is recorded in the pipeline.

import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { missingWeights, oihwToHwio, takeWeight, type LayoutEntry, type WeightMap } from './weight_map.ts';

const WHAT = 'LPIPS (VGG16)';

/** torchvision vgg16.features up to relu5_3: conv channel counts, 'M' = 2×2 max pool. */
const VGG_CFG: (number | 'M')[] = [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512, 'M', 512, 512, 512];
/** lpips' ScalingLayer constants (ImageNet statistics mapped to [-1, 1]). */
const SHIFT = [-0.030, -0.088, -0.188];
const SCALE = [0.458, 0.448, 0.450];
const NORM_EPS = 1e-10;

interface VggConv { index: number; cin: number; cout: number; tap: boolean }

/** Conv layers with their torchvision `features.N` index; `tap` marks the relu outputs LPIPS uses. */
function vggConvs(): VggConv[] {
  const out: VggConv[] = [];
  let idx = 0, cin = 3;
  VGG_CFG.forEach((v, k) => {
    if (v === 'M') { idx += 1; return; }
    // The last conv before each pool (and the very last conv) feeds a tap.
    const tap = k === VGG_CFG.length - 1 || VGG_CFG[k + 1] === 'M';
    out.push({ index: idx, cin, cout: v, tap });
    idx += 2; // conv + ReLU
    cin = v;
  });
  return out;
}

const CONVS = vggConvs();
const TAP_CHANNELS = CONVS.filter((c) => c.tap).map((c) => c.cout);

export const LPIPS_VGG16_LAYOUT: readonly LayoutEntry[] = [
  ...CONVS.flatMap((c) => [[`features.${c.index}.weight`, [c.cout, c.cin, 3, 3]], [`features.${c.index}.bias`, [c.cout]]] as LayoutEntry[]),
  ...TAP_CHANNELS.map((c, k) => [`lin${k}.model.1.weight`, [1, c, 1, 1]] as LayoutEntry),
];

export class LpipsVgg16 {
  private readonly convs: { spec: VggConv; filter: tf.Tensor4D; bias: tf.Tensor1D }[] = [];
  private readonly lins: tf.Tensor1D[] = [];

  constructor(weights: WeightMap) {
    const missing = missingWeights(weights, LPIPS_VGG16_LAYOUT);
    if (missing.length > 0) {
      throw new UserError(`${WHAT}: ${missing.length} weights missing, e.g. ${missing.slice(0, 3).join(', ')} (expected torchvision VGG16 features.N.* + lpips linK.model.1.weight)`);
    }
    for (const c of CONVS) {
      const shape = [c.cout, c.cin, 3, 3];
      const w = takeWeight(weights, `features.${c.index}.weight`, shape, WHAT);
      this.convs.push({
        spec: c,
        filter: tf.tensor4d(oihwToHwio(w, shape), [3, 3, c.cin, c.cout]),
        bias: tf.tensor1d(takeWeight(weights, `features.${c.index}.bias`, [c.cout], WHAT)),
      });
    }
    TAP_CHANNELS.forEach((c, k) => this.lins.push(tf.tensor1d(takeWeight(weights, `lin${k}.model.1.weight`, [1, c, 1, 1], WHAT))));
  }

  /** The five VGG feature maps (NHWC) of images in [0, 255], NCHW. */
  private taps(images: tf.Tensor4D): tf.Tensor4D[] {
    let x = tf.transpose(tf.cast(images, 'float32'), [0, 2, 3, 1]) as tf.Tensor4D;
    x = tf.sub(tf.div(x, 127.5), 1);
    x = tf.div(tf.sub(x, tf.tensor1d(SHIFT)), tf.tensor1d(SCALE));
    const out: tf.Tensor4D[] = [];
    let ci = 0;
    for (const v of VGG_CFG) {
      if (v === 'M') { x = tf.maxPool(x, 2, 2, 'valid'); continue; }
      const l = this.convs[ci++];
      x = tf.relu(tf.add(tf.conv2d(x, l.filter, 1, 'same'), l.bias)) as tf.Tensor4D;
      if (l.spec.tap) out.push(x);
    }
    return out;
  }

  /** One LPIPS distance per pair; both batches NCHW in [0, 255]. */
  distance(img0: tf.Tensor4D, img1: tf.Tensor4D): tf.Tensor1D {
    return tf.tidy(() => {
      const f0 = this.taps(img0), f1 = this.taps(img1);
      let total: tf.Tensor1D | null = null;
      for (let k = 0; k < f0.length; k++) {
        const a = unitNormalize(f0[k]), b = unitNormalize(f1[k]);
        const d = tf.sum(tf.mul(tf.square(tf.sub(a, b)), this.lins[k]), 3); // 1×1 conv to one channel
        const layer = tf.mean(d, [1, 2]) as tf.Tensor1D;
        total = total === null ? layer : tf.add(total, layer) as tf.Tensor1D;
      }
      return total!;
    });
  }

  dispose(): void {
    for (const c of this.convs) { c.filter.dispose(); c.bias.dispose(); }
    for (const l of this.lins) l.dispose();
  }
}

/** lpips.normalize_tensor: x / (‖x‖₂ over channels + 1e-10). */
function unitNormalize(x: tf.Tensor4D): tf.Tensor4D {
  return tf.div(x, tf.add(tf.sqrt(tf.sum(tf.square(x), 3, true)), NORM_EPS));
}
