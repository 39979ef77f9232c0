// End to end: train.ts / trainingLoop on a tiny StyleGAN (16x16, fmap_max 16) over a generated dataset.
// Expectations come from the spec and from the independently tested schedule (simulateTraining), not
// from the loop's own output: the run dir's files, NVIDIA's tick line, the tick kimg/lod sequence, a
// flat tensor count, a divergence stop, and a resume after kill -9 and after SIGINT that continues
// the uninterrupted run's schedule exactly.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import sharp from 'sharp';
import { resolveTrainConfig, type TrainOverrides } from '../training/train_config.ts';
import { trainingLoop, type TickInfo } from '../training/training_loop.ts';
import { simulateTraining } from '../training/schedule.ts';
import { loadSnapshot } from '../training/snapshot.ts';
import { locateResume } from '../training/train_state.ts';
import { UserError } from '../dnnlib/errors.ts';
import { makeRectDataset } from './_train_dataset.ts';
import { useTestBackend } from './_backend.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let tmp = '';

// 16x16 dataset, growing from 8x8: lod 1 for 0.1 kimg, fade 0.1 kimg, then lod 0; ticks every 0.1 kimg.
const TINY: Omit<TrainOverrides, 'dataset'> = {
  fmap_max: 16, latent_size: 32, mapping_fmaps: 32, mapping_layers: 1,
  minibatch_base: 8, minibatch_dict: {}, lod_initial_resolution: 8, lod_training_kimg: 0.1, lod_transition_kimg: 0.1,
  tick_kimg_base: 0.1, tick_kimg_dict: {}, G_smoothing_kimg: 1, grid_size: '4x2', network_snapshot_ticks: 2,
};
const TINY_FLAGS = [
  '--fmap-max', '16', '--latent-size', '32', '--mapping-fmaps', '32', '--mapping-layers', '1',
  '--minibatch-base', '8', '--minibatch-dict', '', '--lod-initial-resolution', '8', '--lod-training-kimg', '0.1', '--lod-transition-kimg', '0.1',
  '--tick-kimg-base', '0.1', '--tick-kimg-dict', '', '--G-smoothing-kimg', '1', '--grid-size', '4x2',
];
const SCHED = { training_set_resolution_log2: 4, minibatch_base: 8, minibatch_dict: {}, lod_initial_resolution: 8, lod_training_kimg: 0.1, lod_transition_kimg: 0.1, tick_kimg_base: 0.1, tick_kimg_dict: {} };

