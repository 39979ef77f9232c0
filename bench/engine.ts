// `npm run bench -- engine [--backends tensorflow,wasm,cpu] [--reps 5] [--conv-reps 11] [--gan-steps 3] [--steps 1000] [--threads N] [--no-torch]`
// Per backend: conv2d forward / backprop-input / backprop-filter GFLOP/s at StyleGAN shapes (batch 8,
// 3x3 'same'), per-op dispatch, a 1024^3 matmul, and a small G+D step with R1 in images/s; then a long
// loop of a small R1 step watching tf.memory().numTensors and RSS. Where python3 imports torch,
// bench/torch_engine.py --serve times the same measurements, call for call interleaved with ours so
// both see the same machine load, and a ratio column is printed. The three conv calls of one shape
// are interleaved too (fwd, bwd-input, bwd-filter, fwd, …), so the backward/forward ratios in the
// note column compare calls made under the same load: read those, not absolute times, on a shared
// machine (the forward conv reuses XNNPACK's packed copy of its fixed filter between calls; the
// backward kernels repack their operands every call, as in training).
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import * as tf from '@tensorflow/tfjs';
import { backendOptions, backendOptionsFrom, initBackend, type ResolvedBackend } from '../dnnlib/backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { createSmallGan, SMALL_GAN } from './_small_gan.ts';

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm run bench -- engine')
  .options(backendOptions)
  .option('backends', { type: 'string', default: 'tensorflow,wasm,cpu', describe: 'backends to time, comma-separated (those that load)' })
  .option('reps', { type: 'number', default: 5, describe: 'timed calls per measurement (median reported)' })
  .option('conv-reps', { type: 'number', default: 11, describe: 'timed rounds of the interleaved fwd / bwd-input / bwd-filter calls per conv shape' })
  .option('gan-steps', { type: 'number', default: 3, describe: 'timed G+D+R1 steps (after one warm-up)' })
  .option('steps', { type: 'number', default: 1000, describe: 'steps of the long memory loop (0 to skip)' })
  .option('torch', { type: 'boolean', default: true, describe: 'interleave the PyTorch peer (python3 bench/torch_engine.py --serve)' })
  .strict()
  .parse();

const CONV_SHAPES: Array<[number, number, number]> = [[4, 512, 512], [8, 512, 512], [32, 256, 256], [64, 128, 128]]; // [H=W, Cin, Cout]
const BATCH = 8;
const GAN_NAME = `G+D+R1 step ${SMALL_GAN.resolution}^2 fmaps ${SMALL_GAN.fmaps} mb ${SMALL_GAN.minibatch} (hand-built)`;

/** One measurement: `run` makes one timed call and returns ms (or µs per op for dispatch). Measures
 * sharing a `group` are timed round-robin, and each reports its median relative to the group's first. */
interface Measure { name: string; unit: 'ms' | 'us'; flops?: number; reps: number; run?: () => number; skip?: string; group?: string }
interface Row { name: string; unit: 'ms' | 'us'; value: number | null; torch: number | null; flops?: number; note?: string }

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

// Every backend here executes synchronously in Node; reading one value still forces completion. On
// wasm it is read straight off the heap: its Slice kernel first copies the whole input out, which
// would bill each call ~2 ns per output element (5 ms for a 3x3 512->512 filter gradient).
function settle(out: tf.Tensor): void {
  if (tf.getBackend() === 'wasm') (tf.backend() as unknown as { readSync(id: tf.DataId, start: number, end: number): unknown }).readSync(out.dataId, 0, 1);
  else tf.tidy(() => tf.slice(tf.reshape(out, [-1]), 0, 1).dataSync());
}

// Process CPU time (all threads) of the last once() call: on an oversubscribed machine wall time also
// counts the slices a thread waits for a core, at every one of a kernel's fork-join barriers, while CPU
// time counts only work (and XNNPACK's spin-waits), so its ratios show what the kernel costs.
let lastCpuMs = 0;

/** The forward conv row whose filter is new every call (as in training). */
const FWD_NEW = 'fwd (new filter)';

function once(fn: () => tf.Tensor): number {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const out = fn();
  settle(out);
  const ms = performance.now() - t0;
  const c = process.cpuUsage(c0);
  lastCpuMs = (c.user + c.system) / 1000;
  out.dispose();
  return ms;
}

