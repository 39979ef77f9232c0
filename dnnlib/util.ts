// Small helpers shared by every script (dnnlib.util in NVIDIA's code).

/** NVIDIA's dnnlib.util.format_time: `Ns`, `Mm SSs`, `Hh MMm SSs`, `Dd HHh MMm`. */
export function formatTime(seconds: number): string {
  // np.rint: round half to even, as NVIDIA's format_time does.
  const r = Math.round(seconds);
  const s = Math.max(0, Math.abs(seconds % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r);
  const pad = (n: number) => String(n).padStart(2, '0');
  if (s < 60) return `${s}s`;
  if (s < 60 * 60) return `${Math.floor(s / 60)}m ${pad(s % 60)}s`;
  if (s < 24 * 60 * 60) return `${Math.floor(s / 3600)}h ${pad(Math.floor(s / 60) % 60)}m ${pad(s % 60)}s`;
  return `${Math.floor(s / 86400)}d ${pad(Math.floor(s / 3600) % 24)}h ${pad(Math.floor(s / 60) % 60)}m`;
}

/** Parses "0-99,120,200-203" into a list of integers (seed lists and ranges). */
export function parseRange(text: string): number[] {
  const out: number[] = [];
  for (const part of String(text).split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const m = /^(-?\d+)(?:-(-?\d+))?$/.exec(p);
    if (!m) throw new RangeError(`cannot parse '${p}' as an integer or a range like 0-99`);
    const a = Number(m[1]);
    const b = m[2] === undefined ? a : Number(m[2]);
    if (b < a) throw new RangeError(`range '${p}' ends before it starts`);
    for (let i = a; i <= b; i++) out.push(i);
  }
  return out;
}

/** Peak resident set size of this process in bytes (what users see as memory use). */
export function peakRssBytes(): number {
  // resourceUsage().maxRSS is in kilobytes on Linux.
  return process.resourceUsage().maxRSS * 1024;
}

export function formatBytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}