const readStats = (dir: string) => fs.readFileSync(path.join(dir, 'stats.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const tickOf = (r: Record<string, number>) => [r['Progress/tick'], r['Progress/kimg'], r['Progress/lod']];

before(async () => {
  await useTestBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stylegan-train-'));
  await makeRectDataset(path.join(tmp, 'datasets', 'rects'), { count: 128, resolution: 16 });
});
after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

test('a tiny run writes NVIDIA\'s run dir, tick lines on the schedule, and keeps the tensor count flat', async () => {
  const c = resolveTrainConfig({ ...TINY, dataset: 'rects', data_dir: path.join(tmp, 'datasets'), result_dir: path.join(tmp, 'r1'), total_kimg: 0.5 });
  const ticks: TickInfo[] = [];
  const res = await trainingLoop(c, { onTick: (t) => ticks.push(t), quietProgress: true });
  assert.equal(res.status, 'done');
  assert.equal(res.exitCode, 0);
  assert.equal(path.basename(res.runDir), '00000-sgan-rects-1gpu');
  const files = fs.readdirSync(res.runDir).sort();
  for (const f of ['config.json', 'log.txt', 'run.txt', 'reals.png', 'fakes000000.png', 'network-snapshot-000000.safetensors', 'network-final.safetensors', 'stats.jsonl', 'loss.png', '_finished.txt']) {
    assert.ok(files.includes(f), `${f} missing from ${files.join(', ')}`);
  }
  assert.ok(!files.some((f) => f.includes('.tmp-')), 'no temp files left');

  // Ticks: 32 images per iteration (minibatch 8 × 4 repeats), a tick each ≥ 100 images, as the schedule says.
  const sim = simulateTraining(0.5, SCHED, { network_snapshot_ticks: 2 });
  assert.deepEqual(ticks.map((t) => [t.tick, t.kimg, t.lod]), sim.ticks.map((t) => [t.tick, t.kimg, t.lod]));
  assert.deepEqual(sim.ticks.map((t) => t.kimg), [0.128, 0.256, 0.384, 0.512]);
  // Adam is reset at the start, when the fade begins and when it ends (§3.5 step 2).
  assert.equal(sim.optimizer_resets, 3);
  assert.equal(ticks.at(-1)!.optimizerResets, sim.optimizer_resets);
  assert.deepEqual(ticks.map((t) => t.optimizerResets), [1, 3, 3, 3]);
  assert.deepEqual(readStats(res.runDir).map(tickOf), sim.ticks.map((t) => [t.tick, t.kimg, t.lod]));
  // The tick line with NVIDIA's field widths, in the log.
  const log = fs.readFileSync(path.join(res.runDir, 'log.txt'), 'utf8');
  assert.match(log, /^tick 1     kimg 0\.1      lod 1\.00  minibatch 8    time \S+ +sec\/tick \d+\.\d +sec\/kimg \d+\.\d\d +maintenance \d+\.\d/m);
  assert.match(log, /^tick 3     kimg 0\.4      lod 0\.00  minibatch 8 /m);
  assert.match(log, /^ {2}losses D -?\d+\.\d{4} {2}G -?\d+\.\d{4} {2}r1_penalty/m);
  assert.match(log, /^Dataset shape = \[1, 16, 16\]$/m);
  // Losses recorded per tick are finite numbers; D's logistic loss starts near 2·ln 2.
  const stats = readStats(res.runDir);
  for (const s of stats) for (const k of ['Loss/G', 'Loss/D', 'Loss/scores/real', 'Loss/scores/fake', 'Loss/r1_penalty']) assert.ok(Number.isFinite(s[k]), `${k} = ${s[k]}`);
  // Network snapshots at tick 1, every 2nd tick and the end (§3.7); fakes for every tick (image_snapshot_ticks 1).
  assert.deepEqual(sim.network_snapshot_kimg, [0, 0, 0]);
  assert.ok(files.includes('fakes000000.png'));
  const meta = await sharp(path.join(res.runDir, 'fakes000000.png')).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [64, 32, 1]);
  // config.json holds every resolved setting.
  const cfg = JSON.parse(fs.readFileSync(path.join(res.runDir, 'config.json'), 'utf8'));
  assert.equal(cfg.train.total_kimg, 0.5);
  assert.deepEqual(cfg.dataset_shape, [1, 16, 16]);
  assert.equal(cfg.D_loss.func_name, 'D_logistic_simplegp');
  // The final snapshot carries everything for a resume.
  const snap = loadSnapshot(path.join(res.runDir, 'network-final.safetensors'));
  assert.equal(snap.trainingState.cur_nimg, 512);
  assert.equal(snap.trainingState.cur_tick, 4);
  assert.ok(snap.optimizer.size > 0 && [...snap.optimizer.keys()].some((k) => k.startsWith('G/G_synthesis/') && k.endsWith('/m')));
  assert.equal(snap.G.size, snap.Gs.size);
  // No tensor leaks: the count after each tick is the same.
  const counts = ticks.map((t) => t.numTensors);
  assert.ok(counts.every((n) => n === counts[0]), `tensor counts per tick: ${counts.join(', ')}`);
});

test('a non-finite loss stops with a message naming the tick and keeps the last good snapshot', async () => {
  // lr 1e30 once the 16x16 fade starts (tick 2): the weights overflow and the losses turn Inf/NaN.
  const c = resolveTrainConfig({ ...TINY, dataset: 'rects', data_dir: path.join(tmp, 'datasets'), result_dir: path.join(tmp, 'r2'), total_kimg: 0.5, D_lrate_dict: { 16: 1e30 }, G_lrate_dict: { 16: 1e30 } });
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => { errors.push(String(chunk)); return (write as (...a: unknown[]) => boolean)(chunk, ...rest); }) as typeof process.stderr.write;
  let res;
  try {
    res = await trainingLoop(c, { quietProgress: true });
  } finally {
    process.stderr.write = write;
  }
  assert.equal(res.status, 'diverged');
  assert.equal(res.exitCode, 1);
  const msg = errors.join('');
  assert.match(msg, /error: training diverged: non-finite .*during tick 2 /);
  assert.match(msg, /the last good one is .*network-snapshot-000000\.safetensors/);
  const files = fs.readdirSync(res.runDir);
  assert.ok(files.includes('network-snapshot-000000.safetensors'));
  assert.ok(!files.includes('network-final.safetensors'));
  assert.equal(loadSnapshot(path.join(res.runDir, 'network-snapshot-000000.safetensors')).trainingState.cur_tick, 1);
});

