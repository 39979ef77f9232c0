// Benchmark of the training loop: a small StyleGAN (config F, shrunk) on Fashion-MNIST padded to 32×32,
// one channel, progressive growing from 8×8, for a fixed budget of kimg. Prints sec/kimg per lod phase
// and the paths of the fakes grids at start and end and of the loss plot; the run dir is an ordinary
// train.ts run dir, so it can be resumed or inspected like any other.
//
//   npm run bench -- train [--kimg 60] [--lrate 0.001] [--r1-gamma 10] [--out results/bench-train] [--fmnist DIR]
//
// The dataset comes from the Debian package dataset-fashion-mnist (apt-get install dataset-fashion-mnist)
// and is converted once with dataset_tool's create_mnist into <out>/datasets/fmnist.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { initBackend } from '../dnnlib/backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { createMnist } from '../training/dataset_tool/create_mnist.ts';
import { resolveTrainConfig, type TrainOverrides } from '../training/train_config.ts';
import { trainingLoop } from '../training/training_loop.ts';
import { pyFixed } from '../training/misc.ts';

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    kimg: { type: 'string', default: '60' },
    out: { type: 'string', default: path.join('results', 'bench-train') },
    fmnist: { type: 'string', default: '/usr/share/datasets/fashion-mnist' },
    resume: { type: 'string' },
    lrate: { type: 'string', default: '0.001' },
    'r1-gamma': { type: 'string', default: '10' },
  },
});

const out = values.out!;
const dataDir = path.join(out, 'datasets');
if (!fs.existsSync(path.join(dataDir, 'fmnist'))) {
  if (!fs.existsSync(path.join(values.fmnist!, 'train-images-idx3-ubyte.gz'))) {
    throw new UserError(`${values.fmnist}: no Fashion-MNIST here; install it with 'apt-get install -y dataset-fashion-mnist' or pass --fmnist DIR`);
  }
  process.stdout.write(`Converting Fashion-MNIST to ${path.join(dataDir, 'fmnist')} (create_mnist, padded to 32x32)...\n`);
  await createMnist(path.join(dataDir, 'fmnist'), values.fmnist!);
}

// A config F generator and D_basic shrunk for a CPU: feature maps 64 at 4²–16² and 32 at 32²
// (fmap_base 512), z = w = 128 with a 2-layer mapping, minibatch 32 at every resolution. The schedule
// is NVIDIA's shortened: 8 kimg per stable phase and per fade, 2 kimg ticks, Gs half-life 2 kimg (10
// would average over most of this short run); lr and R1 γ are NVIDIA's (0.001, 10). A first run with
// lr 0.002 and γ = 1 let D win and G collapse onto one silhouette after the 32x32 fade.
const overrides: TrainOverrides = {
  config: 'f', data_dir: dataDir, dataset: 'fmnist', result_dir: out, desc: 'bench',
  total_kimg: Number(values.kimg), fmap_base: 512, fmap_max: 64, latent_size: 128, mapping_fmaps: 128, mapping_layers: 2,
  minibatch_base: 32, minibatch_dict: {}, G_lrate_base: Number(values.lrate), D_lrate_base: Number(values.lrate), G_lrate_dict: {}, D_lrate_dict: {},
  lod_initial_resolution: 8, lod_training_kimg: 8, lod_transition_kimg: 8, tick_kimg_base: 2, tick_kimg_dict: {},
  G_smoothing_kimg: 2, r1_gamma: Number(values['r1-gamma']), mirror_augment: false,
  image_snapshot_ticks: 5, network_snapshot_ticks: 10, grid_size: '8x8', resume: values.resume,
};
const config = resolveTrainConfig(overrides);
const backend = await initBackend({});
const t0 = Date.now();
const result = await trainingLoop(config);
const wall = (Date.now() - t0) / 1000;

// Figures from the run's own stats.jsonl: sec/kimg per lod (ticks that ran entirely at one phase).
const ticks = fs.readFileSync(path.join(result.runDir, 'stats.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
const byLod = new Map<string, number[]>();
for (const t of ticks) {
  const lod = t['Progress/lod']!;
  const key = Number.isInteger(lod) ? `lod ${lod} (${32 >> lod}x${32 >> lod})` : `fade to ${32 >> Math.floor(lod)}x${32 >> Math.floor(lod)}`;
  byLod.set(key, [...(byLod.get(key) ?? []), t['Timing/sec_per_kimg']!]);
}
const fakes = fs.readdirSync(result.runDir).filter((f) => /^fakes\d+\.png$/.test(f)).sort();
const last = ticks.at(-1)!;
process.stdout.write(`\nbench train (${backend.line})\n`);
process.stdout.write(`run dir ${result.runDir}: ${result.status} at kimg ${pyFixed(result.cur_nimg / 1000, 1)}, wall ${pyFixed(wall, 0)} s\n`);
for (const [k, v] of byLod) process.stdout.write(`  sec/kimg ${k}: median ${pyFixed([...v].sort((a, b) => a - b)[v.length >> 1]!, 1)} over ${v.length} ticks\n`);
process.stdout.write(`  final tick: Loss/G ${pyFixed(last['Loss/G']!, 3)}, Loss/D ${pyFixed(last['Loss/D']!, 3)}, scores real ${pyFixed(last['Loss/scores/real']!, 3)} fake ${pyFixed(last['Loss/scores/fake']!, 3)}\n`);
process.stdout.write(`  fakes at start: ${path.join(result.runDir, fakes[0]!)}\n  fakes at end:   ${path.join(result.runDir, fakes.at(-1)!)}\n`);
process.stdout.write(`  loss plot: ${path.join(result.runDir, 'loss.png')}\n  reals: ${path.join(result.runDir, 'reals.png')}\n`);
process.exitCode = result.exitCode;
