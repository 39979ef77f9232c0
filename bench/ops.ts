// `npm run bench -- ops [--backends tensorflow,wasm] [--reps 15] [--steps 7] [--no-ops] [--no-gan] [--no-nchw]`
// A/B of the two formulations of training/ops.ts' upscale2d / downscale2d ('reshape': broadcast add
// of zeros / reshape + mean; 'kernel': ResizeNearestNeighbor / AvgPool, whose backward kernels have
// their gradients from engine/), in one process, calls alternated (A B, B A, A B, …) so both see the
// same machine load: read the ratios, not the absolute times, on a shared machine.
// Per backend and NCHW shape of the networks (held NHWC, the networks' internal layout):
// forward; first order (dx of Σ r·op(x)); second order as R1 does it (d/ds of Σ (∂F/∂x)² with
// F = Σ softplus(op(x)·s), s per channel, so the backward kernel itself is differentiated).
// The `nchw` rows time what an NCHW caller would pay: a transpose pair around the kernel vs the
// reshape chain on NCHW directly (tfjs' AvgPool is NHWC only; TF's CPU AvgPool rejects NCHW).
// Then whole training steps (D step with R1 or WGAN-GP + G step) of a small StyleGAN: reshape for
// both ops vs kernel for both vs kernel for downscale2d only, rotated round by round.
import os from 'node:os';
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import * as tf from '@tensorflow/tfjs';
import { backendOptions, backendOptionsFrom, initBackend, type ResolvedBackend } from '../dnnlib/backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { RandomState } from '../dnnlib/random.ts';
import * as ops from '../training/ops.ts';
import { resolveTrainConfig } from '../training/train_config.ts';
import { buildTrainingNetworks } from '../training/training_loop.ts';
import { createTrainer, type MinibatchSource } from '../training/train_step.ts';
import type { TrainingSchedule } from '../training/schedule.ts';

const argv = await yargs(hideBin(process.argv))
  .scriptName('npm run bench -- ops')
  .options(backendOptions)
  .option('backends', { type: 'string', default: 'tensorflow,wasm', describe: 'backends to time, comma-separated (cpu is slow: fewer shapes)' })
  .option('reps', { type: 'number', default: 15, describe: 'alternated rounds per op measurement (median reported)' })
  .option('steps', { type: 'number', default: 7, describe: 'alternated rounds of whole training steps (0 to skip)' })
  .option('ops', { type: 'boolean', default: true, describe: 'time the single ops (--no-ops: training steps only)' })
  .option('gan', { type: 'boolean', default: true, describe: 'time whole StyleGAN training steps' })
  .option('nchw', { type: 'boolean', default: true, describe: 'also time the NCHW variants (transpose pair around the kernel)' })
  .option('shapes', { type: 'string', describe: 'NCHW shapes, e.g. 32x512x8x8,32x1x32x32 (default: the networks\' four)' })
  .strict()
  .parse();

const DEFAULT_SHAPES: Array<[number, number, number, number]> = [[32, 512, 8, 8], [32, 256, 32, 32], [16, 128, 64, 64], [32, 1, 32, 32]];
const shapes = argv.shapes
  ? argv.shapes.split(',').map((s) => s.split('x').map(Number) as [number, number, number, number])
  : DEFAULT_SHAPES;

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;

// Every backend executes synchronously in Node; reading one value forces completion all the same
// (wasm: straight off the heap, its Slice would copy the whole input).
function settle(out: tf.Tensor): void {
  if (tf.getBackend() === 'wasm') (tf.backend() as unknown as { readSync(id: tf.DataId, s: number, e: number): unknown }).readSync(out.dataId, 0, 1);
  else tf.tidy(() => tf.slice(tf.reshape(out, [-1]), 0, 1).dataSync());
}

function timeOnce(fn: () => tf.Tensor | void): number {
  const t0 = performance.now();
  const out = fn();
  if (out) { settle(out); out.dispose(); }
  return performance.now() - t0;
}