test('abort.txt in the run dir stops at the next tick and still writes network-final', async () => {
  const c = resolveTrainConfig({ ...TINY, dataset: 'rects', data_dir: path.join(tmp, 'datasets'), result_dir: path.join(tmp, 'r4'), total_kimg: 0.5 });
  const ticks: number[] = [];
  const res = await trainingLoop(c, {
    quietProgress: true,
    onTick: (t) => {
      ticks.push(t.tick);
      if (t.tick === 1) fs.writeFileSync(path.join(tmp, 'r4', '00000-sgan-rects-1gpu', 'abort.txt'), '');
    },
  });
  assert.equal(res.status, 'aborted');
  assert.deepEqual(ticks, [1]);
  assert.equal(loadSnapshot(path.join(res.runDir, 'network-final.safetensors')).trainingState.cur_nimg, 128);
});

test('--resume finds a file, a run dir\'s newest snapshot (final last), or the newest run of this desc', () => {
  const root = path.join(tmp, 'locate');
  const mk = (dir: string, files: string[]) => { fs.mkdirSync(path.join(root, dir), { recursive: true }); for (const f of files) fs.writeFileSync(path.join(root, dir, f), ''); };
  mk('00000-sgan-x-1gpu', ['network-snapshot-000010.safetensors', 'network-final.safetensors', 'network-snapshot-000120.safetensors']);
  mk('00001-sgan-x-1gpu', ['network-snapshot-000002.safetensors', 'network-snapshot-000140.safetensors']);
  mk('00002-sgan-x-1gpu', []); // started, no snapshot yet
  mk('00003-sgan-y-1gpu', ['network-snapshot-000500.safetensors']);
  assert.equal(locateResume('latest', root, 'sgan-x-1gpu'), path.join(root, '00001-sgan-x-1gpu', 'network-snapshot-000140.safetensors'));
  assert.equal(locateResume(path.join(root, '00000-sgan-x-1gpu'), root, 'ignored'), path.join(root, '00000-sgan-x-1gpu', 'network-final.safetensors'));
  const file = path.join(root, '00003-sgan-y-1gpu', 'network-snapshot-000500.safetensors');
  assert.equal(locateResume(file, root, 'sgan-x-1gpu'), file);
  assert.throws(() => locateResume('latest', root, 'sgan-z-1gpu'), (e: unknown) => e instanceof UserError && /no run directory .*sgan-z-1gpu holds a snapshot/.test(e.message));
  assert.throws(() => locateResume(path.join(root, '00002-sgan-x-1gpu'), root, 'x'), /holds no network-\*\.safetensors snapshot/);
  assert.throws(() => locateResume(path.join(root, 'nope'), root, 'x'), /no such snapshot file or run directory/);
});

