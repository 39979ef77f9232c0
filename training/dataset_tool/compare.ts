// compare <dir_a> <dir_b> [--ignore_labels 0]: walks the full-resolution records of both
// datasets in lockstep and reports differing images and labels, in NVIDIA's words.

import { openDatasetDir, readLabels, readLevel } from './dataset_dir.ts';
import { num, str, type DatasetCommand } from './command.ts';

export interface CompareResult {
  count: number;
  identicalImages: number;
  identicalLabels: number;
  sameCount: boolean;
  lines: string[];
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.compare(a, b) === 0;
}

export function compareDatasets(dirA: string, dirB: string, ignoreLabels: boolean): CompareResult {
  const a = openDatasetDir(dirA);
  const b = openDatasetDir(dirB);
  // Without a label file a dataset has zero-width labels (NVIDIA's dummy array).
  const labelsA = ignoreLabels ? null : readLabels(a);
  const labelsB = ignoreLabels ? null : readLabels(b);
  const row = (l: ReturnType<typeof readLabels>, i: number) =>
    l && i < l.count ? l.data.subarray(i * l.size, (i + 1) * l.size) : new Float32Array(0);
  const lines: string[] = [];
  const itA = readLevel(a.levelFiles[0]!);
  const itB = readLevel(b.levelFiles[0]!);
  let idx = 0, identicalImages = 0, identicalLabels = 0, sameCount = true;
  for (;;) {
    const ra = itA.next();
    const rb = itB.next();
    if (ra.done || rb.done) {
      if (!ra.done || !rb.done) { lines.push('Datasets contain different number of images'); sameCount = false; }
      break;
    }
    const imgA = ra.value, imgB = rb.value;
    if (imgA.shape.join() === imgB.shape.join() && sameBytes(imgA.data, imgB.data)) identicalImages++;
    else lines.push(`Image ${idx} is different`);
    const la = row(labelsA, idx), lb = row(labelsB, idx);
    if (la.length === lb.length && la.every((v, k) => v === lb[k])) identicalLabels++;
    else lines.push(`Label ${idx} is different`);
    idx++;
  }
  lines.push(`Identical images: ${identicalImages} / ${idx}`);
  if (!ignoreLabels) lines.push(`Identical labels: ${identicalLabels} / ${idx}`);
  return { count: idx, identicalImages, identicalLabels, sameCount, lines };
}

export const compareCommand: DatasetCommand = {
  command: 'compare',
  describe: 'Compare two datasets.',
  example: 'compare datasets/mydataset datasets/mnist',
  positionals: [
    { name: 'tfrecord_dir_a', describe: 'Directory containing first dataset' },
    { name: 'tfrecord_dir_b', describe: 'Directory containing second dataset' },
  ],
  options: {
    ignore_labels: { type: 'number', default: 0, describe: 'Ignore labels (default: 0)' },
  },
  async run(args) {
    const dirA = str(args, 'tfrecord_dir_a'), dirB = str(args, 'tfrecord_dir_b');
    process.stdout.write(`Loading dataset "${dirA}"\nLoading dataset "${dirB}"\nComparing datasets\n`);
    const result = compareDatasets(dirA, dirB, num(args, 'ignore_labels') !== 0);
    process.stdout.write(result.lines.join('\n') + '\n');
  },
};
