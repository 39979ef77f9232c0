// create_lsun_wide <tfrecord_dir> <lmdb_dir> [--width 512 --height 384 --max_images N]: LSUN
// with a non-square aspect ratio, letterboxed into square records. As NVIDIA's: ch =
// round(width·h/w); images with w < width or ch < height are skipped; rows (h−ch)//2 … (h+ch)//2
// of the *original* image are kept (ch is in output units but applied to input rows — NVIDIA's
// quirk, kept so datasets match), resized to width×height (Lanczos), and pasted vertically
// centred into a black width×width canvas. Cursor order, no shuffle.

import sharp from 'sharp';
import { UserError } from '../../dnnlib/errors.ts';
import { isPowerOfTwo } from '../tfrecord_exporter.ts';
import type { ExportResult, LoadedImage } from './export.ts';
import { hwcToChw } from './image_loader.ts';
import { exportLmdb, type LmdbImportOptions } from './create_lsun.ts';
import { num, str, type DatasetCommand } from './command.ts';

/** np.round: half to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return r - x === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

export async function lsunWideImage(encoded: Uint8Array, width: number, height: number): Promise<LoadedImage | null> {
  const img = sharp(encoded, { failOn: 'warning' }).keepIccProfile(); // stored numbers, as cv2
  const m = await img.metadata();
  if (!m.width || !m.height) throw new Error('no image dimensions');
  const ch = roundHalfEven((width * m.height) / m.width);
  if (m.width < width || ch < height) return null;
  const top = Math.floor((m.height - ch) / 2);
  const bottom = Math.floor((m.height + ch) / 2);
  const { data } = await img
    .extract({ left: 0, top, width: m.width, height: bottom - top })
    .removeAlpha().toColourspace('srgb')
    .resize(width, height, { kernel: 'lanczos3', fit: 'fill' })
    .raw().toBuffer({ resolveWithObject: true });
  const chw = hwcToChw(data, height, width, 3);
  const canvas = new Uint8Array(3 * width * width);
  const y0 = Math.floor((width - height) / 2);
  for (let c = 0; c < 3; c++) canvas.set(chw.subarray(c * height * width, (c + 1) * height * width), (c * width + y0) * width);
  return { data: canvas, shape: [3, width, width] };
}

export async function createLsunWide(tfrecordDir: string, lmdbDir: string, opts: LmdbImportOptions & { width?: number; height?: number } = {}): Promise<ExportResult> {
  const width = opts.width ?? 512, height = opts.height ?? 384;
  if (!isPowerOfTwo(width) || width < 4) throw new UserError(`--width ${width}: must be a power of two >= 4`);
  if (!(Number.isInteger(height) && height >= 1 && height <= width)) throw new UserError(`--height ${height}: must be between 1 and --width ${width}`);
  if (opts.verbose) process.stdout.write(`Loading LSUN dataset from "${lmdbDir}"\n`);
  return exportLmdb(tfrecordDir, lmdbDir, (bytes) => lsunWideImage(bytes, width, height), opts);
}

export const createLsunWideCommand: DatasetCommand = {
  command: 'create_lsun_wide',
  describe: 'Create LSUN dataset with non-square aspect ratio.',
  example: 'create_lsun_wide datasets/lsun-car-512x384 ~/downloads/lsun/car_lmdb --width 512 --height 384',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'lmdb_dir', describe: 'Directory containing LMDB database' },
  ],
  options: {
    width: { type: 'number', default: 512, describe: 'Output width (default: 512)' },
    height: { type: 'number', default: 384, describe: 'Output height (default: 384)' },
    max_images: { type: 'number', describe: 'Maximum number of images (default: none)' },
  },
  async run(args) {
    await createLsunWide(str(args, 'tfrecord_dir'), str(args, 'lmdb_dir'), {
      width: num(args, 'width'), height: num(args, 'height'), maxImages: num(args, 'max_images'), verbose: true,
    });
  },
};
