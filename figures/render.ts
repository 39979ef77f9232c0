// What every figure shares: numpy-exact latents, the noise choice, running Gs / its components in
// minibatches of 8 with NVIDIA's uint8 output transform, and composing PNG canvases with sharp.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { UserError } from '../dnnlib/errors.ts';
import { writeFileAtomic } from '../dnnlib/atomic.ts';
import { RandomState } from '../dnnlib/random.ts';
import type { Network } from '../training/network.ts';
import { type G_synthesis, type SynthesisRunOptions } from '../training/networks_stylegan.ts';
import { isStyleGenerator, type StyleGenerator, type G_synthesis_stylegan2 } from '../training/networks_stylegan2.ts';
import { isBaselineGenerator, type BaselineGenerator } from '../training/networks_baseline.ts';

/** Either generation of synthesis network (both hold NVIDIA's noiseK buffers). */
type AnySynthesis = G_synthesis | G_synthesis_stylegan2;
import { convertImagesToUint8Tensor } from '../training/misc.ts';

/** NVIDIA's synthesis_kwargs minibatch_size. */
export const MINIBATCH = 8;

/** One image as uint8 HWC (what PIL.Image.fromarray receives). */
export interface RawImage {
  data: Uint8Array;
  width: number;
  height: number;
  channels: 1 | 3;
}

/** The figures need a style-based generator (mapping, synthesis, dlatent_avg, noise inputs). */
export function requireStyleGenerator(Gs: Network): StyleGenerator {
  if (!isStyleGenerator(Gs)) {
    throw new UserError(`this network's Gs is ${Gs.constructor.name}, not a style-based generator (StyleGAN's G_style or StyleGAN2's G_main); figures and morphs need one`);
  }
  return Gs;
}

/**
 * What generates images here: a style-based generator, or a classic one without mapping, styles or
 * noise (G_mlp, G_dcgan: z straight to images), which takes part in what needs only z → image.
 */
export type AnyGenerator = StyleGenerator | BaselineGenerator;

export function requireGenerator(Gs: Network): AnyGenerator {
  if (!isStyleGenerator(Gs) && !isBaselineGenerator(Gs)) {
    throw new UserError(`this network's Gs is ${Gs.constructor.name}, which generate_figures cannot run (expected G_style, G_main, G_mlp or G_dcgan)`);
  }
  return Gs;
}

/**
 * The one line a style-only feature gets for a generator without styles: `what` needs `needs`.
 * Returns the generator narrowed to a style-based one otherwise.
 */
export function requireStyles(Gs: AnyGenerator, what: string, needs: string): StyleGenerator {
  if (isBaselineGenerator(Gs)) throw new UserError(`${what} needs ${needs}; this network's Gs is ${Gs.constructor.name}, which maps z straight to images (no mapping network, styles or noise inputs)`, 2);
  return Gs;
}

/** Gs.input_shape[1]. */
export function latentSize(Gs: AnyGenerator): number {
  return isBaselineGenerator(Gs) ? Gs.latent_size : Gs.components.mapping.kw.latent_size;
}

/** The image resolution Gs makes. */
export function generatorResolution(Gs: AnyGenerator): number {
  return isBaselineGenerator(Gs) ? Gs.kw.resolution : Gs.components.synthesis.kw.resolution;
}

/** `np.stack(RandomState(seed).randn(latent_size) for seed in seeds)`: [seeds, latent_size]. */
export function latentsForSeeds(seeds: readonly number[], latent_size: number): Float32Array {
  const out = new Float32Array(seeds.length * latent_size);
  seeds.forEach((seed, i) => out.set(new RandomState(seed).randn(latent_size), i * latent_size));
  return out;
}

/** `RandomState(seed).randn(count, latent_size)`. */
export function latentsFromOneSeed(seed: number, count: number, latent_size: number): Float32Array {
  return Float32Array.from(new RandomState(seed).randn(count, latent_size));
}

// ---------------------------------------------------------------------------------------------
// Noise.

/**
 * Which noise the synthesis layers get:
 * - 'stored': the network's own noise variables (NVIDIA's randomize_noise=False): deterministic;
 * - 'random': fresh noise per image (randomize_noise=True); with `seed`, drawn from
 *   RandomState(seed).randn minibatch by minibatch, layer by layer (noise0 first), so runs repeat;
 * - 'fixed': one given noise set [1, 1, H, W] per layer for every image (morph frames).
 */
