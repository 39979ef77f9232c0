// NVIDIA's TFRecordExporter: writes one image at a time into `<dir>/<name>-rNN.tfrecords` for
// every level NN = log2(res) … 2, and labels into `<name>-rxx.labels`.
//
// Each lower level is the 2×2 mean of the previous level's *unrounded* float32 image, so level
// k is the exact box mean of the original, rounded once (np.rint: half to even) and clipped.
// Every output goes through one atomic group owned by the caller, so a failure or Ctrl-C
// leaves no record or label file behind.

import * as path from 'node:path';
import { UserError } from '../dnnlib/errors.ts';
import type { AtomicWriter } from '../dnnlib/atomic.ts';
import { TFRecordWriter } from '../dnnlib/tfrecord.ts';
import { encodeImageExample } from '../dnnlib/example_proto.ts';
import { encodeNpy } from '../dnnlib/npy.ts';
import { RandomState } from '../dnnlib/random.ts';

export type Shape3 = [number, number, number];

/** np.rint(x).clip(0, 255): round half to even, then clip. */
export function rintClipUint8(x: number): number {
  let r = Math.round(x); // half up
  if (r - x === 0.5 && (r & 1) === 1) r -= 1;
  return r < 0 ? 0 : r > 255 ? 255 : r;
}

/**
 * Next level's float32 image: (tl + tr + bl + br) * 0.25 over 2×2 blocks, summed left to right
 * in float32 as numpy does (Math.fround after every addition).
 */
export function downsample2x2(img: Float32Array, c: number, h: number, w: number): Float32Array {
  const h2 = h >> 1, w2 = w >> 1;
  const out = new Float32Array(c * h2 * w2);
  const f = Math.fround;
  let o = 0;
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let y = 0; y < h2; y++) {
      const r0 = base + 2 * y * w, r1 = r0 + w;
      for (let x = 0; x < w2; x++, o++) {
        const s = f(f(f(img[r0 + 2 * x]! + img[r0 + 2 * x + 1]!) + img[r1 + 2 * x]!) + img[r1 + 2 * x + 1]!);
        out[o] = s * 0.25;
      }
    }
  }
  return out;
}

/** Rounds a float32 level to stored bytes (np.rint(x).clip(0, 255)). */
function quantize(level: Float32Array): Uint8Array {
  const q = new Uint8Array(level.length);
  for (let i = 0; i < level.length; i++) {
    const x = level[i]!;
    let r = Math.round(x);
    if (r - x === 0.5 && (r & 1) === 1) r -= 1; // half to even
    q[i] = r < 0 ? 0 : r > 255 ? 255 : r;
  }
  return q;
}

/** First level from uint8: the 4-term sums are small integers, exact in float32, so no rounding. */
function firstDownsample(img: Uint8Array, c: number, h: number, w: number): Float32Array {
  const h2 = h >> 1, w2 = w >> 1;
  const out = new Float32Array(c * h2 * w2);
  let o = 0;
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let y = 0; y < h2; y++) {
      const r0 = base + 2 * y * w, r1 = r0 + w;
      for (let x = 0; x < w2; x++, o++) {
        const k = 2 * x;
        out[o] = (img[r0 + k]! + img[r0 + k + 1]! + img[r1 + k]! + img[r1 + k + 1]!) * 0.25;
      }
    }
  }
  return out;
}

/** All levels of one image, full resolution first, as stored (uint8 CHW). */
export function imageLevels(img: Uint8Array, shape: Shape3): { shape: Shape3; data: Uint8Array }[] {
  const [c, res] = shape;
  const levels: { shape: Shape3; data: Uint8Array }[] = [{ shape, data: img }];
  if (res <= 4) return levels;
  let cur = firstDownsample(img, c, res, res);
  levels.push({ shape: [c, res >> 1, res >> 1], data: quantize(cur) });
  for (let r = res >> 1; r > 4; r >>= 1) {
    cur = downsample2x2(cur, c, r, r);
    levels.push({ shape: [c, r >> 1, r >> 1], data: quantize(cur) });
  }
  return levels;
}

/** NVIDIA's choose_shuffled_order: arange(n) shuffled in place by RandomState(123). */
export function chooseShuffledOrder(n: number): Int32Array {
  const order = new Int32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  new RandomState(123).shuffle(order);
  return order;
}

export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0;
}

export interface ExporterOptions {
  /** Opens an atomic output (from withAtomicGroup), committed together with the others. */
  open: (target: string) => AtomicWriter;
}

export class TFRecordExporter {
  readonly tfrPrefix: string;
  private shape: Shape3 | null = null;
  private writers: TFRecordWriter[] = [];
  private firstSource = '';
  curImages = 0;

  constructor(readonly tfrecordDir: string, readonly expectedImages: number, private readonly opts: ExporterOptions) {
    this.tfrPrefix = path.join(tfrecordDir, path.basename(path.resolve(tfrecordDir)));
  }

  /** File of level `lod` for a dataset of resolution 2^resolutionLog2. */
  static levelFile(prefix: string, resolutionLog2: number, lod: number): string {
    return `${prefix}-r${String(resolutionLog2 - lod).padStart(2, '0')}.tfrecords`;
  }

  /** Adds one uint8 CHW image; `source` names it in errors (file name or index). */
  addImage(img: Uint8Array, shape: Shape3, source: string): void {
    if (this.shape === null) {
      const [c, h, w] = shape;
      // The strict checks of NVIDIA's add_image, as messages rather than asserts.
      if (c !== 1 && c !== 3) throw new UserError(`${source}: ${c} channels; images must be stored as RGB or grayscale (1 or 3 channels)`);
      if (h !== w) throw new UserError(`${source}: ${w}x${h} is not square; images must have the same width and height`);
      if (!isPowerOfTwo(h) || h < 4) throw new UserError(`${source}: resolution ${h} is not a power of two >= 4`);
      this.shape = [c, h, w];
      this.firstSource = source;
      const log2 = Math.log2(h);
      for (let lod = 0; lod < log2 - 1; lod++) {
        this.writers.push(new TFRecordWriter(this.opts.open(TFRecordExporter.levelFile(this.tfrPrefix, log2, lod))));
      }
    } else if (shape[0] !== this.shape[0] || shape[1] !== this.shape[1] || shape[2] !== this.shape[2]) {
      throw new UserError(`${source}: shape [${shape.join(', ')}] (CHW) differs from [${this.shape.join(', ')}] of the first image ${this.firstSource}; all images must have the same size and channels`);
    }
    if (img.length !== shape[0] * shape[1] * shape[2]) throw new Error(`addImage: ${img.length} bytes for shape [${shape}]`);
    const levels = imageLevels(img, this.shape);
    for (let lod = 0; lod < this.writers.length; lod++) {
      this.writers[lod]!.write(encodeImageExample(levels[lod]!));
    }
    this.curImages++;
  }

  /** Saves labels [N, K] as float32 .npy, in the order the images were added. */
  addLabels(labels: Float32Array, labelSize: number): void {
    if (labels.length !== this.curImages * labelSize) {
      throw new Error(`addLabels: ${labels.length / labelSize} label rows for ${this.curImages} images`);
    }
    this.opts.open(`${this.tfrPrefix}-rxx.labels`).write(encodeNpy(labels, [this.curImages, labelSize]));
  }

  get imageShape(): Shape3 | null { return this.shape; }
}
