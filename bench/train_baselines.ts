// Benchmark of the classic baselines (train.ts --config gan-mlp | dcgan | wgan-gp) on Fashion-MNIST padded
// to 32×32: each trains for a fixed budget of kimg through the ordinary training loop, and the bench
// prints sec/kimg per config, the proxy FID (fid_proxy_fmnist, "not comparable to published FID") of
// the networks before training and at the end, and writes one PNG of the loss curves and one of the
// fakes grids at start and end (the run dirs keep everything else: snapshots, stats.jsonl, log.txt).
//
//   npm run bench -- train-baselines [--kimg-gan-mlp 100] [--kimg-dcgan 60] [--kimg-wgan-gp 280]
//       [--configs gan-mlp,dcgan,wgan-gp] [--fmap 32] [--num-images 2000] [--out results/bench-baselines] [--fmnist DIR]
//
// The budgets keep the whole bench near 15 minutes on 2 shared cores. WGAN-GP gets most of it: its
// kimg count the critic's images (n_critic 5), so 280 kimg are 875 generator steps at lr 1e-4, about
// where its fakes turn from silhouettes into garments. The DCGAN widths are the
// tutorial's halved (fmap 32) for the same reason; everything else is each config's preset (minibatch
// 64, Adam 2e-4 β 0.5/0.999, or 1e-4 β 0/0.9 with n_critic 5 for WGAN-GP).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { initBackend } from '../dnnlib/backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { writeFileAtomic } from '../dnnlib/atomic.ts';
import { createMnist } from '../training/dataset_tool/create_mnist.ts';
import { resolveTrainConfig, type TrainConfig } from '../training/train_config.ts';
import { buildTrainingNetworks, trainingLoop } from '../training/training_loop.ts';
import { saveNetworkSnapshot } from '../training/network_io.ts';
import { pyFixed } from '../training/misc.ts';
import { prepareRunMetrics, runMetrics } from '../metrics/run_metrics_lib.ts';
import { PROXY_METRIC_NAME } from '../metrics/proxy_features.ts';

const CONFIGS = ['gan-mlp', 'dcgan', 'wgan-gp'] as const;
type Baseline = (typeof CONFIGS)[number];

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    'kimg-gan-mlp': { type: 'string', default: '100' },
    'kimg-dcgan': { type: 'string', default: '60' },
    'kimg-wgan-gp': { type: 'string', default: '280' },
    configs: { type: 'string', default: CONFIGS.join(',') },
    fmap: { type: 'string', default: '32' },
    'num-images': { type: 'string', default: '2000' },
    out: { type: 'string', default: path.join('results', 'bench-baselines') },
    'data-dir': { type: 'string', default: path.join('results', 'bench-train', 'datasets') },
    fmnist: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
  },
});

const configs = values.configs!.split(',').map((s) => s.trim()) as Baseline[];
for (const c of configs) if (!CONFIGS.includes(c)) throw new UserError(`--configs: unknown baseline '${c}' (expected some of ${CONFIGS.join(', ')})`, 2);
const out = values.out!;
const dataDir = values['data-dir']!;
const numImages = Number(values['num-images']);
if (!fs.existsSync(path.join(dataDir, 'fmnist'))) {
  if (!fs.existsSync(path.join(values.fmnist!, 'train-images-idx3-ubyte.gz'))) {
    throw new UserError(`${values.fmnist}: no Fashion-MNIST here; install it with 'apt-get install -y dataset-fashion-mnist' or pass --fmnist DIR`);
  }
  process.stdout.write(`Converting Fashion-MNIST to ${path.join(dataDir, 'fmnist')} (create_mnist, padded to 32x32)...\n`);
  await createMnist(path.join(dataDir, 'fmnist'), values.fmnist!);
}

const backend = await initBackend({});

/** fid_proxy_fmnist of one network file on the first numImages training images, fixed seed. */
async function proxyFid(file: string): Promise<number> {
  const plan = prepareRunMetrics({
    metrics: [PROXY_METRIC_NAME], network: file, dataDir, dataset: 'fmnist', mirrorAugment: false,
    numImages, resultDir: path.join(out, 'metrics'), seed: 123, quiet: true,
  });
  const r = await runMetrics(plan);
  return r.reports[0]!.results[0]!.value;
}

interface Row { config: Baseline; kimg: number; secPerKimg: number; wall: number; fidStart: number; fidEnd: number; runDir: string; fakesStart: string; fakesEnd: string; lossPng: string; last: Record<string, number> }
const rows: Row[] = [];

