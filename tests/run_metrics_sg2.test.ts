// run_metrics on StyleGAN2 networks (issue 8): NVIDIA's StyleGAN2 pickle layout (tests/fixtures/sg2, 16² RGB,
// made by make_sg2_reference.py) and our snapshot of it go through fid50k, ppl2_wend and ls end to end, with
// random-weight Inception / LPIPS files and the 16² attribute classifier pickle of
// make_classifier_reference.py under the 40 names LS reads.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { useTestBackend } from './_backend.ts';
import { detUint8, detWeight } from './fixtures/metrics/det_random.ts';
import { exportDataset } from '../training/dataset_tool/export.ts';
import { loadNetworks, saveNetworkSnapshot } from '../training/network_io.ts';
import { INCEPTION_V3_LAYOUT } from '../metrics/inception_v3.ts';
import { LPIPS_VGG16_LAYOUT } from '../metrics/lpips.ts';
import { writeSafetensors, type SafeTensor } from '../dnnlib/safetensors.ts';
import { classifierFile } from '../metrics/weights.ts';
import { prepareRunMetrics, runMetrics, type RunMetricsConfig } from '../metrics/run_metrics_lib.ts';
import { UserError } from '../dnnlib/errors.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SG2 = path.join(ROOT, 'tests', 'fixtures', 'sg2', 'tiny_sg2_resnet_skip_l0.pkl');
const SG2_COND = path.join(ROOT, 'tests', 'fixtures', 'sg2', 'tiny_sg2_orig_orig_l3.pkl');
const CLASSIFIER_16 = path.join(ROOT, 'tests', 'fixtures', 'metrics', 'classifier_fused_16.pkl');

let tmp = '', dataDir = '', inception = '', lpips = '', classifiers = '';
const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');
const weightsFile = (file: string, layout: readonly (readonly [string, readonly number[]])[]) =>
  writeSafetensors(file, layout.map(([name, shape]) => [name, { dtype: 'F32', shape: [...shape], data: detWeight(name, shape) }] as [string, SafeTensor]));

