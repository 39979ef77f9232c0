// Atomic file output: everything is written to a temp file beside the target and renamed into
// place only when complete, so a crash or Ctrl-C never leaves a half-written snapshot, record
// file or image behind (rename is atomic within one file system).

import * as fs from 'node:fs';
import * as path from 'node:path';
import { onAbort } from './errors.ts';

let counter = 0;

export function tempPathFor(target: string): string {
  const dir = path.dirname(target);
  return path.join(dir, `.${path.basename(target)}.tmp-${process.pid}-${counter++}`);
}

/** Writes `data` to `target` atomically (temp file + fsync + rename). */
export function writeFileAtomic(target: string, data: Uint8Array | string): void {
  const tmp = tempPathFor(target);
  const release = onAbort(() => fs.rmSync(tmp, { force: true }));
  try {
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  } finally {
    release();
  }
}

/** A file being written in pieces; nothing appears at `target` until commit(). */
export interface AtomicWriter {
  readonly target: string;
  readonly tempPath: string;
  write(chunk: Uint8Array): void;
  /** Bytes written so far. */
  readonly bytesWritten: number;
  commit(): void;
  abort(): void;
}

/**
 * Opens a streaming atomic writer (synchronous writes: the callers write records in order
 * and want errors where they happen). Interrupts remove the temp file.
 */
export function createAtomicWriteStream(target: string): AtomicWriter {
  const tmp = tempPathFor(target);
  const fd = fs.openSync(tmp, 'w');
  let open = true;
  let bytes = 0;
  const release = onAbort(() => {
    if (open) { try { fs.closeSync(fd); } catch { /* ignore */ } }
    fs.rmSync(tmp, { force: true });
  });
  return {
    target,
    tempPath: tmp,
    get bytesWritten() { return bytes; },
    write(chunk: Uint8Array) {
      if (!open) throw new Error(`write after close: ${target}`);
      let off = 0;
      while (off < chunk.length) off += fs.writeSync(fd, chunk, off, chunk.length - off);
      bytes += chunk.length;
    },
    commit() {
      if (!open) throw new Error(`commit after close: ${target}`);
      fs.fsyncSync(fd);
      fs.closeSync(fd);
      open = false;
      fs.renameSync(tmp, target);
      release();
    },
    abort() {
      if (open) { fs.closeSync(fd); open = false; }
      fs.rmSync(tmp, { force: true });
      release();
    },
  };
}

/**
 * Runs `fn` with a group of atomic writers and commits all of them only if it succeeds;
 * on any error every temp file is removed (e.g. the several -rNN.tfrecords of one dataset).
 */
export async function withAtomicGroup<T>(fn: (open: (target: string) => AtomicWriter) => Promise<T> | T): Promise<T> {
  const writers: AtomicWriter[] = [];
  try {
    const result = await fn((target) => {
      const w = createAtomicWriteStream(target);
      writers.push(w);
      return w;
    });
    for (const w of writers) w.commit();
    return result;
  } catch (err) {
    for (const w of writers) { try { w.abort(); } catch { /* ignore */ } }
    throw err;
  }
}
