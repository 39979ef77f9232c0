// train.ts --config gan-mlp | dcgan | wgan-gp through the ordinary training loop on a tiny generated
// dataset: the presets (Adam, minibatch, n_critic, losses) as the issue states them, a few ticks each
// with a flat tensor count, snapshots that load back into the right classes with their batch-norm
// running statistics, a resume, flags that do not apply refused, and --dry-run's layer tables.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { useTestBackend } from './_backend.ts';
import { makeRectDataset } from './_train_dataset.ts';
import { UserError } from '../dnnlib/errors.ts';
import { resolveTrainConfig, type TrainConfig, type TrainOverrides } from '../training/train_config.ts';
import { trainingLoop, type TickInfo } from '../training/training_loop.ts';
import { loadNetworks } from '../training/network_io.ts';
import { D_dcgan, D_mlp, G_dcgan, G_mlp } from '../training/networks_baseline.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
let tmp = '';

before(async () => {
  await useTestBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-train-base-'));
  await makeRectDataset(path.join(tmp, 'datasets', 'rects'), { count: 96, resolution: 16 });
});
after(() => { if (tmp) fs.rmSync(tmp, { recursive: true, force: true }); });

const userError = (re: RegExp) => (e: unknown) => e instanceof UserError && re.test(e.message) && !e.message.includes('\n');

test('presets: minibatch 64, no lod, Adam 2e-4 β 0.5/0.999 (BCE) or 1e-4 β 0/0.9 with n_critic 5 and no drift (WGAN-GP), Gs a copy of G', () => {
  for (const config of ['gan-mlp', 'dcgan', 'wgan-gp'] as const) {
    const c = resolveTrainConfig({ config, dataset: 'fmnist' });
    const wgan = config === 'wgan-gp';
    assert.equal(c.family, 'baseline');
    assert.equal(c.sched.lod_initial_resolution, null, 'no growing: the full resolution from the start');
    assert.equal(c.sched.minibatch_base, 64);
    assert.deepEqual(c.sched.minibatch_dict, {});
    assert.equal(c.sched.G_lrate_base, wgan ? 1e-4 : 2e-4);
    assert.equal(c.sched.D_lrate_base, wgan ? 1e-4 : 2e-4);
    for (const opt of [c.G_opt, c.D_opt]) assert.deepEqual([opt.beta1, opt.beta2], wgan ? [0, 0.9] : [0.5, 0.999]);
    assert.equal(c.train.D_repeats, wgan ? 5 : 1);
    assert.equal(c.train.minibatch_repeats, 1);
    assert.equal(c.train.G_smoothing_kimg, 0);
    assert.deepEqual([c.G_loss.func_name, c.D_loss.func_name], wgan ? ['G_wgan', 'D_wgan_gp'] : ['G_logistic_nonsaturating', 'D_logistic']);
    if (wgan) assert.deepEqual(c.D_loss.args, { wgan_lambda: 10, wgan_epsilon: 0, wgan_target: 1 });
    assert.match(c.desc, new RegExp(`^${config}-fmnist`));
  }
});