function measures(backend: ResolvedBackend, keep: tf.Tensor[], cleanups: Array<() => void>): Measure[] {
  const list: Measure[] = [];
  for (const [hw, cin, cout] of CONV_SHAPES) {
    const flops = 2 * BATCH * hw * hw * cin * cout * 9;
    const x = tf.randomNormal([BATCH, hw, hw, cin]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, cin, cout]) as tf.Tensor4D;
    const dy = tf.randomNormal([BATCH, hw, hw, cout]) as tf.Tensor4D;
    keep.push(x, w, dy);
    const tag = `conv ${hw}x${hw} ${cin}->${cout}`;
    const ops: Array<[string, () => tf.Tensor]> = [
      ['fwd', () => tf.conv2d(x, w, 1, 'same')],
      ['bwd-input', () => tf.conv2dTranspose(dy, w, [BATCH, hw, hw, cin], 1, 'same')],
      ['bwd-filter', () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, cin, cout] }) as tf.Tensor],
    ];
    for (const [op, fn] of ops) {
      // tfjs cpu runs these at ~1 GFLOP/s (minutes per call). On wasm the gradients are engine/wasm/'s
      // composite kernels (forward convs on the threaded XNNPACK engine).
      const skip = backend === 'cpu' ? 'cpu backend too slow' : undefined;
      list.push({ name: `${tag} ${op}`, unit: 'ms', flops, reps: argv['conv-reps'], run: () => once(fn), skip, group: tag });
      if (op !== 'fwd') continue;
      // In training the weights change every step, so the forward conv meets a new filter each call and
      // XNNPACK packs it again (its operator cache is keyed by the filter tensor). The filter is made and
      // settled outside the timed call.
      list.push({
        name: `${tag} ${FWD_NEW}`, unit: 'ms', flops, reps: argv['conv-reps'], skip, group: tag,
        run: () => {
          const wNew = tf.randomNormal([3, 3, cin, cout]) as tf.Tensor4D;
          settle(wNew);
          try { return once(() => tf.conv2d(x, wNew, 1, 'same')); } finally { wNew.dispose(); }
        },
      });
    }
  }
  const a = tf.scalar(1), b = tf.scalar(2);
  keep.push(a, b);
  list.push({
    name: 'per-op dispatch (1x1 add)', unit: 'us', reps: argv.reps,
    run: () => {
      const n = 3000;
      const t0 = performance.now();
      for (let i = 0; i < n; i++) tf.add(a, b).dispose();
      return (performance.now() - t0) * 1000 / n;
    },
  });
  const m1 = tf.randomNormal([1024, 1024]) as tf.Tensor2D, m2 = tf.randomNormal([1024, 1024]) as tf.Tensor2D;
  keep.push(m1, m2);
  list.push({ name: 'matmul 1024^3', unit: 'ms', flops: 2 * 1024 ** 3, reps: backend === 'tensorflow' ? argv.reps : 1, run: () => once(() => tf.matMul(m1, m2)) });
  if (backend === 'tensorflow' || backend === 'wasm') {
    const gan = createSmallGan();
    const reals = tf.randomUniform([SMALL_GAN.minibatch, SMALL_GAN.resolution, SMALL_GAN.resolution, 3], -1, 1) as tf.Tensor4D;
    keep.push(reals);
    cleanups.push(() => gan.dispose());
    list.push({ name: GAN_NAME, unit: 'ms', reps: argv['gan-steps'], run: () => { const t0 = performance.now(); gan.step(reals); return performance.now() - t0; } });
  } else {
    list.push({ name: GAN_NAME, unit: 'ms', reps: 0, skip: `no training on ${backend} yet` });
  }
  return list;
}

