// The shared frame of every metric (metric_base.py): a registry where each metric registers by
// name, calcMetric() that times one and decorates its result with metadata, NVIDIA's one-line
// result format, the JSON line we append beside it, the real-statistics cache naming, and the
// uint8 conversion NVIDIA applies to generated images before feature networks see them.

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../dnnlib/errors.ts';
import { formatTime } from '../dnnlib/util.ts';

/** One reported number, e.g. fid50k, or ls with suffix '_z'. */
export interface MetricValue {
  value: number;
  suffix: string;
  /** printf format for the value; NVIDIA always uses '%-10.4f'. */
  fmt?: string;
  /** Printed in parentheses after the value, e.g. 'not comparable to published FID'. */
  note?: string;
}

/** A feature or distance network as the metric ran it, so a result can be reproduced. */
export interface WeightsInfo {
  /** What the weights are (e.g. 'inception_v3_features', 'vgg16_zhang_perceptual'). */
  name: string;
  /** File the weights came from, or 'builtin' / 'random' for test networks. */
  file: string;
  sha256: string | null;
}

/** Every choice that changes the number: written into the JSON line. */
export interface MetricPipeline {
  weights: WeightsInfo[];
  /** Images (FID) or samples (PPL, LS) evaluated. */
  numImages?: number;
  /** How images reach the network's input size, e.g. 'bilinear-tf1-legacy to 299x299'. */
  resize?: string;
  /** Precision of the network run and of the statistics, e.g. 'float32 net, float64 statistics'. */
  dtype?: string;
  /** Free-form notes, e.g. "not comparable to published FID". */
  notes?: string[];
  [key: string]: unknown;
}

export interface MetricOutput {
  results: MetricValue[];
  pipeline: MetricPipeline;
}

/** Everything a metric may need; concrete metrics read the parts they use. */
export interface MetricOptions {
  /** Path or URL of the network being evaluated (shown in the result line). */
  networkPkl?: string;
  [key: string]: unknown;
}

export type MetricFunc = (opts: MetricOptions & Record<string, unknown>) => Promise<MetricOutput> | MetricOutput;

interface MetricSpec {
  func: MetricFunc;
  /** NVIDIA's fixed parameters (num_images=50000, ...); callers may override them. */
  defaults: Record<string, unknown>;
}

const registry = new Map<string, MetricSpec>();

/** Registers a metric under NVIDIA's name (fid50k, ppl_zfull, ls, ...). */
export function registerMetric(name: string, func: MetricFunc, defaults: Record<string, unknown> = {}): void {
  if (registry.has(name)) throw new Error(`metric '${name}' is already registered`);
  registry.set(name, { func, defaults });
}

export function isValidMetric(name: string): boolean {
  return registry.has(name);
}

export function listMetrics(): string[] {
  return [...registry.keys()];
}

export interface MetricReport {
  metric: string;
  networkPkl: string | null;
  results: MetricValue[];
  /** Seconds spent in the metric. */
  evalTime: number;
  evalTimeStr: string;
  /** Wall-clock time the evaluation finished, ISO 8601. */
  timestamp: string;
  params: Record<string, unknown>;
  pipeline: MetricPipeline;
}

/** Runs one registered metric and returns its results with timing and pipeline metadata. */
export async function calcMetric(name: string, opts: MetricOptions = {}): Promise<MetricReport> {
  const spec = registry.get(name);
  if (!spec) throw new UserError(`unknown metric '${name}' (known: ${listMetrics().join(', ')})`);
  const params = { ...spec.defaults, ...opts };
  const start = process.hrtime.bigint();
  const out = await spec.func(params);
  const evalTime = Number(process.hrtime.bigint() - start) / 1e9;
  return {
    metric: name,
    networkPkl: opts.networkPkl ?? null,
    results: out.results,
    evalTime,
    evalTimeStr: formatTime(evalTime),
    timestamp: new Date().toISOString(),
    params: jsonSafe(params) as Record<string, unknown>,
    pipeline: out.pipeline,
  };
}

/** Drops values JSON cannot hold (functions, generator objects) from the recorded params. */
function jsonSafe(v: unknown): unknown {
  if (v === null || typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      const y = jsonSafe(x);
      if (y !== undefined) out[k] = y;
    }
    return out;
  }
  return undefined;
}

/** The subset of printf NVIDIA's formats use: '%-10.4f', '%10.4f', '%.4f', '%-12s', '%s', '%d'. */
export function printf(fmt: string, value: number | string): string {
  const m = /^%(-)?(\d+)?(?:\.(\d+))?([fsd])$/.exec(fmt);
  if (!m) throw new Error(`unsupported format '${fmt}'`);
  const [, left, width, prec, kind] = m;
  let s: string;
  if (kind === 'f') s = pyFixed(Number(value), prec === undefined ? 6 : Number(prec));
  else if (kind === 'd') s = String(Math.trunc(Number(value)));
  else s = String(value);
  const w = width === undefined ? 0 : Number(width);
  return left ? s.padEnd(w) : s.padStart(w);
}

/** Python's '%.Nf' (nan/inf spelled as Python does). */
function pyFixed(x: number, digits: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  return x.toFixed(digits);
}

/**
 * NVIDIA's result line: '%-30s' network name (basename without extension, '...' + last 26
 * characters when longer than 29), ' time %-12s', then ' <metric><suffix> <value>' per result.
 */
