// create_mnistrgb <tfrecord_dir> <mnist_dir> [--num_images 1000000] [--random_seed 123]: each
// image stacks three MNIST digits, drawn with RandomState(random_seed).randint(N, size=3), as its
// R, G and B planes ([3,32,32]). No labels and no extra shuffle, as NVIDIA's.

import { UserError } from '../../dnnlib/errors.ts';
import { RandomState } from '../../dnnlib/random.ts';
import { exportDataset, type ExportResult } from './export.ts';
import { loadMnistImages, padDigit } from './create_mnist.ts';
import { num, str, type DatasetCommand } from './command.ts';

export async function createMnistRgb(tfrecordDir: string, mnistDir: string, opts: { numImages?: number; randomSeed?: number; verbose?: boolean } = {}): Promise<ExportResult> {
  if (opts.verbose) process.stdout.write(`Loading MNIST from "${mnistDir}"\n`);
  const numImages = opts.numImages ?? 1000000;
  if (!(Number.isInteger(numImages) && numImages >= 1)) throw new UserError(`--num_images ${numImages}: must be a positive integer`);
  const digits = loadMnistImages(mnistDir);
  const rnd = new RandomState(opts.randomSeed ?? 123);
  // Draws happen in image order, so they must be made in order as images are requested.
  return exportDataset(tfrecordDir, {
    numImages,
    describe: (i) => `MNIST-RGB image ${i}`,
    load() {
      const pick = rnd.randint(digits.count, undefined, 3);
      const out = new Uint8Array(3 * 32 * 32);
      for (let c = 0; c < 3; c++) padDigit(digits.data.subarray(pick[c]! * 784, (pick[c]! + 1) * 784), out, c * 1024);
      return { data: out, shape: [3, 32, 32] };
    },
  }, { shuffle: false, verbose: opts.verbose });
}

export const createMnistRgbCommand: DatasetCommand = {
  command: 'create_mnistrgb',
  describe: 'Create dataset for MNIST-RGB.',
  example: 'create_mnistrgb datasets/mnistrgb ~/downloads/mnist',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'mnist_dir', describe: 'Directory containing MNIST' },
  ],
  options: {
    num_images: { type: 'number', default: 1000000, describe: 'Number of composite images to create (default: 1000000)' },
    random_seed: { type: 'number', default: 123, describe: 'Random seed (default: 123)' },
  },
  async run(args) {
    await createMnistRgb(str(args, 'tfrecord_dir'), str(args, 'mnist_dir'), { numImages: num(args, 'num_images'), randomSeed: num(args, 'random_seed'), verbose: true });
  },
};
