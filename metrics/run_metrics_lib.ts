// NVIDIA's run_metrics.py as a library: run_pickle (one network), run_snapshot (one snapshot of a
// training run) and run_all_snapshots, over the metrics of all_metrics.ts. This file turns a typed
// config into the things each registered metric takes (the feature / distance networks from their
// weight files, the reals from the dataset, the generator as callables), runs calcMetric, prints
// NVIDIA's result line and appends it to `<training run dir>/metric-<name>.txt`, plus one JSON line
// with every pipeline choice to `metric-<name>.jsonl`. Without a training run dir the evaluation
// gets its own numbered run dir (results/NNNNN-run_metrics-<metrics>) with log.txt, as
// dnnlib.submit_run makes one.
//
// Checks that can fail on user input (metric names, files, the dataset, the weights flags) run in
// prepareRunMetrics() before the backend starts, so a mistake is the only line printed.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { createProgress, type Progress } from '../dnnlib/progress.ts';
import { RandomState } from '../dnnlib/random.ts';
import { readSafetensors } from '../dnnlib/safetensors.ts';
import { createRunDir, markFinished, RunLog, writeRunInfo } from '../dnnlib/submission.ts';
import { currentBackend } from '../dnnlib/backend.ts';
import { TFRecordDataset, mirrorInPlace } from '../training/dataset.ts';
import { openDatasetDir } from '../training/dataset_tool/dataset_dir.ts';
import { list_network_pkls, locate_network_pkl, locate_run_dir } from '../training/misc.ts';
import { loadNetworks } from '../training/network_io.ts';
import type { Network } from '../training/network.ts';
import { assignVar } from '../training/network.ts';
import { isStyleGenerator, type StyleGenerator } from '../training/networks_stylegan2.ts';
import { isBaselineGenerator } from '../training/networks_baseline.ts';
import { calcMetric, isValidMetric, jsonLine, listMetrics, resultLine, appendJsonLine } from './all_metrics.ts';
import { convertImagesToUint8Tensor, realsCacheFile, type MetricReport, type PyValue, type WeightsInfo } from './metric_base.ts';
import type { FeatureNetwork } from './frechet_inception_distance.ts';
import { InceptionV3Features, inceptionFeatureNetwork } from './inception_v3.ts';
import { LpipsVgg16 } from './lpips.ts';
import { loadAttributeClassifier, type LoadedClassifier } from './classifier.ts';
import { PROXY_METRIC_NAME } from './proxy_features.ts';
import { isPPLMetric, PPL_METRICS } from './perceptual_path_length.ts';
import { classifierFile, obtainWeights, unsupportedWeightsMessage, WEIGHTS_FILES, type WeightsFile } from './weights.ts';
import { ZipReader } from '../dnnlib/zip.ts';
import { sha256File } from '../dnnlib/download.ts';
import { weightMapFromTorchFile, type WeightMap } from './weight_map.ts';

/** The proxy network's weights as shipped (tests/fixtures/metrics/proxy_fmnist). */
export const DEFAULT_PROXY_WEIGHTS = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'tests', 'fixtures', 'metrics', 'proxy_fmnist');
/** Images the proxy FID uses when --num-images is not given (it has no NVIDIA default). */
export const PROXY_DEFAULT_NUM_IMAGES = 10000;
const PROXY_MINIBATCH = 50;

export type SnapshotChoice = 'latest' | 'all' | number;

export interface RunMetricsConfig {
  /** Registered metric names (fid50k, ppl_zfull, …, fid_proxy_fmnist). */
  metrics: string[];
  /** A network file or URL (run_pickle). Exclusive with runDir. */
  network?: string;
  /** A training run dir or run id (run_snapshot / run_all_snapshots). */
  runDir?: string;
  snapshot?: SnapshotChoice;
  dataDir: string;
  /** Dataset name under dataDir; from the run's config.json when omitted with runDir. */
  dataset?: string;
  mirrorAugment?: boolean;
  /** Overrides every metric's sample count (quick checks; results then differ from published ones). */
  numImages?: number;
  /** Result dir where numbered run dirs are made (NVIDIA's config.result_dir). */
  resultDir: string;
  /**
   * Cache for metric weights, downloaded networks and real-image statistics. Unset: weights in
   * ~/.cache/stylegan-ts, networks and statistics in ./cache (NVIDIA's config.cache_dir).
   */
  cacheDir?: string;
  inception?: string;
  /** LPIPS weights: one file holding both parts, or the VGG16 file and the lpips lin file. */
  vgg16?: string[];
  classifiers?: string;
  proxyWeights?: string;
  /** Seed of z, t and noise draws; unset = a random seed (recorded in the JSON line). */
  seed?: number;
  /** Read the next real minibatch while features of the current one are computed. */
  prefetch?: boolean;
  /** No progress bars (library use). */
  quiet?: boolean;
  /** How an attribute classifier file is loaded (default classifier.ts's loadAttributeClassifier; tests swap it). */
  loadClassifier?: (file: string) => LoadedClassifier;
}

interface DatasetArgs {
  dataDir: string;
  tfrecordDir: string;
  resolution: number | null;
  mirrorAugment: boolean;
  /** Where the settings came from, for the log. */
  source: string;
}

