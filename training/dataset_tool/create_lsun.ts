// create_lsun <tfrecord_dir> <lmdb_dir> [--resolution 256] [--max_images N]: one LSUN category
// (an LMDB of encoded images) in cursor order, no shuffle. Each image is centre-cropped to a
// square of side min(h, w) and resized to resolution² with a Lanczos filter (NVIDIA: PIL's
// ANTIALIAS; ours: libvips' lanczos3, equal to within a few levels). Entries that fail to decode
// are reported and skipped, as NVIDIA's tool does.

import * as fs from 'node:fs';
import sharp from 'sharp';
import { UserError } from '../../dnnlib/errors.ts';
import { isPowerOfTwo } from '../tfrecord_exporter.ts';
import { exportDataset, type ExportResult, type LoadedImage } from './export.ts';
import { hwcToChw } from './image_loader.ts';
import { num, str, type DatasetCommand } from './command.ts';

/** Centre square crop of side min(h, w), then Lanczos resize, as uint8 CHW RGB. */
export async function lsunImage(encoded: Uint8Array, resolution: number): Promise<Uint8Array> {
  // keepIccProfile: the stored numbers, as cv2.imdecode gives them (no colour management).
  const img = sharp(encoded, { failOn: 'warning' }).keepIccProfile();
  const m = await img.metadata();
  if (!m.width || !m.height) throw new Error('no image dimensions');
  const crop = Math.min(m.width, m.height);
  const { data, info } = await img
    .extract({ left: Math.floor((m.width - crop) / 2), top: Math.floor((m.height - crop) / 2), width: crop, height: crop })
    .removeAlpha().toColourspace('srgb')
    .resize(resolution, resolution, { kernel: 'lanczos3', fit: 'fill' })
    .raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 3) throw new Error(`${info.channels} channels after conversion`);
  return hwcToChw(data, resolution, resolution, 3);
}

export interface LmdbImportOptions {
  maxImages?: number;
  verbose?: boolean;
  /** Where skipped entries are reported (stderr by default). */
  warn?: (line: string) => void;
}

/**
 * Exports the entries of an LMDB in cursor order through `convert` (encoded bytes → image, or
 * null to skip quietly); entries whose conversion throws are reported and skipped, as NVIDIA's
 * LSUN importers do. Shared by create_lsun and create_lsun_wide.
 */
export async function exportLmdb(tfrecordDir: string, lmdbDir: string, convert: (encoded: Uint8Array) => Promise<LoadedImage | null>,
  opts: LmdbImportOptions = {}): Promise<ExportResult> {
  if (!fs.existsSync(lmdbDir) || !fs.statSync(lmdbDir).isDirectory()) throw new UserError(`${lmdbDir}: LMDB directory does not exist`);
  const { open } = await import('lmdb');
  let db: ReturnType<typeof open>;
  try {
    db = open({ path: lmdbDir, readOnly: true, encoding: 'binary', keyEncoding: 'binary', noSubdir: false });
  } catch (err) {
    throw new UserError(`${lmdbDir}: not a readable LMDB database (${(err as Error).message})`);
  }
  const warn = opts.warn ?? ((line: string) => process.stderr.write(line + '\n'));
  try {
    const total = (db.getStats() as { entryCount: number }).entryCount;
    const cursor = db.getRange()[Symbol.iterator]();
    // Entries are pulled in cursor order; exportDataset loads in index order when not shuffling.
    const keys: string[] = [];
    return await exportDataset(tfrecordDir, {
      numImages: total,
      describe: (i) => `${lmdbDir} entry ${i} (key ${keys[i] ?? '?'})`,
      async load(i) {
        const r = cursor.next();
        if (r.done) return null;
        const key = Buffer.from(r.value.key as Uint8Array).toString('latin1');
        keys[i] = key;
        try {
          return await convert(r.value.value as Uint8Array);
        } catch (err) {
          warn(`warning: ${lmdbDir} entry ${i} (key ${key}): ${String((err as Error).message ?? err).split('\n')[0]}; skipped`);
          return null;
        }
      },
    }, { shuffle: false, verbose: opts.verbose, maxImages: opts.maxImages });
  } finally {
    await db.close();
  }
}

export async function createLsun(tfrecordDir: string, lmdbDir: string, opts: LmdbImportOptions & { resolution?: number } = {}): Promise<ExportResult> {
  const resolution = opts.resolution ?? 256;
  if (!isPowerOfTwo(resolution) || resolution < 4) throw new UserError(`--resolution ${resolution}: must be a power of two >= 4`);
  if (opts.verbose) process.stdout.write(`Loading LSUN dataset from "${lmdbDir}"\n`);
  return exportLmdb(tfrecordDir, lmdbDir, async (bytes) => ({ data: await lsunImage(bytes, resolution), shape: [3, resolution, resolution] }), opts);
}

export const createLsunCommand: DatasetCommand = {
  command: 'create_lsun',
  describe: 'Create dataset for single LSUN category.',
  example: 'create_lsun datasets/lsun-car-100k ~/downloads/lsun/car_lmdb --resolution 256 --max_images 100000',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'lmdb_dir', describe: 'Directory containing LMDB database' },
  ],
  options: {
    resolution: { type: 'number', default: 256, describe: 'Output resolution (default: 256)' },
    max_images: { type: 'number', describe: 'Maximum number of images (default: none)' },
  },
  async run(args) {
    await createLsun(str(args, 'tfrecord_dir'), str(args, 'lmdb_dir'), { resolution: num(args, 'resolution'), maxImages: num(args, 'max_images'), verbose: true });
  },
};
