// NumPy .npy files (format versions 1.0, 2.0 and 3.0), as np.save/np.load write and read them.
// NVIDIA stores dataset labels as `<name>-rxx.labels`, an np.save'd float32 [N, label_size].
//
// Layout: magic "\x93NUMPY", major, minor, header length (uint16 LE in v1, uint32 LE in v2/3),
// then a Python dict literal {'descr': '<f4', 'fortran_order': False, 'shape': (N, K), }
// padded with spaces and ending in '\n' so the data starts on a 64-byte boundary.

import * as fs from 'node:fs';
import { UserError } from './errors.ts';

export type NpyDtype = '<f4' | '<f8' | '|u1' | '|i1' | '<i2' | '<u2' | '<i4' | '<u4' | '<i8' | '<u8';

type NpyData = Float32Array | Float64Array | Uint8Array | Int8Array | Int16Array | Uint16Array | Int32Array | Uint32Array | BigInt64Array | BigUint64Array;

export interface NpyArray<T extends NpyData = NpyData> {
  dtype: NpyDtype;
  shape: number[];
  /** Row-major (C order) data. */
  data: T;
}

const DTYPES: Record<NpyDtype, { bytes: number; ctor: new (buf: ArrayBuffer, off: number, len: number) => NpyData }> = {
  '<f4': { bytes: 4, ctor: Float32Array },
  '<f8': { bytes: 8, ctor: Float64Array },
  '|u1': { bytes: 1, ctor: Uint8Array },
  '|i1': { bytes: 1, ctor: Int8Array },
  '<i2': { bytes: 2, ctor: Int16Array },
  '<u2': { bytes: 2, ctor: Uint16Array },
  '<i4': { bytes: 4, ctor: Int32Array },
  '<u4': { bytes: 4, ctor: Uint32Array },
  '<i8': { bytes: 8, ctor: BigInt64Array },
  '<u8': { bytes: 8, ctor: BigUint64Array },
};

function dtypeOf(data: NpyData): NpyDtype {
  if (data instanceof Float32Array) return '<f4';
  if (data instanceof Float64Array) return '<f8';
  if (data instanceof Uint8Array) return '|u1';
  if (data instanceof Int8Array) return '|i1';
  if (data instanceof Int16Array) return '<i2';
  if (data instanceof Uint16Array) return '<u2';
  if (data instanceof Int32Array) return '<i4';
  if (data instanceof Uint32Array) return '<u4';
  if (data instanceof BigInt64Array) return '<i8';
  return '<u8';
}

const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/** Encodes an array as np.save does (v1.0 unless the header needs more than 65535 bytes). */
export function encodeNpy(data: NpyData, shape: readonly number[]): Uint8Array {
  const count = shape.reduce((a, b) => a * b, 1);
  if (count !== data.length) throw new Error(`encodeNpy: shape [${shape}] needs ${count} values, got ${data.length}`);
  // numpy's repr of a tuple: (N,) for one dim, () for a scalar.
  const shapeText = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  const dict = `{'descr': '${dtypeOf(data)}', 'fortran_order': False, 'shape': ${shapeText}, }`;
  let version = 1;
  let prefix = 10;
  if (dict.length + 1 + prefix > 65535 + 10) { version = 2; prefix = 12; }
  const total = Math.ceil((prefix + dict.length + 1) / 64) * 64;
  const header = dict + ' '.repeat(total - prefix - dict.length - 1) + '\n';
  const out = new Uint8Array(total + data.byteLength);
  out.set(MAGIC, 0);
  out[6] = version;
  out[7] = 0;
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, header.length, true);
  else view.setUint32(8, header.length, true);
  out.set(Buffer.from(header, 'latin1'), prefix);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), total);
  return out;
}

/** Decodes .npy bytes; `name` goes into error messages. */
export function decodeNpy(bytes: Uint8Array, name = '<npy>'): NpyArray {
  const bad = (why: string) => new UserError(`${name}: not a readable .npy file (${why})`);
  if (bytes.length < 10 || !MAGIC.every((b, i) => bytes[i] === b)) throw bad('missing \\x93NUMPY magic');
  const major = bytes[6]!;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let headerLen: number;
  let start: number;
  if (major === 1) { headerLen = view.getUint16(8, true); start = 10; }
  else if (major === 2 || major === 3) {
    if (bytes.length < 12) throw bad('truncated header');
    headerLen = view.getUint32(8, true); start = 12;
  } else throw bad(`format version ${major}.${bytes[7]} is not supported`);
  if (start + headerLen > bytes.length) throw bad('truncated header');
  const header = Buffer.from(bytes.subarray(start, start + headerLen)).toString(major === 3 ? 'utf8' : 'latin1');
  const descr = /'descr'\s*:\s*'([^']*)'/.exec(header)?.[1];
  const fortran = /'fortran_order'\s*:\s*(True|False)/.exec(header)?.[1];
  const shapeText = /'shape'\s*:\s*\(([^)]*)\)/.exec(header)?.[1];
  if (descr === undefined || fortran === undefined || shapeText === undefined) throw bad(`cannot parse header ${JSON.stringify(header.trim())}`);
  // '=' and '<' mean little-endian on the machines we run on; '|' is byte-sized.
  const norm = descr.replace(/^=/, descr.endsWith('1') ? '|' : '<') as NpyDtype;
  const dt = DTYPES[norm];
  if (!dt) throw bad(`dtype '${descr}' is not supported`);
  if (fortran === 'True') throw bad('Fortran-order arrays are not supported');
  const shape = shapeText.split(',').map((s) => s.trim()).filter((s) => s !== '').map(Number);
  const count = shape.reduce((a, b) => a * b, 1);
  const dataStart = start + headerLen;
  if (bytes.length - dataStart < count * dt.bytes) throw bad(`data truncated: ${count} values of ${descr} need ${count * dt.bytes} bytes, found ${bytes.length - dataStart}`);
  // Copy into a fresh, aligned buffer (the data offset need not be aligned for 8-byte types).
  const copy = new Uint8Array(count * dt.bytes);
  copy.set(bytes.subarray(dataStart, dataStart + count * dt.bytes));
  return { dtype: norm, shape, data: new dt.ctor(copy.buffer, 0, count) };
}

export function readNpy(file: string): NpyArray {
  let bytes: Buffer;
  try {
    bytes = fs.readFileSync(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new UserError(`${file}: ${e.code === 'ENOENT' ? 'no such file' : `cannot read (${e.code ?? e.message})`}`);
  }
  return decodeNpy(bytes, file);
}