function spawnTrain(args: string[]): { child: ChildProcess; done: Promise<{ code: number | null; signal: string | null; out: string }> } {
  const child = spawn(process.execPath, ['--import', 'tsx', 'train.ts', ...args], { cwd: ROOT, env: { ...process.env, CI: '1' } });
  let out = '';
  child.stdout!.on('data', (d) => { out += d; });
  child.stderr!.on('data', (d) => { out += d; });
  const done = new Promise<{ code: number | null; signal: string | null; out: string }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, out })));
  return { child, done };
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 120_000): Promise<void> {
  const t0 = Date.now();
  while (!cond()) {
    if (Date.now() - t0 > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const runDirs = (root: string) => (fs.existsSync(root) ? fs.readdirSync(root).sort().map((d) => path.join(root, d)) : []);
const hasSnapshot = (dir: string) => fs.existsSync(dir) && fs.readdirSync(dir).some((f) => /^network-snapshot-\d+\.safetensors$/.test(f));

test('kill -9 then --resume latest, SIGINT then --resume latest: the ticks continue the uninterrupted schedule', async () => {
  const results = path.join(tmp, 'r3');
  const args = ['--data-dir', path.join(tmp, 'datasets'), '--dataset', 'rects', '--result-dir', results, '--total-kimg', '0.9', '--network-snapshot-ticks', '1', ...TINY_FLAGS];
  const sim = simulateTraining(0.9, SCHED, {});
  const expected = sim.ticks.map((t) => [t.tick, t.kimg, t.lod]);

  // Run A: killed hard right after its first snapshot.
  const a = spawnTrain(args);
  await waitFor(() => runDirs(results).some(hasSnapshot), 'the first snapshot of run A');
  a.child.kill('SIGKILL');
  const ra = await a.done;
  assert.equal(ra.signal, 'SIGKILL', ra.out);
  const dirA = runDirs(results)[0]!;
  const snapsA = fs.readdirSync(dirA).filter((f) => f.startsWith('network-snapshot-')).sort();
  const stateA = loadSnapshot(path.join(dirA, snapsA.at(-1)!)).trainingState as Record<string, number>;

  // Run B: resumes A's newest snapshot, is interrupted with SIGINT after its own first snapshot.
  const b = spawnTrain([...args, '--resume', 'latest']);
  await waitFor(() => runDirs(results).length === 2 && hasSnapshot(runDirs(results)[1]!), 'the first snapshot of run B');
  b.child.kill('SIGINT');
  const rb = await b.done;
  assert.equal(rb.code, 130, rb.out);
  assert.match(rb.out, new RegExp(`Resuming from kimg ${(stateA.cur_nimg / 1000).toFixed(3)} \\(tick ${stateA.cur_tick}, lod `));
  assert.match(rb.out, /SIGINT at kimg \d+\.\d: wrote .*network-snapshot-\d{6}\.safetensors; continue with --resume latest/);
  const dirB = runDirs(results)[1]!;
  const stateB = loadSnapshot(path.join(dirB, fs.readdirSync(dirB).filter((f) => f.startsWith('network-snapshot-')).sort().at(-1)!)).trainingState as Record<string, number>;
  assert.ok(fs.existsSync(path.join(dirB, '_finished.txt')));

  // Run C: resumes B's interrupt snapshot and finishes.
  const c = spawnTrain([...args, '--resume', 'latest']);
  const rc = await c.done;
  assert.equal(rc.code, 0, rc.out);
  assert.match(rc.out, new RegExp(`Resuming from kimg ${(stateB.cur_nimg / 1000).toFixed(3)} \\(tick ${stateB.cur_tick}, lod `));
  const dirC = runDirs(results)[2]!;
  assert.ok(fs.existsSync(path.join(dirC, 'network-final.safetensors')));

  // A's ticks up to its snapshot, B's up to its interrupt, and C's are the uninterrupted run's ticks.
  const ticks = [
    ...readStats(dirA).filter((r) => r['Progress/tick']! <= stateA.cur_tick),
    ...(fs.existsSync(path.join(dirB, 'stats.jsonl')) ? readStats(dirB) : []),
    ...readStats(dirC),
  ].map(tickOf);
  assert.deepEqual(ticks, expected);
  assert.equal(loadSnapshot(path.join(dirC, 'network-final.safetensors')).trainingState.cur_nimg, sim.final_nimg);
});