interface AB { name: string; a: () => number | Promise<number>; b: () => number | Promise<number>; reps: number }
interface Result { name: string; a: number; b: number; ratio: number; perRound: number; n: number }

/** Warm-up of both, then `reps` rounds alternating which goes first. Ratio = A/B time (> 1: B faster). */
async function runAB(m: AB): Promise<Result> {
  await m.a(); await m.b();
  const ta: number[] = [], tb: number[] = [];
  for (let r = 0; r < m.reps; r++) {
    if (r % 2 === 0) { ta.push(await m.a()); tb.push(await m.b()); } else { tb.push(await m.b()); ta.push(await m.a()); }
  }
  const a = median(ta), b = median(tb);
  return { name: m.name, a, b, ratio: a / b, perRound: median(ta.map((v, i) => v / tb[i]!)), n: m.reps };
}

function withImpl<T>(impl: ops.ResampleImpl, fn: () => T): T {
  ops.setResampleImpl(impl);
  try { return fn(); } finally { ops.setResampleImpl(null); }
}

// --- NCHW variants: what a caller holding NCHW tensors pays ---------------------------------------
const downNCHWReshape = (x: tf.Tensor4D): tf.Tensor4D => {
  const [n, c, h, w] = x.shape;
  return tf.reshape(tf.mean(tf.reshape(x, [n * c * (h / 2), 2, w / 2, 2]), [1, 3]), [n, c, h / 2, w / 2]);
};
const upNCHWReshape = (x: tf.Tensor4D): tf.Tensor4D => {
  const [n, c, h, w] = x.shape;
  return tf.reshape(tf.add(tf.reshape(x, [n * c * h, 1, w, 1]), tf.zeros([1, 2, 1, 2])), [n, c, 2 * h, 2 * w]);
};
const downNCHWKernel = (x: tf.Tensor4D): tf.Tensor4D => tf.transpose(tf.avgPool(tf.transpose(x, [0, 2, 3, 1]), 2, 2, 'valid'), [0, 3, 1, 2]);
const upNCHWKernel = (x: tf.Tensor4D): tf.Tensor4D => {
  const [, , h, w] = x.shape;
  return tf.transpose(tf.image.resizeNearestNeighbor(tf.transpose(x, [0, 2, 3, 1]) as tf.Tensor4D, [2 * h, 2 * w]), [0, 3, 1, 2]);
};

type Op = (x: tf.Tensor4D) => tf.Tensor4D;

/** fwd / 1st / 2nd-order closures of `op` on x; s broadcasts over op(x) (one value per channel). */
function orders(op: Op, x: tf.Tensor4D, r: tf.Tensor, s: tf.Tensor): Array<[string, () => tf.Tensor]> {
  return [
    ['fwd', () => tf.tidy(() => op(x))],
    ['1st', () => tf.tidy(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(op(v as tf.Tensor4D), r)))(x))],
    ['2nd', () => tf.tidy(() => tf.grad((sv: tf.Tensor) => {
      const g = tf.grad((v: tf.Tensor) => tf.sum(tf.softplus(tf.mul(op(v as tf.Tensor4D), sv))))(x);
      return tf.sum(tf.square(g));
    })(s))],
  ];
}

