// NVIDIA's training/misc.py and the small pieces of training_loop.py that are pure arithmetic:
// snapshot image grids, the two float → uint8 conversions, the tick line, locating network snapshots,
// and the Gs moving-average β. Spec: stylegan.md §3.3, §3.5, §3.7, §6.2 and §11 item 8.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { UserError } from '../dnnlib/errors.ts';
import { writeFileAtomic } from '../dnnlib/atomic.ts';
import { formatTime } from '../dnnlib/util.ts';

export type DynamicRange = readonly [number, number];
type Pixels = Float32Array | Uint8Array;

const f32 = Math.fround;

// ---------------------------------------------------------------------------------------------
// Gs moving average.

/**
 * β of Gs ← β·Gs + (1 − β)·G for the trainables: 0.5^(minibatch / (G_smoothing_kimg·1000)), so the
 * weight of a G state halves every G_smoothing_kimg thousand images; 0 (Gs = G) when smoothing is off.
 */
export function Gs_beta(minibatch: number, G_smoothing_kimg: number): number {
  return G_smoothing_kimg > 0.0 ? 0.5 ** (minibatch / (G_smoothing_kimg * 1000.0)) : 0.0;
}

// ---------------------------------------------------------------------------------------------
// Dynamic range and uint8 conversion.

/** misc.adjust_dynamic_range in float32: data·scale + bias with scale, bias rounded to float32 as numpy does. */
export function adjust_dynamic_range(data: ArrayLike<number>, drange_in: DynamicRange, drange_out: DynamicRange): Float32Array {
  const out = Float32Array.from(data);
  if (drange_in[0] === drange_out[0] && drange_in[1] === drange_out[1]) return out;
  const scale = f32(f32(f32(drange_out[1]) - f32(drange_out[0])) / f32(f32(drange_in[1]) - f32(drange_in[0])));
  const bias = f32(f32(drange_out[0]) - f32(f32(drange_in[0]) * scale));
  for (let i = 0; i < out.length; i++) out[i] = f32(f32(out[i]! * scale) + bias);
  return out;
}

