// The commands of generate_figures.ts and pretrained_example.ts as library calls: each takes a typed
// config, loads the network (the bundled model when none is given), writes its outputs atomically
// and prints what it wrote. The scripts only parse flags into these configs.
import * as path from 'node:path';
import { UserError } from '../dnnlib/errors.ts';
import { createProgress, type Progress } from '../dnnlib/progress.ts';
import { parseRange } from '../dnnlib/util.ts';
import { loadNetworks, resolveNetworkArg } from '../training/network_io.ts';
import { isBaselineGenerator } from '../training/networks_baseline.ts';
import { ALL_FIGURE_NAMES, FIGURES, FIGURE_NAMES, type FigureName } from './index.ts';
import { encodePng, generatorResolution, requireGenerator, writePng, type AnyGenerator, type NoiseSpec } from './render.ts';
import { generateSeedImages, writeSeedImages } from './images.ts';
import { locateFfmpeg, type FfmpegBinary } from './ffmpeg.ts';
import { checkMorphConfig, ffmpegSink, frameCount, frameSize, pngFramesSink, renderMorph, type MorphConfig } from './morph.ts';

export interface NetworkArgs {
  /** Path or URL; undefined = the bundled model. */
  network?: string;
  cacheDir?: string;
}

export interface NoiseArgs {
  /** undefined: the command's default (NVIDIA's: random noise for the figures and the example, stored for images). */
  randomize_noise?: boolean;
  noise_seed?: number;
}

type Log = (line: string) => void;
const stdout: Log = (line) => process.stdout.write(line + '\n');

// ---------------------------------------------------------------------------------------------
// Flag parsing helpers shared by the scripts (text → typed values, one-line errors).

const UINT32_MAX = 2 ** 32 - 1;

/** "0-99,120" → seeds, each a valid RandomState seed. */
export function parseSeeds(text: unknown, flag = '--seeds'): number[] {
  let seeds: number[];
  try {
    seeds = parseRange(String(text ?? ''));
  } catch (err) {
    throw new UserError(`${flag}: ${(err as Error).message}`, 2);
  }
  if (seeds.length === 0) throw new UserError(`${flag}: no seeds given (expected e.g. 0-99,120)`, 2);
  const bad = seeds.find((s) => s < 0 || s > UINT32_MAX);
  if (bad !== undefined) throw new UserError(`${flag}: seed ${bad} is outside [0, 4294967295]`, 2);
  return seeds;
}

export function parseSeed(value: unknown, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const s = String(value).trim();
  if (!/^\d+$/.test(s) || Number(s) > UINT32_MAX) throw new UserError(`${flag}: expected an integer in [0, 4294967295], got '${String(value)}'`, 2);
  return Number(s);
}

export function parseNumber(value: unknown, flag: string, opts: { integer?: boolean; min?: number; max?: number } = {}): number {
  const n = typeof value === 'number' ? value : Number(String(value).trim() || NaN);
  const ok = Number.isFinite(n) && (!opts.integer || Number.isInteger(n)) && (opts.min === undefined || n >= opts.min) && (opts.max === undefined || n <= opts.max);
  if (!ok) {
    const range = [opts.min !== undefined ? `≥ ${opts.min}` : '', opts.max !== undefined ? `≤ ${opts.max}` : ''].filter(Boolean).join(' and ');
    throw new UserError(`${flag}: expected ${opts.integer ? 'a whole number' : 'a number'}${range ? ' ' + range : ''}, got '${String(value)}'`, 2);
  }
  return n;
}

/** "WxH" → [W, H]. */
export function parseSize(value: unknown, flag = '--size'): [number, number] | undefined {
  if (value === undefined) return undefined;
  const m = /^(\d+)x(\d+)$/i.exec(String(value).trim());
  if (!m || Number(m[1]) < 1 || Number(m[2]) < 1) throw new UserError(`${flag}: expected WIDTHxHEIGHT like 256x256, got '${String(value)}'`, 2);
  return [Number(m[1]), Number(m[2])];
}

export function parseFigureList(value: unknown): FigureName[] {
  const names = String(value ?? FIGURE_NAMES.join(',')).split(',').map((s) => s.trim()).filter(Boolean);
  for (const n of names) {
    if (!(ALL_FIGURE_NAMES as readonly string[]).includes(n)) throw new UserError(`--figures: unknown figure '${n}' (expected some of ${ALL_FIGURE_NAMES.join(', ')})`, 2);
  }
  if (names.length === 0) throw new UserError('--figures: no figure named', 2);
  return [...new Set(names)] as FigureName[];
}

