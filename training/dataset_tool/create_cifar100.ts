// create_cifar100 <tfrecord_dir> <cifar100_dir>: the 'train' pickle of the Python version
// ('data' uint8 [N, 3072] CHW, 'fine_labels'), shuffled by RandomState(123), one-hot [N, 100].

import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { exportDataset, type ExportResult } from './export.ts';
import { dictGet, intLabels, loadPickleFile, oneHot, uint8Images } from './pickled_batches.ts';
import { str, type DatasetCommand } from './command.ts';

const PER_IMAGE = 3 * 32 * 32;

export async function createCifar100(tfrecordDir: string, cifar100Dir: string, opts: { verbose?: boolean } = {}): Promise<ExportResult> {
  if (opts.verbose) process.stdout.write(`Loading CIFAR-100 from "${cifar100Dir}"\n`);
  const file = path.join(cifar100Dir, 'train');
  const d = loadPickleFile(file);
  const img = uint8Images(dictGet(d, 'data', file), PER_IMAGE, file, 'data');
  const labels = intLabels(dictGet(d, 'fine_labels', file), file, 'fine_labels');
  if (labels.length !== img.count) throw new UserError(`${file}: ${labels.length} labels for ${img.count} images`);
  return exportDataset(tfrecordDir, {
    numImages: img.count,
    describe: (i) => `${file} image ${i}`,
    load: (i) => ({ data: img.data.subarray(i * PER_IMAGE, (i + 1) * PER_IMAGE), shape: [3, 32, 32] }),
    labels: { data: oneHot(labels, 100, file), size: 100 },
  }, { shuffle: true, verbose: opts.verbose });
}

export const createCifar100Command: DatasetCommand = {
  command: 'create_cifar100',
  describe: 'Create dataset for CIFAR-100.',
  example: 'create_cifar100 datasets/cifar100 ~/downloads/cifar100',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'cifar100_dir', describe: 'Directory containing CIFAR-100 (the train file)' },
  ],
  async run(args) {
    await createCifar100(str(args, 'tfrecord_dir'), str(args, 'cifar100_dir'), { verbose: true });
  },
};
