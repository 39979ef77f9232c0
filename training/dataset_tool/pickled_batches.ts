// Shared by the importers of datasets distributed as Python pickles (CIFAR-10, CIFAR-100,
// SVHN): load a pickle through the safe allow-listed reader (only numpy's array globals are
// accepted), pull out uint8 image arrays and integer labels, and make NVIDIA's one-hot labels.

import * as fs from 'node:fs';
import { UserError } from '../../dnnlib/errors.ts';
import { parsePickle, NdArray, NUMPY_GLOBALS } from '../../dnnlib/pickle.ts';

export function loadPickleFile(file: string): unknown {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`${file}: ${e.code === 'ENOENT' ? 'not found' : `cannot read (${e.code ?? e.message})`}`);
  }
  return parsePickle(bytes, { allowGlobals: NUMPY_GLOBALS, fileName: file, refusalNote: 'dataset pickles may only hold numpy arrays, lists and dicts' });
}

/** d[key] of a pickled dict (keys may be str or bytes). */
export function dictGet(d: unknown, key: string, file: string): unknown {
  if (!(d instanceof Map)) throw new UserError(`${file}: expected a pickled dict`);
  if (d.has(key)) return d.get(key);
  for (const [k, v] of d) {
    if (k instanceof Uint8Array && Buffer.from(k).toString('latin1') === key) return v;
  }
  throw new UserError(`${file}: the pickled dict has no '${key}' entry`);
}

/** A uint8 array of N images of `perImage` bytes each (any shape with that many bytes per row). */
export function uint8Images(x: unknown, perImage: number, file: string, what: string): { data: Uint8Array; count: number } {
  if (!(x instanceof NdArray) || x.data === null) throw new UserError(`${file}: '${what}' is not a numpy array`);
  if (x.dtype !== 'uint8') throw new UserError(`${file}: '${what}' has dtype ${x.dtype}, expected uint8`);
  const data = x.data as Uint8Array;
  if (x.shape.length < 1 || data.length !== x.shape[0]! * perImage) {
    throw new UserError(`${file}: '${what}' has shape (${x.shape.join(', ')}), expected N images of ${perImage} bytes`);
  }
  return { data, count: x.shape[0]! };
}

/** Integer labels from a Python list or a numpy integer array. */
export function intLabels(x: unknown, file: string, what: string): Int32Array {
  if (Array.isArray(x)) {
    return Int32Array.from(x, (v) => {
      const n = typeof v === 'bigint' ? Number(v) : v;
      if (typeof n !== 'number' || !Number.isInteger(n)) throw new UserError(`${file}: '${what}' holds a non-integer label`);
      return n;
    });
  }
  if (x instanceof NdArray && x.data !== null && /^u?int/.test(x.dtype)) {
    return Int32Array.from(x.data as ArrayLike<number | bigint>, (v) => Number(v));
  }
  throw new UserError(`${file}: '${what}' is neither a list nor an integer numpy array`);
}

/** NVIDIA's one-hot float32 labels [N, numClasses]; labels outside 0..numClasses-1 are named. */
export function oneHot(labels: Int32Array, numClasses: number, file: string): Float32Array {
  const out = new Float32Array(labels.length * numClasses);
  labels.forEach((l, i) => {
    if (l < 0 || l >= numClasses) throw new UserError(`${file}: label ${l} of image ${i} is outside 0..${numClasses - 1}`);
    out[i * numClasses + l] = 1;
  });
  return out;
}

/** Concatenates per-file arrays. */
export function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
}
