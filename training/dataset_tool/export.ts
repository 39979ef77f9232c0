// Drives one dataset conversion: checks the output directory, chooses NVIDIA's order, decodes
// images with a bounded number in flight (so decoding runs on other cores while this thread
// computes levels and CRCs) while keeping output order, and commits every output file at once.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { withAtomicGroup } from '../../dnnlib/atomic.ts';
import { createProgress } from '../../dnnlib/progress.ts';
import { TFRecordExporter, chooseShuffledOrder, type Shape3 } from '../tfrecord_exporter.ts';

export interface LoadedImage {
  data: Uint8Array;
  shape: Shape3;
}

/** What an importer provides: N images addressable by index (source order) and optional labels. */
export interface ImageSource {
  numImages: number;
  /** Names image i in errors (a file path, or "train-images-idx3-ubyte.gz image 17"). */
  describe(i: number): string;
  /** Image i; null skips it (LSUN skips undecodable entries, as NVIDIA's tool). */
  load(i: number): Promise<LoadedImage | null> | LoadedImage | null;
  /** Float32 [numImages, size] in source order; permuted with the images. */
  labels?: { data: Float32Array; size: number };
}

export interface ExportOptions {
  /** NVIDIA's --shuffle: RandomState(123) order; otherwise source order. */
  shuffle: boolean;
  /** Images decoded ahead of the writer (2 = both cores busy on a 2-core machine). */
  inFlight?: number;
  /** Prints NVIDIA's progress lines; false for library use and tests. */
  verbose?: boolean;
  /** Stop once this many images have been added (create_lsun's --max_images). */
  maxImages?: number;
}

export interface ExportResult {
  numImages: number;
  shape: Shape3;
  files: string[];
}

const DATASET_FILE = /\.(tfrecords|labels)$/;

/**
 * Refuses a directory that already holds a dataset (mixing two would silently corrupt it) and
 * creates it if missing. Returns whether we created it, so a failed run can remove it again.
 */
export function prepareOutputDir(dir: string): boolean {
  let created = false;
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: exists and is not a directory`);
    const existing = fs.readdirSync(dir).filter((f) => DATASET_FILE.test(f)).sort();
    if (existing.length > 0) {
      throw new UserError(`${dir}: already holds a dataset (${existing[0]}${existing.length > 1 ? ` and ${existing.length - 1} more` : ''}); choose a new directory or remove it first`);
    }
  } else {
    try {
      fs.mkdirSync(dir, { recursive: true });
      created = true;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw new UserError(`${dir}: cannot create output directory (${e.code ?? e.message})`);
    }
  }
  try {
    fs.accessSync(dir, fs.constants.W_OK);
  } catch {
    throw new UserError(`${dir}: output directory is not writable`);
  }
  return created;
}

function removeIfEmpty(dir: string): void {
  try { if (fs.readdirSync(dir).length === 0) fs.rmdirSync(dir); } catch { /* best effort */ }
}

/** Converts `source` into NVIDIA's multi-resolution TFRecords in `tfrecordDir`. */
export async function exportDataset(tfrecordDir: string, source: ImageSource, opts: ExportOptions): Promise<ExportResult> {
  const verbose = opts.verbose ?? false;
  const n = source.numImages;
  if (n === 0) throw new UserError('no input images found');
  const created = prepareOutputDir(tfrecordDir);
  if (verbose) process.stdout.write(`Creating dataset "${tfrecordDir}"\n`);
  const order = opts.shuffle ? chooseShuffledOrder(n) : Int32Array.from({ length: n }, (_, i) => i);
  const inFlight = Math.max(1, opts.inFlight ?? 2);
  const files: string[] = [];
  try {
    const exporter = await withAtomicGroup(async (open) => {
      const ex = new TFRecordExporter(tfrecordDir, n, {
        open: (target) => { files.push(target); return open(target); },
      });
      const target = Math.min(n, opts.maxImages ?? n);
      const progress = createProgress({ total: target, label: 'Adding images', unit: 'img', silent: !verbose });
      const pending: Promise<LoadedImage | null>[] = [];
      let next = 0;
      const startNext = () => {
        if (next >= n) return;
        const idx = order[next++]!;
        const p = Promise.resolve().then(() => source.load(idx));
        p.catch(() => { /* reported when awaited in order */ });
        pending.push(p);
      };
      for (let k = 0; k < inFlight; k++) startNext();
      for (let i = 0; i < n && ex.curImages < target; i++) {
        const img = await pending.shift()!;
        startNext();
        if (img === null) continue;
        ex.addImage(img.data, img.shape, source.describe(order[i]!));
        progress.increment();
      }
      progress.stop();
      if (ex.curImages === 0) throw new UserError('no images could be added');
      if (source.labels) {
        if (ex.curImages !== n) throw new Error('exportDataset: labels with skipped images');
        const { data, size } = source.labels;
        const permuted = new Float32Array(n * size);
        for (let i = 0; i < n; i++) permuted.set(data.subarray(order[i]! * size, (order[i]! + 1) * size), i * size);
        if (verbose) process.stdout.write('Saving labels...\n');
        ex.addLabels(permuted, size);
      }
      if (verbose) process.stdout.write('Flushing data...\n');
      return ex;
    });
    if (verbose) process.stdout.write(`Added ${exporter.curImages} images.\n`);
    return { numImages: exporter.curImages, shape: exporter.imageShape!, files: files.map((f) => path.resolve(f)) };
  } catch (err) {
    if (created) removeIfEmpty(tfrecordDir);
    // Write errors on an open file carry no path (ENOSPC, EIO, EDQUOT…): name the output.
    const e = err as NodeJS.ErrnoException;
    if (!(err instanceof UserError) && typeof e?.code === 'string' && e.path === undefined && e.syscall !== undefined) {
      throw new UserError(`${tfrecordDir}: cannot write the dataset (${e.code}: ${e.message})`);
    }
    throw err;
  }
}
