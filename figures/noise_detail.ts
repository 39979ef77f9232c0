// Figure 4: noise detail (draw_noise_detail_figure). Per seed row: the same z repeated num_samples
// times through Gs with ψ = 1 and random noise. Column 0: image 0. Column 1: a 2×2 mosaic of images
// 1..4, each cropped to NVIDIA's box (650,180)–(906,436) of 1024² (scaled to the resolution) and
// NEAREST-resized to w/2 × h/2. Column 2: the per-pixel standard deviation over the samples of the
// RGB mean, ×4, +0.5, clipped and truncated to uint8 (PIL mode 'L').
import type { StyleGenerator } from '../training/networks_stylegan2.ts';
import { scale1024 } from './layout.ts';
import { composeCanvas, cropResize, latentSize, latentsForSeeds, runGs, type NoiseSpec, type Placement, type RawImage } from './render.ts';

export interface NoiseDetailConfig {
  w: number;
  h: number;
  num_samples: number;
  seeds: readonly number[];
  /** Crop box (x0, y0, x1, y1) of the mosaic. */
  crop: readonly [number, number, number, number];
}

export function figure04Config(R: number): NoiseDetailConfig {
  const x0 = scale1024(650, R);
  const y0 = scale1024(180, R);
  const size = Math.max(1, scale1024(256, R));
  return { w: R, h: R, num_samples: 100, seeds: [1157, 1012], crop: [x0, y0, x0 + size, y0 + size] };
}

export function noiseDetailCanvasSize(c: NoiseDetailConfig): [number, number] {
  return [c.w * 3, c.h * c.seeds.length];
}

/**
 * np.clip(np.std(np.mean(images, axis=3), axis=0) * 4 + 0.5, 0, 255).astype(np.uint8) over uint8 HWC
 * images, in float64 like NumPy (population std, two passes).
 */
export function noiseStdMap(images: readonly RawImage[]): RawImage {
  const { width, height, channels } = images[0]!;
  const px = width * height;
  const n = images.length;
  const mean = new Float64Array(px);
  const gray = images.map((img) => {
    const g = new Float64Array(px);
    for (let i = 0; i < px; i++) {
      let s = 0;
      for (let ch = 0; ch < channels; ch++) s += img.data[i * channels + ch]!;
      g[i] = s / channels;
    }
    return g;
  });
  for (const g of gray) for (let i = 0; i < px; i++) mean[i]! += g[i]!;
  for (let i = 0; i < px; i++) mean[i]! /= n;
  const out = new Uint8Array(px);
  for (let i = 0; i < px; i++) {
    let ss = 0;
    for (const g of gray) ss += (g[i]! - mean[i]!) ** 2;
    const v = Math.sqrt(ss / n) * 4 + 0.5;
    out[i] = v >= 255 ? 255 : v > 0 ? Math.trunc(v) : 0;
  }
  return { data: out, width, height, channels: 1 };
}

export async function drawNoiseDetailFigure(Gs: StyleGenerator, c: NoiseDetailConfig, noise: NoiseSpec, onProgress?: (done: number, total: number) => void): Promise<Buffer> {
  const L = latentSize(Gs);
  const placements: Placement[] = [];
  const total = c.seeds.length * c.num_samples;
  for (let row = 0; row < c.seeds.length; row++) {
    const z = latentsForSeeds([c.seeds[row]!], L);
    const latents = new Float32Array(c.num_samples * L);
    for (let i = 0; i < c.num_samples; i++) latents.set(z, i * L);
    const images = runGs(Gs, latents, { noise, truncation_psi: 1, rgb: true, onProgress: (d) => onProgress?.(row * c.num_samples + d, total) });
    placements.push({ image: images[0]!, left: 0, top: row * c.h });
    for (let i = 0; i < 4; i++) {
      const crop = await cropResize(images[i + 1]!, c.crop, [Math.floor(c.w / 2), Math.floor(c.h / 2)], 'nearest');
      placements.push({ image: crop, left: c.w + (i % 2) * Math.floor(c.w / 2), top: row * c.h + Math.floor(i / 2) * Math.floor(c.h / 2) });
    }
    placements.push({ image: noiseStdMap(images), left: c.w * 2, top: row * c.h });
  }
  const [W, H] = noiseDetailCanvasSize(c);
  return composeCanvas(W, H, placements);
}