/** The PyTorch peer as a process answering one timing per request line. */
class TorchPeer {
  private lines: AsyncIterableIterator<string>;
  private constructor(private proc: ChildProcessWithoutNullStreams, public version: string, public threads: number) {
    this.lines = readline.createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
  }
  static async start(threads: number): Promise<TorchPeer | string> {
    const script = path.join(import.meta.dirname, 'torch_engine.py');
    const proc = spawn(process.env.PYTHON || 'python3', [script, '--serve', '--threads', String(threads)], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stderr = '';
    proc.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const failed = new Promise<string>((resolve) => {
      proc.on('error', (e) => resolve(`python3 not runnable (${e.message})`));
      proc.on('exit', (code) => resolve(stderr.trim().split('\n').pop() || `peer exited with ${code}`));
    });
    const lines = readline.createInterface({ input: proc.stdout })[Symbol.asyncIterator]();
    const first = await Promise.race([lines.next().then((r) => (r.done ? null : r.value)), failed]);
    if (first == null || !first.startsWith('{')) return typeof first === 'string' ? first : 'no answer from the peer';
    const hello = JSON.parse(first) as { ready?: boolean; error?: string; torch?: string; threads?: number };
    if (!hello.ready) { proc.kill(); return hello.error ?? 'peer not ready'; }
    const peer = new TorchPeer(proc, hello.torch!, hello.threads!);
    peer.lines = lines;
    return peer;
  }
  async time(name: string): Promise<number> {
    this.proc.stdin.write(name + '\n');
    const r = await this.lines.next();
    const msg = JSON.parse(r.value as string) as { ms?: number; error?: string };
    if (msg.ms == null) throw new Error(`PyTorch peer: ${msg.error}`);
    return msg.ms;
  }
  stop(): void { this.proc.stdin.end(); }
}

/** A small R1 training step (conv, lrelu, strided conv, dense) repeated: tensors and RSS must stay flat. */
function memoryLoop(steps: number): string {
  const w1 = tf.variable(tf.randomNormal([3, 3, 3, 16], 0, 0.3));
  const w2 = tf.variable(tf.randomNormal([3, 3, 16, 16], 0, 0.1));
  const w3 = tf.variable(tf.randomNormal([16 * 8 * 8, 1], 0, 0.05));
  const x = tf.randomNormal([8, 16, 16, 3]) as tf.Tensor4D;
  const opt = tf.train.adam(1e-3, 0, 0.99, 1e-8);
  const D = (v: tf.Tensor4D) => {
    let h = tf.fused.conv2d({ x: v, filter: w1 as tf.Tensor4D, strides: 1, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: 0.2 });
    h = tf.fused.conv2d({ x: h, filter: w2 as tf.Tensor4D, strides: 2, pad: 'same', activation: 'leakyrelu', leakyreluAlpha: 0.2 });
    return tf.matMul(tf.reshape(h, [v.shape[0], -1]), w3 as tf.Tensor2D);
  };
  const step = () => tf.tidy(() => {
    const { value, grads } = tf.variableGrads(() => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(D(v as tf.Tensor4D)))(x);
      return tf.add(tf.mean(tf.softplus(D(x))), tf.mul(tf.sum(tf.square(g)), 5)) as tf.Scalar;
    }, [w1, w2, w3]);
    opt.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
    return value.dataSync()[0]!;
  });
  const marks: string[] = [];
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    step();
    if (i === 10 || i === Math.floor(steps / 10) || i === steps) {
      marks.push(`step ${i}: ${tf.memory().numTensors} tensors, RSS ${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
    }
  }
  const perStep = (performance.now() - t0) / steps;
  opt.dispose();
  tf.dispose([w1, w2, w3, x]);
  return `${marks.join('; ')} (${perStep.toFixed(2)} ms/step)`;
}

function fmtTime(v: number | null, unit: 'ms' | 'us'): string {
  return v == null ? '' : unit === 'us' ? `${v.toFixed(2)} µs` : `${v.toFixed(1)} ms`;
}

function fmt(row: Row): string {
  const rate = row.flops != null && row.value != null ? `${(row.flops / (row.value * 1e6)).toFixed(0)} GFLOP/s` : '';
  const torchRate = row.flops != null && row.torch != null ? `${(row.flops / (row.torch * 1e6)).toFixed(0)} GFLOP/s` : '';
  const ratio = row.torch != null && row.value != null ? `${(row.value / row.torch).toFixed(2)}×` : '';
  let note = row.note ?? '';
  if (row.name === GAN_NAME && row.value != null) {
    note = `${(SMALL_GAN.minibatch / (row.value / 1000)).toFixed(1)} img/s` + (row.torch != null ? ` vs PyTorch ${(SMALL_GAN.minibatch / (row.torch / 1000)).toFixed(1)} img/s` : '');
  }
  return `| ${row.name} | ${fmtTime(row.value, row.unit)} | ${rate} | ${fmtTime(row.torch, row.unit)} | ${torchRate} | ${ratio} | ${note} |`;
}

const backendOpts = backendOptionsFrom(argv);
const wanted = String(argv.backends).split(',').map((s) => s.trim()).filter(Boolean) as ResolvedBackend[];
for (const b of wanted) if (!['tensorflow', 'wasm', 'cpu'].includes(b)) throw new UserError(`--backends: unknown backend '${b}'`);
const threads = backendOpts.threads ?? os.availableParallelism();
console.log(`engine bench: ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

let peer: TorchPeer | null = null;
if (argv.torch && wanted.includes('tensorflow')) {
  const p = await TorchPeer.start(threads);
  if (typeof p === 'string') console.log(`PyTorch peer skipped: ${p}`);
  else peer = p;
}

const results: Array<{ backend: string; rows: Row[]; peer: boolean }> = [];
for (const b of wanted) {
  try {
    const info = await initBackend({ ...backendOpts, backend: b });
    if (info.backend !== b) continue;
  } catch (err) {
    console.log(`${b}: not available (${(err as Error).message.split('\n')[0]})`);
    continue;
  }
  const keep: tf.Tensor[] = [];
  const cleanups: Array<() => void> = [];
  const rows: Row[] = [];
  const withPeer = b === 'tensorflow' && peer != null;
  const list = measures(b, keep, cleanups);
  for (let i = 0; i < list.length;) {
    const first = list[i]!;
    const members = first.group == null ? [first] : list.filter((m) => m.group === first.group);
    i += members.length;
    const timed = members.filter((m) => !m.skip && m.run);
    for (const m of members) if (m.skip || !m.run) rows.push({ name: m.name, unit: m.unit, value: null, torch: null, note: m.skip });
    for (const m of timed) m.run!(); // warm-up (kernel selection, first allocation)
    const ours = timed.map((): number[] => []), theirs = timed.map((): number[] => []), cpu = timed.map((): number[] => []);
    const reps = Math.max(...timed.map((m) => m.reps), 0);
    for (let r = 0; r < reps; r++) {
      for (const [j, m] of timed.entries()) {
        if (r >= m.reps) continue;
        ours[j]!.push(m.run!());
        cpu[j]!.push(lastCpuMs);
        if (withPeer) theirs[j]!.push(await peer!.time(m.name));
      }
    }
    for (const [j, m] of timed.entries()) {
      const value = median(ours[j]!);
      // The ratio of medians and the median of per-round ratios; they agree when the load was steady.
      // Backward rows: against the forward with its filter packed once (a lower bound on forward time) and
      // against the forward that meets a new filter, as every training step's does.
      const jNew = timed.findIndex((t) => t.name.endsWith(FWD_NEW));
      const isFwd = j === 0 || j === jNew;
      const vsNew = jNew > 0 ? `; ${(value / median(ours[jNew]!)).toFixed(2)}× fwd with a new filter` : '';
      const note = !isFwd && first.group != null
        ? `${(value / median(ours[0]!)).toFixed(2)}× fwd (per-round median ${median(ours[j]!.map((v, r) => v / ours[0]![r]!)).toFixed(2)}×, CPU time ${median(cpu[j]!.map((v, r) => v / cpu[0]![r]!)).toFixed(2)}×, ${ours[j]!.length} rounds)${vsNew}`
        : j === jNew ? `${(value / median(ours[0]!)).toFixed(2)}× fwd with its filter packed once` : undefined;
      rows.push({ name: m.name, unit: m.unit, flops: m.flops, value, torch: withPeer ? median(theirs[j]!) : null, note });
    }
  }
  tf.dispose(keep);
  for (const c of cleanups) c();
  results.push({ backend: b, rows, peer: withPeer });
  if (b === 'tensorflow' && argv.steps > 0) console.log(`memory, ${argv.steps} small R1 steps on tensorflow: ${memoryLoop(argv.steps)}`);
}
peer?.stop();

for (const { backend, rows, peer: hasPeer } of results) {
  // PyTorch's OpenMP threads spin-wait; on a loaded machine that costs it far more than TF's pool,
  // so say which policy its numbers were taken under.
  const omp = process.env.OMP_WAIT_POLICY ? `OMP_WAIT_POLICY=${process.env.OMP_WAIT_POLICY}` : 'default OpenMP wait policy';
  console.log(`\n### ${backend}${hasPeer ? ` vs PyTorch ${peer!.version} (${peer!.threads} threads, ${omp}), calls interleaved` : ''}`);
  console.log('| measurement | tfjs | tfjs rate | PyTorch | PyTorch rate | tfjs/PyTorch time | note |');
  console.log('|---|---|---|---|---|---|---|');
  for (const row of rows) if (row.value != null) console.log(fmt(row));
  const skipped = rows.filter((r) => r.value == null);
  if (skipped.length > 0) console.log(`(not timed on ${backend}: ${[...new Set(skipped.map((r) => r.note))].join('; ')}; ${skipped.length} rows)`);
}
console.log(`\nload average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(0);