export type NoiseSpec =
  | { mode: 'stored' }
  | { mode: 'random'; seed?: number }
  | { mode: 'fixed'; noise: tf.Tensor[] };

/** A stateful source of per-call synthesis options for one NoiseSpec. */
export class NoiseSource {
  private readonly rs: RandomState | null;
  constructor(private readonly spec: NoiseSpec, private readonly synthesis: AnySynthesis) {
    this.rs = spec.mode === 'random' && spec.seed !== undefined ? new RandomState(spec.seed) : null;
  }

  /** Options for a synthesis call on n images; tensors it creates are returned in `dispose`. */
  next(n: number): { opts: SynthesisRunOptions; dispose: tf.Tensor[] } {
    const spec = this.spec;
    if (spec.mode === 'stored') return { opts: { randomize_noise: false }, dispose: [] };
    if (spec.mode === 'fixed') return { opts: { noise: spec.noise }, dispose: [] };
    if (!this.rs) return { opts: { randomize_noise: true }, dispose: [] };
    const noise = this.synthesis.noiseVars.map((v) => {
      const [, , h, w] = v.shape as [number, number, number, number];
      return tf.tensor4d(Float32Array.from(this.rs!.randn(n * h * w)), [n, 1, h, w]);
    });
    return { opts: { noise }, dispose: noise };
  }
}

const sourceOf = (noise: NoiseSpec | NoiseSource, synthesis: AnySynthesis) => (noise instanceof NoiseSource ? noise : new NoiseSource(noise, synthesis));

/** One fixed noise set (for every frame of a morph): RandomState(seed).randn per layer, or the stored noise. */
export function fixedNoise(synthesis: AnySynthesis, seed: number | undefined): NoiseSpec {
  if (seed === undefined) return { mode: 'stored' };
  const rs = new RandomState(seed);
  return {
    mode: 'fixed',
    noise: synthesis.noiseVars.map((v) => tf.tensor4d(Float32Array.from(rs.randn(v.size)), v.shape as [number, number, number, number])),
  };
}

// ---------------------------------------------------------------------------------------------
// Running the networks.

/** NCHW float images → uint8 images with NVIDIA's convert_images_to_uint8 (optionally gray → RGB). */
export function toRawImages(images: tf.Tensor4D, opts: { rgb?: boolean } = {}): RawImage[] {
  const [n, c, h, w] = images.shape;
  if (c !== 1 && c !== 3) throw new UserError(`cannot write ${c}-channel images (expected 1 or 3 channels)`);
  const channels: 1 | 3 = opts.rgb ? 3 : c;
  const u8 = tf.tidy(() => {
    const x = convertImagesToUint8Tensor(images, { nchw_to_nhwc: true });
    return channels === 3 && c === 1 ? tf.tile(x, [1, 1, 1, 3]) : x;
  });
  const flat = Uint8Array.from(u8.dataSync());
  u8.dispose();
  const size = h * w * channels;
  return Array.from({ length: n }, (_, i) => ({ data: flat.subarray(i * size, (i + 1) * size), width: w, height: h, channels }));
}

export interface GenerateOptions {
  /** A spec starts a fresh source per call; pass a NoiseSource to continue one stream across calls. */
  noise: NoiseSpec | NoiseSource;
  /** Gs.run truncation; undefined = the network's own defaults (NVIDIA's "Gs defaults"). */
  truncation_psi?: number | null;
  truncation_cutoff?: number | null;
  /** Gray networks become RGB (the figures' PIL 'RGB' canvases). */
  rgb?: boolean;
  /** Called after each minibatch with the number of images done. */
  onProgress?: (done: number) => void;
}

/**
 * Gs.run(latents, None, **synthesis_kwargs) in minibatches of 8. latents: [n, latent_size]. A generator
 * without styles runs in inference mode (batch norm on its running statistics); it has no noise to
 * choose and takes no truncation (ψ must be absent or 1: the callers refuse others with a line).
 */
export function runGs(Gs: AnyGenerator, latents: Float32Array, opts: GenerateOptions): RawImage[] {
  const L = latentSize(Gs);
  const n = latents.length / L;
  const plain = isBaselineGenerator(Gs);
  if (plain && opts.truncation_psi != null && opts.truncation_psi !== 1) throw new Error(`runGs: ${Gs.constructor.name} takes no truncation (ψ ${opts.truncation_psi})`);
  const noise = plain ? null : sourceOf(opts.noise, Gs.components.synthesis);
  const out: RawImage[] = [];
  for (let i = 0; i < n; i += MINIBATCH) {
    const m = Math.min(MINIBATCH, n - i);
    const { opts: nopts, dispose } = noise ? noise.next(m) : { opts: {}, dispose: [] };
    const z = tf.tensor2d(latents.subarray(i * L, (i + m) * L), [m, L]);
    const images = plain ? Gs.run(z) : Gs.run(z, null, { ...nopts, truncation_psi: opts.truncation_psi, truncation_cutoff: opts.truncation_cutoff });
    out.push(...toRawImages(images, { rgb: opts.rgb }));
    tf.dispose([z, images, ...dispose]);
    opts.onProgress?.(i + m);
  }
  return out;
}

