// NVIDIA's training/dataset.py TFRecordDataset: the training-side reader of a multi-resolution
// TFRecord dataset. configure(minibatch, lod) picks the file of level floor(lod); records pass
// through a shuffle buffer (shuffle_mb), repeat forever, and are read ahead (prefetch_mb);
// labels are zipped to records by index, as tf.data.Dataset.zip does.
//
// getMinibatchNp() gives uint8 NCHW (what metrics and dataset_tool use); getMinibatch() gives
// the tensors process_reals starts from: float32 NCHW mapped [0,255] → [-1,1] by x·(2/255) − 1
// in float32, optionally mirrored (mirror_augment). Everything random draws from one seeded
// RandomState, so a training run is reproducible.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { RandomState } from '../dnnlib/random.ts';
import { readNpy } from '../dnnlib/npy.ts';
import { readTFRecordsAsync } from '../dnnlib/tfrecord.ts';
import { decodeImageExample } from '../dnnlib/example_proto.ts';
import { openDatasetDir, type DatasetLayout } from './dataset_tool/dataset_dir.ts';

export type MaxLabelSize = 0 | 'full' | number;

export interface TFRecordDatasetOptions {
  /** Dataset resolution; undefined = autodetect (the largest level). Higher levels are ignored. */
  resolution?: number;
  /** Labels file; undefined = the first *.labels in the directory. */
  labelFile?: string;
  /** 0 = no labels, 'full' = all components, N = the first N components. */
  maxLabelSize?: MaxLabelSize;
  /** Repeat the dataset indefinitely (training) or stop after one pass (tools, metrics). */
  repeat?: boolean;
  /** Shuffle window in megabytes of uint8 images; 0 = file order. */
  shuffleMb?: number;
  /** Read-ahead in megabytes (capped at 16 MB per level; NVIDIA's default 2048). */
  prefetchMb?: number;
  /** Flip each image of getMinibatch() horizontally with probability 0.5 (process_reals). */
  mirrorAugment?: boolean;
  /** Seed of the RandomState behind shuffling, mirroring and random labels. */
  seed?: number;
  /** Or the RandomState itself (shared with the training loop); takes precedence over seed. */
  rng?: RandomState;
}

export interface MinibatchNp {
  /** uint8 [N, C, H, W]. */
  images: Uint8Array;
  /** float32 [N, labelSize]. */
  labels: Float32Array;
  shape: [number, number, number, number];
}

interface Item { data: Uint8Array; label: number }

/** Items per buffer of `mb` megabytes: NVIDIA's ((mb << 20) - 1) // bytes_per_item + 1. */
export function itemsPerBuffer(mb: number, bytesPerItem: number): number {
  return mb > 0 ? Math.floor((mb * 2 ** 20 - 1) / bytesPerItem) + 1 : 0;
}

/** [0,255] → [-1,1] in float32 as adjust_dynamic_range: x · f32(2/255) + (−1). */
export function uint8ToDynamicRange(src: Uint8Array): Float32Array {
  const scale = Math.fround(2 / 255);
  const lut = new Float32Array(256);
  for (let v = 0; v < 256; v++) lut[v] = Math.fround(Math.fround(v * scale) - 1);
  const out = new Float32Array(src.length);
  const n = src.length;
  for (let i = 0; i < n; i++) out[i] = lut[src[i]!]!;
  return out;
}

/** Flips one CHW image along the width axis, in place. */
export function mirrorInPlace(img: Uint8Array, c: number, h: number, w: number): void {
  for (let row = 0; row < c * h; row++) {
    const o = row * w;
    for (let x = 0; x < w >> 1; x++) {
      const t = img[o + x]!;
      img[o + x] = img[o + w - 1 - x]!;
      img[o + w - 1 - x] = t;
    }
  }
}

/**
 * One level's stream: records zipped with label rows, shuffled through a window like
 * tf.data's shuffle (fill the buffer, emit a random slot, refill from the input), then repeated
 * (each pass drains its buffer before the next begins, so every pass is a fresh shuffle).
 * Records are read ahead in chunks of `readAheadBytes` by libuv's threads (prefetch).
 */
class LevelStream {
  private pass: AsyncGenerator<Item> | null = null;
  private passEnded = false;
  private passYielded = false;
  private readonly buffer: Item[] = [];

  constructor(
    private readonly file: string,
    private readonly numLabelRows: number,
    private readonly shuffleItems: number,
    private readonly repeat: boolean,
    private readonly readAheadBytes: number,
    private readonly rng: RandomState,
  ) {}

