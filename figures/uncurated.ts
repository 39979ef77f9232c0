// Figures 2, 10, 11, 12: a multi-resolution grid of uncurated images (draw_uncurated_result_figure).
// Latents: one RandomState(seed).randn(Σ rows·2^lod, latent_size); images from Gs with its defaults
// (ψ = 0.7 on the first 8 layers, random noise unless told otherwise; a generator without styles has
// neither and runs as it is). Column k holds rows·2^lod
// images, each cropped to (cx, cy, cw, ch) and resized with Lanczos (PIL's ANTIALIAS) to
// cw/2^lod × ch/2^lod; columns sit side by side on a white canvas Σ cw/2^lod × ch·rows.
import { composeCanvas, cropResize, latentSize, latentsFromOneSeed, runGs, type AnyGenerator, type NoiseSpec, type Placement } from './render.ts';

export interface UncuratedConfig {
  cx: number;
  cy: number;
  cw: number;
  ch: number;
  rows: number;
  lods: readonly number[];
  seed: number;
}

/** Figure 2 (FFHQ) with the crop scaled to a network of resolution R: cw = ch = R. */
export function figure02Config(R: number): UncuratedConfig {
  return { cx: 0, cy: 0, cw: R, ch: R, rows: 3, lods: [0, 1, 2, 2, 3, 3], seed: 5 };
}

/**
 * Figures 10, 11, 12 (bedrooms 256², cars 512² letterboxed to 512×384, cats 256²), scaled to R:
 * NVIDIA's crop box is given in the pixels of its network's resolution (`native`).
 */
export function nvidiaUncuratedConfig(which: 'bedrooms' | 'cars' | 'cats', R: number): UncuratedConfig {
  const s = (x: number, native: number) => Math.round((x * R) / native);
  if (which === 'cars') return { cx: 0, cy: s(64, 512), cw: R, ch: s(384, 512), rows: 4, lods: [0, 1, 2, 2, 3, 3], seed: 2 };
  return { cx: 0, cy: 0, cw: R, ch: R, rows: 5, lods: [0, 0, 1, 1, 2, 2, 2], seed: which === 'bedrooms' ? 0 : 1 };
}

export function uncuratedCanvasSize(c: UncuratedConfig): [number, number] {
  return [c.lods.reduce((a, lod) => a + Math.floor(c.cw / 2 ** lod), 0), c.ch * c.rows];
}

export async function drawUncuratedFigure(Gs: AnyGenerator, c: UncuratedConfig, noise: NoiseSpec, onProgress?: (done: number, total: number) => void): Promise<Buffer> {
  const total = c.lods.reduce((a, lod) => a + c.rows * 2 ** lod, 0);
  const latents = latentsFromOneSeed(c.seed, total, latentSize(Gs));
  const images = runGs(Gs, latents, { noise, rgb: true, onProgress: (d) => onProgress?.(d, total) });
  const placements: Placement[] = [];
  let k = 0;
  let left = 0;
  for (const lod of c.lods) {
    const w = Math.floor(c.cw / 2 ** lod);
    const h = Math.floor(c.ch / 2 ** lod);
    for (let row = 0; row < c.rows * 2 ** lod; row++) {
      const image = await cropResize(images[k++]!, [c.cx, c.cy, c.cx + c.cw, c.cy + c.ch], [w, h], 'lanczos3');
      placements.push({ image, left, top: Math.floor((row * c.ch) / 2 ** lod) });
    }
    left += w;
  }
  const [W, H] = uncuratedCanvasSize(c);
  return composeCanvas(W, H, placements);
}
