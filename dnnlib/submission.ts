// Numbered run directories and the console log, as NVIDIA's dnnlib.submission does them:
// results/00000-sgan-ffhq-1gpu/ with log.txt holding everything printed, and run.txt / _finished.txt
// so scripts can tell a finished run from a crashed one.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as os from 'node:os';
import { UserError } from './errors.ts';
import { writeFileAtomic } from './atomic.ts';

/** Next run id: 1 + the largest leading integer among existing subdirectories (NVIDIA's rule). */
export function nextRunId(resultDir: string): number {
  if (!fs.existsSync(resultDir)) return 0;
  let max = -1;
  for (const name of fs.readdirSync(resultDir)) {
    const m = /^(\d+)/.exec(name);
    if (m && fs.statSync(path.join(resultDir, name)).isDirectory()) max = Math.max(max, Number(m[1]));
  }
  return max + 1;
}

/** Makes `desc` safe as part of a folder name. */
export function sanitizeDesc(desc: string): string {
  return desc.replace(/[^A-Za-z0-9_.\-+]+/g, '-').replace(/^-+|-+$/g, '') || 'run';
}

/**
 * Creates `<resultDir>/<NNNNN>-<desc>` atomically with respect to other processes starting runs
 * at the same time (mkdir fails if another process took the id; then take the next).
 */
export function createRunDir(resultDir: string, desc: string): string {
  try {
    fs.mkdirSync(resultDir, { recursive: true });
  } catch (err) {
    throw new UserError(`cannot create result directory ${resultDir}: ${(err as Error).message}`);
  }
  const safe = sanitizeDesc(desc);
  for (let attempt = 0; attempt < 1000; attempt++) {
    const dir = path.join(resultDir, `${String(nextRunId(resultDir) + attempt).padStart(5, '0')}-${safe}`);
    try {
      fs.mkdirSync(dir);
      return dir;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') {
        throw new UserError(`cannot create run directory ${dir}: ${(err as Error).message}`);
      }
    }
  }
  throw new UserError(`cannot find a free run id in ${resultDir}`);
}

/**
 * Mirrors everything written to stdout and stderr into `<runDir>/log.txt` (NVIDIA's Logger tee),
 * keeping progress-bar redraws out of the file: carriage-return updates are dropped.
 */
export class RunLog {
  private fd: number;
  private restore: Array<() => void> = [];
  readonly path: string;

  constructor(runDir: string, fileName = 'log.txt') {
    this.path = path.join(runDir, fileName);
    this.fd = fs.openSync(this.path, 'a');
    for (const stream of [process.stdout, process.stderr]) {
      const orig = stream.write.bind(stream) as (...a: unknown[]) => boolean;
      const fd = this.fd;
      (stream as unknown as { write: (...a: unknown[]) => boolean }).write = (chunk: unknown, ...rest: unknown[]) => {
        try {
          const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
          // A bar redraw starts with '\r' or an ANSI cursor code; only whole lines go to the log.
          // eslint-disable-next-line no-control-regex
          const clean = text.includes('\r') || /\x1b\[/.test(text) ? '' : text;
          if (clean) fs.writeSync(fd, clean);
        } catch { /* never let logging break the run */ }
        return orig(chunk, ...rest);
      };
      this.restore.push(() => { (stream as unknown as { write: unknown }).write = orig; });
    }
  }

  close(): void {
    for (const r of this.restore) r();
    this.restore = [];
    try { fs.closeSync(this.fd); } catch { /* already closed */ }
  }
}

/** Writes run.txt (task, host, start time) like NVIDIA's RunContext. */
export function writeRunInfo(runDir: string, info: Record<string, unknown>): void {
  const lines = {
    task_name: path.basename(runDir),
    host_name: os.hostname(),
    start_time: new Date().toISOString(),
    ...info,
  };
  writeFileAtomic(path.join(runDir, 'run.txt'), Object.entries(lines).map(([k, v]) => `${k}: ${v}`).join('\n') + '\n');
}

/** Marks the run finished (written in a finally, as NVIDIA does). */
export function markFinished(runDir: string): void {
  writeFileAtomic(path.join(runDir, '_finished.txt'), '');
}