export interface RunMetricsPlan {
  cfg: RunMetricsConfig;
  networks: string[];
  /** The training run dir whose metric-<name>.txt receive the lines, or null (run_pickle). */
  trainingRunDir: string | null;
  dataset: DatasetArgs | null;
  /** Human description of the task, as NVIDIA prints it. */
  task: string;
  runFunc: 'run_pickle' | 'run_snapshot' | 'run_all_snapshots';
}

const NEEDS_REALS = new Set(['fid50k', PROXY_METRIC_NAME]);
const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Parses --metrics: comma-separated registered names, each once. */
export function parseMetricList(text: string): string[] {
  const names = text.split(',').map((s) => s.trim()).filter(Boolean);
  if (names.length === 0) throw new UserError('--metrics: no metric named', 2);
  for (const n of names) {
    if (!isValidMetric(n)) throw new UserError(`--metrics: unknown metric '${n}' (known: ${listMetrics().join(', ')})`, 2);
  }
  return [...new Set(names)];
}

/** Parses --snapshot: latest, all, or the kimg number in network-snapshot-<kimg>. */
export function parseSnapshot(text: string | undefined): SnapshotChoice {
  if (text === undefined || text === 'latest') return 'latest';
  if (text === 'all') return 'all';
  if (/^\d+$/.test(text.trim())) return Number(text);
  throw new UserError(`--snapshot: expected latest, all or a kimg number like 25000, got '${text}'`, 2);
}

