// TFRecord framing, as written by tf.io.TFRecordWriter with no compression:
//   uint64 LE length | uint32 LE masked CRC32C(length bytes) | payload | uint32 LE masked CRC32C(payload)
// The reader checks both CRCs and reports damage with the file name and the record's byte
// offset, so a truncated download or a flipped bit is one clear line instead of garbage
// images late in a training run.

import * as fs from 'node:fs';
import { UserError } from './errors.ts';
import { maskedCrc32c } from './crc32c.ts';

const HEADER_BYTES = 12; // length + its CRC
const FOOTER_BYTES = 4;  // payload CRC

/** Frames one payload as a complete record (pure). */
export function encodeRecord(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER_BYTES + payload.length + FOOTER_BYTES);
  const view = new DataView(out.buffer);
  view.setBigUint64(0, BigInt(payload.length), true);
  view.setUint32(8, maskedCrc32c(out.subarray(0, 8)), true);
  out.set(payload, HEADER_BYTES);
  view.setUint32(HEADER_BYTES + payload.length, maskedCrc32c(payload), true);
  return out;
}

/** Anything records can be appended to (an AtomicWriter, or a collecting array in tests). */
export interface ByteSink {
  write(chunk: Uint8Array): void;
}

/** Appends framed records to a sink. */
export class TFRecordWriter {
  private count = 0;
  constructor(private readonly sink: ByteSink) {}
  write(payload: Uint8Array): void {
    this.sink.write(encodeRecord(payload));
    this.count++;
  }
  get numRecords(): number { return this.count; }
}

/** One record as read: its payload and where its frame starts in the file. */
export interface TFRecord {
  payload: Uint8Array;
  offset: number;
  index: number;
}

/**
 * Reads the records of one file in order, verifying both CRCs. Reads in chunks so memory
 * stays at about one record plus `chunkBytes`, whatever the file size.
 */
export function* readTFRecords(file: string, opts: { chunkBytes?: number; verify?: boolean } = {}): Generator<TFRecord> {
  const verify = opts.verify ?? true;
  const chunkBytes = opts.chunkBytes ?? 1 << 20;
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === 'ENOENT') throw new UserError(`${file}: no such file`);
    throw err;
  }
  try {
    const size = fs.fstatSync(fd).size;
    let buf = Buffer.alloc(0);
    let bufStart = 0; // file offset of buf[0]
    let pos = 0;      // file offset of the next record
    // Ensures buf covers [pos, pos + n) unless the file ends first; returns false at EOF.
    const ensure = (n: number): boolean => {
      if (pos + n <= bufStart + buf.length) return true;
      if (pos + n > size) return false;
      const want = Math.max(n, chunkBytes);
      const next = Buffer.allocUnsafe(Math.min(want, size - pos));
      const bytes = fs.readSync(fd, next, 0, next.length, pos);
      buf = next.subarray(0, bytes);
      bufStart = pos;
      return pos + n <= bufStart + buf.length;
    };
    let index = 0;
    while (pos < size) {
      const start = pos;
      if (!ensure(HEADER_BYTES)) {
        throw new UserError(`${file}: truncated at byte offset ${start} (record ${index}: ${size - start} bytes left, a record header needs ${HEADER_BYTES})`);
      }
      const h = pos - bufStart;
      const lenBytes = buf.subarray(h, h + 8);
      const lenCrc = buf.readUInt32LE(h + 8);
      if (verify && maskedCrc32c(lenBytes) !== lenCrc) {
        throw new UserError(`${file}: corrupt record ${index} at byte offset ${start} (length CRC mismatch)`);
      }
      const len64 = buf.readBigUInt64LE(h);
      if (len64 > BigInt(size)) {
        throw new UserError(`${file}: truncated at byte offset ${start} (record ${index} claims ${len64} bytes, the file has ${size})`);
      }
      const len = Number(len64);
      const total = HEADER_BYTES + len + FOOTER_BYTES;
      if (!ensure(total)) {
        throw new UserError(`${file}: truncated at byte offset ${start} (record ${index} needs ${total} bytes, ${size - start} left)`);
      }
      const p = pos - bufStart + HEADER_BYTES;
      const payload = buf.subarray(p, p + len);
      if (verify && maskedCrc32c(payload) !== buf.readUInt32LE(p + len)) {
        throw new UserError(`${file}: corrupt record ${index} at byte offset ${start} (data CRC mismatch)`);
      }
      pos += total;
      // Copy out: the chunk buffer is reused and callers may keep payloads.
      yield { payload: Uint8Array.prototype.slice.call(payload), offset: start, index };
      index++;
    }
  } finally {
    fs.closeSync(fd);
  }
}
