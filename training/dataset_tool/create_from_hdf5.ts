// create_from_hdf5 <tfrecord_dir> <hdf5_filename> [--shuffle 1]: ProGAN's legacy HDF5 archives
// (e.g. celeba-hq-1024x1024.h5 holding data4x4 … data1024x1024, each uint8 [N,C,H,W]). Takes the
// 'data*' dataset with the largest width, reads one image at a time (h5wasm, a WebAssembly
// build of libhdf5), shuffled by RandomState(123) unless --shuffle 0. If <name>-labels.npy sits
// beside the archive, its rows are permuted the same way and saved as labels.

import * as fs from 'node:fs';
import { UserError } from '../../dnnlib/errors.ts';
import { readNpy } from '../../dnnlib/npy.ts';
import { exportDataset, type ExportResult } from './export.ts';
import { num, str, type DatasetCommand } from './command.ts';

const SIGNATURE = Buffer.from([0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The HDF5 superblock signature sits at byte 0, 512, 1024, 2048, … (after a user block). */
function hasHdf5Signature(file: string): boolean {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const buf = Buffer.alloc(8);
    for (let off = 0; off + 8 <= size; off = off === 0 ? 512 : off * 2) {
      fs.readSync(fd, buf, 0, 8, off);
      if (buf.equals(SIGNATURE)) return true;
    }
    return false;
  } finally {
    fs.closeSync(fd);
  }
}

interface H5Dataset { shape: number[] | null; dtype: unknown; slice(ranges: [number, number][]): unknown }

export async function createFromHdf5(tfrecordDir: string, hdf5File: string, opts: { shuffle?: boolean; verbose?: boolean } = {}): Promise<ExportResult> {
  if (opts.verbose) process.stdout.write(`Loading HDF5 archive from "${hdf5File}"\n`);
  if (!fs.existsSync(hdf5File)) throw new UserError(`${hdf5File}: no such file`);
  if (!hasHdf5Signature(hdf5File)) throw new UserError(`${hdf5File}: not a readable HDF5 file (no HDF5 signature)`);
  const { default: h5wasm } = await import('h5wasm/node');
  await h5wasm.ready;
  let file: InstanceType<typeof h5wasm.File>;
  try {
    file = new h5wasm.File(hdf5File, 'r');
  } catch (err) {
    throw new UserError(`${hdf5File}: not a readable HDF5 file (${(err as Error).message ?? err})`);
  }
  try {
    let best: { key: string; ds: H5Dataset; shape: number[] } | null = null;
    for (const key of file.keys().filter((k) => k.startsWith('data'))) {
      const ds = file.get(key) as unknown as H5Dataset | null;
      const shape = ds?.shape;
      if (!ds || !shape || shape.length !== 4) continue;
      if (!best || shape[3]! > best.shape[3]!) best = { key, ds, shape };
    }
    if (!best) throw new UserError(`${hdf5File}: no 'data*' dataset of shape [N, C, H, W]`);
    const [n, c, h, w] = best.shape as [number, number, number, number];
    const { ds, key } = best;
    let labels: { data: Float32Array; size: number } | undefined;
    const npyFile = hdf5File.replace(/\.[^./]*$/, '') + '-labels.npy';
    if (fs.existsSync(npyFile)) {
      const arr = readNpy(npyFile);
      if (arr.shape.length !== 2 || arr.shape[0] !== n) throw new UserError(`${npyFile}: labels of shape (${arr.shape.join(', ')}), expected (${n}, label_size)`);
      labels = { data: Float32Array.from(arr.data as ArrayLike<number | bigint>, Number), size: arr.shape[1]! };
    }
    return await exportDataset(tfrecordDir, {
      numImages: n,
      describe: (i) => `${hdf5File} ${key}[${i}]`,
      load(i) {
        const v = ds.slice([[i, i + 1]]);
        if (!(v instanceof Uint8Array)) throw new UserError(`${hdf5File}: ${key} is not uint8`);
        return { data: v, shape: [c, h, w] };
      },
      labels,
    }, { shuffle: opts.shuffle ?? true, verbose: opts.verbose, inFlight: 1 });
  } finally {
    file.close();
  }
}

export const createFromHdf5Command: DatasetCommand = {
  command: 'create_from_hdf5',
  describe: 'Create dataset from legacy HDF5 archive.',
  example: 'create_from_hdf5 datasets/celebahq ~/downloads/celeba-hq-1024x1024.h5',
  positionals: [
    { name: 'tfrecord_dir', describe: 'New dataset directory to be created' },
    { name: 'hdf5_filename', describe: 'HDF5 archive containing the images' },
  ],
  options: {
    shuffle: { type: 'number', default: 1, describe: 'Randomize image order (default: 1)' },
  },
  async run(args) {
    await createFromHdf5(str(args, 'tfrecord_dir'), str(args, 'hdf5_filename'), { shuffle: num(args, 'shuffle') !== 0, verbose: true });
  },
};