/** Reads the dataset settings of a training run (config.json, as NVIDIA re-parses config.txt). */
function datasetFromRun(runDir: string): { dataDir?: string; tfrecordDir?: string; resolution?: number | null; mirrorAugment?: boolean } {
  const file = path.join(runDir, 'config.json');
  if (!fs.existsSync(file)) return {};
  let c: { dataset?: { data_dir?: string; tfrecord_dir?: string; resolution?: number | null }; train?: { mirror_augment?: boolean } };
  try {
    c = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (err) {
    throw new UserError(`${file}: not valid JSON (${(err as Error).message})`);
  }
  return { dataDir: c.dataset?.data_dir, tfrecordDir: c.dataset?.tfrecord_dir, resolution: c.dataset?.resolution ?? null, mirrorAugment: c.train?.mirror_augment };
}

/** Every check on user input, before any network or backend is touched. */
export function prepareRunMetrics(cfg: RunMetricsConfig): RunMetricsPlan {
  if (cfg.metrics.length === 0) throw new UserError('--metrics: no metric named', 2);
  for (const n of cfg.metrics) if (!isValidMetric(n)) throw new UserError(`--metrics: unknown metric '${n}' (known: ${listMetrics().join(', ')})`, 2);
  if (cfg.network !== undefined && cfg.runDir !== undefined) throw new UserError('pass either --network or --run-dir, not both', 2);
  if (cfg.network === undefined && cfg.runDir === undefined) throw new UserError('no network: pass --network <snapshot|.pkl|URL> or --run-dir <training run dir>', 2);
  if (cfg.numImages !== undefined && !(Number.isInteger(cfg.numImages) && cfg.numImages >= 2)) {
    throw new UserError(`--num-images: expected a whole number ≥ 2, got ${cfg.numImages}`, 2);
  }

  let networks: string[];
  let trainingRunDir: string | null = null;
  let runFunc: RunMetricsPlan['runFunc'];
  let task: string;
  let fromRun: ReturnType<typeof datasetFromRun> = {};
  if (cfg.network !== undefined) {
    if (!isUrl(cfg.network)) {
      if (!fs.existsSync(cfg.network)) throw new UserError(`--network ${cfg.network}: no such network file`);
      if (fs.statSync(cfg.network).isDirectory()) throw new UserError(`--network ${cfg.network}: is a directory; for a training run use --run-dir`);
    }
    networks = [cfg.network];
    runFunc = 'run_pickle';
    task = `network_pkl "${cfg.network}"`;
  } else {
    const runDir = cfg.runDir!;
    try {
      trainingRunDir = locate_run_dir(runDir, cfg.resultDir);
    } catch {
      throw new UserError(`--run-dir ${runDir}: no such training run directory (nor run id in ${cfg.resultDir})`);
    }
    const snapshot = cfg.snapshot ?? 'latest';
    if (snapshot === 'all') {
      networks = list_network_pkls(trainingRunDir);
      if (networks.length === 0) throw new UserError(`--run-dir ${trainingRunDir}: no network-*.safetensors or network-*.pkl snapshots`);
      runFunc = 'run_all_snapshots';
      task = `all snapshots of run ${trainingRunDir}`;
    } else {
      try {
        networks = [locate_network_pkl(trainingRunDir, snapshot === 'latest' ? null : snapshot)];
      } catch {
        throw new UserError(`--snapshot ${snapshot}: no such snapshot in ${trainingRunDir} (have: ${list_network_pkls(trainingRunDir).map((f) => path.basename(f)).join(', ') || 'none'})`);
      }
      runFunc = 'run_snapshot';
      task = `run ${trainingRunDir}, snapshot ${snapshot}`;
    }
    fromRun = datasetFromRun(trainingRunDir);
  }

  let dataset: DatasetArgs | null = null;
  const needsReals = cfg.metrics.some((m) => NEEDS_REALS.has(m));
  const tfrecordDir = cfg.dataset ?? fromRun.tfrecordDir;
  if (tfrecordDir !== undefined) {
    const dataDir = cfg.dataset !== undefined ? cfg.dataDir : fromRun.dataDir ?? cfg.dataDir;
    dataset = {
      dataDir, tfrecordDir,
      resolution: cfg.dataset !== undefined ? null : fromRun.resolution ?? null,
      mirrorAugment: cfg.mirrorAugment ?? fromRun.mirrorAugment ?? false,
      source: cfg.dataset !== undefined ? 'flags' : `${path.join(trainingRunDir!, 'config.json')}`,
    };
  }
  if (needsReals) {
    const which = cfg.metrics.filter((m) => NEEDS_REALS.has(m)).join(', ');
    if (!dataset) throw new UserError(`--dataset is required for ${which} (a directory under --data-dir made by dataset_tool.ts)`, 2);
    const dir = path.join(dataset.dataDir, dataset.tfrecordDir);
    if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
      throw new UserError(`--dataset: ${dir}: no such dataset directory (create it with dataset_tool.ts${cfg.dataset === undefined ? `; the name comes from ${dataset.source}` : ''})`);
    }
    openDatasetDir(dir); // a directory without *.tfrecords is a UserError naming it
  }

  // Weight flags that name local files must exist now, not after a network has loaded.
  const need = (flagged: boolean, m: (n: string) => boolean) => flagged && cfg.metrics.some(m);
  if (need(cfg.inception !== undefined, (m) => m === 'fid50k') && !fs.existsSync(cfg.inception!)) {
    throw new UserError(`--inception ${cfg.inception}: no such file (the FID Inception weights, e.g. ${WEIGHTS_FILES.pt_inception.fileName})`);
  }
  if (need(cfg.inception !== undefined, (m) => m === 'fid50k')) refuseUnreadableWeights('--inception', cfg.inception!);
  if (need(cfg.vgg16 !== undefined, isPPLMetric)) {
    for (const f of cfg.vgg16!) if (!fs.existsSync(f)) throw new UserError(`--vgg16 ${f}: no such file (the PPL LPIPS weights: ${WEIGHTS_FILES.torchvision_vgg16.fileName} and ${WEIGHTS_FILES.lpips_vgg_lin.fileName})`);
    for (const f of cfg.vgg16!) refuseUnreadableWeights('--vgg16', f);
  }
  if (cfg.metrics.includes('ls')) {
    // The classifiers come from --classifiers only: 40 files on Google Drive / NVIDIA's CDN.
    if (cfg.classifiers === undefined) {
      throw new UserError(`ls needs the 40 CelebA-HQ attribute classifiers: download ${classifierFile(0).fileName} … ${classifierFile(39).fileName} and pass --classifiers DIR`);
    }
    if (!fs.existsSync(cfg.classifiers) || !fs.statSync(cfg.classifiers).isDirectory()) {
      throw new UserError(`--classifiers ${cfg.classifiers}: no such directory (it should hold ${classifierFile(0).fileName} … ${classifierFile(39).fileName})`);
    }
    for (let i = 0; i < 40; i++) {
      const file = path.join(cfg.classifiers, classifierFile(i).fileName);
      if (!fs.existsSync(file)) throw new UserError(`--classifiers ${cfg.classifiers}: ${classifierFile(i).fileName} is missing (ls needs all 40 CelebA-HQ attribute classifiers)`);
    }
  }
  if (cfg.metrics.includes(PROXY_METRIC_NAME)) {
    const dir = cfg.proxyWeights ?? DEFAULT_PROXY_WEIGHTS;
    if (!fs.existsSync(path.join(dir, 'weights.bin'))) throw new UserError(`--proxy-weights ${dir}: no weights.bin (the Fashion-MNIST proxy network of ${PROXY_METRIC_NAME})`);
  }
  return { cfg, networks, trainingRunDir, dataset, task, runFunc };
}

// ---------------------------------------------------------------------------------------------
// Metric networks from their weight files.

type Log = (line: string) => void;

interface LoadedWeights { map: WeightMap; info: WeightsInfo; verified: boolean }

/**
 * A weights file as a WeightMap: safetensors by extension, else a torch.save'd state dict. A corrupt file's
 * error names the flag it came from, since the file may be a cached download the user never named.
 */