  private async *records(): AsyncGenerator<Item> {
    for await (const rec of readTFRecordsAsync(this.file, { chunkBytes: this.readAheadBytes })) {
      if (rec.index >= this.numLabelRows) return; // zip() stops at the shorter input
      const ex = decodeImageExample(rec.payload, `${this.file} record ${rec.index} at byte offset ${rec.offset}`);
      yield { data: ex.data, label: rec.index };
    }
  }

  /** Closes the file of the current pass. */
  async close(): Promise<void> {
    await this.pass?.return(undefined);
    this.pass = null;
  }

  async next(): Promise<Item | null> {
    const window = Math.max(1, this.shuffleItems);
    for (;;) {
      while (!this.passEnded && this.buffer.length < window) {
        this.pass ??= this.records();
        const r = await this.pass.next();
        if (r.done) { this.passEnded = true; break; }
        this.passYielded = true;
        this.buffer.push(r.value);
      }
      if (this.buffer.length > 0) {
        const k = this.buffer.length === 1 ? 0 : this.rng.randint(0, this.buffer.length);
        const out = this.buffer[k]!;
        const last = this.buffer.pop()!;
        if (k < this.buffer.length) this.buffer[k] = last;
        return out;
      }
      // Pass over and drained: start the next one, unless one pass was asked for (or the
      // file holds nothing, which would loop forever).
      if (!this.repeat || !this.passYielded) return null;
      this.pass = null;
      this.passEnded = false;
      this.passYielded = false;
    }
  }
}

export class TFRecordDataset {
  readonly tfrecordDir: string;
  readonly resolution: number;
  readonly resolutionLog2: number;
  /** [C, H, W] at full resolution. */
  readonly shape: [number, number, number];
  readonly dtype = 'uint8';
  readonly dynamicRange: [number, number] = [0, 255];
  readonly labelSize: number;
  readonly labelDtype = 'float32';
  readonly labelFile: string | null;
  private readonly layout: DatasetLayout;
  private readonly labels: Float32Array;
  private readonly numLabelRows: number;
  private readonly opts: Required<Omit<TFRecordDatasetOptions, 'resolution' | 'labelFile' | 'rng'>>;
  private readonly rng: RandomState;
  private stream: LevelStream | null = null;
  private curMinibatch = -1;
  private curLod = -1;

