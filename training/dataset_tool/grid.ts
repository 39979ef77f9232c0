// grid <tfrecord_dir> <out.png>: the first images of the dataset tiled into one PNG. Replaces
// NVIDIA's `display` (an OpenCV window), since training servers have no display.

import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { writeFileAtomic } from '../../dnnlib/atomic.ts';
import { openDatasetDir, readLevel } from './dataset_dir.ts';
import { chwToHwc, encodePng } from './extract.ts';
import { num, str, type DatasetCommand } from './command.ts';

/** Tiles CHW images into one HWC canvas of `cols` columns (black where the last row is short). */
export function tileImages(images: Uint8Array[], c: number, res: number, cols: number): { hwc: Uint8Array; width: number; height: number } {
  const rows = Math.ceil(images.length / cols);
  const width = cols * res, height = rows * res;
  const hwc = new Uint8Array(width * height * c);
  images.forEach((chw, k) => {
    const img = chwToHwc(chw, c, res, res);
    const x0 = (k % cols) * res, y0 = Math.floor(k / cols) * res;
    for (let y = 0; y < res; y++) {
      hwc.set(img.subarray(y * res * c, (y + 1) * res * c), ((y0 + y) * width + x0) * c);
    }
  });
  return { hwc, width, height };
}

export async function writeGrid(dir: string, outFile: string, opts: { count?: number; cols?: number } = {}): Promise<number> {
  const count = opts.count ?? 64;
  if (!(count >= 1)) throw new UserError(`--count ${count}: must be at least 1`);
  if (path.extname(outFile).toLowerCase() !== '.png') throw new UserError(`${outFile}: the grid is written as PNG; use a .png file name`);
  const layout = openDatasetDir(dir);
  const images: Uint8Array[] = [];
  for (const img of readLevel(layout.levelFiles[0]!)) {
    images.push(img.data);
    if (images.length >= count) break;
  }
  const cols = opts.cols ?? Math.ceil(Math.sqrt(images.length));
  const { hwc, width, height } = tileImages(images, layout.channels, layout.resolution, cols);
  writeFileAtomic(outFile, await encodePng(hwc, layout.channels, height, width));
  return images.length;
}

export const gridCommand: DatasetCommand = {
  command: 'grid',
  describe: 'Save the first images of a dataset as one PNG grid (replaces NVIDIA\'s display).',
  example: 'grid datasets/mnist mnist-grid.png --count 100',
  positionals: [
    { name: 'tfrecord_dir', describe: 'Directory containing dataset' },
    { name: 'out_png', describe: 'PNG file to write' },
  ],
  options: {
    count: { type: 'number', default: 64, describe: 'Number of images (default: 64)' },
    cols: { type: 'number', describe: 'Images per row (default: square grid)' },
  },
  async run(args) {
    const out = str(args, 'out_png');
    const n = await writeGrid(str(args, 'tfrecord_dir'), out, { count: num(args, 'count'), cols: num(args, 'cols') });
    process.stdout.write(`Wrote a grid of ${n} images to "${out}"\n`);
  },
};