/** np.rint: round half to even. */
export function rint(x: number): number {
  const r = Math.round(x); // half up
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * tflib.convert_images_to_uint8 on host data: saturate_cast(x·scale + (0.5 − drange[0]·scale)) with
 * scale = 255/(drange[1] − drange[0]), i.e. clamp to [0,255] then truncate: round half *up* of
 * x·127.5 + 127.5 for drange [−1,1]. Used for FID and the figures (§6.2). NaN becomes 0.
 */
export function convert_images_to_uint8(images: ArrayLike<number>, drange: DynamicRange = [-1, 1]): Uint8Array {
  const scale = f32(255 / (drange[1] - drange[0]));
  const bias = f32(0.5 - drange[0] * (255 / (drange[1] - drange[0])));
  const out = new Uint8Array(images.length);
  for (let i = 0; i < images.length; i++) {
    const y = f32(f32(images[i]! * scale) + bias);
    out[i] = y >= 255 ? 255 : y > 0 ? Math.trunc(y) : 0;
  }
  return out;
}

/**
 * The same conversion as tensor ops (int32 result, since tfjs has no uint8), with NVIDIA's options:
 * `nchw_to_nhwc` transposes, `shrink` > 1 average-pools by that factor first.
 */
export function convertImagesToUint8Tensor(images: tf.Tensor4D, opts: { drange?: DynamicRange; nchw_to_nhwc?: boolean; shrink?: number } = {}): tf.Tensor4D {
  const { drange = [-1, 1], nchw_to_nhwc = false, shrink = 1 } = opts;
  return tf.tidy(() => {
    let x = tf.cast(images, 'float32') as tf.Tensor4D;
    if (shrink > 1) {
      // tfjs pools NHWC only.
      x = tf.transpose(tf.avgPool(tf.transpose(x, [0, 2, 3, 1]), shrink, shrink, 'valid'), [0, 3, 1, 2]);
    }
    if (nchw_to_nhwc) x = tf.transpose(x, [0, 2, 3, 1]);
    const scale = 255 / (drange[1] - drange[0]);
    const y = tf.add(tf.mul(x, scale), 0.5 - drange[0] * scale);
    // saturate_cast: clamp, then the float → int cast truncates toward zero.
    return tf.cast(tf.clipByValue(y, 0, 255), 'int32') as tf.Tensor4D;
  });
}

export interface PilImage {
  /** HWC (or HW for one channel) uint8, as PIL.Image.fromarray receives it. */
  data: Uint8Array;
  width: number;
  height: number;
  channels: number;
}

/**
 * misc.convert_to_pil_image: CHW → HWC, adjust_dynamic_range(drange → [0,255]), np.rint (half to
 * *even*), clip. The conversion of the snapshot PNGs (reals.png, fakes*.png), unlike
 * convert_images_to_uint8 (§11 item 8).
 */
export function convert_to_pil_image(image: Pixels, shape: readonly number[], drange: DynamicRange = [0, 1]): PilImage {
  const [c, h, w] = shape.length === 2 ? [1, shape[0]!, shape[1]!] : [shape[0]!, shape[1]!, shape[2]!];
  if (image.length !== c * h * w) throw new Error(`convert_to_pil_image: ${image.length} values for shape [${shape}]`);
  const adjusted = adjust_dynamic_range(image, drange, [0, 255]);
  const data = new Uint8Array(c * h * w);
  for (let ch = 0; ch < c; ch++) {
    for (let i = 0; i < h * w; i++) {
      const v = adjusted[ch * h * w + i]!;
      const r = v !== v ? 0 : rint(v); // NaN: numpy's cast is undefined; choose 0
      data[i * c + ch] = r < 0 ? 0 : r > 255 ? 255 : r;
    }
  }
  return { data, width: w, height: h, channels: c };
}

// ---------------------------------------------------------------------------------------------
// Image grids.

export type GridSizeName = '1080p' | '4k' | '8k' | string;

/** The grid dimensions [gw, gh] of setup_snapshot_image_grid for an output of height × width. */
export function snapshotGridSize(size: GridSizeName, height: number, width: number): [number, number] {
  const clip = (x: number, lo: number, hi: number) => Math.min(Math.max(x, lo), hi);
  if (size === '1080p') return [clip(Math.floor(1920 / width), 3, 32), clip(Math.floor(1080 / height), 2, 32)];
  if (size === '4k') return [clip(Math.floor(3840 / width), 7, 32), clip(Math.floor(2160 / height), 4, 32)];
  // StyleGAN2's misc.py adds 8k (run_training.py's default grid) with 4k's clip bounds.
  if (size === '8k') return [clip(Math.floor(7680 / width), 7, 32), clip(Math.floor(4320 / height), 4, 32)];
  return [1, 1]; // NVIDIA's fallback for any other name
}

export interface GridSource {
  /** G's output shape [C, H, W]. */
  output_shape: readonly [number, number, number];
  /** G's latent size (input_shape[1:]). */
  latent_size: number;
  label_size: number;
  /** training_set.get_minibatch_np(n): n reals NCHW in the dataset's dtype and n label rows. */
  get_minibatch_np(n: number): { reals: Pixels; labels: Float32Array };
  /** The np.random draw for the latents (np.random.randn(n, latent_size)), e.g. a RandomState. */
  randn(n: number, latent_size: number): ArrayLike<number>;
}

export interface SnapshotGrid {
  grid_size: [number, number];
  /** [gw·gh, C, H, W], as get_minibatch_np returned them. */
  reals: Pixels;
  /** [gw·gh, label_size]. */
  labels: Float32Array;
  /** [gw·gh, latent_size]. */
  latents: Float32Array;
}

/**
 * misc.setup_snapshot_image_grid. 'random' takes the first minibatch of gw·gh reals; the class layouts
 * ('row_per_class', 'col_per_class', 'class4x4') draw single reals until every class block is full.
 */
export function setup_snapshot_image_grid(src: GridSource, opts: { size?: GridSizeName; layout?: string } = {}): SnapshotGrid {
  const { size = '1080p', layout = 'random' } = opts;
  const [c, h, w] = src.output_shape;
  const [gw, gh] = snapshotGridSize(size, h, w);
  const n = gw * gh;
  const img = c * h * w;
  const ls = src.label_size;
  let reals: Pixels = new Uint8Array(n * img);
  const labels = new Float32Array(n * ls);
  // Drawn before the reals, as NVIDIA (same global numpy stream).
  const latents = Float32Array.from(src.randn(n, src.latent_size));

  if (layout === 'random') {
    const mb = src.get_minibatch_np(n);
    reals = mb.reals;
    labels.set(mb.labels);
  }

  const classLayouts: Record<string, [number, number]> = { row_per_class: [gw, 1], col_per_class: [1, gh], class4x4: [4, 4] };
  if (layout in classLayouts) {
    const [bw, bh] = classLayouts[layout]!;
    const nw = Math.floor((gw - 1) / bw) + 1;
    const nh = Math.floor((gh - 1) / bh) + 1;
    const blocks: { real: Pixels; label: Float32Array }[][] = Array.from({ length: nw * nh }, () => []);
    for (let iter = 0; iter < 1_000_000; iter++) {
      const mb = src.get_minibatch_np(1);
      let idx = argmax(mb.labels.subarray(0, ls));
      while (idx < blocks.length && blocks[idx]!.length >= bw * bh) idx += ls;
      if (idx < blocks.length) {
        blocks[idx]!.push({ real: mb.reals.subarray(0, img), label: mb.labels.subarray(0, ls) });
        if (blocks.every((b) => b.length >= bw * bh)) break;
      }
    }
    // Same element type as the dataset's reals (uint8 normally).
    const first = blocks.find((b) => b.length > 0)?.[0]?.real;
    if (first) reals = new (first.constructor as new (n: number) => Pixels)(n * img);
    blocks.forEach((block, i) => block.forEach(({ real, label }, j) => {
      const x = (i % nw) * bw + (j % bw);
      const y = Math.floor(i / nw) * bh + Math.floor(j / bw);
      if (x < gw && y < gh) {
        reals.set(real, (x + y * gw) * img);
        labels.set(label, (x + y * gw) * ls);
      }
    }));
  } else if (layout !== 'random') {
    throw new UserError(`grid layout '${layout}': expected random, row_per_class, col_per_class or class4x4`);
  }
  return { grid_size: [gw, gh], reals, labels, latents };
}

function argmax(v: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < v.length; i++) if (v[i]! > v[best]!) best = i;
  return best; // np.argmax of an empty row raises; 0 keeps unlabeled data in the first block
}