function readWeightMap(file: string, flag: string, into: WeightMap = new Map()): WeightMap {
  try {
    if (/\.safetensors$/i.test(file)) {
      for (const [name, t] of readSafetensors(file).tensors) {
        if (t.dtype !== 'F32' && t.dtype !== 'F64') continue;
        into.set(name, { shape: [...t.shape], data: t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as Float64Array) });
      }
      return into;
    }
    return weightMapFromTorchFile(file, into);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${flag}: ${err.message}`, err.exitCode);
    throw err;
  }
}

/**
 * NVIDIA's TF metric pickles and the TorchScript archives are refused up front (one line saying
 * why and what to pass); torch.jit.save archives carry code/ (and constants.pkl) beside data.pkl.
 */
function refuseUnreadableWeights(flag: string, file: string): void {
  if (/\.pkl$/i.test(file)) throw new UserError(unsupportedWeightsMessage(flag, file, 'tf-pickle'));
  const bytes = fs.readFileSync(file);
  if (!(bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04)) return;
  const names = [...new ZipReader(bytes, path.basename(file)).entries.keys()];
  if (names.some((n) => /^[^/]+\/(code\/|constants\.pkl$)/.test(n))) throw new UserError(unsupportedWeightsMessage(flag, file, 'torchscript'));
}

/**
 * One published weights file: the user's (flag) or the cached / downloaded copy. A user's file
 * whose sha256 is not the published one is used, with a warning, and marked unverified.
 */
async function obtain(spec: WeightsFile, localFile: string | undefined, cacheDir: string | undefined, log: Log): Promise<{ path: string; sha256: string; verified: boolean }> {
  if (localFile === undefined) return obtainWeights(spec, { cacheDir, log });
  const r = await obtainWeights({ ...spec, sha256: null }, { localFile, log });
  const verified = spec.sha256 !== null && r.sha256.startsWith(spec.sha256);
  if (!verified && spec.sha256 !== null) {
    log(`warning: ${spec.flag} ${localFile}: sha256 ${r.sha256.slice(0, 12)}… is not the published ${spec.fileName}; results are not comparable to published ones`);
  }
  return { ...r, verified };
}

async function loadInceptionWeights(cfg: RunMetricsConfig, log: Log): Promise<LoadedWeights> {
  const spec = WEIGHTS_FILES.pt_inception;
  const r = await obtain(spec, cfg.inception, cfg.cacheDir, log);
  return { map: readWeightMap(r.path, '--inception'), info: { name: 'inception_v3 pool3 (pytorch-fid layout)', file: r.path, sha256: r.sha256 }, verified: r.verified };
}

async function loadLpipsWeights(cfg: RunMetricsConfig, log: Log): Promise<{ map: WeightMap; infos: WeightsInfo[]; verified: boolean }> {
  const map: WeightMap = new Map();
  const infos: WeightsInfo[] = [];
  let verified = true;
  const files = cfg.vgg16 ?? [undefined, undefined];
  const specs = [WEIGHTS_FILES.torchvision_vgg16, WEIGHTS_FILES.lpips_vgg_lin];
  for (let i = 0; i < files.length; i++) {
    const spec = specs[Math.min(i, specs.length - 1)]!;
    const r = await obtain(cfg.vgg16 ? { ...spec, sha256: null } : spec, files[i], cfg.cacheDir, log);
    readWeightMap(r.path, '--vgg16', map);
    infos.push({ name: cfg.vgg16 ? 'lpips vgg16 (user file)' : spec.fileName, file: r.path, sha256: r.sha256 });
    verified &&= cfg.vgg16 === undefined;
  }
  return { map, infos, verified };
}

// ---------------------------------------------------------------------------------------------
// Reals and fakes.

/**
 * The first images of the dataset in file order (shuffle_mb = 0), as float32 tensors holding uint8
 * values, mirrored at random when the dataset is (misc.apply_mirror_augment). With prefetch the
 * next minibatch is read while the caller computes on the current one.
 */
async function* iterateReals(ds: TFRecordDataset, minibatch: number, mirror: boolean, rng: RandomState, prefetch: boolean): AsyncGenerator<tf.Tensor4D> {
  ds.configure(minibatch, 0);
  let next: Promise<Awaited<ReturnType<TFRecordDataset['getMinibatchNp']>>> | null = ds.getMinibatchNp();
  while (next) {
    const mb = await next;
    if (!mb) return;
    next = prefetch ? ds.getMinibatchNp() : null;
    const [n, c, h, w] = mb.shape;
    if (mirror) {
      const per = c * h * w;
      for (let i = 0; i < n; i++) if (rng.random_sample() < 0.5) mirrorInPlace(mb.images.subarray(i * per, (i + 1) * per), c, h, w);
    }
    yield tf.tensor4d(Float32Array.from(mb.images), mb.shape);
    next ??= ds.getMinibatchNp();
  }
}

interface GeneratorHandle {
  Gs: Network;
  latentSize: number;
  labelSize: number;
  /** [C, H, W] of its images. */
  shape: [number, number, number];
  /** n images in [−1, 1]: z ~ N(0, I), random labels from the dataset, no truncation, random noise. */
  generate(n: number): tf.Tensor4D;
}

function generatorHandle(Gs: Network, rng: RandomState, randomLabels: ((n: number) => Float32Array) | null): GeneratorHandle {
  const latentSize = Number(Gs.input_shapes[0]?.[1]);
  const labelSize = Number(Gs.input_shapes[1]?.[1] ?? 0);
  const [, C, H, W] = Gs.output_shape as number[];
  const noiseRng = () => rng.random_sample() as number;
  return {
    Gs, latentSize, labelSize, shape: [C!, H!, W!],
    generate: (n) => tf.tidy(() => {
      const z = tf.tensor2d(Float32Array.from(rng.randn(n, latentSize)), [n, latentSize]);
      let labels: tf.Tensor2D | null = null;
      if (labelSize > 0) {
        if (!randomLabels) throw new UserError(`this network is conditional (${labelSize} labels); pass --dataset so labels can be drawn from it`);
        labels = tf.tensor2d(randomLabels(n), [n, labelSize]);
      }
      // NVIDIA: Gs.get_output_for(z, labels, is_validation=True, randomize_noise=True).
      if (isStyleGenerator(Gs)) return Gs.run(z, labels, { is_validation: true, randomize_noise: true, rng: noiseRng });
      return (Gs as unknown as { run(z: tf.Tensor2D, l: tf.Tensor2D | null): tf.Tensor4D }).run(z, labels);
    }),
  };
}

function requireStyle(Gs: Network, metric: string): StyleGenerator {
  if (!isStyleGenerator(Gs)) throw new UserError(`${metric} needs a style-based generator (G_style or G_main, with mapping and synthesis); this Gs is ${Gs.constructor.name}`);
  return Gs;
}

/** What PPL runs: a mapping z → dlatents [N, layers, D] and a synthesis dlatents → images with noise inputs. */
interface PPLParts {
  mapping: { kw: { latent_size: number }; run(z: tf.Tensor2D, labels: tf.Tensor2D | null): tf.Tensor };
  synthesis: { run(dlatents: tf.Tensor3D, opts: { randomize_noise: boolean }): tf.Tensor4D; noiseVars: readonly tf.Variable[] };
}

/**
 * A style generator's mapping and synthesis. A generator without styles (G_mlp, G_dcgan) has only z:
 * its z-space PPL (ppl_zfull, ppl_zend) is NVIDIA's with the identity as mapping (z as a one-layer
 * dlatent, so the slerp is in z) and G as synthesis, without noise; the W-space variants are refused.
 */
function pplComponents(Gs: Network, metric: string): PPLParts {
  if (!isBaselineGenerator(Gs)) return requireStyle(Gs, metric).components;
  if (PPL_METRICS[metric]!.space === 'w') {
    throw new UserError(`${metric} measures path lengths in W; ${Gs.constructor.name} maps z straight to images (no mapping network, no W): use ppl_zfull or ppl_zend`);
  }
  return {
    mapping: { kw: { latent_size: Gs.latent_size }, run: (z) => tf.expandDims(z, 1) },
    synthesis: { run: (dl) => Gs.run(tf.squeeze(dl, [1]) as tf.Tensor2D), noiseVars: [] },
  };
}

/** The proxy network's input: 1-channel 28×28, or create_mnist's 32×32 (28×28 zero-padded by 2). */
function proxyCrop(images: tf.Tensor4D): tf.Tensor4D {
  const [, c, h, w] = images.shape;
  if (c !== 1 || !((h === 28 && w === 28) || (h === 32 && w === 32))) {
    throw new UserError(`${PROXY_METRIC_NAME} takes 1-channel 28x28 or 32x32 (create_mnist) images, got ${c}x${h}x${w}`);
  }
  return h === 28 ? images : tf.slice(images, [0, 0, 2, 2], [-1, 1, 28, 28]);
}

// ---------------------------------------------------------------------------------------------
// Evaluating one metric on one network.

interface Shared {
  plan: RunMetricsPlan;
  log: Log;
  rng: RandomState;
  seed: number;
  inception?: { net: FeatureNetwork; verified: boolean; dispose(): void };
  lpips?: { net: LpipsVgg16; infos: WeightsInfo[]; verified: boolean };
}

/** The sample-count parameter(s) of a metric and NVIDIA's value, for --num-images. */
function sampleParams(metric: string, n: number | undefined): { params: Record<string, number>; nvidia: number | null } {
  if (metric === 'fid50k') return { params: n === undefined ? {} : { num_images: n }, nvidia: 50000 };
  if (isPPLMetric(metric)) return { params: n === undefined ? {} : { num_samples: n }, nvidia: PPL_METRICS[metric]!.num_samples };
  if (metric === 'ls') return { params: n === undefined ? {} : { num_samples: n, num_keep: Math.floor(n / 2) }, nvidia: 200000 };
  if (metric === PROXY_METRIC_NAME) return { params: { num_images: n ?? PROXY_DEFAULT_NUM_IMAGES }, nvidia: null };
  return { params: {}, nvidia: null };
}

function openDataset(d: DatasetArgs, labels: boolean, seed: number): TFRecordDataset {
  return new TFRecordDataset(path.join(d.dataDir, d.tfrecordDir), {
    resolution: d.resolution ?? undefined, repeat: false, shuffleMb: 0, prefetchMb: 64, maxLabelSize: labels ? 'full' : 0, seed,
  });
}

function progressFor(s: Shared, label: string, total: number, unit: string): Progress {
  return createProgress({ total, label, unit, silent: s.plan.cfg.quiet });
}

async function evaluate(metric: string, networkFile: string, Gs: Network, s: Shared): Promise<MetricReport> {
  const { cfg, dataset } = s.plan;
  const { params } = sampleParams(metric, cfg.numImages);
  const numImages = Object.values(params)[0];
  const base = { networkPkl: networkFile, ...params };
  const warn = (m: string) => s.log(`warning: ${m}`);

  if (metric === 'fid50k' || metric === PROXY_METRIC_NAME) {
    const d = dataset!;
    const ds = openDataset(d, Number(Gs.input_shapes[1]?.[1] ?? 0) > 0, s.seed);
    const G = generatorHandle(Gs, s.rng, ds.labelSize > 0 ? (n) => ds.getRandomLabelsNp(n) : null);
    if (ds.shape.join() !== G.shape.join()) {
      await ds.close();
      throw new UserError(`${metric}: the dataset ${d.tfrecordDir} holds ${ds.shape.join('x')} images, the network makes ${G.shape.join('x')}`);
    }
    try {
      if (metric === 'fid50k') {
        const n = numImages ?? 50000;
        const datasetArgs: Record<string, PyValue> = { tfrecord_dir: d.tfrecordDir, shuffle_mb: 0, ...(d.resolution ? { resolution: d.resolution } : {}) };
        // NVIDIA's key and name, but not '.pkl': the statistics are frechet_inception_distance.ts's FIDSTATS file.
        const cacheFile = realsCacheFile({ cacheDir: cfg.cacheDir ?? 'cache', metricName: metric, mirrorAugment: d.mirrorAugment, datasetArgs, kwargs: { num_images: n }, extension: 'fidstats' });
        const hit = fs.existsSync(cacheFile);
        const bar = progressFor(s, metric, hit ? n : 2 * n, 'img');
        let done = 0;
        const step = (k: number) => { done += k; bar.update(Math.min(done, hit ? n : 2 * n)); };
        const net = s.inception!.net;
        try {
          return await calcMetric(metric, {
            ...base, net, cacheFile, warn,
            reals: async function* () { for await (const b of iterateReals(ds, 8, d.mirrorAugment, s.rng, cfg.prefetch !== false)) { step(b.shape[0]); yield b; } },
            generate: (k: number) => { const img = G.generate(k); step(k); return img; },
          });
        } finally {
          bar.stop();
        }
      }
      // fid_proxy_fmnist: the registered metric takes the reals and fakes as batches of [N,1,28,28].
      const n = numImages!;
      const bar = progressFor(s, metric, 2 * n, 'img');
      const reals: tf.Tensor4D[] = [];
      let have = 0;
      try {
        for await (const b of iterateReals(ds, PROXY_MINIBATCH, d.mirrorAugment, s.rng, cfg.prefetch !== false)) {
          const take = Math.min(b.shape[0], n - have);
          reals.push(tf.tidy(() => proxyCrop(tf.slice(b, [0, 0, 0, 0], [take, -1, -1, -1]))));
          b.dispose();
          have += take;
          bar.update(have);
          if (have >= n) break;
        }
        if (have < n) throw new UserError(`${metric} needs ${n} real images, the dataset ${d.tfrecordDir} has ${have} (use --num-images)`);
        let made = 0;
        function* fakes(): Generator<tf.Tensor4D> {
          while (made < n) {
            const k = Math.min(PROXY_MINIBATCH, n - made);
            const batch = tf.tidy(() => proxyCrop(convertImagesToUint8Tensor(G.generate(k))));
            made += k;
            bar.update(n + made);
            try { yield batch; } finally { batch.dispose(); }
          }
        }
        const weightsDir = cfg.proxyWeights ?? DEFAULT_PROXY_WEIGHTS;
        // Generators, not arrays: the recorded params keep the plain values only.
        const report = await calcMetric(metric, { ...base, weightsDir, reals: (function* () { yield* reals; })(), fakes: fakes() });
        report.pipeline.weights = report.pipeline.weights.map((w) => ({ ...w, sha256: w.file && fs.existsSync(w.file) ? sha256File(w.file) : w.sha256 }));
        report.pipeline.numImages = n;
        report.pipeline.resize = G.shape[1] === 32 ? 'center crop 32x32 → 28x28 (create_mnist padding removed), no resampling' : 'none (28x28)';
        report.pipeline.fakes = 'z ~ N(0, I), no truncation, random noise, convert_images_to_uint8 (round half up)';
        return report;
      } finally {
        bar.stop();
        tf.dispose(reals);
      }
    } finally {
      await ds.close();
    }
  }

  if (isPPLMetric(metric)) {
    const { mapping, synthesis } = pplComponents(Gs, metric);
    const total = numImages ?? PPL_METRICS[metric]!.num_samples;
    // Conditional networks: StyleGAN2's PPL draws one dataset label per pair, shared by both ends.
    const labelSize = Number(Gs.input_shapes[1]?.[1] ?? 0);
    if (labelSize > 0 && !dataset) throw new UserError(`${metric}: this network is conditional (${labelSize} labels); pass --dataset so labels can be drawn from it`);
    const ds = labelSize > 0 ? openDataset(dataset!, true, s.seed) : null;
    const pairLabels = (rows: number) => {
      const l = ds!.getRandomLabelsNp(rows / 2);
      const out = new Float32Array(rows * labelSize);
      for (let i = 0; i < rows; i++) out.set(l.subarray(Math.floor(i / 2) * labelSize, (Math.floor(i / 2) + 1) * labelSize), i * labelSize);
      return tf.tensor2d(out, [rows, labelSize]);
    };
    const bar = progressFor(s, metric, total, 'pairs');
    let done = 0;
    const lpips = s.lpips!;
    try {
      return await calcMetric(metric, {
        ...base,
        distanceWeights: lpips.infos, // VGG16 and the LPIPS lin layers (or one file holding both)
        generator: {
          latentSize: mapping.kw.latent_size,
          mapping: (z: tf.Tensor2D) => mapping.run(z, ds ? pairLabels(z.shape[0]) : null) as tf.Tensor3D,
          synthesis: (dl: tf.Tensor3D) => synthesis.run(dl, { randomize_noise: false }),
          // NVIDIA re-initialises the noise variables once per minibatch (fresh N(0, 1)).
          reinitNoise: () => { for (const v of synthesis.noiseVars) assignVar(v, tf.tensor(Float32Array.from(s.rng.randn(v.size)), v.shape)); },
        },
        distance: (a: tf.Tensor4D, b: tf.Tensor4D) => {
          // VGG16's four 2×2 poolings leave nothing of a smaller image (LPIPS would be NaN).
          if (a.shape[2] < 16 || a.shape[3] < 16) {
            throw new UserError(`${metric}: LPIPS (VGG16) needs images of at least 16x16; this network's reach it as ${a.shape[2]}x${a.shape[3]}${PPL_METRICS[metric]!.crop ? ' after the face crop' : ''}`);
          }
          // VGG16 takes RGB: gray images (Fashion-MNIST networks) are repeated over three channels.
          const rgb = (x: tf.Tensor4D) => (x.shape[1] === 1 ? tf.tile(x, [1, 3, 1, 1]) : x);
          const t = tf.tidy(() => lpips.net.distance(rgb(a), rgb(b)));
          const out = t.dataSync() as Float32Array;
          t.dispose();
          done += a.shape[0];
          bar.update(Math.min(done, total));
          return out;
        },
        randn: (k: number) => s.rng.randn(k) as Float64Array,
        rand: (k: number) => s.rng.rand(k) as Float64Array,
      });
    } finally {
      bar.stop();
      await ds?.close();
    }
  }

  if (metric === 'ls') {
    const G = requireStyle(Gs, metric);
    const { mapping, synthesis } = G.components;
    // NVIDIA box-downsamples images larger than 256² by the integer factor H//256.
    const res = synthesis.kw.resolution > 256 ? synthesis.kw.resolution / Math.floor(synthesis.kw.resolution / 256) : synthesis.kw.resolution;
    const C = synthesis.kw.num_channels;
    const total = numImages ?? 200000;
    // Conditional networks: StyleGAN2's LS feeds the mapping one dataset label per sample.
    const labelSize = Number(Gs.input_shapes[1]?.[1] ?? 0);
    if (labelSize > 0 && !dataset) throw new UserError(`${metric}: this network is conditional (${labelSize} labels); pass --dataset so labels can be drawn from it`);
    const ds = labelSize > 0 ? openDataset(dataset!, true, s.seed) : null;
    const bar = progressFor(s, metric, total, 'img');
    let done = 0;
    const loaded: { dispose(): void }[] = [];
    const infos: WeightsInfo[] = [];
    const noiseRng = () => s.rng.random_sample() as number;
    try {
      const report = await calcMetric(metric, {
        ...base,
        classifierWeights: infos,
        generator: {
          latentSize: mapping.kw.latent_size,
          mapping: (z: tf.Tensor2D) => {
            done += z.shape[0];
            bar.update(Math.min(done, total));
            if (!ds) return mapping.run(z, null) as tf.Tensor3D;
            const labels = tf.tensor2d(ds.getRandomLabelsNp(z.shape[0]), [z.shape[0], labelSize]);
            try { return mapping.run(z, labels) as tf.Tensor3D; } finally { labels.dispose(); }
          },
          synthesis: (dl: tf.Tensor3D) => synthesis.run(dl, { randomize_noise: true, rng: noiseRng }),
        },
        classifier: (idx: number) => {
          const file = path.join(cfg.classifiers!, classifierFile(idx).fileName);
          const c = (cfg.loadClassifier ?? loadAttributeClassifier)(file);
          loaded.push(c);
          infos.push({ name: classifierFile(idx).fileName, file, sha256: sha256File(file) });
          const [, cc, ch, cw] = c.net.input_shape;
          if (cc !== C || ch !== res || cw !== res) {
            throw new UserError(`ls: ${classifierFile(idx).fileName} takes ${cc}x${ch}x${cw} images; this network's images reach it as ${C}x${res}x${res}`);
          }
          return c.classify;
        },
        randn: (k: number) => s.rng.randn(k) as Float64Array,
      });
      return report;
    } finally {
      bar.stop();
      for (const c of loaded) c.dispose();
      await ds?.close();
    }
  }

  return calcMetric(metric, base);
}