  constructor(tfrecordDir: string, options: TFRecordDatasetOptions = {}) {
    this.tfrecordDir = tfrecordDir;
    this.opts = {
      maxLabelSize: options.maxLabelSize ?? 0,
      repeat: options.repeat ?? true,
      shuffleMb: options.shuffleMb ?? 4096,
      prefetchMb: options.prefetchMb ?? 2048,
      mirrorAugment: options.mirrorAugment ?? false,
      seed: options.seed ?? 0,
    };
    this.rng = options.rng ?? new RandomState(this.opts.seed);
    this.layout = openDatasetDir(tfrecordDir, { resolution: options.resolution });
    this.resolution = this.layout.resolution;
    this.resolutionLog2 = this.layout.resolutionLog2;
    this.shape = [this.layout.channels, this.resolution, this.resolution];

    const maxLabelSize = this.opts.maxLabelSize;
    if (!(maxLabelSize === 'full' || (Number.isInteger(maxLabelSize) && maxLabelSize >= 0))) {
      throw new UserError(`max_label_size must be 0, 'full' or a positive integer, got ${String(maxLabelSize)}`);
    }
    // As NVIDIA: an explicit label file that does not exist is looked up inside the dataset dir.
    let labelFile = options.labelFile ?? this.layout.labelFile;
    if (options.labelFile !== undefined && !fs.existsSync(options.labelFile) && fs.existsSync(path.join(tfrecordDir, options.labelFile))) {
      labelFile = path.join(tfrecordDir, options.labelFile);
    }
    this.labelFile = labelFile;
    let labels = new Float32Array(0);
    let size = 0;
    let rows = Infinity; // no labels: zero-width rows, as many as there are records
    if (this.labelFile !== null && maxLabelSize !== 0) {
      const arr = readNpy(this.labelFile);
      if (arr.shape.length !== 2) throw new UserError(`${this.labelFile}: labels must be 2-D [N, label_size], got (${arr.shape.join(', ')})`);
      const full = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as ArrayLike<number>, Number);
      rows = arr.shape[0]!;
      const fullSize = arr.shape[1]!;
      size = maxLabelSize === 'full' ? fullSize : Math.min(fullSize, maxLabelSize);
      labels = new Float32Array(rows * size);
      for (let i = 0; i < rows; i++) labels.set(full.subarray(i * fullSize, i * fullSize + size), i * size);
    }
    this.labels = labels;
    this.labelSize = size;
    this.numLabelRows = rows;
  }

  /** Number of levels: lod 0 … resolutionLog2 − 2. */
  get numLods(): number { return this.layout.levelFiles.length; }

  /** Uses `minibatchSize` and level floor(lod) for the following minibatches. */
  configure(minibatchSize: number, lod = 0): void {
    const l = Math.floor(lod);
    if (!(Number.isInteger(minibatchSize) && minibatchSize >= 1)) throw new UserError(`minibatch size must be a positive integer, got ${minibatchSize}`);
    if (!(l >= 0 && l < this.numLods)) throw new UserError(`lod ${lod} is outside 0..${this.numLods - 1} for resolution ${this.resolution}`);
    if (this.curMinibatch === minibatchSize && this.curLod === l && this.stream) return;
    void this.stream?.close();
    const res = this.resolution >> l;
    const bytesPerItem = this.shape[0] * res * res;
    // Read-ahead chunk: the prefetch window, capped so memory stays bounded (two chunks live).
    const readAhead = Math.min(Math.max(itemsPerBuffer(this.opts.prefetchMb, bytesPerItem) * bytesPerItem, 1 << 16), 16 << 20);
    this.stream = new LevelStream(this.layout.levelFiles[l]!, this.numLabelRows,
      itemsPerBuffer(this.opts.shuffleMb, bytesPerItem), this.opts.repeat, readAhead, this.rng);
    this.curMinibatch = minibatchSize;
    this.curLod = l;
  }

  /**
   * Next minibatch as uint8 NCHW and float32 labels. Without repeat, the last minibatch may be
   * short, and an exhausted dataset returns null (NVIDIA's OutOfRangeError).
   */
  async getMinibatchNp(minibatchSize?: number, lod?: number): Promise<MinibatchNp | null> {
    if (minibatchSize !== undefined) this.configure(minibatchSize, lod ?? 0);
    if (!this.stream) throw new Error('TFRecordDataset: call configure(minibatch, lod) first');
    const res = this.resolution >> this.curLod;
    const c = this.shape[0];
    const per = c * res * res;
    const items: Item[] = [];
    while (items.length < this.curMinibatch) {
      const it = await this.stream.next();
      if (!it) break;
      items.push(it);
    }
    if (items.length === 0) return null;
    const images = new Uint8Array(items.length * per);
    const labels = new Float32Array(items.length * this.labelSize);
    items.forEach((it, i) => {
      images.set(it.data, i * per);
      if (this.labelSize) labels.set(this.labels.subarray(it.label * this.labelSize, (it.label + 1) * this.labelSize), i * this.labelSize);
    });
    return { images, labels, shape: [items.length, c, res, res] };
  }

  /** Next minibatch as process_reals' input: float32 NCHW in [-1, 1] (mirrored if configured) and labels. */
  async getMinibatch(): Promise<{ images: tf.Tensor4D; labels: tf.Tensor2D } | null> {
    const mb = await this.getMinibatchNp();
    if (!mb) return null;
    const [n, c, h, w] = mb.shape;
    if (this.opts.mirrorAugment) {
      const per = c * h * w;
      for (let i = 0; i < n; i++) {
        if (this.rng.random_sample() < 0.5) mirrorInPlace(mb.images.subarray(i * per, (i + 1) * per), c, h, w);
      }
    }
    return {
      images: tf.tensor4d(uint8ToDynamicRange(mb.images), [n, c, h, w], 'float32'),
      labels: tf.tensor2d(mb.labels, [n, this.labelSize], 'float32'),
    };
  }

  /** Releases the open file. */
  async close(): Promise<void> {
    await this.stream?.close();
    this.stream = null;
    this.curLod = -1;
  }

  /** Label rows drawn uniformly (get_random_labels_np); zero-width without labels. */
  getRandomLabelsNp(minibatchSize: number): Float32Array {
    if (this.labelSize === 0) return new Float32Array(0);
    const out = new Float32Array(minibatchSize * this.labelSize);
    const rows = this.labels.length / this.labelSize;
    for (let i = 0; i < minibatchSize; i++) {
      const r = this.rng.randint(0, rows);
      out.set(this.labels.subarray(r * this.labelSize, (r + 1) * this.labelSize), i * this.labelSize);
    }
    return out;
  }

  getRandomLabels(minibatchSize: number): tf.Tensor2D {
    return tf.tensor2d(this.getRandomLabelsNp(minibatchSize), [minibatchSize, this.labelSize], 'float32');
  }
}
