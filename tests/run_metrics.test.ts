// run_metrics.ts end to end: the CLI on a tiny 1-channel 32² StyleGAN and a 32² dataset made from the
// Fashion-MNIST images shipped in tests/fixtures/metrics, checking NVIDIA's result line, the JSON
// line, metric-<name>.txt over a training run's snapshots, and the one-line errors for bad input.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { buildTinyNetworks, TINY_KWARGS } from './figures_net.ts';
import { detWeight } from './fixtures/metrics/det_random.ts';
import { saveNetworkSnapshot } from '../training/network_io.ts';
import { exportDataset } from '../training/dataset_tool/export.ts';
import { padDigit } from '../training/dataset_tool/create_mnist.ts';
import { readIdxImages } from '../metrics/proxy_features.ts';
import { INCEPTION_V3_LAYOUT, InceptionV3Features } from '../metrics/inception_v3.ts';
import { LPIPS_VGG16_LAYOUT } from '../metrics/lpips.ts';
import { readStats } from '../metrics/frechet_inception_distance.ts';
import { writeSafetensors, type SafeTensor } from '../dnnlib/safetensors.ts';
import { classifierFile } from '../metrics/weights.ts';
import { prepareRunMetrics, runMetrics, type RunMetricsConfig } from '../metrics/run_metrics_lib.ts';
import { UserError } from '../dnnlib/errors.ts';
import { D_paper } from '../training/networks_progan.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const FIXTURE = path.join(ROOT, 'tests', 'fixtures', 'metrics', 'proxy_fmnist');
const TORCHSCRIPT = path.join(ROOT, 'tests', 'fixtures', 'torch', 'torchscript_scripted.pt');
const KW = { ...TINY_KWARGS, num_channels: 1 };

let tmp = '';
let dataDir = '';
let runDir = '';
let net1 = '';

const sha256 = (file: string) => crypto.createHash('sha256').update(fs.readFileSync(file)).digest('hex');

/** Runs the CLI; the backend is the one the tests run on (STYLEGAN_BACKEND, default auto). */
function cli(args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'run_metrics.ts', ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env },
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The first n Fashion-MNIST test images, zero-padded to 32² like create_mnist (uint8 [n,1,32,32]). */
function fmnistPadded(n: number): Uint8Array {
  const idx = readIdxImages(path.join(FIXTURE, 't10k-1000-images-idx3-ubyte.gz'));
  const out = new Uint8Array(n * 1024);
  for (let i = 0; i < n; i++) padDigit(idx.data.subarray(i * 784, (i + 1) * 784), out, i * 1024);
  return out;
}

function writeSnapshot(file: string, seed: number, kimg: number): void {
  const { G, D, Gs } = buildTinyNetworks(seed, KW);
  saveNetworkSnapshot(file, { G, D, Gs, kimg, state: { lod: 0 } });
  G.dispose(); D.dispose(); Gs.dispose();
}

before(async () => {
  await useTestBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-run-metrics-'));
  dataDir = path.join(tmp, 'datasets');
  const images = fmnistPadded(1000);
  // Unshuffled, so the dataset's file order is the fixture's order.
  await exportDataset(path.join(dataDir, 'fmnist'), {
    numImages: 1000, describe: (i) => `t10k image ${i}`,
    load: (i) => ({ data: images.subarray(i * 1024, (i + 1) * 1024), shape: [1, 32, 32] }),
  }, { shuffle: false });
  // A training run dir as train.ts leaves it: config.json and two snapshots.
  runDir = path.join(tmp, 'results', '00000-sgan-fmnist-1gpu');
  fs.mkdirSync(runDir, { recursive: true });
  fs.writeFileSync(path.join(runDir, 'config.json'), JSON.stringify({
    dataset: { data_dir: dataDir, tfrecord_dir: 'fmnist', resolution: null, max_label_size: 0 },
    train: { mirror_augment: false },
  }));
  net1 = path.join(runDir, 'network-snapshot-000001.safetensors');
  writeSnapshot(net1, 1, 1);
  writeSnapshot(path.join(runDir, 'network-snapshot-000002.safetensors'), 2, 2);
});