// ---------------------------------------------------------------------------------------------
// The run.

export interface RunMetricsResult {
  /** The numbered run dir of this evaluation (null when writing into a training run dir). */
  metricRunDir: string | null;
  reports: MetricReport[];
  lines: string[];
}

/** Loads the weights every requested metric needs (downloads happen here, before any network). */
async function prepareShared(plan: RunMetricsPlan, log: Log): Promise<Shared> {
  const { cfg } = plan;
  const seed = cfg.seed ?? Math.floor(Math.random() * 2 ** 31);
  const s: Shared = { plan, log, rng: new RandomState(seed), seed };
  if (cfg.metrics.includes('fid50k')) {
    const w = await loadInceptionWeights(cfg, log);
    const net = new InceptionV3Features(w.map);
    w.map.clear();
    s.inception = { net: inceptionFeatureNetwork(net, { file: w.info.file, sha256: w.info.sha256 }), verified: w.verified, dispose: () => net.dispose() };
  }
  if (cfg.metrics.some(isPPLMetric)) {
    const w = await loadLpipsWeights(cfg, log);
    s.lpips = { net: new LpipsVgg16(w.map), infos: w.infos, verified: w.verified };
  }
  return s;
}

/** Notes for a result whose settings differ from NVIDIA's published pipeline. */
function resultNotes(metric: string, s: Shared, numImages: number | undefined): string[] {
  const notes: string[] = [];
  const { nvidia } = sampleParams(metric, undefined);
  if (numImages !== undefined && nvidia !== null) notes.push(`${numImages} samples (--num-images), not ${nvidia}`);
  if (metric === 'fid50k' && s.inception && !s.inception.verified) notes.push('unpublished Inception weights');
  if (isPPLMetric(metric) && s.lpips && !s.lpips.verified) notes.push('user LPIPS weights');
  return notes;
}