/** Gs.components.mapping.run(latents): dlatents [n, num_layers, dlatent_size] (no truncation). */
export function runMapping(Gs: StyleGenerator, latents: Float32Array): tf.Tensor3D {
  const L = latentSize(Gs);
  return tf.tidy(() => Gs.components.mapping.run(tf.tensor2d(latents, [latents.length / L, L])) as tf.Tensor3D);
}

/** Gs.components.synthesis.run(dlatents, **synthesis_kwargs) in minibatches of 8. */
export function runSynthesis(Gs: StyleGenerator, dlatents: tf.Tensor3D, opts: Omit<GenerateOptions, 'truncation_psi' | 'truncation_cutoff'>): RawImage[] {
  const synthesis = Gs.components.synthesis;
  const noise = sourceOf(opts.noise, synthesis);
  const n = dlatents.shape[0];
  const out: RawImage[] = [];
  for (let i = 0; i < n; i += MINIBATCH) {
    const m = Math.min(MINIBATCH, n - i);
    const { opts: nopts, dispose } = noise.next(m);
    const images = tf.tidy(() => synthesis.run(tf.slice(dlatents, [i, 0, 0], [m, -1, -1]), nopts));
    out.push(...toRawImages(images, { rgb: opts.rgb }));
    tf.dispose([images, ...dispose]);
    opts.onProgress?.(i + m);
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Images with sharp.

const rawInput = (img: RawImage) => sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });

/** PIL crop((x0, y0, x1, y1)) then resize((w, h), kernel): sharp's extract + resize. */
export async function cropResize(img: RawImage, box: readonly [number, number, number, number], size: readonly [number, number], kernel: 'lanczos3' | 'nearest'): Promise<RawImage> {
  const [x0, y0, x1, y1] = box;
  let s = rawInput(img).extract({ left: x0, top: y0, width: x1 - x0, height: y1 - y0 });
  if (size[0] !== x1 - x0 || size[1] !== y1 - y0) s = s.resize(size[0], size[1], { kernel, fit: 'fill' });
  const { data, info } = await s.raw().toBuffer({ resolveWithObject: true });
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: info.width, height: info.height, channels: info.channels as 1 | 3 };
}

/** A horizontal mirror (PIL's FLIP_LEFT_RIGHT, numpy's [:, ::-1]). */
export async function flop(img: RawImage): Promise<RawImage> {
  const data = await rawInput(img).flop().raw().toBuffer();
  return { ...img, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export interface Placement {
  image: RawImage;
  left: number;
  top: number;
}

/** PIL.Image.new('RGB', (width, height), 'white') with every placement pasted, as PNG bytes. */
export async function composeCanvas(width: number, height: number, placements: readonly Placement[]): Promise<Buffer> {
  const layers = await Promise.all(placements.map(async ({ image, left, top }) => ({
    // Gray pieces (the noise-detail std map) are widened to RGB like PIL's paste of an 'L' image.
    input: image.channels === 3 ? Buffer.from(image.data.buffer, image.data.byteOffset, image.data.byteLength)
      : await rawInput(image).toColourspace('srgb').raw().toBuffer(),
    raw: { width: image.width, height: image.height, channels: 3 as const },
    left,
    top,
  })));
  return sharp({ create: { width, height, channels: 3, background: { r: 255, g: 255, b: 255 } } })
    .composite(layers)
    .removeAlpha() // composite yields RGBA; the canvas is PIL 'RGB'
    .png()
    .toBuffer();
}

/** One image as a PNG (gray stays gray, like PIL mode 'L'). */
export async function encodePng(img: RawImage): Promise<Buffer> {
  let s = rawInput(img);
  if (img.channels === 1) s = s.toColourspace('b-w');
  return s.png().toBuffer();
}

/** Writes PNG bytes atomically, creating the directory. */
export function writePng(file: string, png: Uint8Array): void {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  writeFileAtomic(file, png);
}