function opMeasures(backend: ResolvedBackend, keep: tf.Tensor[]): AB[] {
  const list: AB[] = [];
  // tfjs' cpu backend runs ~100x slower: its rows use fewer rounds.
  const reps = backend === 'cpu' ? Math.max(3, Math.min(argv.reps, 5)) : argv.reps;
  for (const [n, c, h, w] of shapes) {
    const tag = `${n}x${c}x${h}x${w}`;
    const x = tf.randomNormal([n, h, w, c]) as tf.Tensor4D;
    const s = tf.randomNormal([c], 1, 0.3);
    const rDown = tf.randomNormal([n, h / 2, w / 2, c]), rUp = tf.randomNormal([n, 2 * h, 2 * w, c]);
    keep.push(x, s, rDown, rUp);
    for (const [opName, op, r] of [['downscale2d', (v: tf.Tensor4D) => ops.downscale2d(v), rDown], ['upscale2d', (v: tf.Tensor4D) => ops.upscale2d(v), rUp]] as const) {
      for (const [order, fn] of orders(op, x, r, s)) {
        list.push({ name: `${opName} ${tag} ${order}`, reps, a: () => withImpl('reshape', () => timeOnce(fn)), b: () => withImpl('kernel', () => timeOnce(fn)) });
      }
    }
    if (argv.nchw) {
      const xc = tf.randomNormal([n, c, h, w]) as tf.Tensor4D;
      const sc = tf.reshape(s, [1, c, 1, 1]);
      const rDc = tf.randomNormal([n, c, h / 2, w / 2]), rUc = tf.randomNormal([n, c, 2 * h, 2 * w]);
      keep.push(xc, sc, rDc, rUc);
      for (const [opName, a, b, r] of [['downscale2d nchw', downNCHWReshape, downNCHWKernel, rDc], ['upscale2d nchw', upNCHWReshape, upNCHWKernel, rUc]] as const) {
        const oa = orders(a, xc, r, sc), ob = orders(b, xc, r, sc);
        for (let j = 0; j < oa.length; j++) {
          // The 2nd-order parameter is [1,c,1,1] here; its gradient reduces like the NHWC one's.
          list.push({ name: `${opName} ${tag} ${oa[j]![0]}`, reps, a: () => timeOnce(oa[j]![1]), b: () => timeOnce(ob[j]![1]) });
        }
      }
    }
  }
  return list;
}

/**
 * Whole training steps of a small StyleGAN (config F shrunk as bench/train.ts: 32x32x1, fmap_max 64,
 * z = w = 128, 2-layer mapping, minibatch 32): ProgressiveTrainer.minibatch = one D step (with its
 * regulariser) + the Gs update + one G step, on random reals.
 */
interface Multi { name: string; reps: number; variants: Array<[string, () => Promise<number>]> }

function ganMeasures(cleanups: Array<() => void>): Multi[] {
  const list: Multi[] = [];
  const variants: Array<[string, string | undefined, number]> = [
    ['config f, R1 (γ 10), lod 0', undefined, 0],
    ['config f, R1 (γ 10), fade lod 0.5', undefined, 0.5],
    ['config f, WGAN-GP, lod 0', 'wgan-gp', 0],
  ];
  for (const [label, loss, lod] of variants) {
    const c = resolveTrainConfig({
      config: 'f', dataset: 'bench', fmap_base: 512, fmap_max: 64, latent_size: 128, mapping_fmaps: 128, mapping_layers: 2,
      minibatch_base: 32, minibatch_dict: {}, G_lrate_base: 0.001, D_lrate_base: 0.001, G_lrate_dict: {}, D_lrate_dict: {},
      lod_initial_resolution: 8, ...(loss ? { loss } : {}),
    });
    const { G, D } = buildTrainingNetworks(c, { num_channels: 1, resolution: 32, label_size: 0 });
    const Gs = G.clone('Gs');
    const trainer = createTrainer(c, { G, D, Gs, rng: new RandomState(7) });
    trainer.setLod(lod);
    const mb = 32;
    const src: MinibatchSource = {
      next: async () => ({ reals: tf.randomUniform([mb, 1, 32, 32], -1, 1) as tf.Tensor4D, labels: tf.zeros([mb, 0]) as tf.Tensor2D }),
      randomLabels: (k) => tf.zeros([k, 0]) as tf.Tensor2D,
    };
    const sched = { kimg: 0, lod, resolution: 32, minibatch: mb, G_lrate: 0.001, D_lrate: 0.001, tick_kimg: 1 } as TrainingSchedule;
    let counter = 0;
    // minibatch() is async only for the data source, which resolves at once; timed with its read back.
    const step = async (): Promise<number> => {
      const t0 = performance.now();
      const { steps } = await trainer.minibatch(src, sched, counter++);
      for (const s of steps) { s.values.dataSync(); s.values.dispose(); }
      return performance.now() - t0;
    };
    list.push({
      name: `step ${label}`, reps: argv.steps,
      variants: [
        ['reshape', () => withImplAsync({ upscale2d: 'reshape', downscale2d: 'reshape' }, step)],
        ['kernel', () => withImplAsync({ upscale2d: 'kernel', downscale2d: 'kernel' }, step)],
        ['downscale2d kernel only', () => withImplAsync({ upscale2d: 'reshape', downscale2d: 'kernel' }, step)],
      ],
    });
    cleanups.push(() => { trainer.dispose(); for (const net of [G, D, Gs]) net.dispose(); });
  }
  return list;
}

