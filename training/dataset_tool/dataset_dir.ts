// Finds the levels of a multi-resolution TFRecord dataset directory, with the checks of
// NVIDIA's TFRecordDataset constructor (same channels, square, one file per lod, every lod
// present), but without TensorFlow: the tools (info/extract/compare/grid) and the training
// reader share it.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { readTFRecords } from '../../dnnlib/tfrecord.ts';
import { decodeImageExample, type ImageExample } from '../../dnnlib/example_proto.ts';
import { readNpy } from '../../dnnlib/npy.ts';
import { isPowerOfTwo } from '../tfrecord_exporter.ts';

export interface DatasetLayout {
  dir: string;
  /** Full resolution in use (the autodetected maximum, or the override). */
  resolution: number;
  resolutionLog2: number;
  channels: number;
  /** levelFiles[lod] = file holding resolution / 2^lod; lod 0 .. log2(res) - 2. */
  levelFiles: string[];
  /** First *.labels file in sorted order, if any (NVIDIA's autodetect). */
  labelFile: string | null;
}

function sortedGlob(dir: string, ext: string): string[] {
  return fs.readdirSync(dir).filter((f) => f.endsWith(ext) && !f.startsWith('.'))
    .sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    .map((f) => path.join(dir, f));
}

/** The shape of the first record of a file. */
export function firstRecordShape(file: string): [number, number, number] {
  for (const rec of readTFRecords(file)) {
    return decodeImageExample(rec.payload, `${file} record 0 at byte offset ${rec.offset}`).shape;
  }
  throw new UserError(`${file}: holds no records`);
}

/**
 * Scans `dir`. `resolution` overrides the autodetected maximum; files of higher resolution
 * (negative lod) are ignored, which is how a 1024² dataset trains a 512² network.
 */
export function openDatasetDir(dir: string, opts: { resolution?: number } = {}): DatasetLayout {
  if (!fs.existsSync(dir)) throw new UserError(`${dir}: dataset directory does not exist`);
  if (!fs.statSync(dir).isDirectory()) throw new UserError(`${dir}: is not a directory`);
  const files = sortedGlob(dir, '.tfrecords');
  if (files.length === 0) throw new UserError(`${dir}: no *.tfrecords files found`);
  const shapes = files.map((f) => ({ file: f, shape: firstRecordShape(f) }));
  const maxShape = shapes.reduce((a, b) => (b.shape[1] > a.shape[1] ? b : a)).shape;
  const resolution = opts.resolution ?? maxShape[1];
  if (!isPowerOfTwo(resolution) || resolution < 4) throw new UserError(`resolution ${resolution}: must be a power of two >= 4`);
  const resolutionLog2 = Math.log2(resolution);
  const channels = maxShape[0];
  const levelFiles: string[] = [];
  for (const { file, shape } of shapes) {
    if (shape[0] !== channels) throw new UserError(`${file}: ${shape[0]} channels, other levels have ${channels}`);
    if (shape[1] !== shape[2]) throw new UserError(`${file}: records are ${shape[2]}x${shape[1]}, not square`);
    const lod = resolutionLog2 - Math.log2(shape[1]);
    if (!Number.isInteger(lod)) throw new UserError(`${file}: resolution ${shape[1]} is not a power of two`);
    if (lod < 0) continue;
    if (levelFiles[lod] !== undefined) throw new UserError(`${file}: resolution ${shape[1]} also in ${levelFiles[lod]}`);
    levelFiles[lod] = file;
  }
  for (let lod = 0; lod <= resolutionLog2 - 2; lod++) {
    if (levelFiles[lod] === undefined) {
      throw new UserError(`${dir}: no .tfrecords file of resolution ${resolution >> lod} (lod ${lod}); every level from ${resolution} down to 4 must be present`);
    }
  }
  levelFiles.length = resolutionLog2 - 1;
  const labels = sortedGlob(dir, '.labels');
  return { dir, resolution, resolutionLog2, channels, levelFiles, labelFile: labels[0] ?? null };
}

/** Images of one level in file order, CRC-checked. */
export function* readLevel(file: string): Generator<ImageExample & { index: number }> {
  for (const rec of readTFRecords(file)) {
    yield { ...decodeImageExample(rec.payload, `${file} record ${rec.index} at byte offset ${rec.offset}`), index: rec.index };
  }
}

/** Labels [N, size] (float32), or null when the dataset has none. */
export function readLabels(layout: DatasetLayout): { data: Float32Array; size: number; count: number } | null {
  if (!layout.labelFile) return null;
  const arr = readNpy(layout.labelFile);
  if (arr.shape.length !== 2) throw new UserError(`${layout.labelFile}: labels must be a 2-D array [N, label_size], got shape (${arr.shape.join(', ')})`);
  const data = arr.data instanceof Float32Array ? arr.data : Float32Array.from(arr.data as ArrayLike<number>, Number);
  return { data, size: arr.shape[1]!, count: arr.shape[0]! };
}
