// One PNG per seed (`generate_figures.ts images`, and pretrained_example.ts for one seed):
// z = RandomState(seed).randn(1, latent_size), Gs.run with truncation ψ on the network's cutoff
// layers (8 by default), images through NVIDIA's convert_images_to_uint8. With the stored noise
// (the default here) the same seed, ψ and network give the same bytes on every run.
import * as path from 'node:path';
import { isBaselineGenerator } from '../training/networks_baseline.ts';
import { encodePng, latentSize, latentsForSeeds, NoiseSource, runGs, writePng, type AnyGenerator, type NoiseSpec, type RawImage } from './render.ts';

export interface ImagesConfig {
  seeds: readonly number[];
  /** null: none (generators without styles). */
  truncation_psi: number | null;
  noise: NoiseSpec;
  outdir: string;
}

/** NVIDIA-style file name of a seed's image (stylegan2's generate_images: seed%04d.png). */
export const seedFileName = (seed: number) => `seed${String(seed).padStart(4, '0')}.png`;

/** The images of `seeds` (one RandomState per seed), in minibatches of 8. */
export function generateSeedImages(Gs: AnyGenerator, seeds: readonly number[], truncation_psi: number | null, noise: NoiseSpec | NoiseSource, onProgress?: (done: number) => void): RawImage[] {
  return runGs(Gs, latentsForSeeds(seeds, latentSize(Gs)), { noise, truncation_psi, onProgress });
}

/** Writes <outdir>/seedNNNN.png for every seed; returns the files. */
export async function writeSeedImages(Gs: AnyGenerator, c: ImagesConfig, onProgress?: (done: number) => void): Promise<string[]> {
  const files: string[] = [];
  // Chunks of 64 seeds keep memory flat for long seed lists; the noise stream continues across chunks.
  const noise = isBaselineGenerator(Gs) ? c.noise : new NoiseSource(c.noise, Gs.components.synthesis);
  for (let i = 0; i < c.seeds.length; i += 64) {
    const seeds = c.seeds.slice(i, i + 64);
    const images = generateSeedImages(Gs, seeds, c.truncation_psi, noise);
    for (let k = 0; k < seeds.length; k++) {
      const file = path.join(c.outdir, seedFileName(seeds[k]!));
      writePng(file, await encodePng(images[k]!));
      files.push(file);
    }
    onProgress?.(i + seeds.length);
  }
  return files;
}