export function noiseSpec(a: NoiseArgs, randomizeByDefault = true): NoiseSpec {
  if (!(a.randomize_noise ?? randomizeByDefault)) {
    if (a.noise_seed !== undefined) throw new UserError('--noise-seed seeds random noise; it cannot be combined with --no-randomize-noise', 2);
    return { mode: 'stored' };
  }
  return { mode: 'random', seed: a.noise_seed };
}

// ---------------------------------------------------------------------------------------------
// Loading.

export async function loadGs(args: NetworkArgs, log: Log = stdout): Promise<AnyGenerator> {
  const source = resolveNetworkArg(args.network);
  log(`Loading network ${source}...`);
  const nets = await loadNetworks(source, { cacheDir: args.cacheDir, networks: ['Gs'] });
  try {
    return requireGenerator(nets.Gs);
  } catch (err) {
    nets.Gs.dispose();
    throw err;
  }
}

const resolution = generatorResolution;

// A generator without styles (G_mlp, G_dcgan) has no truncation and no noise: those flags are
// refused with one line when given, and their defaults do not apply.
const noStyles = (Gs: AnyGenerator) => `${Gs.constructor.name} maps z straight to images (no mapping network, W space or noise inputs)`;

/** ψ: the flag, else the command's default; null for a generator without styles (where only ψ 1 is accepted). */
function resolvePsi(Gs: AnyGenerator, psi: number | undefined, byDefault: number): number | null {
  if (!isBaselineGenerator(Gs)) return psi ?? byDefault;
  if (psi !== undefined && psi !== 1) throw new UserError(`--psi: the truncation trick needs a W space and its average; ${noStyles(Gs)}; omit --psi`, 2);
  return null;
}

/** The noise of noiseSpec; a generator without styles refuses --noise-seed and --[no-]randomize-noise. */
function resolveNoise(Gs: AnyGenerator, a: NoiseArgs, randomizeByDefault: boolean): NoiseSpec {
  if (!isBaselineGenerator(Gs)) return noiseSpec({ randomize_noise: (a.randomize_noise ?? randomizeByDefault) || a.noise_seed !== undefined, noise_seed: a.noise_seed }, randomizeByDefault);
  const flag = a.noise_seed !== undefined ? '--noise-seed' : a.randomize_noise === true ? '--randomize-noise' : a.randomize_noise === false ? '--no-randomize-noise' : null;
  if (flag) throw new UserError(`${flag}: ${noStyles(Gs)}, so there is no noise to choose`, 2);
  return { mode: 'stored' };
}

/** A progress bar that starts when the first report tells it the total. */
function lazyProgress(label: string, unit: string) {
  let bar: Progress | null = null;
  return {
    update: (done: number, total: number) => (bar ??= createProgress({ total, label, unit })).update(done),
    stop: () => bar?.stop(),
  };
}

// ---------------------------------------------------------------------------------------------
// Commands.

export interface FiguresConfig extends NetworkArgs, NoiseArgs {
  /** undefined: NVIDIA's five (FIGURE_NAMES), or those that need no styles for a generator without them. */
  figures?: FigureName[];
  outdir: string;
}

/** generate_figures.ts (default command): writes the chosen figures into outdir. */
export async function runFigures(c: FiguresConfig, log: Log = stdout): Promise<string[]> {
  const Gs = await loadGs(c, log);
  const files: string[] = [];
  try {
    const noise = resolveNoise(Gs, c, true);
    let figures = c.figures ?? [...FIGURE_NAMES];
    if (isBaselineGenerator(Gs)) {
      const styled = figures.filter((n) => FIGURES[n].needs);
      if (c.figures && styled.length) throw new UserError(`--figures: ${styled.map((n) => `${n} needs ${FIGURES[n].needs}`).join('; ')}; ${noStyles(Gs)}`, 2);
      if (styled.length) log(`${Gs.constructor.name} has no styles or noise: writing ${figures.filter((n) => !FIGURES[n].needs).join(', ')} only (not ${styled.join(', ')})`);
      figures = figures.filter((n) => !FIGURES[n].needs);
    }
    for (const name of figures) {
      const fig = FIGURES[name];
      const file = path.join(c.outdir, fig.file);
      const [w, h] = fig.canvas(resolution(Gs), isBaselineGenerator(Gs) ? 0 : Gs.num_layers);
      log(`${file} (${w}x${h})`);
      const bar = lazyProgress(name, 'img');
      const png = await fig.draw(Gs, { noise, onProgress: bar.update });
      bar.stop();
      writePng(file, png);
      files.push(file);
    }
  } finally {
    Gs.dispose();
  }
  return files;
}

