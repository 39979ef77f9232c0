// Morph videos between seeds (`generate_figures.ts morph`). Keyframes are z = RandomState(seed)
// .randn(latent_size) for two or more seeds; each transition has `steps` frames (t = j/steps), then
// the last keyframe (or, with `loop`, back to the first). In z space the frame latents are
// interpolated and mapped, then truncated (ψ on the network's cutoff layers, like Gs.run); in w
// space the keyframes are mapped and truncated and the dlatents are interpolated. The noise is held
// fixed across frames: the stored noise, or one set drawn from RandomState(noise_seed). A generator
// without styles (G_mlp, G_dcgan) morphs in z only: each frame is G(z) of the interpolated z.
// Frames go to ffmpeg (libx264, yuv420p, CRF) through fluent-ffmpeg as raw rgb24 on a pipe, or to
// a directory of PNGs. The video is written to a temp name and renamed when ffmpeg is done.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { once } from 'node:events';
import { PassThrough } from 'node:stream';
import * as tf from '@tensorflow/tfjs';
import ffmpeg from 'fluent-ffmpeg';
import sharp from 'sharp';
import { UserError, onAbort } from '../dnnlib/errors.ts';
import { tempPathFor } from '../dnnlib/atomic.ts';
import { truncateDlatents } from '../training/networks_stylegan.ts';
import type { StyleGenerator } from '../training/networks_stylegan2.ts';
import { isBaselineGenerator } from '../training/networks_baseline.ts';
import { encodePng, fixedNoise, latentSize, latentsForSeeds, runGs, runSynthesis, writePng, type AnyGenerator, type RawImage } from './render.ts';

export type Space = 'z' | 'w';
export type Interp = 'lerp' | 'slerp';

// ---------------------------------------------------------------------------------------------
// Interpolation (pure).

export function lerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! + (b[i]! - a[i]!) * t;
  return out;
}

/**
 * Spherical interpolation along the great circle between the directions of a and b, with the
 * vectors' own lengths (sin((1−t)Ω)/sin Ω·a + sin(tΩ)/sin Ω·b, Ω the angle between them); lerp when
 * they are (anti)parallel within float precision.
 */
export function slerp(a: ArrayLike<number>, b: ArrayLike<number>, t: number): Float64Array {
  let dot = 0, na = 0, nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  const cos = Math.min(1, Math.max(-1, dot / Math.sqrt(na * nb)));
  const omega = Math.acos(cos);
  const s = Math.sin(omega);
  if (!(s > 1e-7)) return lerp(a, b, t);
  const ca = Math.sin((1 - t) * omega) / s;
  const cb = Math.sin(t * omega) / s;
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = ca * a[i]! + cb * b[i]!;
  return out;
}

/** [keyframe index, t] of every frame: `steps` per transition, plus the closing keyframe unless looping. */
export function framePlan(numKeys: number, steps: number, loop: boolean): [number, number][] {
  const segments = loop ? numKeys : numKeys - 1;
  const plan: [number, number][] = [];
  for (let s = 0; s < segments; s++) for (let j = 0; j < steps; j++) plan.push([s, j / steps]);
  if (!loop) plan.push([numKeys - 1, 0]);
  return plan;
}

export function frameCount(numKeys: number, steps: number, loop: boolean): number {
  return (loop ? numKeys : numKeys - 1) * steps + (loop ? 0 : 1);
}

// ---------------------------------------------------------------------------------------------
// Frames.

export interface MorphConfig {
  seeds: readonly number[];
  steps: number;
  loop: boolean;
  space: Space;
  interp: Interp;
  /** null: none (generators without styles, which interpolate z only). */
  truncation_psi: number | null;
  /** Layers the truncation applies to; default the network's truncation_cutoff (8). */
  truncation_cutoff?: number | null;
  /** undefined: the stored noise. */
  noise_seed?: number;
  /** Output frame size (sharp resize, Lanczos); default the network's resolution. */
  size?: [number, number];
  /** Pad odd sizes by one black row/column (yuv420p needs even sizes). */
  pad_even: boolean;
}

