// extract <tfrecord_dir> <output_dir>: the full-resolution records in file order as
// output_dir/img%08d.png (grayscale for 1 channel, RGB otherwise), as NVIDIA's extract.

import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { UserError } from '../../dnnlib/errors.ts';
import { writeFileAtomic } from '../../dnnlib/atomic.ts';
import { openDatasetDir, readLevel } from './dataset_dir.ts';
import { str, type DatasetCommand } from './command.ts';

/** CHW uint8 → HWC, the layout image encoders take. */
export function chwToHwc(chw: Uint8Array, c: number, h: number, w: number): Uint8Array {
  if (c === 1) return chw;
  const out = new Uint8Array(chw.length);
  const plane = h * w;
  for (let p = 0; p < plane; p++) for (let ch = 0; ch < c; ch++) out[p * c + ch] = chw[ch * plane + p]!;
  return out;
}

export async function encodePng(hwc: Uint8Array, c: number, h: number, w: number): Promise<Buffer> {
  return sharp(hwc, { raw: { width: w, height: h, channels: c as 1 | 3 } })
    .toColourspace(c === 1 ? 'b-w' : 'srgb').png().toBuffer();
}

export async function extractDataset(dir: string, outputDir: string, opts: { verbose?: boolean } = {}): Promise<number> {
  const layout = openDatasetDir(dir);
  if (opts.verbose) process.stdout.write(`Loading dataset "${dir}"\nExtracting images to "${outputDir}"\n`);
  try {
    fs.mkdirSync(outputDir, { recursive: true });
  } catch (err) {
    throw new UserError(`${outputDir}: cannot create output directory (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  let idx = 0;
  for (const img of readLevel(layout.levelFiles[0]!)) {
    const [c, h, w] = img.shape;
    const png = await encodePng(chwToHwc(img.data, c, h, w), c, h, w);
    writeFileAtomic(path.join(outputDir, `img${String(idx).padStart(8, '0')}.png`), png);
    idx++;
    if (opts.verbose && idx % 10 === 0) process.stdout.write(`${idx}\r`);
  }
  if (opts.verbose) process.stdout.write(`Extracted ${idx} images.\n`);
  return idx;
}

export const extractCommand: DatasetCommand = {
  command: 'extract',
  describe: 'Extract images from dataset.',
  example: 'extract datasets/mnist mnist-images',
  positionals: [
    { name: 'tfrecord_dir', describe: 'Directory containing dataset' },
    { name: 'output_dir', describe: 'Directory to extract the images into' },
  ],
  async run(args) {
    await extractDataset(str(args, 'tfrecord_dir'), str(args, 'output_dir'), { verbose: true });
  },
};
