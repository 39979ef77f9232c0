// Figure 5: noise components (draw_noise_components_figure). The stored noise inputs are kept (×1)
// on the layers of each noise range and zeroed (×0) elsewhere; images with ψ = 1 and that noise,
// the image of seed index 1 mirrored. Per seed column (width w): top-left the left half of "all
// noise", top-right the right half of "no noise", bottom-left the left half of "fine noise only",
// bottom-right the right half of "coarse noise only". NVIDIA scales a clone of Gs; passing the
// scaled stored noise as the noise inputs computes the same thing without copying the network.
import * as tf from '@tensorflow/tfjs';
import type { StyleGenerator } from '../training/networks_stylegan2.ts';
import { layerSplit, inRange, type LayerRange } from './layout.ts';
import { composeCanvas, cropResize, flop, latentSize, latentsForSeeds, runGs, type Placement, type RawImage } from './render.ts';

export interface NoiseComponentsConfig {
  w: number;
  h: number;
  seeds: readonly number[];
  noise_ranges: readonly LayerRange[];
  flips: readonly number[];
}

/** NVIDIA: noise_ranges [range(0,18), range(0,0), range(8,18), range(0,8)] at 1024² (layout.ts). */
export function figure05Config(R: number, num_layers: number): NoiseComponentsConfig {
  const { middle_end } = layerSplit(num_layers);
  return { w: R, h: R, seeds: [1967, 1555], noise_ranges: [[0, num_layers], [0, 0], [middle_end, num_layers], [0, middle_end]], flips: [1] };
}

export function noiseComponentsCanvasSize(c: NoiseComponentsConfig): [number, number] {
  return [c.w * 2, c.h * 2];
}

export async function drawNoiseComponentsFigure(Gs: StyleGenerator, c: NoiseComponentsConfig, onProgress?: (done: number, total: number) => void): Promise<Buffer> {
  const latents = latentsForSeeds(c.seeds, latentSize(Gs));
  const noiseVars = Gs.components.synthesis.noiseVars;
  const all: RawImage[][] = [];
  for (const range of c.noise_ranges) {
    const noise = noiseVars.map((v, i) => tf.mul(v, inRange(i, range) ? 1 : 0));
    const images = runGs(Gs, latents, { noise: { mode: 'fixed', noise }, truncation_psi: 1, rgb: true });
    tf.dispose(noise);
    for (const f of c.flips) if (images[f]) images[f] = await flop(images[f]!);
    all.push(images);
    onProgress?.(all.length * c.seeds.length, c.noise_ranges.length * c.seeds.length);
  }
  const { w, h } = c;
  const half = Math.floor(w / 2);
  const placements: Placement[] = [];
  for (let col = 0; col < c.seeds.length; col++) {
    const piece = (k: number, box: [number, number, number, number]) => cropResize(all[k]![col]!, box, [box[2] - box[0], box[3] - box[1]], 'nearest');
    placements.push({ image: await piece(0, [0, 0, half, h]), left: col * w, top: 0 });
    placements.push({ image: await piece(1, [half, 0, w, h]), left: col * w + half, top: 0 });
    placements.push({ image: await piece(2, [0, 0, half, h]), left: col * w, top: h });
    placements.push({ image: await piece(3, [half, 0, w, h]), left: col * w + half, top: h });
  }
  const [W, H] = noiseComponentsCanvasSize(c);
  return composeCanvas(W, H, placements);
}
