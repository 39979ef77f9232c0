// `npm run bench -- engine [--backends tensorflow,wasm,cpu] [--reps 5] [--steps 1000] [--threads N] [--no-torch]`
// Per backend: conv2d forward / backprop-input / backprop-filter GFLOP/s at StyleGAN shapes (batch 8,
// 3x3 'same'), per-op dispatch, a 1024^3 matmul, and a small G+D step with R1 in images/s; then a long
// loop of a small R1 step watching tf.memory().numTensors and RSS. Where python3 imports torch,
// bench/torch_engine.py times the same things in the same run and a ratio column is printed.
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
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
  .option('steps', { type: 'number', default: 1000, describe: 'steps of the long memory loop (0 to skip)' })
  .option('gan-steps', { type: 'number', default: 3, describe: 'timed G+D+R1 steps (after one warm-up)' })
  .option('torch', { type: 'boolean', default: true, describe: 'run the PyTorch peer (python3 bench/torch_engine.py)' })
  .strict()
  .parse();

const CONV_SHAPES: Array<[number, number, number]> = [[4, 512, 512], [8, 512, 512], [32, 256, 256], [64, 128, 128]]; // [H=W, Cin, Cout]
const BATCH = 8;

type Row = { name: string; unit: 'ms' | 'us'; value: number | null; gflops?: number; note?: string };

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median wall time of `reps` calls after one warm-up; every backend here executes synchronously in Node. */
function timeMs(fn: () => tf.Tensor | tf.Tensor[], reps: number): number {
  tf.dispose(fn());
  const times: number[] = [];
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    const out = fn();
    // Reading one value forces completion even on a backend that queues work.
    const first = Array.isArray(out) ? out[0]! : out;
    if (first.size > 0) tf.tidy(() => tf.slice(tf.reshape(first, [-1]), 0, 1).dataSync());
    times.push(performance.now() - t0);
    tf.dispose(out);
  }
  return median(times);
}

function convRows(backend: ResolvedBackend, reps: number): Row[] {
  const rows: Row[] = [];
  for (const [hw, cin, cout] of CONV_SHAPES) {
    const flops = 2 * BATCH * hw * hw * cin * cout * 9;
    const x = tf.randomNormal([BATCH, hw, hw, cin]) as tf.Tensor4D;
    const w = tf.randomNormal([3, 3, cin, cout]) as tf.Tensor4D;
    const dy = tf.randomNormal([BATCH, hw, hw, cout]) as tf.Tensor4D;
    const tag = `conv ${hw}x${hw} ${cin}->${cout}`;
    const ops: Array<[string, () => tf.Tensor]> = [
      ['fwd', () => tf.conv2d(x, w, 1, 'same')],
      ['bwd-input', () => tf.conv2dTranspose(dy, w, [BATCH, hw, hw, cin], 1, 'same')],
      ['bwd-filter', () => tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, cin, cout] }) as tf.Tensor],
    ];
    for (const [op, fn] of ops) {
      const name = `${tag} ${op}`;
      // Stock wasm has no Conv2DBackpropFilter and cpu runs these at ~1 GFLOP/s (minutes per call).
      if (backend === 'cpu' || (backend === 'wasm' && op !== 'fwd')) {
        rows.push({ name, unit: 'ms', value: null, note: backend === 'cpu' ? 'skipped: cpu backend too slow' : 'skipped: stock wasm (issue 11)' });
        continue;
      }
      const ms = timeMs(fn, backend === 'wasm' ? Math.min(reps, 2) : reps);
      rows.push({ name, unit: 'ms', value: ms, gflops: flops / (ms * 1e6) });
    }
    tf.dispose([x, w, dy]);
  }
  return rows;
}

function dispatchUs(): number {
  const a = tf.scalar(1), b = tf.scalar(2);
  const n = 3000;
  const runs: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    for (let i = 0; i < n; i++) tf.add(a, b).dispose();
    runs.push((performance.now() - t0) * 1000 / n);
  }
  tf.dispose([a, b]);
  return median(runs);
}

function matmulRow(backend: ResolvedBackend, reps: number): Row {
  const a = tf.randomNormal([1024, 1024]) as tf.Tensor2D, b = tf.randomNormal([1024, 1024]) as tf.Tensor2D;
  const ms = timeMs(() => tf.matMul(a, b), backend === 'tensorflow' ? reps : 1);
  tf.dispose([a, b]);
  return { name: 'matmul 1024^3', unit: 'ms', value: ms, gflops: 2 * 1024 ** 3 / (ms * 1e6) };
}

