// create_from_images <tfrecord_dir> <image_dir> [--shuffle 1]: every file directly in
// image_dir, in sorted name order (Python's sorted(glob('*'))), shuffled by RandomState(123)
// unless --shuffle 0. The first image fixes resolution and channels, as in NVIDIA's tool; the
// conversion flags (--resolution/--transform/--channels/--alpha) go beyond it for real folders.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { isPowerOfTwo } from '../tfrecord_exporter.ts';
import { exportDataset, type ExportResult } from './export.ts';
import { loadImage, probeImage, strictChannelProblem, type ConvertOptions } from './image_loader.ts';
import { num, str, type DatasetCommand } from './command.ts';

/** Files of `dir` as NVIDIA's glob('*') + sorted() sees them (no dotfiles; code-point order). */
export function listImageFiles(dir: string): string[] {
  let entries: fs.Dirent[];
  try {
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UserError(`${dir}: image directory does not exist`);
    if (e.code === 'ENOTDIR') throw new UserError(`${dir}: is not a directory`);
    throw new UserError(`${dir}: cannot list image directory (${e.code ?? e.message})`);
  }
  const names = entries.filter((e) => !e.name.startsWith('.'))
    .sort((a, b) => Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)));
  for (const e of names) {
    if (e.isDirectory()) throw new UserError(`${path.join(dir, e.name)}: is a directory; image_dir must hold only image files`);
  }
  return names.map((e) => path.join(dir, e.name));
}

export interface FromImagesOptions extends ConvertOptions {
  shuffle?: boolean;
  verbose?: boolean;
  inFlight?: number;
}

export async function createFromImages(tfrecordDir: string, imageDir: string, opts: FromImagesOptions = {}): Promise<ExportResult> {
  if (opts.verbose) process.stdout.write(`Loading images from "${imageDir}"\n`);
  const files = listImageFiles(imageDir);
  if (files.length === 0) throw new UserError(`${imageDir}: no input images found`);
  if (opts.resolution !== undefined && (!isPowerOfTwo(opts.resolution) || opts.resolution < 4)) {
    throw new UserError(`--resolution ${opts.resolution}: must be a power of two >= 4`);
  }
  const convert: ConvertOptions = { resolution: opts.resolution, transform: opts.transform, channels: opts.channels, alpha: opts.alpha };
  const first = await probeImage(files[0]!);
  if (opts.resolution === undefined) {
    // NVIDIA's checks on the first image, with the flag that would fix each.
    if (first.width !== first.height) {
      throw new UserError(`${files[0]}: ${first.width}x${first.height} is not square; input images must have the same width and height (or pass --resolution N --transform center-crop|pad|resize)`);
    }
    if (!isPowerOfTwo(first.width) || first.width < 4) {
      throw new UserError(`${files[0]}: resolution ${first.width} is not a power of two >= 4 (or pass --resolution N to resize)`);
    }
  }
  if (convert.channels === undefined && convert.alpha === undefined && convert.resolution === undefined) {
    const problem = strictChannelProblem(first);
    if (problem) throw new UserError(`${files[0]}: ${problem}`);
  }
  return exportDataset(tfrecordDir, {
    numImages: files.length,
    describe: (i) => files[i]!,
    async load(i) {
      const file = files[i]!;
      const info = await probeImage(file);
      if (opts.resolution === undefined && (info.width !== first.width || info.height !== first.height)) {
        throw new UserError(`${file}: ${info.width}x${info.height} differs from ${first.width}x${first.height} of ${files[0]}; all images must have the same size (or pass --resolution N)`);
      }
      return loadImage(file, convert, info);
    },
  }, { shuffle: opts.shuffle ?? true, verbose: opts.verbose, inFlight: opts.inFlight });
}

export const createFromImagesCommand: DatasetCommand = {
  command: 'create_from_images',
  describe: 'Create dataset from a directory full of images.',
  example: 'create_from_images datasets/mydataset myimagedir',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'image_dir', describe: 'Directory containing the images' },
  ],
  options: {
    shuffle: { type: 'number', default: 1, describe: 'Randomize image order (default: 1)' },
    resolution: { type: 'number', describe: 'Bring every image to N×N (power of two) with --transform; default: NVIDIA\'s strict check that all images are already the same power-of-two square' },
    transform: { type: 'string', choices: ['center-crop', 'pad', 'resize'], default: 'center-crop', describe: 'How --resolution treats non-square images: crop the centre square, pad with black, or stretch' },
    channels: { type: 'number', choices: [1, 3], describe: 'Convert every image to 8-bit grayscale (1) or RGB (3): also handles palette and 16-bit images' },
    alpha: { type: 'string', choices: ['drop', 'flatten'], describe: 'Images with an alpha channel: drop it, or composite onto white' },
  },
  async run(args) {
    await createFromImages(str(args, 'tfrecord_dir'), str(args, 'image_dir'), {
      shuffle: num(args, 'shuffle') !== 0,
      resolution: num(args, 'resolution'),
      transform: args.resolution === undefined ? undefined : (args.transform as ConvertOptions['transform']),
      channels: num(args, 'channels') as 1 | 3 | undefined,
      alpha: args.alpha as ConvertOptions['alpha'],
      verbose: true,
    });
  },
};
