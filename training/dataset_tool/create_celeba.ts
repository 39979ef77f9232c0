// create_celeba <tfrecord_dir> <celeba_dir> [--cx 89 --cy 121]: the 202599 aligned CelebA PNGs
// (img_align_celeba_png/*.png, each 178×218 RGB), the 128×128 window centred on (cx, cy),
// shuffled by RandomState(123). No labels.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { exportDataset, type ExportResult } from './export.ts';
import { loadImage } from './image_loader.ts';
import { num, str, type DatasetCommand } from './command.ts';

export const CELEBA_IMAGES = 202599;

/** Rows cy-64..cy+64 and columns cx-64..cx+64 of a CHW image (numpy slicing semantics). */
export function cropWindow(chw: Uint8Array, c: number, h: number, w: number, cx: number, cy: number, size = 128): Uint8Array {
  const half = size / 2;
  if (cy - half < 0 || cy + half > h || cx - half < 0 || cx + half > w) {
    throw new UserError(`crop window ${size}x${size} at (cx ${cx}, cy ${cy}) does not fit in ${w}x${h}`);
  }
  const out = new Uint8Array(c * size * size);
  for (let ch = 0; ch < c; ch++) {
    for (let y = 0; y < size; y++) {
      const src = ch * h * w + (cy - half + y) * w + (cx - half);
      out.set(chw.subarray(src, src + size), (ch * size + y) * size);
    }
  }
  return out;
}

export async function createCeleba(tfrecordDir: string, celebaDir: string,
  opts: { cx?: number; cy?: number; expectedImages?: number; verbose?: boolean } = {}): Promise<ExportResult> {
  if (opts.verbose) process.stdout.write(`Loading CelebA from "${celebaDir}"\n`);
  const cx = opts.cx ?? 89, cy = opts.cy ?? 121;
  const dir = path.join(celebaDir, 'img_align_celeba_png');
  const files = fs.existsSync(dir)
    ? fs.readdirSync(dir).filter((f) => f.endsWith('.png') && !f.startsWith('.')).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b))).map((f) => path.join(dir, f))
    : [];
  const expected = opts.expectedImages ?? CELEBA_IMAGES;
  if (files.length !== expected) throw new UserError(`${dir}: expected to find ${expected} images, found ${files.length}`);
  return exportDataset(tfrecordDir, {
    numImages: files.length,
    describe: (i) => files[i]!,
    async load(i) {
      const img = await loadImage(files[i]!);
      const [c, h, w] = img.shape;
      if (c !== 3 || h !== 218 || w !== 178) throw new UserError(`${files[i]}: ${w}x${h} with ${c} channels; aligned CelebA images are 178x218 RGB`);
      return { data: cropWindow(img.data, c, h, w, cx, cy), shape: [3, 128, 128] };
    },
  }, { shuffle: true, verbose: opts.verbose });
}

export const createCelebaCommand: DatasetCommand = {
  command: 'create_celeba',
  describe: 'Create dataset for CelebA.',
  example: 'create_celeba datasets/celeba ~/downloads/celeba',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'celeba_dir', describe: 'Directory containing CelebA (img_align_celeba_png/)' },
  ],
  options: {
    cx: { type: 'number', default: 89, describe: 'Center X coordinate (default: 89)' },
    cy: { type: 'number', default: 121, describe: 'Center Y coordinate (default: 121)' },
  },
  async run(args) {
    await createCeleba(str(args, 'tfrecord_dir'), str(args, 'celeba_dir'), { cx: num(args, 'cx'), cy: num(args, 'cy'), verbose: true });
  },
};
