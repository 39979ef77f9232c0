// Figure 3: style mixing (draw_style_mixing_figure). dlatents from the mapping network without
// truncation, images from the synthesis network with the stored noise. Row 0 holds the source
// images in columns 1.., column 0 the destination images in rows 1..; cell (r, c) is destination r
// with the layers style_ranges[r] taken from source c. The top-left cell stays white.
import * as tf from '@tensorflow/tfjs';
import type { StyleGenerator } from '../training/networks_stylegan2.ts';
import { layerSplit, inRange, type LayerRange } from './layout.ts';
import { composeCanvas, latentSize, latentsForSeeds, runMapping, runSynthesis, type Placement } from './render.ts';

export interface StyleMixingConfig {
  w: number;
  h: number;
  src_seeds: readonly number[];
  dst_seeds: readonly number[];
  style_ranges: readonly LayerRange[];
}

/** NVIDIA's figure 3 at resolution R: ranges [coarse]×3 + [middle]×2 + [fine] (layout.ts). */
export function figure03Config(R: number, num_layers: number): StyleMixingConfig {
  const s = layerSplit(num_layers);
  const coarse: LayerRange = [0, s.coarse_end];
  const middle: LayerRange = [s.coarse_end, s.middle_end];
  const fine: LayerRange = [s.middle_end, num_layers];
  return {
    w: R, h: R,
    src_seeds: [639, 701, 687, 615, 2268],
    dst_seeds: [888, 829, 1898, 1733, 1614, 845],
    style_ranges: [coarse, coarse, coarse, middle, middle, fine],
  };
}

export function styleMixingCanvasSize(c: StyleMixingConfig): [number, number] {
  return [c.w * (c.src_seeds.length + 1), c.h * (c.dst_seeds.length + 1)];
}

/** [n_src, L, D]: the destination's dlatents repeated per source, layers in `range` from the sources. */
export function mixRow(dst: tf.Tensor2D, src: tf.Tensor3D, range: LayerRange): tf.Tensor3D {
  return tf.tidy(() => {
    const [n, L] = src.shape;
    const mask = tf.tensor3d(Array.from({ length: L }, (_, l) => (inRange(l, range) ? 1 : 0)), [1, L, 1], 'bool');
    return tf.where(tf.broadcastTo(mask, src.shape), src, tf.broadcastTo(tf.expandDims(dst, 0), [n, L, src.shape[2]])) as tf.Tensor3D;
  });
}

export async function drawStyleMixingFigure(Gs: StyleGenerator, c: StyleMixingConfig, onProgress?: (done: number, total: number) => void): Promise<Buffer> {
  const L = latentSize(Gs);
  const total = c.src_seeds.length + c.dst_seeds.length * (1 + c.src_seeds.length);
  let done = 0;
  const tick = (n: number) => onProgress?.((done += n), total);
  const srcD = runMapping(Gs, latentsForSeeds(c.src_seeds, L));
  const dstD = runMapping(Gs, latentsForSeeds(c.dst_seeds, L));
  const opts = { noise: { mode: 'stored' as const }, rgb: true };
  try {
    const placements: Placement[] = [];
    runSynthesis(Gs, srcD, opts).forEach((image, col) => placements.push({ image, left: (col + 1) * c.w, top: 0 }));
    tick(c.src_seeds.length);
    const dstImages = runSynthesis(Gs, dstD, opts);
    for (let row = 0; row < c.dst_seeds.length; row++) {
      placements.push({ image: dstImages[row]!, left: 0, top: (row + 1) * c.h });
      const dst = tf.tidy(() => tf.squeeze(tf.slice(dstD, [row, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D);
      const rowD = mixRow(dst, srcD, c.style_ranges[row]!);
      runSynthesis(Gs, rowD, opts).forEach((image, col) => placements.push({ image, left: (col + 1) * c.w, top: (row + 1) * c.h }));
      tf.dispose([dst, rowD]);
      tick(1 + c.src_seeds.length);
    }
    const [W, H] = styleMixingCanvasSize(c);
    return await composeCanvas(W, H, placements);
  } finally {
    tf.dispose([srcD, dstD]);
  }
}