export function resultLine(report: Pick<MetricReport, 'metric' | 'networkPkl' | 'evalTime' | 'results'>): string {
  let network = report.networkPkl == null ? '' : path.basename(report.networkPkl).replace(/\.[^.]*$/, '');
  if (network.length > 29) network = '...' + network.slice(-26);
  let line = printf('%-30s', network);
  line += ' time ' + printf('%-12s', formatTime(report.evalTime));
  for (const r of report.results) {
    line += ' ' + report.metric + r.suffix + ' ' + printf(r.fmt ?? '%-10.4f', r.value);
    if (r.note) line += ' (' + r.note + ')';
  }
  return line;
}

/** The JSON line appended to metric-<name>.jsonl: the result plus every pipeline choice. */
export function jsonLine(report: MetricReport): string {
  const results: Record<string, number> = {};
  const notes: Record<string, string> = {};
  for (const r of report.results) {
    results[report.metric + r.suffix] = r.value;
    if (r.note) notes[report.metric + r.suffix] = r.note;
  }
  return JSON.stringify({
    results,
    ...(Object.keys(notes).length ? { notes } : {}),
    metric: report.metric,
    network_pkl: report.networkPkl,
    total_time: report.evalTime,
    total_time_str: report.evalTimeStr,
    timestamp: report.timestamp,
    params: report.params,
    pipeline: report.pipeline,
  });
}

/** Appends one JSON line (creating the directory); appends of one line are atomic enough for logs. */
export function appendJsonLine(file: string, line: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.appendFileSync(file, line.endsWith('\n') ? line : line + '\n');
}

// ---------------------------------------------------------------------------------------------
// Real-image statistics cache: cache/<md5>-<metric>-<dataset>.<ext>, the md5 taken over
// repr(sorted({metric_name, mirror_augment, **dataset_args, **kwargs}.items())) exactly as
// Python prints it, so a key can be checked against NVIDIA's code by hand.

export type PyValue = string | number | boolean | null | PyValue[];

/**
 * Python's repr() for the values that occur in dataset args and metric kwargs. JS numbers do not
 * say int or float: integers print as Python ints, others as Python floats (repr).
 */
export function pyRepr(v: PyValue): string {
  if (v === null) return 'None';
  if (typeof v === 'boolean') return v ? 'True' : 'False';
  if (typeof v === 'number') return Number.isInteger(v) ? String(BigInt(v)) : pyFloatRepr(v);
  if (typeof v === 'string') return pyStrRepr(v);
  return '[' + v.map(pyRepr).join(', ') + ']';
}

function pyFloatRepr(x: number): string {
  if (Number.isNaN(x)) return 'nan';
  if (!Number.isFinite(x)) return x > 0 ? 'inf' : '-inf';
  // Python repr: shortest round-trip digits; scientific when the exponent is < -4 or >= 16.
  const [mant, expStr] = x.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 16) {
    return `${mant}e${exp < 0 ? '-' : '+'}${String(Math.abs(exp)).padStart(2, '0')}`;
  }
  const s = String(x);
  return s.includes('.') || s.includes('e') ? s : s + '.0';
}

function pyStrRepr(s: string): string {
  // Python prefers single quotes unless the string contains ' and no ".
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += '\\' + ch;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += '\\x' + c.toString(16).padStart(2, '0');
    else out += ch;
  }
  return quote + out + quote;
}

export interface RealsCacheKey {
  cacheDir: string;
  metricName: string;
  mirrorAugment: boolean;
  /** NVIDIA's dataset_args, e.g. {tfrecord_dir: 'ffhq', shuffle_mb: 0}. */
  datasetArgs: Record<string, PyValue>;
  /** The metric's own kwargs that change the statistics, e.g. {num_images: 50000}. */
  kwargs?: Record<string, PyValue>;
  extension?: string;
}

/** The md5 NVIDIA keys the cache with. */
export function realsCacheDigest(key: Omit<RealsCacheKey, 'cacheDir' | 'extension'>): string {
  const all: Record<string, PyValue> = { metric_name: key.metricName, mirror_augment: key.mirrorAugment, ...key.datasetArgs, ...(key.kwargs ?? {}) };
  const items = Object.keys(all).sort(comparePyStr).map((k) => `(${pyRepr(k)}, ${pyRepr(all[k])})`);
  return crypto.createHash('md5').update('[' + items.join(', ') + ']', 'utf8').digest('hex');
}

/** Code-point order, as Python sorts str. */
function comparePyStr(a: string, b: string): number {
  const A = [...a].map((c) => c.codePointAt(0)!), B = [...b].map((c) => c.codePointAt(0)!);
  for (let i = 0; i < Math.min(A.length, B.length); i++) if (A[i] !== B[i]) return A[i] - B[i];
  return A.length - B.length;
}

/** cache/<md5>-<metric>-<dataset>.<ext>; dataset = last component of tfrecord_dir. */
export function realsCacheFile(key: RealsCacheKey): string {
  const dir = String(key.datasetArgs.tfrecord_dir ?? 'unknown').replace(/\\/g, '/').split('/').pop();
  return path.join(key.cacheDir, `${realsCacheDigest(key)}-${key.metricName}-${dir}.${key.extension ?? 'pkl'}`);
}

// ---------------------------------------------------------------------------------------------

/**
 * tflib.convert_images_to_uint8 (fakes before the feature network): saturate_cast(x·127.5 + 128)
 * in float32 = round half up of 127.5x + 127.5. One implementation, in training/misc.ts; re-exported
 * here because every metric needs it (tests/metrics.test.ts checks it against numpy).
 */
export { convert_images_to_uint8 as convertImagesToUint8, convertImagesToUint8Tensor } from '../training/misc.ts';

/** NVIDIA's debugging metric: reports 0.0. */
registerMetric('dummy', () => ({ results: [{ value: 0, suffix: '' }], pipeline: { weights: [] } }));
