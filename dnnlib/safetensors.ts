// The safetensors format (huggingface/safetensors), so any Python user can open our files with
// `safetensors.numpy.load_file`: an 8-byte little-endian header length N, N bytes of UTF-8 JSON
// `{"__metadata__": {str: str}, name: {"dtype", "shape", "data_offsets": [begin, end]}, ...}` padded
// with spaces to a multiple of 8, then the tensors' bytes, little-endian, C order, packed without gaps.
// Offsets are relative to the end of the header. No npm package for it is in the registry list we
// can use, and the format is small.
//
// Like the reference writer, tensors are stored largest element size first (then by name), so with
// the 8-byte header padding every tensor is aligned to its element size and a reader can use views.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors.ts';
import { createAtomicWriteStream } from './atomic.ts';

export type SafeDType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** F16/BF16 data are raw 16-bit patterns (Uint16Array); BOOL is one byte per element. */
export type SafeData =
  | Float64Array | Float32Array | Uint16Array | BigInt64Array | Int32Array | Int16Array | Int8Array
  | BigUint64Array | Uint32Array | Uint8Array;

export interface SafeTensor {
  dtype: SafeDType;
  shape: number[];
  data: SafeData;
}

export interface SafetensorsFile {
  /** In file (data) order. */
  tensors: Map<string, SafeTensor>;
  metadata: Record<string, string>;
}

const SIZE: Record<SafeDType, number> = {
  F64: 8, F32: 4, F16: 2, BF16: 2, I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1,
};

const CTOR: Record<SafeDType, new (b: ArrayBuffer, off: number, n: number) => SafeData> = {
  F64: Float64Array, F32: Float32Array, F16: Uint16Array, BF16: Uint16Array, I64: BigInt64Array, I32: Int32Array,
  I16: Int16Array, I8: Int8Array, U64: BigUint64Array, U32: Uint32Array, U16: Uint16Array, U8: Uint8Array, BOOL: Uint8Array,
};

/** The reference implementation's limit on the header size. */
const MAX_HEADER = 100_000_000;

const numel = (shape: number[]) => shape.reduce((a, b) => a * b, 1);

function bytesOf(d: SafeData): Uint8Array {
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** Builds the padded header for `tensors` in storage order; also returns that order. */
export function encodeHeader(tensors: Iterable<[string, SafeTensor]>, metadata: Record<string, string> = {}): { header: Uint8Array; order: [string, SafeTensor][] } {
  const order = [...tensors].sort(([an, a], [bn, b]) => SIZE[b.dtype] - SIZE[a.dtype] || (an < bn ? -1 : an > bn ? 1 : 0));
  const json: Record<string, unknown> = {};
  if (Object.keys(metadata).length) {
    for (const [k, v] of Object.entries(metadata)) {
      if (typeof v !== 'string') throw new Error(`safetensors metadata '${k}' must be a string`);
    }
    json.__metadata__ = metadata;
  }
  let offset = 0;
  for (const [name, t] of order) {
    if (name === '__metadata__') throw new Error('a tensor may not be called __metadata__');
    const n = numel(t.shape);
    if (t.data.length !== n) throw new Error(`tensor '${name}': ${t.data.length} values for shape [${t.shape.join(',')}]`);
    if (SIZE[t.dtype] !== t.data.BYTES_PER_ELEMENT) throw new Error(`tensor '${name}': ${t.dtype} data in a ${t.data.constructor.name}`);
    const end = offset + n * SIZE[t.dtype];
    json[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, end] };
    offset = end;
  }
  const text = Buffer.from(JSON.stringify(json), 'utf8');
  const padded = Math.ceil(text.length / 8) * 8;
  const header = Buffer.alloc(8 + padded, 0x20); // spaces: valid JSON whitespace
  header.writeBigUInt64LE(BigInt(padded), 0);
  text.copy(header, 8);
  return { header, order };
}

/** Writes a .safetensors file atomically, streaming each tensor's bytes (no whole-file copy). */
export function writeSafetensors(target: string, tensors: Iterable<[string, SafeTensor]>, metadata: Record<string, string> = {}): void {
  const { header, order } = encodeHeader(tensors, metadata);
  const w = createAtomicWriteStream(target);
  try {
    w.write(header);
    for (const [, t] of order) w.write(bytesOf(t.data));
    w.commit();
  } catch (err) {
    w.abort();
    throw err;
  }
}

