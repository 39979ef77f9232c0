// Main entry point for evaluating metrics (NVIDIA's run_metrics.py): run_pickle on one network,
// run_snapshot / run_all_snapshots on a training run's snapshots. Parses flags only; the work is in
// metrics/run_metrics_lib.ts.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runMain, UserError } from './dnnlib/errors.ts';
import { finishCli } from './dnnlib/cli.ts';
import { backendOptions, backendOptionsFrom, initBackend } from './dnnlib/backend.ts';
import { listMetrics } from './metrics/all_metrics.ts';
import { weightsOptions } from './metrics/weights.ts';
import { parseMetricList, parseSnapshot, prepareRunMetrics, runMetrics, type RunMetricsConfig } from './metrics/run_metrics_lib.ts';

const PROG = 'run_metrics.ts';

function wholeNumber(flag: string, v: unknown, min: number): number | undefined {
  if (v === undefined) return undefined;
  const s = String(v).trim();
  if (!/^\d+$/.test(s) || Number(s) < min) throw new UserError(`--${flag}: expected a whole number ≥ ${min}, got '${String(v)}'`, 2);
  return Number(s);
}

runMain(async () => {
  const argv = await finishCli(yargs(hideBin(process.argv))
    .scriptName(PROG)
    .usage('Evaluate StyleGAN metrics (NVIDIA run_metrics.py) on a network or on the snapshots of a training run.\n\n' +
      'Usage: $0 --network <snapshot|.pkl|URL> --metrics fid50k --data-dir datasets --dataset <name>\n' +
      '       $0 --run-dir results/NNNNN-<desc> [--snapshot latest|all|<kimg>] --metrics fid50k')
    .option('network', { type: 'string', describe: 'network to evaluate: a snapshot (.safetensors), an NVIDIA .pkl or an http(s) URL of either' })
    .option('run-dir', { type: 'string', describe: 'a training run dir (or run id under --result-dir): evaluate its snapshots, append results to its metric-<name>.txt' })
    .option('snapshot', { type: 'string', describe: 'with --run-dir: latest (default), all, or the kimg of network-snapshot-<kimg>' })
    .option('metrics', { type: 'string', default: 'fid50k', describe: `comma-separated: ${listMetrics().join(', ')}` })
    .option('data-dir', { type: 'string', default: 'datasets', describe: 'directory holding the datasets' })
    .option('dataset', { type: 'string', describe: "dataset name under --data-dir (default with --run-dir: the run's config.json)" })
    .option('mirror-augment', { type: 'boolean', describe: "reals mirrored at random, as in training (default with --run-dir: the run's setting; else off)" })
    .option('num-images', { type: 'string', describe: "override every metric's sample count (fid50k 50000, ppl 100000, ls 200000) for quick checks; results say so" })
    .option('result-dir', { type: 'string', default: 'results', describe: 'where numbered run dirs NNNNN-run_metrics-<metrics> are created' })
    .options({
      ...weightsOptions,
      'cache-dir': { type: 'string', describe: 'cache for metric weights (default ~/.cache/stylegan-ts), downloaded networks and real-image statistics (default ./cache, as NVIDIA)' },
      inception: { type: 'string', describe: "FID Inception weights instead of downloading them: pytorch-fid's pt_inception-2015-12-05-6726825d.pth or a .safetensors with its tensor names" },
      vgg16: { type: 'string', describe: 'PPL LPIPS weights instead of downloading them: vgg16-397923af.pth and lpips-v0.1-vgg.pth (repeat the flag or comma-separate), or one .safetensors holding both' },
    })
    .option('proxy-weights', { type: 'string', describe: 'directory with weights.bin/.json of the fid_proxy_fmnist network (default tests/fixtures/metrics/proxy_fmnist)' })
    .option('seed', { type: 'string', describe: 'seed of the latents, interpolation points and noise (default random; printed and recorded)' })
    .option('prefetch', { type: 'boolean', default: true, describe: 'read the next real minibatch while features are computed (--no-prefetch to switch off)' })
    .options(backendOptions)
    .example('$0 --network network-final.safetensors --metrics fid50k --data-dir datasets --dataset ffhq --mirror-augment', "NVIDIA's run_pickle: FID of a network on 50000 images")
    .example('$0 --run-dir results/00003-sgan-fmnist-1gpu --snapshot all --metrics fid_proxy_fmnist --num-images 1000', 'every snapshot of a run; a line per snapshot in its metric-fid_proxy_fmnist.txt')
    .example('$0 --network ffhq.pkl --metrics ppl_zfull,ppl_wend --vgg16 vgg16-397923af.pth --vgg16 lpips-v0.1-vgg.pth', 'path lengths with LPIPS weights given offline')
    .example('$0 --network net.safetensors --metrics fid50k --dataset fmnist --inception pt_inception-2015-12-05-6726825d.pth --num-images 2000', 'a quick FID with the Inception weights given offline'), PROG).parseAsync();

  const list = (v: unknown): string[] | undefined => v === undefined ? undefined : ([] as unknown[]).concat(v).flatMap((x) => String(x).split(',')).filter(Boolean);
  const cfg: RunMetricsConfig = {
    metrics: parseMetricList(argv.metrics),
    network: argv.network,
    runDir: argv['run-dir'],
    snapshot: parseSnapshot(argv.snapshot),
    dataDir: argv['data-dir'],
    dataset: argv.dataset,
    mirrorAugment: argv['mirror-augment'],
    numImages: wholeNumber('num-images', argv['num-images'], 2),
    resultDir: argv['result-dir'],
    cacheDir: argv['cache-dir'],
    inception: argv.inception,
    vgg16: list(argv.vgg16),
    classifiers: argv.classifiers,
    proxyWeights: argv['proxy-weights'],
    seed: wholeNumber('seed', argv.seed, 0),
    prefetch: argv.prefetch,
  };
  if (argv.snapshot !== undefined && argv['run-dir'] === undefined) throw new UserError('--snapshot needs --run-dir', 2);
  // Every check on the flags and files runs before the backend starts.
  const plan = prepareRunMetrics(cfg);
  await initBackend(backendOptionsFrom(argv));
  await runMetrics(plan);
});
