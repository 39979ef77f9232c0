// StyleGAN2 training (--config sg2-f) end to end on a tiny network over a generated 16x16 dataset.
// Expectations come from NVIDIA's training_loop.py as the spec states it (§A.9), written out here, not
// from the loop's own output: the order of the G / G_reg / D / D_reg steps and the minibatches that
// regularise (running_mb_counter % 4 and % 16 from 0), StyleGAN2's tick 0 after the first iteration,
// the lazy-regularisation Adam rescaling (lr·c; the reg steps share the main steps' Adam state), a flat
// tensor count, and a resume that continues the running minibatch counter.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { resolveTrainConfig, type TrainOverrides } from '../training/train_config.ts';
import { trainingLoop, type StepInfo, type TickInfo } from '../training/training_loop.ts';
import { loadSnapshot } from '../training/snapshot.ts';
import { makeRectDataset } from './_train_dataset.ts';
import { useTestBackend } from './_backend.ts';

let tmp = '';

// 16x16, minibatch 8 (4 repeats → 32 images an iteration), a tick every 64 images.
const TINY: Omit<TrainOverrides, 'dataset'> = {
  config: 'sg2-f', fmap_max: 16, latent_size: 32, mapping_fmaps: 32, mapping_layers: 1,
  minibatch_base: 8, tick_kimg_base: 0.064, tick_kimg_dict: {}, G_smoothing_kimg: 1, grid_size: '4x2',
};
const MB = 8;
const readStats = (dir: string) => fs.readFileSync(path.join(dir, 'stats.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);

/** NVIDIA's per-minibatch op order for minibatches [from, to): G_train, G_reg if k%4==0, D_train, D_reg if k%16==0. */
function nvidiaSteps(from: number, to: number, G_interval: number | null = 4, D_interval: number | null = 16): [string, number][] {
  const out: [string, number][] = [];
  for (let k = from; k < to; k++) {
    out.push(['G', k]);
    if (G_interval !== null && k % G_interval === 0) out.push(['G_reg', k]);
    out.push(['D', k]);
    if (D_interval !== null && k % D_interval === 0) out.push(['D_reg', k]);
  }
  return out;
}

/** NVIDIA's tick rule with cur_tick = −1 at start: [tick, kimg] after each 4-minibatch iteration. */
function nvidiaTicks(total_nimg: number, tick_nimg: number): [number, number][] {
  const out: [number, number][] = [];
  let cur_nimg = 0, cur_tick = -1, tick_start = 0;
  while (cur_nimg < total_nimg) {
    cur_nimg += 4 * MB;
    const done = cur_nimg >= total_nimg;
    if (cur_tick < 0 || cur_nimg >= tick_start + tick_nimg || done) {
      cur_tick += 1;
      tick_start = cur_nimg;
      out.push([cur_tick, cur_nimg / 1000]);
    }
  }
  return out;
}

before(async () => {
  await useTestBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stylegan-sg2-'));
  await makeRectDataset(path.join(tmp, 'datasets', 'rects'), { count: 128, resolution: 16 });
});
after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

test('sg2-f trains with NVIDIA\'s step order and lazy-reg minibatches, tick 0 first, flat tensor count, and resumes the minibatch counter', async () => {
  const data_dir = path.join(tmp, 'datasets');
  const result_dir = path.join(tmp, 'r1');
  const steps: StepInfo[] = [];
  const ticks: TickInfo[] = [];
  const c = resolveTrainConfig({ ...TINY, dataset: 'rects', data_dir, result_dir, total_kimg: 0.256 });
  const res = await trainingLoop(c, { quietProgress: true, onStep: (s) => steps.push(s), onTick: (t) => ticks.push(t) });
  assert.equal(res.status, 'done');
  assert.equal(path.basename(res.runDir), '00000-stylegan2-rects-1gpu-config-f');

  // 0.256 kimg / 8 = 32 minibatches: G_reg on 0, 4, …, 28; D_reg on 0 and 16; each right after its main step.
  assert.deepEqual(steps.map((s) => [s.step, s.running_mb_counter]), nvidiaSteps(0, 32));
  assert.equal(steps.filter((s) => s.step === 'G_reg').length, 8);
  assert.equal(steps.filter((s) => s.step === 'D_reg').length, 2);

  // StyleGAN2's ticks: tick 0 after the first iteration, then every 64 images, lod 0 throughout.
  assert.deepEqual(ticks.map((t) => [t.tick, t.kimg]), nvidiaTicks(256, 64));
  assert.deepEqual(ticks.map((t) => [t.tick, t.kimg]), [[0, 0.032], [1, 0.096], [2, 0.16], [3, 0.224], [4, 0.256]]);
  assert.ok(ticks.every((t) => t.lod === 0 && t.minibatch === MB));
  const counts = ticks.map((t) => t.numTensors);
  assert.ok(counts.every((n) => n === counts[0]), `tensor counts per tick: ${counts.join(', ')}`);

  // Run dir: fakes_init.png before training; at tick 0 fakes and a network snapshot (0 % 10 == 0); final.
  const files = fs.readdirSync(res.runDir);
  for (const f of ['fakes_init.png', 'fakes000000.png', 'network-snapshot-000000.safetensors', 'network-final.safetensors', 'reals.png', 'config.json']) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
  }
  const cfg = JSON.parse(fs.readFileSync(path.join(res.runDir, 'config.json'), 'utf8'));
  assert.equal(cfg.family, 'stylegan2');
  assert.deepEqual(cfg.networks.G.func_name, 'G_main');

  // NVIDIA's autosummary names, finite; the lazy-reg learning rates lr·c: 0.002·4/5 and 0.002·16/17.
  const stats = readStats(res.runDir);
  for (const k of ['Loss/G', 'Loss/D', 'Loss/scores/real', 'Loss/scores/fake', 'Loss/pl_lengths', 'Loss/pl_penalty', 'Loss/gradient_penalty', 'Loss/G_reg', 'Loss/D_reg']) {
    assert.ok(Number.isFinite(stats[0]![k]), `${k} = ${stats[0]![k]}`);
  }
  assert.equal(stats[1]!['Loss/gradient_penalty'], undefined); // tick 1 (minibatches 4–11) has no D reg step
  assert.ok(Number.isFinite(stats[2]!['Loss/gradient_penalty'])); // tick 2 holds minibatch 16
  assert.ok(Math.abs(stats[0]!['TrainG/learning_rate']! - 0.0016) < 1e-12);
  assert.ok(Math.abs(stats[0]!['TrainD/learning_rate']! - 0.002 * 16 / 17) < 1e-12);

  // Reg steps share the main steps' Adam state: one step count per optimizer (32 main + 8 or 2 reg).
  const fin = loadSnapshot(path.join(res.runDir, 'network-final.safetensors')).trainingState as Record<string, unknown>;
  assert.equal(fin.running_mb_counter, 32);
  assert.deepEqual([(fin.G_opt as { t: number }).t, (fin.D_opt as { t: number }).t], [40, 34]);

  // A run stopped after its first iteration (kimg 0.032 = 4 minibatches), resumed to 0.256 kimg: the
  // counter continues, so the resumed steps are the uninterrupted run's from minibatch 4 on.
  const cA = resolveTrainConfig({ ...TINY, dataset: 'rects', data_dir, result_dir: path.join(tmp, 'r1-resume'), total_kimg: 0.032 });
  const rA = await trainingLoop(cA, { quietProgress: true });
  const snap = path.join(rA.runDir, 'network-final.safetensors');
  const st0 = loadSnapshot(snap).trainingState as Record<string, number>;
  assert.deepEqual([st0.cur_tick, st0.cur_nimg, st0.running_mb_counter], [0, 32, 4]);
  const resumed: StepInfo[] = [];
  const c2 = resolveTrainConfig({ ...TINY, dataset: 'rects', data_dir, result_dir: path.join(tmp, 'r1-resume'), total_kimg: 0.256, resume: snap });
  const tensorsBefore = tf.memory().numTensors;
  const r2 = await trainingLoop(c2, { quietProgress: true, onStep: (s) => resumed.push(s) });
  assert.equal(r2.status, 'done');
  assert.equal(tf.memory().numTensors, tensorsBefore, 'the loop releases everything it made');
  assert.deepEqual(resumed.map((s) => [s.step, s.running_mb_counter]), nvidiaSteps(4, 32));
  const log = fs.readFileSync(path.join(r2.runDir, 'log.txt'), 'utf8');
  assert.match(log, /Resuming from kimg 0\.032 \(tick 0, lod 0\.0000, minibatch 4\)/);
  assert.deepEqual(readStats(r2.runDir).map((r) => [r['Progress/tick'], r['Progress/kimg']]), nvidiaTicks(256, 64).slice(1)); // tick 0 is not repeated
  assert.equal((loadSnapshot(path.join(r2.runDir, 'network-final.safetensors')).trainingState as Record<string, number>).running_mb_counter, 32);
});

test('--lazy-regularization false adds both penalties to every step; --pl-weight 0 drops the G reg step only', async () => {
  const data_dir = path.join(tmp, 'datasets');
  const eager: StepInfo[] = [];
  const c = resolveTrainConfig({ ...TINY, dataset: 'rects', data_dir, result_dir: path.join(tmp, 'r2'), total_kimg: 0.032, lazy_regularization: false });
  const r = await trainingLoop(c, { quietProgress: true, onStep: (s) => eager.push(s) });
  assert.deepEqual(eager.map((s) => [s.step, s.running_mb_counter]), nvidiaSteps(0, 4, null, null));
  const s = readStats(r.runDir)[0]!;
  for (const k of ['Loss/pl_lengths', 'Loss/pl_penalty', 'Loss/gradient_penalty']) assert.ok(Number.isFinite(s[k]), `${k} = ${s[k]}`);
  assert.ok(Math.abs(s['TrainG/learning_rate']! - 0.002) < 1e-12); // no lazy rescaling

  const noPl: StepInfo[] = [];
  const c2 = resolveTrainConfig({ ...TINY, dataset: 'rects', data_dir, result_dir: path.join(tmp, 'r3'), total_kimg: 0.032, pl_weight: 0 });
  const r2 = await trainingLoop(c2, { quietProgress: true, onStep: (x) => noPl.push(x) });
  assert.deepEqual(noPl.map((x) => [x.step, x.running_mb_counter]), nvidiaSteps(0, 4, null, 16));
  const s2 = readStats(r2.runDir)[0]!;
  assert.equal(s2['Loss/pl_lengths'], undefined);
  // NVIDIA rescales G's Adam whenever lazy_regularization is on, also without a G reg term.
  assert.ok(Math.abs(s2['TrainG/learning_rate']! - 0.0016) < 1e-12);
});