/**
 * misc.create_image_grid: places image idx at column idx % gw, row idx // gw (row-major). Without a
 * grid size, gw = ceil(√N) and gh = ceil(N / gw). Returns [C, gh·H, gw·W] (or [gh·H, gw·W] for
 * 3-D input [N, H, W]), zeros where no image falls.
 */
export function create_image_grid<T extends Pixels>(images: T, shape: readonly number[], grid_size?: readonly [number, number]): { data: T; shape: number[] } {
  if (shape.length !== 3 && shape.length !== 4) throw new Error(`create_image_grid: images must be 3-D or 4-D, got [${shape}]`);
  const num = shape[0]!;
  const img_h = shape.at(-2)!;
  const img_w = shape.at(-1)!;
  const c = shape.length === 4 ? shape[1]! : 1;
  let gw: number, gh: number;
  if (grid_size) [gw, gh] = grid_size;
  else {
    gw = Math.max(Math.ceil(Math.sqrt(num)), 1);
    gh = Math.max(Math.floor((num - 1) / gw) + 1, 1);
  }
  if (num > gw * gh) throw new Error(`create_image_grid: ${num} images do not fit a ${gw}x${gh} grid`);
  const W = gw * img_w;
  const H = gh * img_h;
  const data = new (images.constructor as { new (n: number): T })(c * H * W);
  for (let idx = 0; idx < num; idx++) {
    const x0 = (idx % gw) * img_w;
    const y0 = Math.floor(idx / gw) * img_h;
    for (let ch = 0; ch < c; ch++) {
      for (let y = 0; y < img_h; y++) {
        const src = ((idx * c + ch) * img_h + y) * img_w;
        data.set(images.subarray(src, src + img_w), (ch * H + y0 + y) * W + x0);
      }
    }
  }
  return { data, shape: shape.length === 4 ? [c, H, W] : [H, W] };
}

/**
 * misc.save_image_grid: grid → convert_to_pil_image (np.rint) → PNG, written atomically.
 * `images` is NCHW (a tensor or host data with its shape), in `drange`.
 */
