// Progressive-growing structures shared by the StyleGAN and ProGAN networks: how the level of detail
// `lod` blends the per-resolution ToRGB / FromRGB paths. 'linear' is NVIDIA's readable form (every
// block runs, lerp_clip blends); 'recursive' gives the same result while running only the blocks the
// current lod uses (NVIDIA does this with tf.cond; our lod is a JS number, so plain branches).
import type * as tf from '@tensorflow/tfjs';
import * as ops from './ops.ts';

export type Block = (x: tf.Tensor4D, res: number) => tf.Tensor4D;

/**
 * Which resolution the lod needs at most, and the blend weight toward the next coarser path there.
 * For lod ≤ 0 the full resolution; else res R − floor(lod), clamped to ≥ 2, blended by lod − floor(lod).
 */
export function growPlan(resolution_log2: number, lod: number): { top: number; frac: number } {
  if (lod <= 0) return { top: resolution_log2, frac: 0 };
  const top = Math.max(2, resolution_log2 - Math.floor(lod));
  return { top, frac: top > 2 ? lod - Math.floor(lod) : 0 };
}

/**
 * Generator side: x4 is the 4×4 block's output; returns the NHWC image at full resolution (coarser
 * outputs nearest-upsampled), as NVIDIA's linear structure
 * img = lerp_clip(ToRGB_r(x_r), upscale2d(img), lod − (R − r)) for r = 3..R.
 */
export function growGenerator(structure: 'linear' | 'recursive', R: number, lod: number, x4: tf.Tensor4D, block: Block, toRGB: Block): tf.Tensor4D {
  let x = x4;
  if (structure === 'linear') {
    let img = toRGB(x, 2);
    for (let r = 3; r <= R; r++) {
      x = block(x, r);
      img = ops.lerpClip(toRGB(x, r), ops.upscale2d(img), lod - (R - r));
    }
    return img;
  }
  const { top, frac } = growPlan(R, lod);
  let prev = x;
  for (let r = 3; r <= top; r++) {
    prev = x;
    x = block(x, r);
  }
  let img = toRGB(x, top);
  if (frac > 0) img = ops.lerp(img, ops.upscale2d(toRGB(prev, top - 1)), frac);
  return ops.upscale2d(img, 2 ** (R - top));
}

/**
 * Discriminator side: returns the 4×4 features from the full-resolution NHWC image, as NVIDIA's linear
 * structure x = lerp_clip(block_r(x), FromRGB_{r−1}(downscale2d(img)), lod − (R − r)) for r = R..3.
 */
export function growDiscriminator(structure: 'linear' | 'recursive', R: number, lod: number, img: tf.Tensor4D, fromRGB: Block, block: Block): tf.Tensor4D {
  if (structure === 'linear') {
    let x = fromRGB(img, R);
    for (let r = R; r >= 3; r--) {
      x = block(x, r);
      img = ops.downscale2d(img);
      x = ops.lerpClip(x, fromRGB(img, r - 1), lod - (R - r));
    }
    return x;
  }
  const { top, frac } = growPlan(R, lod);
  let x = fromRGB(ops.downscale2d(img, 2 ** (R - top)), top);
  for (let r = top; r >= 3; r--) {
    x = block(x, r);
    if (r === top && frac > 0) x = ops.lerp(x, fromRGB(ops.downscale2d(img, 2 ** (R - r + 1)), r - 1), frac);
  }
  return x;
}