test('flags that do not apply to the baselines are refused with one line', () => {
  const bad = (o: Partial<TrainOverrides>, re: RegExp) => assert.throws(() => resolveTrainConfig({ dataset: 'x', config: 'dcgan', ...o }), userError(re));
  bad({ lod_training_kimg: 10 }, /^--lod-training-kimg: .*dcgan.* no progressive growing/);
  bad({ lod_initial_resolution: 8 }, /^--lod-initial-resolution: /);
  bad({ minibatch_dict: { 32: 16 } }, /^--minibatch-dict: /);
  bad({ fmap_max: 128 }, /^--fmap-max: /);
  bad({ mapping_layers: 2 }, /^--mapping-layers: /);
  bad({ style_mixing_prob: 0.5 }, /^--style-mixing-prob: /);
  bad({ no_noise: true }, /^--no-noise: /);
  bad({ nonlinearity: 'relu' }, /^--nonlinearity: /);
  bad({ pl_weight: 2 }, /^--pl-weight: /);
  bad({ r1_gamma: 10 }, /^--r1-gamma: the D loss D_logistic takes no r1_gamma/);
  bad({ loss: 'wgan-gp' }, /^--loss wgan-gp: .*batch norm/);
  bad({ max_label_size: 'full' }, /^--max-label-size full: config dcgan .* is unconditional/);
  bad({ config: 'gan-mlp', fmap: 32 }, /^--fmap: only for dcgan and wgan-gp \(config gan-mlp sizes its layers with fixed widths\)/);
  assert.throws(() => resolveTrainConfig({ dataset: 'x', config: 'f', fmap: 32 }), userError(/^--fmap: only for dcgan and wgan-gp \(config f sizes its layers with --fmap-base/));
  // What applies keeps working.
  const c = resolveTrainConfig({ dataset: 'x', config: 'wgan-gp', wgan_lambda: 5, D_repeats: 3, minibatch_base: 32, G_lrate_base: 3e-4, latent_size: 64, fmap: 16 });
  assert.deepEqual([c.D_loss.args.wgan_lambda, c.train.D_repeats, c.sched.minibatch_base, c.sched.G_lrate_base, c.G_args.latent_size], [5, 3, 32, 3e-4, 64]);
  assert.deepEqual([c.G_args.fmap, c.D_args.fmap], [16, 16]);
  assert.equal(c.G_args.dlatent_size, undefined);
});

/** A few ticks of a baseline on the 16² rectangles with small networks. */
function tinyConfig(config: 'gan-mlp' | 'dcgan' | 'wgan-gp', name: string, total_kimg: number, extra: Partial<TrainOverrides> = {}): TrainConfig {
  const c = resolveTrainConfig({
    config, dataset: 'rects', data_dir: path.join(tmp, 'datasets'), result_dir: path.join(tmp, name), total_kimg,
    minibatch_base: 16, tick_kimg_base: 0.08, grid_size: '4x2', network_snapshot_ticks: 2, ...(config === 'gan-mlp' ? {} : { fmap: 4 }), ...extra,
  });
  return c;
}

for (const config of ['gan-mlp', 'dcgan', 'wgan-gp'] as const) {
  test(`${config} trains a few ticks: flat tensor count, finite losses, snapshots load back with running stats`, async () => {
    const ticks: TickInfo[] = [];
    const res = await trainingLoop(tinyConfig(config, config, 0.4), { onTick: (t) => ticks.push(t), quietProgress: true });
    assert.equal(res.status, 'done');
    assert.ok(ticks.length >= 3, `${ticks.length} ticks`);
    // Images per iteration: D_repeats × minibatch (minibatch_repeats 1).
    const perIter = (config === 'wgan-gp' ? 5 : 1) * 16;
    assert.equal(res.cur_nimg % perIter, 0);
    assert.ok(ticks.every((t) => t.lod === 0 && t.minibatch === 16));
    assert.deepEqual(new Set(ticks.slice(1).map((t) => t.numTensors)).size, 1, `numTensors per tick: ${ticks.map((t) => t.numTensors).join(', ')}`);
    for (const t of ticks) for (const k of ['Loss/G', 'Loss/D']) assert.ok(Number.isFinite(t.means[k]), `${k} ${t.means[k]}`);
    if (config === 'wgan-gp') assert.ok(Number.isFinite(ticks[0]!.means['Loss/mixed_norms']), 'the gradient penalty ran');
    const files = fs.readdirSync(res.runDir);
    for (const f of ['config.json', 'reals.png', 'fakes000000.png', 'network-snapshot-000000.safetensors', 'network-final.safetensors', 'loss.png']) assert.ok(files.includes(f), `${f} in ${files.join(', ')}`);
    const log = fs.readFileSync(path.join(res.runDir, 'log.txt'), 'utf8');
    assert.match(log, new RegExp(`^Total\\s+\\d+$`, 'm'));

    const nets = await loadNetworks(path.join(res.runDir, 'network-final.safetensors'), { quiet: true });
    const [Gc, Dc] = config === 'gan-mlp' ? [G_mlp, D_mlp] : [G_dcgan, D_dcgan];
    assert.ok(nets.G instanceof Gc && nets.Gs instanceof Gc && nets.D instanceof Dc);
    // Gs carries batch-norm running statistics that training moved off their initial 0 / 1.
    const stats = [...nets.Gs.vars].filter(([n]) => /moving_(mean|variance)$/.test(n));
    assert.ok(stats.length > 0);
    assert.ok(stats.some(([n, v]) => Array.from(v.dataSync()).some((x) => x !== (n.endsWith('mean') ? 0 : 1))));
    for (const n of [nets.G, nets.D, nets.Gs]) n!.dispose();
  });
}

test('dcgan resumes from its snapshot and continues to the total', async () => {
  const first = await trainingLoop(tinyConfig('dcgan', 'resume', 0.16), { quietProgress: true });
  assert.equal(first.status, 'done');
  const lines: string[] = [];
  const write = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((s: string) => { lines.push(String(s)); return true; }) as typeof process.stdout.write;
  let second;
  try {
    second = await trainingLoop(tinyConfig('dcgan', 'resume', 0.32, { resume: 'latest' }), { quietProgress: true });
  } finally {
    process.stdout.write = write;
  }
  assert.equal(second.status, 'done');
  assert.ok(lines.some((l) => /^Resuming from kimg 0\.160/.test(l)), lines.join(''));
  assert.ok(second.cur_nimg >= 320);
});

function trainCli(args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'train.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, STYLEGAN_BACKEND: 'cpu' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('train.ts --dry-run --config gan-mlp | dcgan | wgan-gp prints the layer tables with the totals', () => {
  const totals = (out: string) => [...out.matchAll(/^Total\s+(\d+)$/gm)].map((m) => Number(m[1]));
  const mlp = trainCli(['--dry-run', '--config', 'gan-mlp']);
  assert.equal(mlp.code, 0, mlp.stderr);
  assert.deepEqual(totals(mlp.stdout), [1_510_032, 533_505]);
  assert.match(mlp.stdout, /^Dense1\s+33536\s+\(\?, 256\)\s+\(128, 256\)$/m);
  const dc = trainCli(['--dry-run', '--config', 'dcgan']);
  assert.equal(dc.code, 0, dc.stderr);
  assert.deepEqual(totals(dc.stdout), [3_576_704, 2_765_568]); // the PyTorch DCGAN tutorial's counts (64² RGB)
  // WGAN-GP's critic: the DCGAN D without batch norm, with biases: Σ 16·cin·cout + cout, then 16·512 + 1.
  const critic = 3 * 64 * 16 + 64 + 64 * 128 * 16 + 128 + 128 * 256 * 16 + 256 + 256 * 512 * 16 + 512 + 512 * 16 + 1;
  const wg = trainCli(['--dry-run', '--config', 'wgan-gp', '--resolution', '64']);
  assert.equal(wg.code, 0, wg.stderr);
  assert.deepEqual(totals(wg.stdout), [3_576_704, critic]);
  const small = trainCli(['--dry-run', '--config', 'dcgan', '--resolution', '32', '--num-channels', '1']);
  assert.equal(small.code, 0, small.stderr);
  assert.match(small.stdout, /^32x32\/Conv0_up\s+1024\s+\(\?, 1, 32, 32\)\s+\(4, 4, 64, 1\)$/m);
  const refused = trainCli(['--dry-run', '--config', 'gan-mlp', '--fmap-max', '64']);
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /^error: --fmap-max: /m);
});
