// One streaming downloader for everything fetched by URL (NVIDIA's dnnlib.util.open_url): network
// pickles and metric weights. The body goes to a temp file beside the target while its sha256 is
// computed; the file is renamed into place only when complete (and matching, if a hash is expected),
// so an interrupted or bad download never leaves a file that looks finished.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import { createAtomicWriteStream } from './atomic.ts';

/** sha256 of a file, read in 1 MiB pieces (weights files are hundreds of MB). */
export function sha256File(file: string): string {
  const h = crypto.createHash('sha256');
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let n: number;
    while ((n = fs.readSync(fd, buf, 0, buf.length, null)) > 0) h.update(buf.subarray(0, n));
  } finally {
    fs.closeSync(fd);
  }
  return h.digest('hex');
}

/** A failed download; `retry` says whether another attempt could succeed (network, 5xx, 429, truncation). */
export class DownloadError extends Error {
  readonly retry: boolean;
  constructor(message: string, retry: boolean) {
    super(message);
    this.name = 'DownloadError';
    this.retry = retry;
  }
}

export interface DownloadFileOptions {
  /** Expected sha256, or a published prefix of it (torch hub names carry 8–10 hex digits). */
  sha256?: string;
  /** Called with the total size (or NaN) once, then with each chunk's length. */
  onStart?: (totalBytes: number) => void;
  onBytes?: (n: number) => void;
}

/** Downloads `url` to `target` atomically; returns the sha256 of what was written. */
export async function downloadFile(url: string, target: string, opts: DownloadFileOptions = {}): Promise<string> {
  let res: Response;
  try {
    res = await fetch(url, { redirect: 'follow' });
  } catch (err) {
    const cause = (err as { cause?: { code?: string; message?: string } }).cause;
    throw new DownloadError(cause?.code ?? cause?.message ?? (err as Error).message, true);
  }
  if (!res.ok || !res.body) {
    await res.body?.cancel();
    throw new DownloadError(`HTTP ${res.status} ${res.statusText}`.trim(), res.status >= 500 || res.status === 429);
  }
  const total = Number(res.headers.get('content-length') ?? NaN);
  opts.onStart?.(total);
  const hash = crypto.createHash('sha256');
  const out = createAtomicWriteStream(target);
  try {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      hash.update(chunk);
      out.write(chunk);
      opts.onBytes?.(chunk.length);
    }
    if (Number.isFinite(total) && out.bytesWritten !== total) {
      throw new DownloadError(`truncated: received ${out.bytesWritten} of ${total} bytes`, true);
    }
    const sha = hash.digest('hex');
    if (opts.sha256 !== undefined && !sha.startsWith(opts.sha256.toLowerCase())) {
      throw new DownloadError(`sha256 mismatch: got ${sha}, expected ${opts.sha256}…`, true);
    }
    out.commit();
    return sha;
  } catch (err) {
    out.abort();
    if (err instanceof DownloadError) throw err;
    throw new DownloadError((err as Error).message, true);
  }
}