/** Checks what can be checked before the network loads; `video`: frames go to ffmpeg (yuv420p). */
export function checkMorphConfig(c: Pick<MorphConfig, 'seeds' | 'steps' | 'size' | 'pad_even'>, video: boolean): void {
  if (c.seeds.length < 2) throw new UserError(`--seeds: a morph needs at least two keyframe seeds, got ${c.seeds.length}`, 2);
  if (!Number.isInteger(c.steps) || c.steps < 1) throw new UserError(`--steps: expected a whole number ≥ 1, got ${c.steps}`, 2);
  if (video && c.size) {
    const [w, h] = frameSize(c, 0);
    if ((w % 2 || h % 2) && !c.pad_even) {
      throw new UserError(`yuv420p video needs even width and height, got ${w}x${h}: pass an even --size or --pad-even (or --frames-dir for PNGs)`, 2);
    }
  }
}

/** The frame size written, after --size and --pad-even (R = the network's resolution). */
export function frameSize(c: Pick<MorphConfig, 'size' | 'pad_even'>, R: number): [number, number] {
  const [w, h] = c.size ?? [R, R];
  return c.pad_even ? [w + (w % 2), h + (h % 2)] : [w, h];
}

/** Keyframe vectors: z [K][latent] or truncated w [K][L·D]. */
function keyframes(Gs: AnyGenerator, c: MorphConfig): { keys: Float32Array[]; shape: number[] } {
  const L = latentSize(Gs);
  const z = latentsForSeeds(c.seeds, L);
  if (c.space === 'z') return { keys: c.seeds.map((_, i) => z.subarray(i * L, (i + 1) * L)), shape: [L] };
  if (isBaselineGenerator(Gs)) throw new Error(`morph: ${Gs.constructor.name} has no w space`);
  const w = tf.tidy(() => {
    const d = Gs.components.mapping.run(tf.tensor2d(z, [c.seeds.length, L])) as tf.Tensor3D;
    return truncateDlatents(d, Gs.dlatent_avg as tf.Tensor as tf.Tensor1D, c.truncation_psi ?? 1, truncationCutoff(Gs, c));
  });
  const [K, nl, D] = w.shape;
  const flat = w.dataSync() as Float32Array;
  w.dispose();
  return { keys: Array.from({ length: K }, (_, i) => flat.subarray(i * nl * D, (i + 1) * nl * D)), shape: [nl, D] };
}

function truncationCutoff(Gs: StyleGenerator, c: MorphConfig): number {
  const cutoff = c.truncation_cutoff === undefined ? Gs.kw.truncation_cutoff : c.truncation_cutoff;
  return cutoff === null ? Gs.num_layers : cutoff;
}

/** Renders frames [from, to) of the plan as RGB images. */
function renderFrames(Gs: AnyGenerator, c: MorphConfig, keys: Float32Array[], shape: number[], plan: [number, number][], noise: ReturnType<typeof fixedNoise>): RawImage[] {
  const f = c.interp === 'slerp' ? slerp : lerp;
  const size = keys[0]!.length;
  const batch = new Float32Array(plan.length * size);
  plan.forEach(([k, t], i) => batch.set(f(keys[k]!, keys[(k + 1) % keys.length]!, t), i * size));
  // Without styles a frame is G(z) of the interpolated z: no mapping, truncation or noise.
  if (isBaselineGenerator(Gs)) return runGs(Gs, batch, { noise, rgb: true });
  const dlatents = tf.tidy(() => {
    if (c.space === 'w') return tf.tensor3d(batch, [plan.length, shape[0]!, shape[1]!]);
    const d = Gs.components.mapping.run(tf.tensor2d(batch, [plan.length, size])) as tf.Tensor3D;
    return truncateDlatents(d, Gs.dlatent_avg as tf.Tensor as tf.Tensor1D, c.truncation_psi ?? 1, truncationCutoff(Gs, c));
  });
  try {
    return runSynthesis(Gs, dlatents, { noise, rgb: true });
  } finally {
    dlatents.dispose();
  }
}

/** Resizes to --size and pads to even sizes as configured. */
async function finishFrame(img: RawImage, c: MorphConfig): Promise<RawImage> {
  const [tw, th] = c.size ?? [img.width, img.height];
  const [fw, fh] = frameSize(c, img.width);
  if (tw === img.width && th === img.height && fw === tw && fh === th) return img;
  let s = sharp(img.data, { raw: { width: img.width, height: img.height, channels: img.channels } });
  if (tw !== img.width || th !== img.height) s = s.resize(tw, th, { kernel: 'lanczos3', fit: 'fill' });
  if (fw !== tw || fh !== th) s = s.extend({ right: fw - tw, bottom: fh - th, background: { r: 0, g: 0, b: 0 } });
  const data = await s.raw().toBuffer();
  return { data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength), width: fw, height: fh, channels: 3 };
}

