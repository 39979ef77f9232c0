// create_mnist <tfrecord_dir> <mnist_dir>: train-images-idx3-ubyte.gz + train-labels-idx1-ubyte.gz
// (MNIST or Fashion-MNIST), each 28×28 digit zero-padded to 32×32 ([1,32,32]), shuffled by
// RandomState(123), with one-hot float32 labels [N,10] saved in the same order.
// NVIDIA skips the idx headers by offset (16 and 8); we also check their magic numbers and
// counts so a wrong or truncated file is named instead of producing garbage.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { UserError } from '../../dnnlib/errors.ts';
import { exportDataset, type ExportResult } from './export.ts';
import { str, type DatasetCommand } from './command.ts';

function readGz(file: string): Buffer {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`${file}: ${e.code === 'ENOENT' ? 'not found' : `cannot read (${e.code ?? e.message})`}`);
  }
  try {
    return zlib.gunzipSync(raw);
  } catch (err) {
    throw new UserError(`${file}: not a readable gzip file (${(err as Error).message})`);
  }
}

/** Parses an idx file: magic 0x0000 08 <ndim>, big-endian dims, then uint8 data. */
export function parseIdx(bytes: Buffer, file: string, ndim: number): { dims: number[]; data: Uint8Array } {
  const headerBytes = 4 + 4 * ndim;
  if (bytes.length < headerBytes || bytes.readUInt16BE(0) !== 0 || bytes[2] !== 0x08 || bytes[3] !== ndim) {
    throw new UserError(`${file}: not an idx file of uint8 with ${ndim} dimension(s)`);
  }
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) dims.push(bytes.readUInt32BE(4 + 4 * d));
  const count = dims.reduce((a, b) => a * b, 1);
  if (bytes.length - headerBytes < count) throw new UserError(`${file}: truncated (${bytes.length - headerBytes} of ${count} data bytes)`);
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, count) };
}

/** The training digits, uint8 [N, 28, 28]. */
export function loadMnistImages(mnistDir: string): { data: Uint8Array; count: number; file: string } {
  const file = path.join(mnistDir, 'train-images-idx3-ubyte.gz');
  const images = parseIdx(readGz(file), file, 3);
  const [n, h, w] = images.dims as [number, number, number];
  if (h !== 28 || w !== 28) throw new UserError(`${file}: images are ${w}x${h}, MNIST's are 28x28`);
  return { data: images.data, count: n, file };
}

/** Zero-pads one 28×28 digit to 32×32 (2 pixels each side), as NVIDIA's np.pad. */
export function padDigit(src: Uint8Array, out = new Uint8Array(32 * 32), offset = 0): Uint8Array {
  for (let y = 0; y < 28; y++) out.set(src.subarray(y * 28, y * 28 + 28), offset + (y + 2) * 32 + 2);
  return out;
}

export async function createMnist(tfrecordDir: string, mnistDir: string, opts: { verbose?: boolean } = {}): Promise<ExportResult> {
  if (opts.verbose) process.stdout.write(`Loading MNIST from "${mnistDir}"\n`);
  const { data: imageData, count: n, file: imagesFile } = loadMnistImages(mnistDir);
  const labelsFile = path.join(mnistDir, 'train-labels-idx1-ubyte.gz');
  const labels = parseIdx(readGz(labelsFile), labelsFile, 1);
  if (labels.dims[0] !== n) throw new UserError(`${labelsFile}: ${labels.dims[0]} labels for ${n} images in ${imagesFile}`);
  const numClasses = 10;
  const onehot = new Float32Array(n * numClasses);
  for (let i = 0; i < n; i++) {
    const l = labels.data[i]!;
    if (l >= numClasses) throw new UserError(`${labelsFile}: label ${l} of image ${i} is outside 0..9`);
    onehot[i * numClasses + l] = 1;
  }
  return exportDataset(tfrecordDir, {
    numImages: n,
    describe: (i) => `${imagesFile} image ${i}`,
    load: (i) => ({ data: padDigit(imageData.subarray(i * 784, (i + 1) * 784)), shape: [1, 32, 32] }),
    labels: { data: onehot, size: numClasses },
  }, { shuffle: true, verbose: opts.verbose });
}

export const createMnistCommand: DatasetCommand = {
  command: 'create_mnist',
  describe: 'Create dataset for MNIST.',
  example: 'create_mnist datasets/mnist ~/downloads/mnist',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'mnist_dir', describe: 'Directory containing MNIST (train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz; Fashion-MNIST works too)' },
  ],
  async run(args) {
    await createMnist(str(args, 'tfrecord_dir'), str(args, 'mnist_dir'), { verbose: true });
  },
};