/** run_pickle / run_snapshot / run_all_snapshots over every metric in the plan. */
export async function runMetrics(plan: RunMetricsPlan): Promise<RunMetricsResult> {
  const { cfg } = plan;
  let metricRunDir: string | null = null;
  let runLog: RunLog | null = null;
  const out: Log = (line) => process.stdout.write(line + '\n');
  const err: Log = (line) => process.stderr.write(line + '\n');
  if (plan.trainingRunDir === null) {
    metricRunDir = createRunDir(cfg.resultDir, `run_metrics-${cfg.metrics.join('-')}`);
    runLog = new RunLog(metricRunDir);
    writeRunInfo(metricRunDir, { run_func_name: `run_metrics.${plan.runFunc}`, network_pkl: cfg.network ?? '' });
  }
  const reports: MetricReport[] = [];
  const lines: string[] = [];
  try {
    out(`dnnlib: Running run_metrics.${plan.runFunc}() on ${plan.task}${metricRunDir ? ` (run dir ${metricRunDir})` : ''}...`);
    const backend = currentBackend()?.line;
    if (plan.dataset) out(`Dataset: ${path.join(plan.dataset.dataDir, plan.dataset.tfrecordDir)}, mirror_augment=${plan.dataset.mirrorAugment ? 'True' : 'False'} (from ${plan.dataset.source})`);
    const s = await prepareShared(plan, err);
    out(`Seed: ${s.seed}${cfg.seed === undefined ? ' (random; pass --seed to repeat)' : ''}`);
    for (const m of cfg.metrics) {
      const { nvidia } = sampleParams(m, undefined);
      if (cfg.numImages !== undefined && nvidia !== null) out(`${m}: --num-images ${cfg.numImages} overrides NVIDIA's ${nvidia} samples (a quick check: not comparable to published values)`);
    }
    try {
      for (const file of plan.networks) {
        const nets = await loadNetworks(file, { networks: ['Gs'], cacheDir: cfg.cacheDir ?? 'cache', quiet: cfg.quiet });
        const networkInfo = { file: nets.file, sha256: sha256File(nets.file), kind: nets.kind, kimg: nets.kimg ?? null };
        try {
          for (const m of cfg.metrics) {
            out(`Evaluating ${m} metric on ${path.basename(file)}...`);
          // Each (network, metric) draws from RandomState(seed) afresh: a snapshot's number does not
          // depend on what else the command evaluated.
          s.rng = new RandomState(s.seed);
            const report = await evaluate(m, file, nets.Gs, s);
            const notes = resultNotes(m, s, cfg.numImages);
            // Said once, after the metric's last value (ls has two).
          const last = report.results.at(-1);
          if (notes.length && last) last.note = [last.note, ...notes].filter(Boolean).join('; ');
            report.pipeline = {
              ...report.pipeline,
              network: networkInfo,
              dataset: plan.dataset ? { data_dir: plan.dataset.dataDir, tfrecord_dir: plan.dataset.tfrecordDir, resolution: plan.dataset.resolution, mirror_augment: plan.dataset.mirrorAugment, source: plan.dataset.source } : null,
              seed: s.seed,
              backend: backend ?? null,
              numImagesOverride: cfg.numImages ?? null,
              notes: [...(report.pipeline.notes ?? []), ...notes],
            };
            // NVIDIA prints get_result_str().strip(): no trailing padding after the last value.
          const line = resultLine(report).trimEnd();
            out(line);
            lines.push(line);
            reports.push(report);
            const dir = plan.trainingRunDir ?? metricRunDir!;
            if (plan.trainingRunDir) fs.appendFileSync(path.join(dir, `metric-${m}.txt`), line + '\n');
            appendJsonLine(path.join(dir, `metric-${m}.jsonl`), jsonLine(report));
          }
        } finally {
          nets.Gs.dispose();
        }
      }
    } finally {
      s.inception?.dispose();
      s.lpips?.net.dispose();
    }
    out(`dnnlib: Finished run_metrics.${plan.runFunc}().`);
  } finally {
    if (metricRunDir) markFinished(metricRunDir);
    runLog?.close();
  }
  return { metricRunDir, reports, lines };
}
