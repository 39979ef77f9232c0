// create_cifar10 <tfrecord_dir> <cifar10_dir>: data_batch_1..5 of the Python version
// (pickled dicts: 'data' uint8 [N, 3072] in CHW order, 'labels' list), shuffled by
// RandomState(123), one-hot labels [N, 10].

import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { exportDataset, type ExportResult } from './export.ts';
import { concat, dictGet, intLabels, loadPickleFile, oneHot, uint8Images } from './pickled_batches.ts';
import { str, type DatasetCommand } from './command.ts';

const PER_IMAGE = 3 * 32 * 32;

export async function createCifar10(tfrecordDir: string, cifar10Dir: string, opts: { verbose?: boolean } = {}): Promise<ExportResult> {
  if (opts.verbose) process.stdout.write(`Loading CIFAR-10 from "${cifar10Dir}"\n`);
  const images: Uint8Array[] = [];
  const labels: Int32Array[] = [];
  for (let batch = 1; batch <= 5; batch++) {
    const file = path.join(cifar10Dir, `data_batch_${batch}`);
    const d = loadPickleFile(file);
    const img = uint8Images(dictGet(d, 'data', file), PER_IMAGE, file, 'data');
    const lab = intLabels(dictGet(d, 'labels', file), file, 'labels');
    if (lab.length !== img.count) throw new UserError(`${file}: ${lab.length} labels for ${img.count} images`);
    images.push(img.data);
    labels.push(lab);
  }
  const data = concat(images);
  const allLabels = Int32Array.from(labels.flatMap((l) => Array.from(l)));
  return exportDataset(tfrecordDir, {
    numImages: allLabels.length,
    describe: (i) => `CIFAR-10 image ${i}`,
    load: (i) => ({ data: data.subarray(i * PER_IMAGE, (i + 1) * PER_IMAGE), shape: [3, 32, 32] }),
    labels: { data: oneHot(allLabels, 10, cifar10Dir), size: 10 },
  }, { shuffle: true, verbose: opts.verbose });
}

export const createCifar10Command: DatasetCommand = {
  command: 'create_cifar10',
  describe: 'Create dataset for CIFAR-10.',
  example: 'create_cifar10 datasets/cifar10 ~/downloads/cifar10',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'cifar10_dir', describe: 'Directory containing CIFAR-10 (data_batch_1 … data_batch_5)' },
  ],
  async run(args) {
    await createCifar10(str(args, 'tfrecord_dir'), str(args, 'cifar10_dir'), { verbose: true });
  },
};