before(async () => {
  await useTestBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-run-metrics-sg2-'));
  dataDir = path.join(tmp, 'datasets');
  // 16 RGB 16² images with 3 one-hot labels (the conditional network's label size).
  const n = 16;
  const px = Uint8Array.from(detUint8(5, n * 3 * 16 * 16));
  const labels = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) labels[i * 3 + (i % 3)] = 1;
  await exportDataset(path.join(dataDir, 'rgb16'), {
    numImages: n, describe: (i) => `image ${i}`, labels: { data: labels, size: 3 },
    load: (i) => ({ data: px.subarray(i * 768, (i + 1) * 768), shape: [3, 16, 16] }),
  }, { shuffle: false });
  inception = path.join(tmp, 'inception-random.safetensors');
  weightsFile(inception, INCEPTION_V3_LAYOUT);
  lpips = path.join(tmp, 'lpips-random.safetensors');
  weightsFile(lpips, LPIPS_VGG16_LAYOUT);
  classifiers = path.join(tmp, 'classifiers');
  fs.mkdirSync(classifiers);
  for (let i = 0; i < 40; i++) fs.copyFileSync(CLASSIFIER_16, path.join(classifiers, classifierFile(i).fileName));
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

function cli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'run_metrics.ts', ...args], { cwd: ROOT, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Runs the library quietly (stdout captured), as run_metrics.ts does after parsing its flags. */
async function runQuiet(cfg: RunMetricsConfig) {
  const write = process.stdout.write;
  const out: string[] = [];
  (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => { out.push(s); return true; };
  try {
    return { result: await runMetrics(prepareRunMetrics(cfg)), stdout: out.join('') };
  } finally {
    (process.stdout as unknown as { write: typeof write }).write = write;
  }
}

test('run_metrics.ts on NVIDIA\'s StyleGAN2 pickle layout: fid50k, ppl2_wend and ls, each a result line and a JSON line', () => {
  const resultDir = path.join(tmp, 'res-cli');
  const r = cli(['--network', SG2, '--metrics', 'fid50k,ppl2_wend,ls', '--data-dir', dataDir, '--dataset', 'rgb16', '--num-images', '8',
    '--inception', inception, '--vgg16', lpips, '--classifiers', classifiers, '--result-dir', resultDir, '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ppl2_wend: --num-images 8 overrides NVIDIA's 50000 samples/);
  const mdir = path.join(resultDir, '00000-run_metrics-fid50k-ppl2_wend-ls');
  const lines = r.stdout.split('\n').filter((l) => l.startsWith('tiny_sg2_resnet_skip_l0 '));
  assert.equal(lines.length, 3, r.stdout);
  assert.match(lines[0]!, /^tiny_sg2_resnet_skip_l0 +time \S+ +fid50k \d+\.\d{4} +\(8 samples \(--num-images\), not 50000; unpublished Inception weights\)$/);
  assert.match(lines[1]!, /^tiny_sg2_resnet_skip_l0 +time \S+ +ppl2_wend \d+\.\d{4} +\(8 samples \(--num-images\), not 50000; user LPIPS weights\)$/);
  assert.match(lines[2]!, /^tiny_sg2_resnet_skip_l0 +time \S+ +ls_z \d+\.\d{4} +ls_w \d+\.\d{4} +\(8 samples \(--num-images\), not 200000\)$/);
  const json = (m: string) => JSON.parse(fs.readFileSync(path.join(mdir, `metric-${m}.jsonl`), 'utf8').trim());
  const fid = json('fid50k');
  assert.ok(Number.isFinite(fid.results.fid50k) && fid.results.fid50k >= 0);
  assert.equal(fid.pipeline.network.sha256, sha256(SG2));
  const ppl = json('ppl2_wend');
  assert.deepEqual([ppl.params.space, ppl.params.sampling, ppl.params.crop, ppl.params.epsilon, ppl.params.num_samples], ['w', 'end', false, 1e-4, 8]);
  assert.match(ppl.pipeline.resize, /^no crop/);
  assert.ok(Number.isFinite(ppl.results.ppl2_wend) && ppl.results.ppl2_wend >= 0, `ppl2_wend = ${ppl.results.ppl2_wend}`);
  const ls = json('ls');
  assert.equal(ls.pipeline.weights.length, 40);
  assert.equal(ls.pipeline.weights[0].sha256, sha256(CLASSIFIER_16));
  for (const v of [ls.results.ls_z, ls.results.ls_w]) assert.ok(v >= 1 && v <= 2 ** 40, `ls = ${v}`);
});

test('a snapshot of the StyleGAN2 network (--run-dir) gives the pickle\'s ppl2_wend; v1\'s cropped PPL at 16² is one clear error', async () => {
  // Our .safetensors snapshot of the same G, D, Gs: the same seed must give the same number.
  const runDir = path.join(tmp, 'results', '00000-sg2-rgb16');
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({ dataset: { data_dir: dataDir, tfrecord_dir: 'rgb16', resolution: null }, train: { mirror_augment: false } }));
  const nets = await loadNetworks(SG2, { networks: ['G', 'D', 'Gs'] });
  saveNetworkSnapshot(path.join(runDir, 'network-snapshot-000010.safetensors'), { G: nets.G!, D: nets.D!, Gs: nets.Gs, kimg: 10, state: {} });
  nets.G!.dispose(); nets.D!.dispose(); nets.Gs.dispose();
  const common = { metrics: ['ppl2_wend'], dataDir, resultDir: path.join(tmp, 'res-lib'), vgg16: [lpips], numImages: 8, seed: 3, quiet: true };
  const fromPkl = await runQuiet({ ...common, network: SG2 });
  const fromSnap = await runQuiet({ ...common, runDir });
  const value = (l: string) => Number(/ppl2_wend (\S+)/.exec(l)![1]);
  assert.ok(value(fromSnap.result.lines[0]!) > 0);
  assert.equal(value(fromSnap.result.lines[0]!), value(fromPkl.result.lines[0]!));
  assert.match(fs.readFileSync(path.join(runDir, 'metric-ppl2_wend.txt'), 'utf8'), /^network-snapshot-000010 +time \S+ +ppl2_wend /);
  // v1's ppl_wend crops 16² to 8², which VGG16's four poolings cannot take: a UserError, not NaN.
  await assert.rejects(runQuiet({ ...common, metrics: ['ppl_wend'], network: SG2 }),
    (e: unknown) => e instanceof UserError && /ppl_wend: LPIPS \(VGG16\) needs images of at least 16x16; this network's reach it as 8x8 after the face crop/.test((e as Error).message));
});

test('ppl2_wend on a conditional StyleGAN2 network draws labels from --dataset, and asks for it without', async () => {
  const common = { metrics: ['ppl2_wend'], network: SG2_COND, dataDir, resultDir: path.join(tmp, 'res-cond'), vgg16: [lpips], numImages: 4, seed: 1, quiet: true };
  await assert.rejects(runQuiet(common), (e: unknown) => e instanceof UserError && /ppl2_wend: this network is conditional \(3 labels\); pass --dataset/.test((e as Error).message));
  const { result } = await runQuiet({ ...common, dataset: 'rgb16' });
  const v = Number(/ppl2_wend (\S+)/.exec(result.lines[0]!)![1]);
  assert.ok(Number.isFinite(v) && v >= 0, result.lines[0]);
});

test('ls on a conditional StyleGAN2 network draws labels from --dataset, and asks for it without', async () => {
  const common = { metrics: ['ls'], network: SG2_COND, dataDir, resultDir: path.join(tmp, 'res-cond-ls'), classifiers, numImages: 8, seed: 1, quiet: true };
  await assert.rejects(runQuiet(common), (e: unknown) => e instanceof UserError && /ls: this network is conditional \(3 labels\); pass --dataset/.test((e as Error).message));
  const { result } = await runQuiet({ ...common, dataset: 'rgb16' });
  const m = /ls_z (\S+) +ls_w (\S+)/.exec(result.lines[0]!);
  assert.ok(m, result.lines[0]);
  for (const v of [Number(m[1]), Number(m[2])]) assert.ok(v >= 1 && v <= 2 ** 40, result.lines[0]);
});