after(() => {
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

/** NVIDIA's '%-30s' name, ' time %-12s', then ' <metric> %-10.4f'. */
function parseResultLine(line: string, metric: string) {
  const m = new RegExp(`^(.{30}) time (.{12}) ${metric} (-?\\d+\\.\\d{4}|nan|inf) {0,9}(?: \\((.*)\\))?$`).exec(line);
  assert.ok(m, `not NVIDIA's result line: ${JSON.stringify(line)}`);
  return { name: m[1]!.trimEnd(), time: m[2]!.trimEnd(), value: Number(m[3]), note: m[4] ?? '' };
}

function resultLines(stdout: string, metric: string): string[] {
  return stdout.split('\n').filter((l) => l.includes(` ${metric} `) && / time /.test(l));
}

test('fid_proxy_fmnist end to end: result line, log.txt and a JSON line with every pipeline choice', async () => {
  const resultDir = path.join(tmp, 'res-proxy');
  const args = ['--network', net1, '--metrics', 'fid_proxy_fmnist', '--data-dir', dataDir, '--dataset', 'fmnist',
    '--num-images', '200', '--result-dir', resultDir, '--seed', '5'];
  const r = cli(args);
  assert.equal(r.code, 0, r.stderr);
  const [line, ...more] = resultLines(r.stdout, 'fid_proxy_fmnist');
  assert.equal(more.length, 0);
  const res = parseResultLine(line!, 'fid_proxy_fmnist');
  assert.equal(res.name, 'network-snapshot-000001');
  assert.match(res.time, /^\d+s$|^\d+m \d\ds$/);
  assert.equal(res.note, 'not comparable to published FID');
  // Untrained noise against Fashion-MNIST: far from the ≈0 of real vs real (metrics_proxy.test.ts).
  assert.ok(res.value > 1, `proxy FID of an untrained generator should be large, got ${res.value}`);

  const dirs = fs.readdirSync(resultDir);
  assert.deepEqual(dirs, ['00000-run_metrics-fid_proxy_fmnist']);
  const mdir = path.join(resultDir, dirs[0]!);
  assert.ok(fs.readFileSync(path.join(mdir, 'log.txt'), 'utf8').includes(line!), 'log.txt holds the result line');
  assert.ok(fs.existsSync(path.join(mdir, '_finished.txt')));
  assert.ok(!fs.existsSync(path.join(mdir, 'metric-fid_proxy_fmnist.txt')), "run_pickle prints the line; NVIDIA writes metric-<name>.txt only into a training run dir");
  const jsonLines = fs.readFileSync(path.join(mdir, 'metric-fid_proxy_fmnist.jsonl'), 'utf8').trim().split('\n');
  assert.equal(jsonLines.length, 1);
  const j = JSON.parse(jsonLines[0]!);
  assert.equal(j.metric, 'fid_proxy_fmnist');
  assert.equal(j.results.fid_proxy_fmnist.toFixed(4), res.value.toFixed(4));
  assert.equal(j.notes.fid_proxy_fmnist, 'not comparable to published FID');
  assert.equal(j.network_pkl, net1);
  assert.equal(j.pipeline.network.sha256, sha256(net1));
  assert.equal(j.pipeline.weights[0].file, path.join(FIXTURE, 'weights.bin'));
  assert.equal(j.pipeline.weights[0].sha256, sha256(path.join(FIXTURE, 'weights.bin')));
  assert.equal(j.pipeline.numImages, 200);
  assert.match(j.pipeline.resize, /crop/);
  assert.match(j.pipeline.dtype, /float32/);
  assert.equal(j.pipeline.seed, 5);
  assert.deepEqual({ ...j.pipeline.dataset, source: undefined }, { data_dir: dataDir, tfrecord_dir: 'fmnist', resolution: null, mirror_augment: false, source: undefined });

  // The same seed gives the same number; another seed another one.
  const again = parseResultLine(resultLines(cli(args).stdout, 'fid_proxy_fmnist')[0]!, 'fid_proxy_fmnist');
  assert.equal(again.value, res.value);
  const other = parseResultLine(resultLines(cli([...args.slice(0, -1), '6']).stdout, 'fid_proxy_fmnist')[0]!, 'fid_proxy_fmnist');
  assert.notEqual(other.value, res.value);
  assert.deepEqual(fs.readdirSync(resultDir).sort(), ['00000-run_metrics-fid_proxy_fmnist', '00001-run_metrics-fid_proxy_fmnist', '00002-run_metrics-fid_proxy_fmnist']);
});

test('--run-dir --snapshot all appends one line per snapshot to metric-<name>.txt, dataset from config.json', async () => {
  const args = ['--run-dir', runDir, '--snapshot', 'all', '--metrics', 'fid_proxy_fmnist', '--num-images', '100', '--seed', '1'];
  const r = cli(args);
  assert.equal(r.code, 0, r.stderr);
  const txt = path.join(runDir, 'metric-fid_proxy_fmnist.txt');
  const lines = fs.readFileSync(txt, 'utf8').trimEnd().split('\n');
  assert.deepEqual(lines.map((l) => parseResultLine(l, 'fid_proxy_fmnist').name), ['network-snapshot-000001', 'network-snapshot-000002']);
  assert.deepEqual(resultLines(r.stdout, 'fid_proxy_fmnist'), lines);
  for (const l of lines) assert.equal(l, l.trimEnd(), 'NVIDIA writes get_result_str().strip()');
  const json = fs.readFileSync(path.join(runDir, 'metric-fid_proxy_fmnist.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(json.map((j) => path.basename(j.network_pkl)), ['network-snapshot-000001.safetensors', 'network-snapshot-000002.safetensors']);
  assert.deepEqual(json.map((j) => j.pipeline.network.kimg), [1, 2]);
  assert.equal(json[0].pipeline.dataset.source, path.join(runDir, 'config.json'));
  assert.equal(json[0].pipeline.dataset.data_dir, dataDir);
  // The two snapshots are different networks: different numbers.
  assert.notEqual(json[0].results.fid_proxy_fmnist, json[1].results.fid_proxy_fmnist);
  // A second run appends; --snapshot <kimg> picks one.
  const r2 = cli(['--run-dir', runDir, '--snapshot', '2', '--metrics', 'fid_proxy_fmnist', '--num-images', '100', '--seed', '1']);
  assert.equal(r2.code, 0, r2.stderr);
  const after = fs.readFileSync(txt, 'utf8').trimEnd().split('\n');
  assert.equal(after.length, 3);
  assert.equal(parseResultLine(after[2]!, 'fid_proxy_fmnist').name, 'network-snapshot-000002');
  assert.equal(parseResultLine(after[2]!, 'fid_proxy_fmnist').value, parseResultLine(lines[1]!, 'fid_proxy_fmnist').value, 'same seed, same snapshot');
  // No numbered metric run dir is made when writing into a training run.
  assert.deepEqual(fs.readdirSync(path.join(tmp, 'results')), ['00000-sgan-fmnist-1gpu']);
});

/** Bad input: a non-zero exit and one stderr line, never a stack trace. */
function assertOneLineError(r: ReturnType<typeof cli>, pattern: RegExp): void {
  assert.notEqual(r.code, 0);
  const lines = r.stderr.trim().split('\n').filter((l) => !/^backend: /.test(l));
  assert.equal(lines.length, 1, `expected one line, got:\n${r.stderr}`);
  assert.match(lines[0]!, /^error: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(r.stderr, /\n\s+at /);
}

test('bad input is one line naming the flag and the file (through the CLI)', () => {
  const nofile = path.join(tmp, 'nope.safetensors');
  assertOneLineError(cli(['--network', nofile, '--metrics', 'fid_proxy_fmnist', '--dataset', 'fmnist', '--data-dir', dataDir]), new RegExp(`--network ${nofile.replace(/[.]/g, '\\.')}: no such network file`));
  assertOneLineError(cli(['--network', net1, '--metrics', 'fid51k', '--dataset', 'fmnist', '--data-dir', dataDir]), /--metrics: unknown metric 'fid51k' \(known: .*fid50k.*\)/);
  assertOneLineError(cli(['--network', net1, '--metrics', 'fid_proxy_fmnist', '--dataset', 'ffhq', '--data-dir', dataDir]), new RegExp(`--dataset: ${path.join(dataDir, 'ffhq')}: no such dataset directory`));
  const noweights = path.join(tmp, 'pt_inception-missing.pth');
  assertOneLineError(cli(['--network', net1, '--metrics', 'fid50k', '--dataset', 'fmnist', '--data-dir', dataDir, '--inception', noweights]), new RegExp(`--inception ${noweights.replace(/[.]/g, '\\.')}: no such file`));
  assertOneLineError(cli(['--network', net1, '--metrics', 'fid50k', '--num-images', 'many']), /--num-images: expected a whole number/);
  assertOneLineError(cli(['--network', net1, '--metrics', 'fid50k', '--dataset', 'fmnist', '--data-dir', dataDir, '--inception', TORCHSCRIPT]),
    /--inception .*torchscript_scripted\.pt: a TorchScript archive \(inception-2015-12-05\.pt, vgg16\.pt\).*; pass pt_inception-2015-12-05-6726825d\.pth/);
  // Corrupt weights (a truncated download, a wrong file): one line naming the flag and the file.
  const junk = Buffer.alloc(1000, 0xb0); // not a pickle opcode, and an impossible safetensors header length
  for (const name of ['junk.pth', 'junk.safetensors']) {
    const f = path.join(tmp, name);
    fs.writeFileSync(f, junk);
    // Read after the backend started (TF's own load lines) and after the sha256 warning: one error line, exit ≠ 0.
    const r = cli(['--network', net1, '--metrics', 'fid50k', '--dataset', 'fmnist', '--data-dir', dataDir, '--inception', f]);
    assert.notEqual(r.code, 0);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error:'));
    assert.equal(errors.length, 1, r.stderr);
    assert.match(errors[0]!, new RegExp(`^error: --inception: ${name.replace('.', '\\.')}: `));
  }
});

test('bad input: every other check is a UserError naming the flag, before anything runs', () => {
  const base = { network: net1, dataDir, resultDir: path.join(tmp, 'never'), metrics: ['fid50k'] };
  const bad = (cfg: Partial<RunMetricsConfig>, pattern: RegExp) =>
    assert.throws(() => prepareRunMetrics({ ...base, ...cfg } as RunMetricsConfig), (e: unknown) => e instanceof UserError && pattern.test(e.message));
  const noweights = path.join(tmp, 'missing.pth');
  bad({}, /--dataset is required for fid50k/);
  bad({ metrics: ['ppl_zfull'], vgg16: [noweights] }, /--vgg16 .*missing\.pth: no such file/);
  bad({ metrics: ['ls'] }, /ls needs the 40 CelebA-HQ attribute classifiers: download celebahq-classifier-00-male\.pkl … celebahq-classifier-39-wearing-necktie\.pkl and pass --classifiers DIR/);
  bad({ metrics: ['ls'], classifiers: path.join(tmp, 'no-classifiers') }, /--classifiers .*no-classifiers: no such directory/);
  fs.mkdirSync(path.join(tmp, 'some-classifiers'), { recursive: true });
  fs.writeFileSync(path.join(tmp, 'some-classifiers', 'celebahq-classifier-00-male.pkl'), '');
  bad({ metrics: ['ls'], classifiers: path.join(tmp, 'some-classifiers') }, /--classifiers .*some-classifiers: celebahq-classifier-01-smiling\.pkl is missing/);
  bad({ network: undefined }, /no network: pass --network .* or --run-dir/);
  bad({ network: undefined, runDir, snapshot: 7, metrics: ['fid_proxy_fmnist'] }, /--snapshot 7: no such snapshot in .*\(have: network-snapshot-000001\.safetensors, network-snapshot-000002\.safetensors\)/);
  bad({ network: undefined, runDir: path.join(tmp, 'no-run') }, /--run-dir .*no-run: no such training run directory/);
  bad({ numImages: 1 }, /--num-images: expected a whole number ≥ 2/);
  bad({ metrics: ['fid_proxy_fmnist'], dataset: 'fmnist', proxyWeights: tmp }, /--proxy-weights .*: no weights\.bin/);
  // NVIDIA's TF metric pickles and TorchScript archives are refused with the reason and what to pass instead.
  for (const name of ['inception_v3_features.pkl', 'vgg16_zhang_perceptual.pkl']) fs.writeFileSync(path.join(tmp, name), '\x80\x04.');
  bad({ dataset: 'fmnist', inception: path.join(tmp, 'inception_v3_features.pkl') },
    /^--inception .*inception_v3_features\.pkl: an NVIDIA TensorFlow metric pickle .*not mapped; pass pt_inception-2015-12-05-6726825d\.pth /);
  bad({ metrics: ['ppl2_wend'], vgg16: [path.join(tmp, 'vgg16_zhang_perceptual.pkl')] },
    /^--vgg16 .*vgg16_zhang_perceptual\.pkl: an NVIDIA TensorFlow metric pickle .*; pass vgg16-397923af\.pth and lpips-v0\.1-vgg\.pth /);
  bad({ metrics: ['ppl_wend'], vgg16: [TORCHSCRIPT] }, /^--vgg16 .*: a TorchScript archive .*; pass vgg16-397923af\.pth/);
  // A torch.save zip (no code/ inside) passes the check.
  assert.doesNotThrow(() => prepareRunMetrics({ ...base, dataset: 'fmnist', inception: path.join(ROOT, 'tests', 'fixtures', 'torch', 'state_zip.pt') } as RunMetricsConfig));
  assert.ok(!fs.existsSync(path.join(tmp, 'never')), 'no run dir is created for bad input');
});

/** A deterministic random-weight Inception in pytorch-fid's layout, as a safetensors file (87 MB). */
function writeRandomInception(file: string): void {
  const tensors: [string, SafeTensor][] = INCEPTION_V3_LAYOUT.map(([name, shape]) => [name, { dtype: 'F32', shape: [...shape], data: detWeight(name, shape) }]);
  writeSafetensors(file, tensors);
}

test('fid50k with --num-images and a random-weight Inception via --inception: reals statistics are the dataset\'s first images', async () => {
  const weights = path.join(tmp, 'inception-random.safetensors');
  writeRandomInception(weights);
  const cacheDir = path.join(tmp, 'cache');
  const resultDir = path.join(tmp, 'res-fid');
  const N = 4;
  const r = cli(['--network', net1, '--metrics', 'fid50k', '--data-dir', dataDir, '--dataset', 'fmnist', '--num-images', String(N),
    '--inception', weights, '--cache-dir', cacheDir, '--result-dir', resultDir, '--seed', '3']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /fid50k: --num-images 4 overrides NVIDIA's 50000 samples/);
  assert.match(r.stderr, /warning: --inception .*inception-random\.safetensors: sha256 [0-9a-f]{12}… is not the published pt_inception-2015-12-05-6726825d\.pth/);
  const res = parseResultLine(resultLines(r.stdout, 'fid50k')[0]!, 'fid50k');
  assert.equal(res.note, '4 samples (--num-images), not 50000; unpublished Inception weights');
  assert.ok(Number.isFinite(res.value) && res.value >= 0);
  const mdir = path.join(resultDir, '00000-run_metrics-fid50k');
  const j = JSON.parse(fs.readFileSync(path.join(mdir, 'metric-fid50k.jsonl'), 'utf8').trim());
  assert.equal(j.pipeline.weights[0].file, weights);
  assert.equal(j.pipeline.weights[0].sha256, sha256(weights));
  assert.equal(j.pipeline.numImages, N);
  assert.equal(j.pipeline.resize, 'bilinear tf1-legacy to 299x299, (x-128)/128');
  assert.match(j.pipeline.dtype, /float32 network, float64 statistics/);
  assert.equal(j.pipeline.realsCache.hit, false);
  // The cached real statistics are those of the dataset's first N images in file order, unmirrored:
  // computed here straight from the fixture file, not through run_metrics.
  const stats = readStats(j.pipeline.realsCache.file)!;
  assert.equal(stats.count, N);
  const net = new InceptionV3Features(new Map(INCEPTION_V3_LAYOUT.map(([n, s]) => [n, { shape: [...s], data: detWeight(n, s) }])));
  const feats = tf.tidy(() => net.featuresFromUint8(tf.tensor4d(Float32Array.from(fmnistPadded(N)), [N, 1, 32, 32])));
  const mu = tf.tidy(() => tf.mean(feats, 0)).dataSync();
  net.dispose(); feats.dispose();
  let maxErr = 0, maxMu = 0;
  for (let i = 0; i < mu.length; i++) { maxErr = Math.max(maxErr, Math.abs(mu[i]! - stats.mu[i]!)); maxMu = Math.max(maxMu, Math.abs(mu[i]!)); }
  assert.ok(maxErr <= 1e-4 * Math.max(1, maxMu), `reals μ differs from the first ${N} images' features by ${maxErr}`);
  // A second run reads the statistics from the cache.
  const r2 = cli(['--network', net1, '--metrics', 'fid50k', '--data-dir', dataDir, '--dataset', 'fmnist', '--num-images', String(N),
    '--inception', weights, '--cache-dir', cacheDir, '--result-dir', resultDir, '--seed', '3']);
  assert.equal(r2.code, 0, r2.stderr);
  const j2 = JSON.parse(fs.readFileSync(path.join(resultDir, '00001-run_metrics-fid50k', 'metric-fid50k.jsonl'), 'utf8').trim());
  assert.equal(j2.pipeline.realsCache.hit, true);
  assert.equal(j2.results.fid50k, j.results.fid50k, 'same seed and cached reals: the same FID');
});

/** Deterministic random LPIPS weights (torchvision VGG16 features + lpips lin layers) in one safetensors file. */
function writeRandomLpips(file: string): void {
  writeSafetensors(file, LPIPS_VGG16_LAYOUT.map(([name, shape]) => [name, { dtype: 'F32', shape: [...shape], data: detWeight(name, shape) }] as [string, SafeTensor]));
}

test('ppl_zfull, ppl_wend and StyleGAN2\'s ppl2_wend (v1 network) with --num-images and random LPIPS weights via --vgg16', async () => {
  const weights = path.join(tmp, 'lpips-random.safetensors');
  writeRandomLpips(weights);
  const resultDir = path.join(tmp, 'res-ppl');
  const r = cli(['--network', net1, '--metrics', 'ppl_zfull,ppl_wend,ppl2_wend', '--num-images', '4', '--vgg16', weights, '--result-dir', resultDir, '--seed', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /ppl_zfull: --num-images 4 overrides NVIDIA's 100000 samples/);
  assert.match(r.stdout, /ppl2_wend: --num-images 4 overrides NVIDIA's 50000 samples/);
  const mdir = path.join(resultDir, '00000-run_metrics-ppl_zfull-ppl_wend-ppl2_wend');
  for (const m of ['ppl_zfull', 'ppl_wend', 'ppl2_wend']) {
    const res = parseResultLine(resultLines(r.stdout, m)[0]!, m);
    assert.equal(res.note, `4 samples (--num-images), not ${m === 'ppl2_wend' ? 50000 : 100000}; user LPIPS weights`);
    // LPIPS with non-negative lin weights is ≥ 0, so is every scaled path length.
    assert.ok(Number.isFinite(res.value) && res.value >= 0, `${m} = ${res.value}`);
    const j = JSON.parse(fs.readFileSync(path.join(mdir, `metric-${m}.jsonl`), 'utf8').trim());
    assert.equal(j.pipeline.weights[0].sha256, sha256(weights));
    assert.equal(j.pipeline.numImages, 4);
    // 4 samples: numpy's 1st 'lower' and 99th 'higher' percentiles are the min and the max: all kept.
    assert.equal(j.pipeline.outliers.kept, 4);
    assert.equal(j.params.space, m === 'ppl_zfull' ? 'z' : 'w');
    assert.equal(j.params.epsilon, 1e-4);
    assert.equal(j.params.crop, m !== 'ppl2_wend');
  }
});

test('ls wired end to end (library): 40 classifiers from --classifiers, result line ls_z / ls_w, entropies in the JSON line', async () => {
  // The real classifiers are 256² TF pickles that are not available offline; tiny D_paper networks
  // (one per attribute, seeded) stand in through the loader seam, read from 40 placeholder files.
  const dir = path.join(tmp, 'classifiers');
  fs.mkdirSync(dir, { recursive: true });
  for (let i = 0; i < 40; i++) fs.writeFileSync(path.join(dir, classifierFile(i).fileName), `placeholder ${i}`);
  const loadClassifier = (file: string) => {
    const i = Number(/classifier-(\d\d)-/.exec(file)![1]);
    const net = new D_paper({ num_channels: 1, resolution: 32, mbstd_group_size: 0, fmap_base: 64, fmap_max: 8 }, { seed: 100 + i });
    return { net, classify: (images: tf.Tensor4D) => tf.tidy(() => net.run(images, null).dataSync() as Float32Array), dispose: () => net.dispose() };
  };
  const resultDir = path.join(tmp, 'res-ls');
  const plan = prepareRunMetrics({ metrics: ['ls'], network: net1, dataDir, resultDir, classifiers: dir, numImages: 8, seed: 4, quiet: true, loadClassifier });
  const lines: string[] = [];
  const write = process.stdout.write;
  (process.stdout as unknown as { write: (s: string) => boolean }).write = (s: string) => { lines.push(s); return true; };
  let result: Awaited<ReturnType<typeof runMetrics>>;
  try {
    result = await runMetrics(plan);
  } finally {
    (process.stdout as unknown as { write: typeof write }).write = write;
  }
  const line = result.lines[0]!;
  const m = /^network-snapshot-000001 +time \S+ +ls_z (\d+\.\d{4}) +ls_w (\d+\.\d{4}) +\(8 samples \(--num-images\), not 200000\)$/.exec(line);
  assert.ok(m, line);
  // 2^(Σ of 40 conditional entropies of a binary target): between 1 and 2^40.
  for (const v of [Number(m[1]), Number(m[2])]) assert.ok(v >= 1 && v <= 2 ** 40, `ls = ${v}`);
  assert.ok(lines.join('').includes(line));
  const j = JSON.parse(fs.readFileSync(path.join(result.metricRunDir!, 'metric-ls.jsonl'), 'utf8').trim());
  assert.equal(j.params.num_samples, 8);
  assert.equal(j.params.num_keep, 4);
  assert.equal(j.pipeline.entropies.z.length, 40);
  assert.equal(j.pipeline.weights.length, 40);
  assert.equal(j.pipeline.weights[39].sha256, sha256(path.join(dir, classifierFile(39).fileName)));
  assert.equal(2 ** j.pipeline.entropies.z.reduce((a: number, b: number) => a + b, 0), j.results.ls_z);
});
