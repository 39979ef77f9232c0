// grid <tfrecord_dir> <out.png>: the first images of the dataset tiled into one PNG. Replaces
// NVIDIA's `display` (an OpenCV window), since training servers have no display.

import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { writeFileAtomic } from '../../dnnlib/atomic.ts';
import { openDatasetDir, readLevel } from './dataset_dir.ts';
import { chwToHwc, encodePng } from './extract.ts';
import { create_image_grid } from '../misc.ts';
import { num, str, type DatasetCommand } from './command.ts';

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
  // One grid layout for the project: NVIDIA's create_image_grid (row-major, zeros where the last row is short).
  const c = layout.channels, res = layout.resolution, n = images.length;
  const batch = new Uint8Array(n * c * res * res);
  images.forEach((chw, k) => batch.set(chw, k * c * res * res));
  const cols = opts.cols ?? Math.ceil(Math.sqrt(n));
  const grid = create_image_grid(batch, [n, c, res, res], [cols, Math.ceil(n / cols)]);
  const [height, width] = grid.shape.slice(-2) as [number, number];
  writeFileAtomic(outFile, await encodePng(chwToHwc(grid.data, c, height, width), c, height, width));
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
