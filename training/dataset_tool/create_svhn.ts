// create_svhn <tfrecord_dir> <svhn_dir>: train_1.pkl … train_3.pkl, each a pickled (images,
// labels) pair of numpy arrays (uint8 [N,3,32,32], uint8 [N]), shuffled by RandomState(123),
// one-hot labels [N, 10].

import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { exportDataset, type ExportResult } from './export.ts';
import { concat, intLabels, loadPickleFile, oneHot, uint8Images } from './pickled_batches.ts';
import { str, type DatasetCommand } from './command.ts';

const PER_IMAGE = 3 * 32 * 32;

export async function createSvhn(tfrecordDir: string, svhnDir: string, opts: { verbose?: boolean } = {}): Promise<ExportResult> {
  if (opts.verbose) process.stdout.write(`Loading SVHN from "${svhnDir}"\n`);
  const images: Uint8Array[] = [];
  const labels: number[] = [];
  for (let batch = 1; batch <= 3; batch++) {
    const file = path.join(svhnDir, `train_${batch}.pkl`);
    const pair = loadPickleFile(file);
    if (!Array.isArray(pair) || pair.length !== 2) throw new UserError(`${file}: expected a pickled (images, labels) pair`);
    const img = uint8Images(pair[0], PER_IMAGE, file, 'images');
    const lab = intLabels(pair[1], file, 'labels');
    if (lab.length !== img.count) throw new UserError(`${file}: ${lab.length} labels for ${img.count} images`);
    images.push(img.data);
    labels.push(...lab);
  }
  const data = concat(images);
  return exportDataset(tfrecordDir, {
    numImages: labels.length,
    describe: (i) => `SVHN image ${i}`,
    load: (i) => ({ data: data.subarray(i * PER_IMAGE, (i + 1) * PER_IMAGE), shape: [3, 32, 32] }),
    labels: { data: oneHot(Int32Array.from(labels), 10, svhnDir), size: 10 },
  }, { shuffle: true, verbose: opts.verbose });
}

export const createSvhnCommand: DatasetCommand = {
  command: 'create_svhn',
  describe: 'Create dataset for SVHN.',
  example: 'create_svhn datasets/svhn ~/downloads/svhn',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'svhn_dir', describe: 'Directory containing SVHN (train_1.pkl … train_3.pkl)' },
  ],
  async run(args) {
    await createSvhn(str(args, 'tfrecord_dir'), str(args, 'svhn_dir'), { verbose: true });
  },
};