for (const name of configs) {
  const kimg = Number(values[`kimg-${name}` as 'kimg-dcgan']);
  const c: TrainConfig = resolveTrainConfig({
    config: name, dataset: 'fmnist', data_dir: dataDir, result_dir: out, desc: 'bench', total_kimg: kimg,
    tick_kimg_base: Math.max(kimg / 12, 0.5), image_snapshot_ticks: 1000, network_snapshot_ticks: 1000, grid_size: '8x8',
    ...(name === 'gan-mlp' ? {} : { fmap: Number(values.fmap) }),
  });

  // The run's networks before training: the loop builds them from the same config and seed.
  const init = path.join(out, `${name}-init.safetensors`);
  fs.mkdirSync(out, { recursive: true });
  const { G, D } = buildTrainingNetworks(c, { num_channels: 1, resolution: 32, label_size: 0 });
  const Gs = G.clone('Gs');
  saveNetworkSnapshot(init, { G, D, Gs, kimg: 0 });
  [G, D, Gs].forEach((n) => n.dispose());
  const fidStart = await proxyFid(init);

  process.stdout.write(`\n=== ${name}: ${kimg} kimg ===\n`);
  const t0 = Date.now();
  const result = await trainingLoop(c);
  const wall = (Date.now() - t0) / 1000;
  if (result.status !== 'done') throw new UserError(`${name}: training ${result.status} (see ${result.runDir})`);
  const ticks = fs.readFileSync(path.join(result.runDir, 'stats.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  // Median sec/kimg over the ticks after the first (the first includes warm-up).
  const spk = ticks.slice(ticks.length > 1 ? 1 : 0).map((t) => t['Timing/sec_per_kimg']!).sort((a, b) => a - b);
  const fakes = fs.readdirSync(result.runDir).filter((f) => /^fakes\d+\.png$/.test(f)).sort();
  const fidEnd = await proxyFid(path.join(result.runDir, 'network-final.safetensors'));
  rows.push({
    config: name, kimg: result.cur_nimg / 1000, secPerKimg: spk[spk.length >> 1]!, wall, fidStart, fidEnd, runDir: result.runDir,
    fakesStart: path.join(result.runDir, fakes[0]!), fakesEnd: path.join(result.runDir, fakes.at(-1)!), lossPng: path.join(result.runDir, 'loss.png'), last: ticks.at(-1)!,
  });
}

// One PNG of the loss curves (each run's loss.png, stacked) and one of the fakes at start | end.
const label = (text: string, w: number, h: number) => Buffer.from(`<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}"><text x="8" y="${h - 8}" font-size="16" font-family="sans-serif">${text}</text></svg>`);
async function stack(file: string, items: { title: string; images: string[] }[]): Promise<void> {
  const metas = await Promise.all(items.map(async (it) => Promise.all(it.images.map((f) => sharp(f).metadata()))));
  const rowH = metas.map((m) => Math.max(...m.map((x) => x.height!)) + 28);
  const W = Math.max(...metas.map((m) => m.reduce((a, x) => a + x.width! + 8, 0)));
  const layers: { input: Buffer | string; left: number; top: number }[] = [];
  let top = 0;
  items.forEach((it, i) => {
    layers.push({ input: label(it.title, W, 26), left: 0, top });
    let left = 0;
    it.images.forEach((img, k) => { layers.push({ input: img, left, top: top + 28 }); left += metas[i]![k]!.width! + 8; });
    top += rowH[i]!;
  });
  const png = await sharp({ create: { width: W, height: top, channels: 3, background: { r: 255, g: 255, b: 255 } } }).composite(layers).png().toBuffer();
  writeFileAtomic(file, png);
}
const lossFile = path.join(out, 'baselines-loss.png');
const fakesFile = path.join(out, 'baselines-fakes.png');
await stack(lossFile, rows.map((r) => ({ title: `${r.config}: losses and scores per tick (kimg)`, images: [r.lossPng] })));
await stack(fakesFile, rows.map((r) => ({ title: `${r.config}: fakes at kimg 0 (left) and ${pyFixed(r.kimg, 1)} (right)`, images: [r.fakesStart, r.fakesEnd] })));

process.stdout.write(`\nbench train-baselines (${backend.line}); proxy FID: ${PROXY_METRIC_NAME} on ${numImages} images, not comparable to published FID\n`);
for (const r of rows) {
  process.stdout.write(`  ${r.config.padEnd(8)} ${pyFixed(r.kimg, 1)} kimg in ${pyFixed(r.wall, 0)} s: sec/kimg ${pyFixed(r.secPerKimg, 2)} (median tick); ` +
    `proxy FID ${pyFixed(r.fidStart, 2)} → ${pyFixed(r.fidEnd, 2)}; last tick Loss/G ${pyFixed(r.last['Loss/G']!, 3)} Loss/D ${pyFixed(r.last['Loss/D']!, 3)}\n`);
  process.stdout.write(`           run dir ${r.runDir}\n`);
}
process.stdout.write(`  loss curves: ${lossFile}\n  fakes start|end: ${fakesFile}\n`);
