// A small read-only zip reader for torch.save / torch.jit.save archives: central directory (with
// zip64), stored and deflated entries, CRC-32 checked. Stored entries are returned as views of the
// file bytes, so a 64-byte-aligned torch storage needs no copy. We do not use fflate's unzipSync:
// it copies every entry and reads the directory without bounds checks, so a corrupt file fails
// with an unrelated error instead of naming the problem.

import * as zlib from 'node:zlib';
import { UserError } from './errors.ts';

export interface ZipEntry {
  name: string;
  /** 0 = stored, 8 = deflated. */
  method: number;
  compressedSize: number;
  size: number;
  crc32: number;
  localHeaderOffset: number;
}

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

export class ZipReader {
  readonly entries = new Map<string, ZipEntry>();
  private readonly view: DataView;

  constructor(readonly bytes: Uint8Array, readonly fileName = 'archive.zip') {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.readDirectory();
  }

  private fail(msg: string): never {
    throw new UserError(`${this.fileName}: ${msg}`);
  }

  private u16(at: number): number { this.check(at, 2); return this.view.getUint16(at, true); }
  private u32(at: number): number { this.check(at, 4); return this.view.getUint32(at, true); }
  private u64(at: number): number {
    this.check(at, 8);
    const v = this.view.getBigUint64(at, true);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) this.fail('corrupt zip: 64-bit field out of range');
    return Number(v);
  }
  private check(at: number, n: number): void {
    if (at < 0 || at + n > this.bytes.length) this.fail('corrupt or truncated zip: a record points outside the file');
  }

  private readDirectory(): void {
    // The end-of-central-directory record sits in the last 22 + 65535 (comment) bytes.
    let eocd = -1;
    for (let p = this.bytes.length - 22; p >= Math.max(0, this.bytes.length - 22 - 65535); p--) {
      if (this.view.getUint32(p, true) === EOCD) { eocd = p; break; }
    }
    if (eocd < 0) this.fail('not a zip archive (no end-of-central-directory record; truncated?)');
    let count = this.u16(eocd + 10);
    let cdSize = this.u32(eocd + 12);
    let cdOffset = this.u32(eocd + 16);
    if (eocd >= 20 && this.u32(eocd - 20) === ZIP64_LOCATOR) {
      const z = this.u64(eocd - 12);
      if (this.u32(z) !== ZIP64_EOCD) this.fail('corrupt zip64 end-of-central-directory record');
      count = this.u64(z + 32);
      cdSize = this.u64(z + 40);
      cdOffset = this.u64(z + 48);
    }
    this.check(cdOffset, cdSize);
    let p = cdOffset;
    for (let i = 0; i < count; i++) {
      if (this.u32(p) !== CENTRAL) this.fail(`corrupt zip: central directory entry ${i} not found`);
      const flags = this.u16(p + 8);
      const method = this.u16(p + 10);
      const crc32 = this.u32(p + 16);
      let compressedSize = this.u32(p + 20);
      let size = this.u32(p + 24);
      const nameLen = this.u16(p + 28), extraLen = this.u16(p + 30), commentLen = this.u16(p + 32);
      let localHeaderOffset = this.u32(p + 42);
      this.check(p + 46, nameLen + extraLen + commentLen);
      const name = new TextDecoder().decode(this.bytes.subarray(p + 46, p + 46 + nameLen));
      // zip64 extra field: 64-bit values for whichever 32-bit fields are saturated, in this order.
      for (let e = p + 46 + nameLen; e + 4 <= p + 46 + nameLen + extraLen;) {
        const id = this.u16(e), len = this.u16(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          if (size === 0xffffffff) { size = this.u64(q); q += 8; }
          if (compressedSize === 0xffffffff) { compressedSize = this.u64(q); q += 8; }
          if (localHeaderOffset === 0xffffffff) { localHeaderOffset = this.u64(q); q += 8; }
        }
        e += 4 + len;
      }
      if (flags & 1) this.fail(`entry '${name}' is encrypted`);
      this.entries.set(name, { name, method, compressedSize, size, crc32, localHeaderOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** The entry's bytes: a view for stored entries, a fresh buffer for deflated ones; CRC-checked. */
  read(name: string): Uint8Array {
    const e = this.entries.get(name) ?? this.fail(`missing entry '${name}'`);
    const h = e.localHeaderOffset;
    if (this.u32(h) !== LOCAL) this.fail(`corrupt zip: local header of '${name}' not found`);
    const start = h + 30 + this.u16(h + 26) + this.u16(h + 28);
    this.check(start, e.compressedSize);
    const raw = this.bytes.subarray(start, start + e.compressedSize);
    let data: Uint8Array;
    if (e.method === 0) data = raw;
    else if (e.method === 8) {
      try {
        data = zlib.inflateRawSync(raw);
      } catch (err) {
        return this.fail(`entry '${name}' does not inflate (${(err as Error).message})`);
      }
    } else return this.fail(`entry '${name}' uses unsupported compression method ${e.method}`);
    if (data.length !== e.size) this.fail(`entry '${name}' is ${data.length} bytes, the directory says ${e.size}`);
    if (zlib.crc32(data) !== e.crc32) this.fail(`entry '${name}' fails its CRC-32 check (corrupt file)`);
    return data;
  }
}
