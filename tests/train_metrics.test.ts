// train.ts --metrics: metrics run in-process on each network snapshot (not again on network-final, as NVIDIA), appending
// NVIDIA's result line to <run dir>/metric-<name>.txt; unknown names and missing inputs are refused
// before any run dir exists.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { resolveTrainConfig } from '../training/train_config.ts';
import { trainingLoop, type TickInfo } from '../training/training_loop.ts';
import { makeRectDataset } from './_train_dataset.ts';
import { useTestBackend } from './_backend.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let tmp = '';

function train(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'train.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, STYLEGAN_BACKEND: 'cpu' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

before(async () => {
  await useTestBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stylegan-train-metrics-'));
  // The proxy network takes create_mnist's 1-channel 32x32 images.
  await makeRectDataset(path.join(tmp, 'datasets', 'rects32'), { count: 128, resolution: 32 });
});
after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

test('--metrics fid_proxy_fmnist writes one result line per network snapshot, final included', async () => {
  // No growing (lod 0 from the start), 1 kimg ticks of minibatch 32: snapshots at kimg 1, 2 and the end.
  const c = resolveTrainConfig({
    dataset: 'rects32', data_dir: path.join(tmp, 'datasets'), result_dir: path.join(tmp, 'r'), total_kimg: 2,
    fmap_max: 16, latent_size: 32, mapping_fmaps: 32, mapping_layers: 1, minibatch_base: 32, minibatch_dict: {}, minibatch_repeats: 1,
    lod_initial_resolution: 32, tick_kimg_base: 1, tick_kimg_dict: {}, G_smoothing_kimg: 1, grid_size: '2x2', network_snapshot_ticks: 1,
    metrics: ['fid_proxy_fmnist'], metrics_args: { num_images: 64 },
  });
  const ticks: TickInfo[] = [];
  const res = await trainingLoop(c, { onTick: (t) => ticks.push(t), quietProgress: true });
  assert.equal(res.status, 'done');
  const lines = fs.readFileSync(path.join(res.runDir, 'metric-fid_proxy_fmnist.txt'), 'utf8').trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => l.slice(0, 30).trimEnd()), ['network-snapshot-000001', 'network-snapshot-000002']);
  for (const l of lines) assert.match(l, /^.{30} time .{12} fid_proxy_fmnist \d+\.\d{4}/);
  assert.equal(fs.readFileSync(path.join(res.runDir, 'metric-fid_proxy_fmnist.jsonl'), 'utf8').trim().split('\n').length, 2);
  // The lines are in the run's log too, and config.json records the metrics.
  const log = fs.readFileSync(path.join(res.runDir, 'log.txt'), 'utf8');
  for (const l of lines) assert.ok(log.includes(l), `log.txt lacks ${l}`);
  const cfg = JSON.parse(fs.readFileSync(path.join(res.runDir, 'config.json'), 'utf8'));
  assert.deepEqual(cfg.metrics, ['fid_proxy_fmnist']);
  assert.deepEqual(cfg.metrics_args, { num_images: 64 });
  // Every metric tensor disposed: the count after each tick (snapshot + metrics) is the same.
  const counts = ticks.map((t) => t.numTensors);
  assert.ok(counts.every((n) => n === counts[0]), `tensor counts per tick: ${counts.join(', ')}`);
});

test('a failing metric prints one line and the run goes on', async () => {
  // 16x16 images: the proxy network refuses them at each snapshot; the run still finishes.
  await makeRectDataset(path.join(tmp, 'datasets', 'rects16'), { count: 64, resolution: 16 });
  const c = resolveTrainConfig({
    dataset: 'rects16', data_dir: path.join(tmp, 'datasets'), result_dir: path.join(tmp, 'r16'), total_kimg: 0.05,
    fmap_max: 16, latent_size: 32, mapping_fmaps: 32, mapping_layers: 1, minibatch_base: 16, minibatch_dict: {}, minibatch_repeats: 1,
    lod_initial_resolution: 16, tick_kimg_base: 1, tick_kimg_dict: {}, grid_size: '2x2',
    metrics: ['fid_proxy_fmnist'], metrics_args: { num_images: 16 },
  });
  const errors: string[] = [];
  const write = process.stderr.write.bind(process.stderr);
  process.stderr.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => { errors.push(String(chunk)); return (write as (...a: unknown[]) => boolean)(chunk, ...rest); }) as typeof process.stderr.write;
  let res;
  try {
    res = await trainingLoop(c, { quietProgress: true });
  } finally {
    process.stderr.write = write;
  }
  assert.equal(res.status, 'done');
  assert.ok(fs.existsSync(path.join(res.runDir, 'network-final.safetensors')));
  const warnings = errors.join('').split('\n').filter((l) => l.startsWith('warning: metrics on'));
  const snapshots = fs.readdirSync(res.runDir).filter((f) => /^network-snapshot-\d+\.safetensors$/.test(f));
  assert.equal(warnings.length, snapshots.length, errors.join(''));
  for (const w of warnings) assert.match(w, /^warning: metrics on network-snapshot-\d+\.safetensors failed \(training goes on\): fid_proxy_fmnist takes 1-channel 28x28 or 32x32/);
});

test('an unknown metric or a missing weights file is refused with one line before any run dir exists', () => {
  const resultDir = path.join(tmp, 'refused');
  const base = ['--data-dir', path.join(tmp, 'datasets'), '--dataset', 'rects32', '--result-dir', resultDir];
  const cases: [string[], RegExp][] = [
    [['--metrics', 'fid50k,fid99k'], /^error: --metrics: unknown metric 'fid99k' \(known: .*fid50k.*fid_proxy_fmnist.*\)$/],
    [['--metrics', 'fid50k', '--inception', path.join(tmp, 'nope.pth')], /^error: --inception .*nope\.pth: no such file/],
    [['--metrics-num-images', '10'], /^error: --metrics-num-images: only with --metrics/],
  ];
  for (const [args, re] of cases) {
    const r = train(...base, ...args);
    assert.notEqual(r.code, 0, `${args.join(' ')}: ${r.stdout}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), re);
    assert.ok(!fs.existsSync(resultDir), `${args.join(' ')} created ${resultDir}`);
  }
});
