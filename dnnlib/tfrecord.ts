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
 * Parses the record whose frame starts at buf[at] (file offset `fileOffset`). Returns null when
 * buf ends before the frame does (more bytes needed); throws on a CRC mismatch.
 */
function takeRecord(buf: Buffer, at: number, fileOffset: number, fileSize: number, file: string, index: number, verify: boolean): { payload: Buffer; total: number } | null {
  if (buf.length - at < HEADER_BYTES) return null;
  if (verify && maskedCrc32c(buf.subarray(at, at + 8)) !== buf.readUInt32LE(at + 8)) {
    throw new UserError(`${file}: corrupt record ${index} at byte offset ${fileOffset} (length CRC mismatch)`);
  }
  const len64 = buf.readBigUInt64LE(at);
  if (len64 > BigInt(fileSize)) {
    throw new UserError(`${file}: truncated at byte offset ${fileOffset} (record ${index} claims ${len64} bytes, the file has ${fileSize})`);
  }
  const len = Number(len64);
  const total = HEADER_BYTES + len + FOOTER_BYTES;
  if (buf.length - at < total) return null;
  const payload = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + len);
  if (verify && maskedCrc32c(payload) !== buf.readUInt32LE(at + HEADER_BYTES + len)) {
    throw new UserError(`${file}: corrupt record ${index} at byte offset ${fileOffset} (data CRC mismatch)`);
  }
  return { payload, total };
}

function truncated(file: string, start: number, index: number, size: number): UserError {
  return new UserError(`${file}: truncated at byte offset ${start} (record ${index} is incomplete: the file ends ${size - start} bytes after its start)`);
}

function openError(file: string, err: unknown): unknown {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return new UserError(`${file}: no such file`);
  if (e.code === 'EISDIR') return new UserError(`${file}: is a directory`);
  return err;
}

function openForRead(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    throw openError(file, err);
  }
}

export interface ReadOptions {
  /** Bytes read per system call (and held in memory besides one record). */
  chunkBytes?: number;
  /** Check both CRCs of every record (default true). */
  verify?: boolean;
}

/**
 * Reads the records of one file in order, verifying both CRCs. Reads in chunks so memory
 * stays at about one record plus `chunkBytes`, whatever the file size. Payloads are copies.
 */
export function* readTFRecords(file: string, opts: ReadOptions = {}): Generator<TFRecord> {
  const verify = opts.verify ?? true;
  const chunkBytes = opts.chunkBytes ?? 1 << 20;
  const fd = openForRead(file);
  try {
    const size = fs.fstatSync(fd).size;
    let buf = Buffer.alloc(0);
    let bufStart = 0; // file offset of buf[0]
    let pos = 0;      // file offset of the next record
    let index = 0;
    while (pos < size) {
      let rec = takeRecord(buf, pos - bufStart, pos, size, file, index, verify);
      if (rec === null) {
        // Refill from pos with enough room for this record (its length is known once the
        // header is in the buffer).
        const have = bufStart + buf.length - pos;
        const need = have >= 8 ? HEADER_BYTES + Number(buf.readBigUInt64LE(pos - bufStart)) + FOOTER_BYTES : HEADER_BYTES;
        const want = Math.min(Math.max(need, chunkBytes), size - pos);
        const next = Buffer.allocUnsafe(want);
        const got = fs.readSync(fd, next, 0, want, pos);
        buf = next.subarray(0, got);
        bufStart = pos;
        rec = takeRecord(buf, 0, pos, size, file, index, verify);
        if (rec === null) {
          if (buf.length >= 8 && buf.length < HEADER_BYTES + Number(buf.readBigUInt64LE(0)) + FOOTER_BYTES && pos + buf.length < size) continue;
          throw truncated(file, pos, index, size);
        }
      }
      yield { payload: Uint8Array.prototype.slice.call(rec.payload), offset: pos, index };
      pos += rec.total;
      index++;
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Async version of readTFRecords with read-ahead: the next chunk is read by libuv's thread
 * pool while the caller works on the current one (NVIDIA's prefetch for the training reader).
 */
export async function* readTFRecordsAsync(file: string, opts: ReadOptions = {}): AsyncGenerator<TFRecord> {
  const verify = opts.verify ?? true;
  const chunkBytes = Math.max(opts.chunkBytes ?? 8 << 20, 1 << 16);
  let fh: fs.promises.FileHandle;
  try {
    fh = await fs.promises.open(file, 'r');
  } catch (err) {
    throw openError(file, err);
  }
  try {
    const size = (await fh.stat()).size;
    let readPos = 0;
    const readChunk = async (): Promise<Buffer> => {
      const n = Math.min(chunkBytes, size - readPos);
      const b = Buffer.allocUnsafe(n);
      const at = readPos;
      readPos += n;
      let got = 0;
      while (got < n) {
        const r = await fh.read(b, got, n - got, at + got);
        if (r.bytesRead === 0) break;
        got += r.bytesRead;
      }
      return b.subarray(0, got);
    };
    let ahead: Promise<Buffer> | null = size > 0 ? readChunk() : null;
    let buf = Buffer.alloc(0);
    let bufStart = 0;
    let pos = 0;
    let index = 0;
    while (pos < size) {
      const rec = takeRecord(buf, pos - bufStart, pos, size, file, index, verify);
      if (rec === null) {
        if (ahead === null) throw truncated(file, pos, index, size);
        const chunk = await ahead;
        ahead = readPos < size ? readChunk() : null;
        buf = Buffer.concat([buf.subarray(pos - bufStart), chunk]);
        bufStart = pos;
        continue;
      }
      yield { payload: Uint8Array.prototype.slice.call(rec.payload), offset: pos, index };
      pos += rec.total;
      index++;
    }
  } finally {
    await fh.close();
  }
}