/** Serializes to one buffer (small files, tests). */
export function encodeSafetensors(tensors: Iterable<[string, SafeTensor]>, metadata: Record<string, string> = {}): Uint8Array {
  const { header, order } = encodeHeader(tensors, metadata);
  return Buffer.concat([header, ...order.map(([, t]) => bytesOf(t.data))]);
}

/**
 * Reads a safetensors file (path or bytes), checking everything the reference reader checks: header
 * length within the file, valid JSON, known dtypes, offsets contiguous from 0 to the end of the file,
 * and each byte range matching dtype × shape. Tensors are views of the file bytes when aligned,
 * copies otherwise (e.g. files from writers that do not pad the header).
 */
export function readSafetensors(source: string | Uint8Array, fileName?: string): SafetensorsFile {
  const file = fileName ?? (typeof source === 'string' ? path.basename(source) : 'safetensors');
  const bytes = typeof source === 'string' ? fs.readFileSync(source) : source;
  const fail = (msg: string): never => { throw new UserError(`${file}: ${msg}`); };
  if (bytes.length < 8) fail(`truncated file: ${bytes.length} bytes, too short for a safetensors header`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  if (n > MAX_HEADER) fail(`header length ${n} is implausibly large (corrupt or not a safetensors file)`);
  if (8 + n > bytes.length) fail(`truncated file: header length ${n} goes beyond the file size ${bytes.length}`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n)));
  } catch (err) {
    fail(`header is not valid UTF-8 JSON (${(err as Error).message})`);
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) fail('header is not a JSON object');
  const dataStart = 8 + n;
  const dataLength = bytes.length - dataStart;

  const metadata: Record<string, string> = {};
  const entries: { name: string; dtype: SafeDType; shape: number[]; begin: number; end: number }[] = [];
  for (const [name, info] of Object.entries(json as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (typeof info !== 'object' || info === null || Array.isArray(info)) fail('__metadata__ is not an object');
      for (const [k, v] of Object.entries(info as Record<string, unknown>)) {
        if (typeof v !== 'string') fail(`__metadata__ value '${k}' is not a string`);
        metadata[k] = v as string;
      }
      continue;
    }
    const t = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof t !== 'object' || t === null) fail(`tensor '${name}' has no description`);
    if (typeof t.dtype !== 'string' || !Object.hasOwn(SIZE, t.dtype)) fail(`tensor '${name}' has unsupported dtype ${JSON.stringify(t.dtype)}`);
    const shape = t.shape;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`tensor '${name}' has a bad shape`);
    const off = t.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || !off.every((d) => Number.isSafeInteger(d) && d >= 0) || off[0] > off[1]) {
      fail(`tensor '${name}' has bad data_offsets`);
    }
    const [begin, end] = off as [number, number];
    if (end > dataLength) fail(`tensor '${name}': data_offsets [${begin}, ${end}] beyond the ${dataLength} data bytes (truncated file?)`);
    const dtype = t.dtype as SafeDType;
    const expected = numel(shape as number[]) * SIZE[dtype];
    if (end - begin !== expected) fail(`tensor '${name}': ${end - begin} bytes, but ${dtype}[${(shape as number[]).join(',')}] needs ${expected}`);
    entries.push({ name, dtype, shape: shape as number[], begin, end });
  }
  // The data must be covered exactly once, without holes or overlaps.
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  let pos = 0;
  for (const e of entries) {
    if (e.begin !== pos) fail(`tensor '${e.name}': data_offsets start at ${e.begin}, expected ${pos} (overlap or hole)`);
    pos = e.end;
  }
  if (pos !== dataLength) fail(`${dataLength - pos} bytes after the last tensor (data length does not match the header)`);

  const tensors = new Map<string, SafeTensor>();
  for (const e of entries) {
    const size = SIZE[e.dtype];
    const abs = bytes.byteOffset + dataStart + e.begin;
    const count = (e.end - e.begin) / size;
    let data: SafeData;
    if (abs % size === 0) {
      data = new CTOR[e.dtype](bytes.buffer as ArrayBuffer, abs, count);
    } else {
      const copy = new Uint8Array(e.end - e.begin);
      copy.set(bytes.subarray(dataStart + e.begin, dataStart + e.end));
      data = new CTOR[e.dtype](copy.buffer, 0, count);
    }
    tensors.set(e.name, { dtype: e.dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}
