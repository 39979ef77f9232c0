// The loop's reporting, NVIDIA's autosummary in spirit: per-step loss terms are gathered on the device
// and read back in one transfer per iteration, averaged per tick, appended to stats.jsonl (one JSON
// object per tick, so users can plot), summarised in the log, and drawn as loss.png.
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { writeFileAtomic } from '../dnnlib/atomic.ts';
import { pyFixed } from './misc.ts';

/** Running means per name over a tick (NVIDIA's autosummary mean; we keep count and sum). */
export class TickStats {
  private pending: { names: string[]; values: tf.Tensor1D }[] = [];
  private sums = new Map<string, { sum: number; n: number }>();

  /** Queues a kept device tensor of per-step values (disposed at the next flush). */
  addDevice(names: string[], values: tf.Tensor1D): void {
    this.pending.push({ names, values });
  }

  add(name: string, value: number): void {
    const e = this.sums.get(name) ?? { sum: 0, n: 0 };
    e.sum += value;
    e.n += 1;
    this.sums.set(name, e);
  }

  /**
   * Reads every queued tensor in one transfer and adds it to the means. Returns the names of values
   * that were not finite in this batch (empty when all were).
   */
  flush(): string[] {
    if (this.pending.length === 0) return [];
    const all = tf.tidy(() => tf.concat(this.pending.map((p) => p.values)));
    const data = all.dataSync();
    all.dispose();
    const bad = new Set<string>();
    let off = 0;
    for (const p of this.pending) {
      p.names.forEach((name, i) => {
        const v = data[off + i]!;
        if (!Number.isFinite(v)) bad.add(name);
        this.add(name, v);
      });
      off += p.names.length;
      p.values.dispose();
    }
    this.pending = [];
    return [...bad];
  }

  /** Means since the last take(), then resets. */
  take(): Record<string, number> {
    this.flush();
    const out: Record<string, number> = {};
    for (const [k, { sum, n }] of this.sums) out[k] = sum / n;
    this.sums.clear();
    return out;
  }

  dispose(): void {
    for (const p of this.pending) p.values.dispose();
    this.pending = [];
  }
}

/** The per-tick loss summary line printed under NVIDIA's tick line. */
export function lossLine(means: Record<string, number>): string {
  const keys = Object.keys(means).filter((k) => k.startsWith('Loss/')).sort();
  return 'losses ' + keys.map((k) => `${k.slice(5)} ${pyFixed(means[k]!, 4)}`).join('  ');
}

/** Appends one JSON line (not atomic by nature; each line is written whole by one write call). */
export function appendStatsLine(file: string, record: Record<string, number>): void {
  fs.appendFileSync(file, JSON.stringify(record) + '\n');
}

const PLOT_COLORS = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b'];

/**
 * loss.png: the G and D losses (and the real/fake scores) per tick against kimg, drawn as an SVG of
 * polylines rendered by sharp. Series are read from stats.jsonl records.
 */
export async function writeLossPlot(file: string, records: Record<string, number>[], series = ['Loss/G', 'Loss/D', 'Loss/scores/real', 'Loss/scores/fake']): Promise<void> {
  const W = 640, H = 360, L = 60, R = 160, T = 20, B = 40;
  const pts = series.map((s) => records.filter((r) => Number.isFinite(r[s]) && Number.isFinite(r['Progress/kimg'])).map((r) => [r['Progress/kimg']!, r[s]!] as const));
  const flat = pts.flat();
  if (flat.length === 0) return;
  let [x0, x1] = [Math.min(...flat.map((p) => p[0])), Math.max(...flat.map((p) => p[0]))];
  let [y0, y1] = [Math.min(...flat.map((p) => p[1])), Math.max(...flat.map((p) => p[1]))];
  if (x1 === x0) { x0 -= 0.5; x1 += 0.5; }
  if (y1 === y0) { y0 -= 0.5; y1 += 0.5; }
  const sx = (x: number) => L + ((x - x0) / (x1 - x0)) * (W - L - R);
  const sy = (y: number) => T + (1 - (y - y0) / (y1 - y0)) * (H - T - B);
  const lines = pts.map((p, i) => p.length === 0 ? '' :
    `<polyline fill="none" stroke="${PLOT_COLORS[i % PLOT_COLORS.length]}" stroke-width="2" points="${p.map(([x, y]) => `${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join(' ')}"/>` +
    `<text x="${W - R + 10}" y="${T + 16 + i * 18}" fill="${PLOT_COLORS[i % PLOT_COLORS.length]}" font-size="13" font-family="sans-serif">${series[i]!.replace('Loss/', '')}</text>`).join('');
  const zero = y0 < 0 && y1 > 0 ? `<line x1="${L}" x2="${W - R}" y1="${sy(0)}" y2="${sy(0)}" stroke="#bbb" stroke-dasharray="4 3"/>` : '';
  const label = (x: number, y: number, text: string, anchor = 'middle') => `<text x="${x}" y="${y}" font-size="12" font-family="sans-serif" text-anchor="${anchor}">${text}</text>`;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">` +
    `<rect width="100%" height="100%" fill="white"/>` +
    `<rect x="${L}" y="${T}" width="${W - L - R}" height="${H - T - B}" fill="none" stroke="#444"/>` + zero + lines +
    label(L, H - B + 16, pyFixed(x0, 1)) + label(W - R, H - B + 16, pyFixed(x1, 1)) + label((L + W - R) / 2, H - 8, 'kimg') +
    label(L - 6, T + 10, pyFixed(y1, 2), 'end') + label(L - 6, H - B, pyFixed(y0, 2), 'end') +
    `</svg>`;
  writeFileAtomic(file, await sharp(Buffer.from(svg)).png().toBuffer());
}