export interface FrameSink {
  write(frame: RawImage, index: number): Promise<void>;
  close(): Promise<void>;
  abort(): void;
}

/** Renders every frame, 8 at a time, into the sink. Returns the number of frames. */
export async function renderMorph(Gs: AnyGenerator, c: MorphConfig, sink: FrameSink, onProgress?: (done: number, total: number) => void): Promise<number> {
  const plan = framePlan(c.seeds.length, c.steps, c.loop);
  const { keys, shape } = keyframes(Gs, c);
  const noise = isBaselineGenerator(Gs) ? { mode: 'stored' as const } : fixedNoise(Gs.components.synthesis, c.noise_seed);
  try {
    for (let i = 0; i < plan.length; i += 8) {
      const frames = renderFrames(Gs, c, keys, shape, plan.slice(i, i + 8), noise);
      for (let k = 0; k < frames.length; k++) await sink.write(await finishFrame(frames[k]!, c), i + k);
      onProgress?.(i + frames.length, plan.length);
    }
    await sink.close();
  } catch (err) {
    sink.abort();
    throw err;
  } finally {
    if (noise.mode === 'fixed') tf.dispose(noise.noise);
  }
  return plan.length;
}

// ---------------------------------------------------------------------------------------------
// Sinks.

/** frame000000.png, frame000001.png, … in `dir`, each written atomically. */
export function pngFramesSink(dir: string): FrameSink {
  fs.mkdirSync(dir, { recursive: true });
  return {
    async write(frame, index) {
      writePng(path.join(dir, `frame${String(index).padStart(6, '0')}.png`), await encodePng(frame));
    },
    async close() {},
    abort() {},
  };
}

/**
 * Streams raw rgb24 frames into ffmpeg (fluent-ffmpeg over a pipe): libx264, yuv420p, CRF, mp4 with
 * faststart, written to a temp name beside `file` and renamed when ffmpeg exits cleanly.
 */
export function ffmpegSink(file: string, opts: { ffmpeg: string; fps: number; crf: number; width: number; height: number }): FrameSink {
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  const tmp = tempPathFor(file);
  const release = onAbort(() => fs.rmSync(tmp, { force: true }));
  const input = new PassThrough();
  let failure: Error | null = null;
  const command = ffmpeg(input);
  const done = new Promise<void>((resolve, reject) => {
    command
      .setFfmpegPath(opts.ffmpeg)
      .inputFormat('rawvideo')
      .inputOptions(['-pix_fmt', 'rgb24', '-s', `${opts.width}x${opts.height}`, '-framerate', String(opts.fps)])
      .videoCodec('libx264')
      .outputOptions(['-pix_fmt', 'yuv420p', '-crf', String(opts.crf), '-preset', 'medium', '-movflags', '+faststart', '-an'])
      .format('mp4')
      .on('error', (err: Error, _stdout: string | null, stderr: string | null) => {
        const last = (stderr ?? '').trim().split('\n').filter((l) => l.trim()).at(-1);
        failure = new UserError(`ffmpeg failed writing ${file}: ${last ?? err.message}`);
        reject(failure);
      })
      .on('end', () => resolve())
      .save(tmp);
  });
  done.catch(() => { /* reported by write/close */ });
  const cleanup = () => {
    fs.rmSync(tmp, { force: true });
    release();
  };
  return {
    async write(frame) {
      if (failure) throw failure;
      if (frame.width !== opts.width || frame.height !== opts.height || frame.channels !== 3) {
        throw new Error(`frame ${frame.width}x${frame.height}x${frame.channels} does not match the video ${opts.width}x${opts.height} rgb24`);
      }
      if (!input.write(frame.data)) await Promise.race([once(input, 'drain'), done]);
    },
    async close() {
      input.end();
      try {
        await done;
      } catch (err) {
        cleanup();
        throw err;
      }
      fs.renameSync(tmp, file);
      release();
    },
    abort() {
      command.kill('SIGKILL');
      input.destroy();
      cleanup();
    },
  };
}