export interface ImagesRunConfig extends NetworkArgs, NoiseArgs {
  seeds: number[];
  /** undefined: 0.7 (none for a generator without styles). */
  truncation_psi?: number;
  outdir: string;
}

/** generate_figures.ts images: one PNG per seed. */
export async function runImages(c: ImagesRunConfig, log: Log = stdout): Promise<string[]> {
  const Gs = await loadGs(c, log);
  try {
    const truncation_psi = resolvePsi(Gs, c.truncation_psi, 0.7);
    const noise = resolveNoise(Gs, c, false);
    log(`Generating ${c.seeds.length} image${c.seeds.length === 1 ? '' : 's'} (${truncation_psi === null ? 'no truncation' : `ψ ${truncation_psi}`}) into ${c.outdir}`);
    const bar = createProgress({ total: c.seeds.length, label: 'images', unit: 'img' });
    const files = await writeSeedImages(Gs, { seeds: c.seeds, truncation_psi, noise, outdir: c.outdir }, (d) => bar.update(d));
    bar.stop();
    return files;
  } finally {
    Gs.dispose();
  }
}

export interface ExampleConfig extends NetworkArgs, NoiseArgs {
  seed: number;
  /** undefined: 0.7 (none for a generator without styles). */
  truncation_psi?: number;
  out: string;
}

/** pretrained_example.ts: print Gs's layers, write one image (NVIDIA: seed 5, ψ 0.7, random noise). */
export async function runPretrainedExample(c: ExampleConfig, log: Log = stdout): Promise<string> {
  const Gs = await loadGs(c, log);
  try {
    const truncation_psi = resolvePsi(Gs, c.truncation_psi, 0.7);
    const noise = resolveNoise(Gs, c, true);
    log(Gs.print_layers());
    const [image] = generateSeedImages(Gs, [c.seed], truncation_psi, noise);
    writePng(c.out, await encodePng(image!));
    log(`${c.out} (${image!.width}x${image!.height})`);
    return c.out;
  } finally {
    Gs.dispose();
  }
}

export interface MorphRunConfig extends NetworkArgs, Omit<MorphConfig, 'noise_seed' | 'truncation_psi'> {
  /** undefined: 0.5 (none for a generator without styles). */
  truncation_psi?: number;
  noise_seed?: number;
  fps: number;
  crf: number;
  /** Video file (.mp4); ignored when framesDir is set. */
  out: string;
  framesDir?: string;
  /** --ffmpeg. */
  ffmpeg?: string;
}

/**
 * Checks a morph config and finds ffmpeg (unless writing PNG frames): the scripts call this before
 * starting the backend, so odd sizes or a missing ffmpeg are the only line printed.
 */
export function prepareMorph(c: MorphRunConfig): FfmpegBinary | null {
  checkMorphConfig(c, !c.framesDir);
  return c.framesDir ? null : locateFfmpeg({ explicit: c.ffmpeg });
}

/** generate_figures.ts morph: an mp4 through ffmpeg, or PNG frames. */
export async function runMorph(c: MorphRunConfig, log: Log = stdout, bin: FfmpegBinary | null = prepareMorph(c)): Promise<{ file: string; frames: number; width: number; height: number }> {
  const Gs = await loadGs(c, log);
  try {
    const truncation_psi = resolvePsi(Gs, c.truncation_psi, 0.5);
    if (isBaselineGenerator(Gs)) {
      if (c.space === 'w') throw new UserError(`--space w: ${noStyles(Gs)}; morph in z (the default)`, 2);
      resolveNoise(Gs, { noise_seed: c.noise_seed }, false);
    }
    const mc: MorphConfig = { ...c, truncation_psi };
    // Without --size the frames are R×R (even for power-of-two networks; --pad-even for others).
    const [width, height] = frameSize(c, resolution(Gs));
    const total = frameCount(c.seeds.length, c.steps, c.loop);
    const target = c.framesDir ?? c.out;
    log(`${target}: ${total} frames ${width}x${height}, seeds ${c.seeds.join(',')}, ${c.space} space, ${c.interp}, ${truncation_psi === null ? 'no truncation' : `ψ ${truncation_psi}`}` +
      (bin ? `, ${c.fps} fps, crf ${c.crf}, ffmpeg ${bin.path} (${bin.source})` : ''));
    const sink = bin ? ffmpegSink(c.out, { ffmpeg: bin.path, fps: c.fps, crf: c.crf, width, height }) : pngFramesSink(c.framesDir!);
    const bar = createProgress({ total, label: 'morph', unit: 'frames' });
    const frames = await renderMorph(Gs, mc, sink, (d) => bar.update(d));
    bar.stop();
    return { file: target, frames, width, height };
  } finally {
    Gs.dispose();
  }
}