export async function saveImageGrid(
  images: tf.Tensor | { data: Pixels; shape: readonly number[] },
  drange: DynamicRange,
  gridSize: readonly [number, number] | undefined,
  file: string,
): Promise<void> {
  const host = images instanceof tf.Tensor ? { data: (await images.data()) as Pixels, shape: images.shape } : images;
  const grid = create_image_grid(host.data, host.shape, gridSize);
  const pil = convert_to_pil_image(grid.data, grid.shape, drange);
  if (pil.channels !== 1 && pil.channels !== 3) throw new UserError(`${file}: cannot save ${pil.channels}-channel images as PNG (expected 1 or 3)`);
  let img = sharp(pil.data, { raw: { width: pil.width, height: pil.height, channels: pil.channels } });
  // Without this sharp widens one channel to RGB; PIL writes mode 'L' as a grayscale PNG.
  if (pil.channels === 1) img = img.toColourspace('b-w');
  const png = await img.png().toBuffer();
  writeFileAtomic(file, png);
}

// ---------------------------------------------------------------------------------------------
// Tick report.

/**
 * Python's '%.Nf': the exact binary value rounded to N decimals, ties to even (JS toFixed breaks
 * exact ties upward, e.g. lod 6.125 → '6.13' where NVIDIA prints '6.12').
 */
export function pyFixed(x: number, digits: number): string {
  if (!Number.isFinite(x)) return x !== x ? 'nan' : x > 0 ? 'inf' : '-inf';
  const js = x.toFixed(digits);
  if (Math.abs(x) >= 1e21) return js; // toFixed switches to exponent form; never reached by a tick line
  const exact = Math.abs(x).toFixed(100); // exact for every double in our range
  const point = exact.indexOf('.');
  const rest = exact.slice(point + 1 + digits);
  if (!/^50*$/.test(rest)) return js; // not an exact tie: toFixed already rounds correctly
  const truncated = exact.slice(0, digits > 0 ? point + 1 + digits : point);
  const lastDigit = Number(truncated.at(-1));
  // Ties go to the even neighbour: the truncated value if its last digit is even, else JS's (rounded up).
  if (lastDigit % 2 === 0) return (x < 0 ? '-' : '') + truncated;
  return js;
}

const left = (s: string, width: number) => s.padEnd(width);

export interface TickReport {
  cur_tick: number;
  kimg: number;
  lod: number;
  minibatch: number;
  /** Seconds since the start (plus resume_time). */
  total_time: number;
  tick_time: number;
  /** kimg shown during the tick (for sec/kimg). */
  tick_kimg: number;
  maintenance_time: number;
  /** Peak accelerator bytes when the backend reports them (NVIDIA's gpumem). */
  peak_gpu_mem_bytes?: number | null;
  /** Peak resident set size of the process, printed when there is no GPU figure. */
  peak_rss_bytes?: number | null;
}

/**
 * The line training_loop prints each tick, with NVIDIA's printf widths:
 *   tick %-5d kimg %-8.1f lod %-5.2f minibatch %-4d time %-12s sec/tick %-7.1f sec/kimg %-7.2f maintenance %-6.1f gpumem %-4.1f
 * On the CPU backends there is no GPU memory counter; printing 0.0 under NVIDIA's label would mislead,
 * so the last field becomes `rssmem %-4.1f` (peak process RSS in GiB, which is where tensors live),
 * and is left out when neither figure is known.
 */
export function formatTickLine(r: TickReport): string {
  let line = `tick ${left(String(r.cur_tick), 5)} kimg ${left(pyFixed(r.kimg, 1), 8)} lod ${left(pyFixed(r.lod, 2), 5)} ` +
    `minibatch ${left(String(r.minibatch), 4)} time ${left(formatTime(r.total_time), 12)} ` +
    `sec/tick ${left(pyFixed(r.tick_time, 1), 7)} sec/kimg ${left(pyFixed(r.tick_time / r.tick_kimg, 2), 7)} ` +
    `maintenance ${left(pyFixed(r.maintenance_time, 1), 6)}`;
  if (r.peak_gpu_mem_bytes != null) line += ` gpumem ${left(pyFixed(r.peak_gpu_mem_bytes / 2 ** 30, 1), 4)}`;
  else if (r.peak_rss_bytes != null) line += ` rssmem ${left(pyFixed(r.peak_rss_bytes / 2 ** 30, 1), 4)}`;
  return line;
}