function ganRow(backend: ResolvedBackend, steps: number): Row {
  const name = `G+D+R1 step ${SMALL_GAN.resolution}^2 fmaps ${SMALL_GAN.fmaps} mb ${SMALL_GAN.minibatch} (hand-built)`;
  if (backend !== 'tensorflow') return { name, unit: 'ms', value: null, note: `skipped on ${backend}` };
  const gan = createSmallGan();
  const reals = tf.randomUniform([SMALL_GAN.minibatch, SMALL_GAN.resolution, SMALL_GAN.resolution, 3], -1, 1) as tf.Tensor4D;
  gan.step(reals);
  const times: number[] = [];
  for (let i = 0; i < steps; i++) {
    const t0 = performance.now();
    gan.step(reals);
    times.push(performance.now() - t0);
  }
  gan.dispose();
  reals.dispose();
  const ms = median(times);
  return { name, unit: 'ms', value: ms, note: `${(SMALL_GAN.minibatch / (ms / 1000)).toFixed(1)} img/s` };
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

interface TorchResult { torch: string; threads: number; ms: Record<string, number>; error?: string }

function runTorch(threads: number): TorchResult | string {
  const script = path.join(import.meta.dirname, 'torch_engine.py');
  const r = spawnSync(process.env.PYTHON || 'python3', [script, '--threads', String(threads), '--gan-steps', String(argv['gan-steps'])], {
    encoding: 'utf8', timeout: 30 * 60_000, maxBuffer: 16 << 20,
  });
  if (r.error) return `python3 not runnable (${r.error.message})`;
  const line = r.stdout.split('\n').find((l) => l.startsWith('{'));
  if (r.status !== 0 || !line) return (r.stderr || r.stdout).trim().split('\n').pop() ?? `exit ${r.status}`;
  const res = JSON.parse(line) as TorchResult;
  return res.error ? res.error : res;
}

function fmt(row: Row, torch: TorchResult | null): string {
  const v = row.value == null ? '—' : row.unit === 'us' ? `${row.value.toFixed(2)} µs` : `${row.value.toFixed(1)} ms`;
  const g = row.gflops != null ? `${row.gflops.toFixed(0)} GFLOP/s` : '';
  const t = torch?.ms[row.name];
  const tv = t == null ? '' : row.unit === 'us' ? `${t.toFixed(2)} µs` : `${t.toFixed(1)} ms`;
  const ratio = t != null && row.value != null ? `${(row.value / t).toFixed(2)}×` : '';
  let note = row.note ?? '';
  if (row.name.startsWith('G+D') && t != null) note += ` vs PyTorch ${(SMALL_GAN.minibatch / (t / 1000)).toFixed(1)} img/s`;
  return `| ${row.name} | ${v} | ${g} | ${tv} | ${ratio} | ${note} |`;
}

const backendOpts = backendOptionsFrom(argv);
const wanted = String(argv.backends).split(',').map((s) => s.trim()).filter(Boolean) as ResolvedBackend[];
for (const b of wanted) if (!['tensorflow', 'wasm', 'cpu'].includes(b)) throw new UserError(`--backends: unknown backend '${b}'`);
const threads = backendOpts.threads ?? os.availableParallelism();
console.log(`engine bench: ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);

const results: Array<{ backend: string; rows: Row[] }> = [];
for (const b of wanted) {
  try {
    const info = await initBackend({ ...backendOpts, backend: b });
    if (info.backend !== b) continue;
  } catch (err) {
    console.log(`${b}: not available (${(err as Error).message.split('\n')[0]})`);
    continue;
  }
  const rows: Row[] = [...convRows(b, argv.reps), { name: 'per-op dispatch (1x1 add)', unit: 'us', value: dispatchUs() }, matmulRow(b, argv.reps), ganRow(b, argv['gan-steps'])];
  results.push({ backend: b, rows });
  if (b === 'tensorflow' && argv.steps > 0) console.log(`memory, ${argv.steps} small R1 steps on tensorflow: ${memoryLoop(argv.steps)}`);
}

let torch: TorchResult | null = null;
if (argv.torch) {
  const t = runTorch(threads);
  if (typeof t === 'string') console.log(`PyTorch peer skipped: ${t}`);
  else torch = t;
}
for (const { backend, rows } of results) {
  const peer = backend === 'tensorflow' ? torch : null;
  console.log(`\n### ${backend}${peer ? ` vs PyTorch ${peer.torch} (${peer.threads} threads)` : ''}`);
  console.log('| measurement | tfjs | tfjs rate | PyTorch | tfjs/PyTorch time | note |');
  console.log('|---|---|---|---|---|---|');
  for (const row of rows) if (row.value != null) console.log(fmt(row, peer));
  const skipped = rows.filter((r) => r.value == null);
  if (skipped.length > 0) console.log(`(not timed on ${backend}: ${[...new Set(skipped.map((r) => r.note))].join('; ')} — ${skipped.length} rows)`);
}
console.log(`\nload average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(0);
