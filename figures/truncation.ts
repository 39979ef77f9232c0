// Figure 8: the truncation trick (draw_truncation_trick_figure). w = mapping(z) per seed; for each ψ,
// w' = avg + (w − avg)·ψ on *all* layers with avg = Gs.dlatent_avg, rendered with the stored noise.
// One row per seed, one column per ψ.
import * as tf from '@tensorflow/tfjs';
import { truncateDlatents } from '../training/networks_stylegan.ts';
import type { StyleGenerator } from '../training/networks_stylegan2.ts';
import { composeCanvas, latentSize, latentsForSeeds, runMapping, runSynthesis, type Placement } from './render.ts';

export interface TruncationConfig {
  w: number;
  h: number;
  seeds: readonly number[];
  psis: readonly number[];
}

export function figure08Config(R: number): TruncationConfig {
  return { w: R, h: R, seeds: [91, 388], psis: [1, 0.7, 0.5, 0, -0.5, -1] };
}

export function truncationCanvasSize(c: TruncationConfig): [number, number] {
  return [c.w * c.psis.length, c.h * c.seeds.length];
}

/** [psis, L, D]: one seed's dlatents truncated towards avg by each ψ on every layer. */
export function truncationRow(dlatent: tf.Tensor2D, avg: tf.Tensor1D, psis: readonly number[]): tf.Tensor3D {
  return tf.tidy(() => {
    const L = dlatent.shape[0];
    const w = tf.expandDims(dlatent, 0) as tf.Tensor3D;
    return tf.concat(psis.map((psi) => truncateDlatents(w, avg, psi, L)), 0) as tf.Tensor3D;
  });
}

export async function drawTruncationFigure(Gs: StyleGenerator, c: TruncationConfig, onProgress?: (done: number, total: number) => void): Promise<Buffer> {
  const dlatents = runMapping(Gs, latentsForSeeds(c.seeds, latentSize(Gs)));
  const placements: Placement[] = [];
  try {
    for (let row = 0; row < c.seeds.length; row++) {
      const rowD = tf.tidy(() => truncationRow(tf.squeeze(tf.slice(dlatents, [row, 0, 0], [1, -1, -1]), [0]) as tf.Tensor2D, Gs.dlatent_avg as tf.Tensor as tf.Tensor1D, c.psis));
      runSynthesis(Gs, rowD, { noise: { mode: 'stored' }, rgb: true }).forEach((image, col) => placements.push({ image, left: col * c.w, top: row * c.h }));
      rowD.dispose();
      onProgress?.((row + 1) * c.psis.length, c.seeds.length * c.psis.length);
    }
  } finally {
    dlatents.dispose();
  }
  const [W, H] = truncationCanvasSize(c);
  return composeCanvas(W, H, placements);
}
