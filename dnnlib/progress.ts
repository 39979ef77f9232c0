// One progress reporter for every long job: a cli-progress bar with ETA on a terminal, and
// plain periodic lines when stdout is a file or a pipe (CI logs, `tee`, batch schedulers), so
// logs stay readable instead of filling with carriage returns.

import cliProgress from 'cli-progress';
import { formatTime } from './util.ts';

export interface Progress {
  update(value: number, extra?: string): void;
  increment(n?: number, extra?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  total: number;
  label: string;
  /** Unit shown after counts, e.g. 'img' or 'kimg'. */
  unit?: string;
  /** Force plain-line mode even on a TTY (tests, nested bars). */
  plain?: boolean;
  /** Seconds between plain lines. */
  interval?: number;
  stream?: NodeJS.WriteStream;
  /** Suppress all output (library use). */
  silent?: boolean;
}

export function createProgress(opts: ProgressOptions): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.silent) return { update() {}, increment() {}, stop() {} };
  const unit = opts.unit ?? '';
  if (stream.isTTY && !opts.plain && !process.env.CI) {
    const bar = new cliProgress.SingleBar({
      stream,
      format: `${opts.label} [{bar}] {percentage}% | {value}/{total}${unit ? ' ' + unit : ''} | {rate}/s | ETA {eta_formatted} {extra}`,
      etaBuffer: 50,
      fps: 5,
      hideCursor: true,
      clearOnComplete: false,
    }, cliProgress.Presets.shades_classic);
    const start = Date.now();
    let value = 0;
    const payload = (extra?: string) => ({
      rate: (value / Math.max((Date.now() - start) / 1000, 1e-9)).toFixed(1),
      extra: extra ?? '',
    });
    bar.start(opts.total, 0, payload());
    return {
      update(v, extra) { value = v; bar.update(v, payload(extra)); },
      increment(n = 1, extra) { value += n; bar.update(value, payload(extra)); },
      stop() { bar.stop(); },
    };
  }
  return plainProgress(opts, stream, unit);
}

function plainProgress(opts: ProgressOptions, stream: NodeJS.WriteStream, unit: string): Progress {
  const start = Date.now();
  const interval = (opts.interval ?? 10) * 1000;
  let last = start;
  let value = 0;
  let stopped = false;
  const line = (extra?: string) => {
    const elapsed = (Date.now() - start) / 1000;
    const rate = value / Math.max(elapsed, 1e-9);
    const eta = rate > 0 ? (opts.total - value) / rate : NaN;
    const pct = opts.total > 0 ? ((100 * value) / opts.total).toFixed(1) : '?';
    stream.write(
      `${opts.label}: ${value}/${opts.total}${unit ? ' ' + unit : ''} (${pct}%) ` +
      `${rate.toFixed(1)}/s elapsed ${formatTime(elapsed)} ETA ${Number.isFinite(eta) ? formatTime(eta) : '?'}` +
      `${extra ? ' ' + extra : ''}\n`);
  };
  const maybe = (extra?: string) => {
    const now = Date.now();
    if (now - last >= interval) { last = now; line(extra); }
  };
  return {
    update(v, extra) { value = v; maybe(extra); },
    increment(n = 1, extra) { value += n; maybe(extra); },
    stop() { if (!stopped) { stopped = true; line(); } },
  };
}