async function withImplAsync(impl: Record<ops.ResampleOp, ops.ResampleImpl>, fn: () => Promise<number>): Promise<number> {
  ops.setResampleImpl(impl.upscale2d, 'upscale2d');
  ops.setResampleImpl(impl.downscale2d, 'downscale2d');
  try { return await fn(); } finally { ops.setResampleImpl(null); }
}

/** One warm-up each, then rounds whose starting variant rotates; each variant vs the first (A). */
async function runMulti(m: Multi): Promise<Result[]> {
  const k = m.variants.length;
  for (const [, fn] of m.variants) await fn();
  const t: number[][] = m.variants.map(() => []);
  for (let r = 0; r < m.reps; r++) for (let i = 0; i < k; i++) { const j = (r + i) % k; t[j]!.push(await m.variants[j]![1]()); }
  const a = median(t[0]!);
  return m.variants.slice(1).map(([label], i) => {
    const b = median(t[i + 1]!);
    return { name: `${m.name} (B = ${label})`, a, b, ratio: a / b, perRound: median(t[0]!.map((v, r) => v / t[i + 1]![r]!)), n: m.reps };
  });
}

const fmtMs = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));
const row = (r: Result) => `| ${r.name} | ${fmtMs(r.a)} | ${fmtMs(r.b)} | ${r.ratio.toFixed(2)}× | ${r.perRound.toFixed(2)}× |`;

const backendOpts = backendOptionsFrom(argv);
const wanted = String(argv.backends).split(',').map((s) => s.trim()).filter(Boolean) as ResolvedBackend[];
for (const b of wanted) if (!['tensorflow', 'wasm', 'cpu'].includes(b)) throw new UserError(`--backends: unknown backend '${b}'`);
console.log(`ops bench: ${os.cpus()[0]?.model ?? 'cpu'} x${os.availableParallelism()}, load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
console.log('A = reshape formulation (broadcast add / reshape + mean), B = kernel (ResizeNearestNeighbor / AvgPool); ratio = A/B time, > 1: kernel faster');

for (const b of wanted) {
  try {
    const info = await initBackend({ ...backendOpts, backend: b });
    if (info.backend !== b) continue;
  } catch (err) {
    console.log(`${b}: not available (${(err as Error).message.split('\n')[0]})`);
    continue;
  }
  console.log(`\n### ${b} (default now: upscale2d ${ops.resampleImpl('upscale2d')}, downscale2d ${ops.resampleImpl('downscale2d')})`);
  console.log('| measurement (NCHW shape, held NHWC unless "nchw") | A reshape ms | B kernel ms | ratio of medians | per-round median ratio |');
  console.log('|---|---|---|---|---|');
  const keep: tf.Tensor[] = [];
  const before = tf.memory().numTensors;
  if (argv.ops) for (const m of opMeasures(b, keep)) console.log(row(await runAB(m)));
  tf.dispose(keep);
  if (argv.gan && argv.steps > 0 && b !== 'cpu') {
    const cleanups: Array<() => void> = [];
    for (const m of ganMeasures(cleanups)) for (const r of await runMulti(m)) console.log(row(r));
    for (const c of cleanups) c();
  }
  const leaked = tf.memory().numTensors - before;
  if (leaked !== 0) console.log(`(warning: ${leaked} tensors left over on ${b})`);
}
console.log(`\nload average at end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
process.exit(0);