/** The autosummary values NVIDIA records alongside the tick line (§3.7). */
export function tickSummaries(r: TickReport): Record<string, number> {
  const out: Record<string, number> = {
    'Progress/tick': r.cur_tick,
    'Progress/kimg': r.kimg,
    'Progress/lod': r.lod,
    'Progress/minibatch': r.minibatch,
    'Timing/total_sec': r.total_time,
    'Timing/sec_per_tick': r.tick_time,
    'Timing/sec_per_kimg': r.tick_time / r.tick_kimg,
    'Timing/maintenance_sec': r.maintenance_time,
  };
  if (r.peak_gpu_mem_bytes != null) out['Resources/peak_gpu_mem_gb'] = r.peak_gpu_mem_bytes / 2 ** 30;
  if (r.peak_rss_bytes != null) out['Resources/peak_rss_gb'] = r.peak_rss_bytes / 2 ** 30;
  out['Timing/total_hours'] = r.total_time / (60.0 * 60.0);
  out['Timing/total_days'] = r.total_time / (24.0 * 60.0 * 60.0);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Locating results.

const NETWORK_FILE = /^network-.*\.(pkl|safetensors)$/;
const stem = (file: string) => path.basename(file).replace(/\.(pkl|safetensors)$/, '');

/** misc.locate_run_dir: a directory as is, else `<result_dir>/<id>` or the one `<result_dir>/0*<id>-*`. */
export function locate_run_dir(run_id_or_run_dir: string | number, result_dir = 'results'): string {
  const arg = String(run_id_or_run_dir);
  if (typeof run_id_or_run_dir === 'string' && isDir(arg)) return arg;
  const direct = path.join(result_dir, arg);
  if (isDir(direct)) return direct;
  const pattern = new RegExp(`^0*${arg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}-`);
  const matches = (isDir(result_dir) ? fs.readdirSync(result_dir).sort() : [])
    .filter((name) => pattern.test(name))
    .map((name) => path.join(result_dir, name))
    .filter(isDir);
  if (matches.length === 1) return matches[0]!;
  throw new UserError(`cannot locate result subdir for run ${arg} in ${result_dir}`);
}

/**
 * misc.list_network_pkls: network-*.pkl and network-*.safetensors sorted by name, with network-final.*
 * moved to the end (or dropped without include_final).
 */
export function list_network_pkls(run_id_or_run_dir: string | number, opts: { include_final?: boolean; result_dir?: string } = {}): string[] {
  const { include_final = true, result_dir } = opts;
  const dir = locate_run_dir(run_id_or_run_dir, result_dir);
  const files = fs.readdirSync(dir).filter((name) => NETWORK_FILE.test(name)).sort().map((name) => path.join(dir, name));
  const final = files.filter((f) => stem(f) === 'network-final');
  const rest = files.filter((f) => stem(f) !== 'network-final');
  return include_final ? [...rest, ...final] : rest;
}

/**
 * misc.locate_network_pkl: an existing file (the snapshot argument first) is returned as is; otherwise
 * the run's snapshots are listed and the latest (network-final if present) or the one whose trailing
 * number equals `snapshot` is returned.
 */
export function locate_network_pkl(run_id_or_run_dir_or_network_pkl: string | number, snapshot_or_network_pkl: string | number | null = null, opts: { result_dir?: string } = {}): string {
  for (const candidate of [snapshot_or_network_pkl, run_id_or_run_dir_or_network_pkl]) {
    if (typeof candidate === 'string' && isFile(candidate)) return candidate;
  }
  const pkls = list_network_pkls(run_id_or_run_dir_or_network_pkl, { result_dir: opts.result_dir });
  if (pkls.length >= 1 && snapshot_or_network_pkl == null) return pkls.at(-1)!;
  for (const pkl of pkls) {
    const last = stem(pkl).split('-').at(-1)!;
    if (/^\s*[+-]?\d+\s*$/.test(last) && Number(last) === Number(snapshot_or_network_pkl)) return pkl; // Python int()
  }
  throw new UserError(`cannot locate network snapshot ${snapshot_or_network_pkl ?? '(latest)'} for run ${run_id_or_run_dir_or_network_pkl}`);
}

function isDir(p: string): boolean {
  try { return fs.statSync(p).isDirectory(); } catch { return false; }
}

function isFile(p: string): boolean {
  try { return fs.statSync(p).isFile(); } catch { return false; }
}
