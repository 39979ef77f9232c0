// NVIDIA's training/training_loop.py (spec §3.3–§3.9; StyleGAN2's, stylegan2-and-pickles.md §A.9) for one
// device: the schedule (progressive growing, or StyleGAN2's full resolution throughout), the steps of each
// minibatch from the config family's Trainer (training/train_step.ts), Adam resets at lod boundaries, the
// Gs moving average, ticks with NVIDIA's report line, image and network snapshots in a numbered run dir, and the
// safety NVIDIA leaves to the cluster: atomic snapshots, a snapshot on SIGINT/SIGTERM, a stop with a
// message on a non-finite loss, abort.txt, and --resume with the exact optimizer and random state.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { writeFileAtomic } from '../dnnlib/atomic.ts';
import { configToJson } from '../dnnlib/config.ts';
import { createProgress } from '../dnnlib/progress.ts';
import { RandomState } from '../dnnlib/random.ts';
import { RunLog, createRunDir, markFinished, writeRunInfo } from '../dnnlib/submission.ts';
import { formatTime, peakRssBytes } from '../dnnlib/util.ts';
import { currentBackend } from '../dnnlib/backend.ts';
import { TFRecordDataset } from './dataset.ts';
import { buildNetworks, NETWORK_CONFIGS } from './network_configs.ts';
import { loadNetworks } from './network_io.ts';
import type { Network } from './network.ts';
import { training_schedule, type TrainingSchedule } from './schedule.ts';
import { formatTickLine, saveImageGrid, snapshotGridSize, tickSummaries } from './misc.ts';
import { createTrainer, fakesName, generateGrid, latentSize, processReals, setLod, type MinibatchSource, type StepOutput, type Trainer } from './train_step.ts';
import { locateResume, restoreOptimizers, saveTrainingSnapshot, trainingStateOf, type TrainingState } from './train_state.ts';
import { loadSnapshot, type Snapshot } from './snapshot.ts';
import { TickStats, appendStatsLine, lossLine, writeLossPlot } from './train_report.ts';
import { fp16Description, parseGridSize, scheduleArgs, type TrainConfig } from './train_config.ts';
import { prepareRunMetrics, runMetrics, type RunMetricsConfig } from '../metrics/run_metrics_lib.ts';
import { obtainWeights, WEIGHTS_FILES } from '../metrics/weights.ts';
import { isPPLMetric } from '../metrics/perceptual_path_length.ts';

export interface TickInfo {
  tick: number;
  kimg: number;
  lod: number;
  minibatch: number;
  means: Record<string, number>;
  numTensors: number;
  /** Adam resets so far in this process (both optimizers reset together). */
  optimizerResets: number;
}

export interface StepInfo {
  step: StepOutput['step'];
  /** running_mb_counter of the minibatch the step belongs to (NVIDIA's, from 0). */
  running_mb_counter: number;
}

export interface TrainingLoopHooks {
  /** Called after each tick's report (tests watch memory and progress here). */
  onTick?: (info: TickInfo) => void;
  /** Called after every optimizer step (tests check which minibatches regularise). */
  onStep?: (info: StepInfo) => void;
  /** Silence the progress bar (tests). */
  quietProgress?: boolean;
}

export type TrainingStatus = 'done' | 'aborted' | 'interrupted' | 'diverged';

export interface TrainingResult {
  status: TrainingStatus;
  runDir: string;
  /** Process exit code the CLI should use (0, 130 SIGINT, 143 SIGTERM, 1 diverged). */
  exitCode: number;
  cur_nimg: number;
  /** The last snapshot written (null if none). */
  lastSnapshot: string | null;
}

const snapshotName = (nimg: number) => `network-snapshot-${String(Math.floor(nimg / 1000)).padStart(6, '0')}.safetensors`;
const out = (s: string) => process.stdout.write(s + '\n');

/**
 * Signals are turned into a request to stop after the current step (so the snapshot sees consistent
 * weights). runMain's own handlers exit at once, so they are set aside while training and restored
 * after; a second signal exits immediately.
 */
function trapSignals(): { requested: () => NodeJS.Signals | null; release: () => void } {
  let got: NodeJS.Signals | null = null;
  const saved = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const handler = (sig: NodeJS.Signals) => {
    if (got) process.exit(sig === 'SIGINT' ? 130 : 143);
    got = sig;
    process.stderr.write(`\n${sig}: finishing the current step and writing a snapshot (send again to quit at once)\n`);
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.removeAllListeners(sig);
    process.on(sig, handler);
  }
  return {
    requested: () => got,
    release: () => {
      for (const sig of ['SIGINT', 'SIGTERM'] as const) {
        process.off(sig, handler);
        for (const l of saved[sig]) process.on(sig, l as (s: NodeJS.Signals) => void);
      }
    },
  };
}

/**
 * G and D as training_loop constructs them: the network config's kwargs, the dataset's shape, and the
 * config's G_args / D_args (fmap sizes, feature switches) on top.
 */
export function buildTrainingNetworks(c: TrainConfig, shape: { num_channels: number; resolution: number; label_size: number }): { G: Network; D: Network } {
  const built = buildNetworks({ config: c.network_config, ...shape, both_args: {}, G_args: c.G_args, seed: c.train.seed });
  if (Object.keys(c.D_args).length === 0) return { G: built.G, D: built.D };
  // buildNetworks has no D-only kwargs; rebuild D with them (same class, same seed stream).
  try {
    const ctor = built.D.constructor as new (kw: Record<string, unknown>, o: { name: string; seed: number }) => Network;
    const D = new ctor({ ...built.D.static_kwargs, ...c.D_args }, { name: 'D', seed: c.train.seed + 500_000 });
    return { G: built.G, D };
  } catch (err) {
    built.G.dispose();
    throw err;
  } finally {
    built.D.dispose();
  }
}

/**
 * run_metrics' checks on user input for c.metrics (dataset, weights flags, classifiers), without a
 * network or backend: train.ts calls it before the backend starts. Returns the metrics config the
 * snapshots use.
 */
export function checkTrainingMetrics(c: TrainConfig, quiet?: boolean): RunMetricsConfig {
  const ma = c.metrics_args ?? {};
  const cfg: RunMetricsConfig = {
    metrics: c.metrics, dataDir: c.dataset.data_dir, resultDir: c.result_dir, numImages: ma.num_images, cacheDir: ma.cache_dir,
    inception: ma.inception, vgg16: ma.vgg16, classifiers: ma.classifiers, seed: c.train.seed, quiet,
  };
  // No snapshot exists yet: a placeholder URL stands for the network (prepareRunMetrics only checks a
  // URL's form); the dataset is the run's own.
  if (c.metrics.length) prepareRunMetrics({ ...cfg, network: 'https://snapshot.invalid/network.safetensors', dataset: c.dataset.tfrecord_dir, mirrorAugment: c.train.mirror_augment });
  return cfg;
}

export async function trainingLoop(c: TrainConfig, hooks: TrainingLoopHooks = {}): Promise<TrainingResult> {
  // Validate what can fail cheaply before a run directory exists.
  const datasetDir = path.join(c.dataset.data_dir, c.dataset.tfrecord_dir);
  if (!fs.existsSync(datasetDir)) throw new UserError(`--dataset: ${datasetDir}: no such dataset directory (create it with dataset_tool.ts)`, 1);
  const resumeFile = c.resume ? locateResume(c.resume, c.result_dir, c.desc) : null;
  const resumeSnap: Snapshot | null = resumeFile ? loadSnapshot(resumeFile) : null;
  const resumeState = resumeSnap ? trainingStateOf(resumeSnap, resumeFile!) : null;
  // --metrics: run_metrics' own checks and the weight downloads now, so a missing Inception file fails
  // here and not at the first snapshot hours later.
  const metricsCfg = checkTrainingMetrics(c, hooks.quietProgress);
  const ma = c.metrics_args ?? {};
  if (c.metrics.includes('fid50k') && ma.inception === undefined) await obtainWeights(WEIGHTS_FILES.pt_inception, { cacheDir: ma.cache_dir });
  if (c.metrics.some(isPPLMetric) && ma.vgg16 === undefined) {
    for (const spec of [WEIGHTS_FILES.torchvision_vgg16, WEIGHTS_FILES.lpips_vgg_lin]) await obtainWeights(spec, { cacheDir: ma.cache_dir });
  }

  const runDir = createRunDir(c.result_dir, c.desc);
  const log = new RunLog(runDir);
  const signals = trapSignals();
  const nets: Network[] = [];
  let dataset: TFRecordDataset | null = null;
  let trainer: Trainer | null = null;
  try {
    out(`dnnlib: Running training.training_loop.training_loop() on ${path.basename(runDir)}...`);
    writeRunInfo(runDir, { resume: resumeFile ?? 'none' });
    const backend = currentBackend();
    out(fp16Description(c, backend?.backend ?? 'current'));

    out('Streaming data using training.dataset.TFRecordDataset...');
    dataset = new TFRecordDataset(datasetDir, {
      resolution: c.dataset.resolution ?? undefined, maxLabelSize: c.dataset.max_label_size,
      // A resumed run cannot restore the reader's shuffle buffer; a seed moved by the progress at least
      // keeps it from replaying the first run's image order.
      mirrorAugment: c.train.mirror_augment, seed: (c.train.seed + (resumeState?.cur_nimg ?? 0)) % 2 ** 32,
    });
    const [C, Rz] = dataset.shape;
    out(`Dataset shape = [${dataset.shape.join(', ')}]`);
    out(`Dynamic range = [${dataset.dynamicRange.join(', ')}]`);
    out(`Label size    = ${dataset.labelSize}`);
    const resolution_log2 = dataset.resolutionLog2;

    // Networks: fresh, or G, D and Gs of the snapshot (built from its own kwargs, as NVIDIA's pkl).
    let G: Network, D: Network, Gs: Network;
    if (resumeFile) {
      out(`Loading networks from "${resumeFile}"...`);
      const loaded = await loadNetworks(resumeFile, { quiet: true });
      if (!loaded.G || !loaded.D) throw new UserError(`--resume: ${resumeFile} has no G and D (only training snapshots can be resumed)`);
      [G, D, Gs] = [loaded.G, loaded.D, loaded.Gs];
      nets.push(G, D, Gs);
      const want = NETWORK_CONFIGS[c.network_config];
      if (G.constructor.name !== want.G_func || D.constructor.name !== want.D_func) {
        throw new UserError(`--resume: ${resumeFile} holds ${G.constructor.name} / ${D.constructor.name}, but --config ${c.network_config} trains ${want.G_func} / ${want.D_func}`, 2);
      }
    } else {
      out('Constructing networks...');
      ({ G, D } = buildTrainingNetworks(c, { num_channels: C, resolution: Rz, label_size: dataset.labelSize }));
      nets.push(G, D);
      Gs = G.clone('Gs');
      nets.push(Gs);
    }
    out(`\n${G.print_layers()}\n\n${D.print_layers()}\n`);

    const rng = new RandomState(c.train.seed + 1);
    trainer = createTrainer(c, { G, D, Gs, rng });
    const { G_opt, D_opt } = trainer;
    let counters = { cur_nimg: 0, cur_tick: trainer.initialTick, tick_start_nimg: 0, prev_lod: -1.0, total_time: 0, running_mb_counter: 0 };
    if (resumeFile && resumeSnap && resumeState) {
      restoreOptimizers(resumeSnap, resumeFile, { G, D }, { G_opt, D_opt });
      const st = resumeState;
      rng.set_state(st.rng);
      counters = {
        cur_nimg: st.cur_nimg, cur_tick: st.cur_tick, tick_start_nimg: st.tick_start_nimg, prev_lod: st.prev_lod, total_time: st.total_time,
        running_mb_counter: st.running_mb_counter,
      };
      out(`Resuming from kimg ${(st.cur_nimg / 1000).toFixed(3)} (tick ${st.cur_tick}, lod ${st.lod.toFixed(4)}, minibatch ${st.running_mb_counter})`);
    }
    const initialTick = trainer.initialTick;

    out('Setting up snapshot image grid...');
    const gs = parseGridSize(c.grid.size);
    const [gw, gh] = 'named' in gs ? snapshotGridSize(gs.named, Rz, Rz) : [gs.cols, gs.rows];
    // NVIDIA draws the grid latents from the seeded numpy stream and takes the first minibatch of reals.
    const gridRng = new RandomState(c.train.seed);
    const gridLatents = Float32Array.from(gridRng.randn(gw * gh, latentSize(G)));
    const gridReals = (await dataset.getMinibatchNp(gw * gh, 0))!;
    const sched0 = (nimg: number): TrainingSchedule => training_schedule(nimg, scheduleArgs(c.sched, resolution_log2));
    const gridMinibatch = sched0(c.train.total_kimg * 1000).minibatch;
    const snapRng = () => new RandomState(c.train.seed + 2); // same noise every grid: comparable fakes
    const saveFakes = async (name: string) => {
      const img = generateGrid(Gs, gridLatents, gridReals.labels, dataset!.labelSize, gridMinibatch, snapRng());
      await saveImageGrid(img, [-1, 1], [gw, gh], path.join(runDir, name));
    };

    out('Setting up run dir...');
    writeFileAtomic(path.join(runDir, 'config.json'), configToJson({
      ...c, resume: resumeFile, dataset_shape: dataset.shape, label_size: dataset.labelSize,
      backend: backend?.line ?? null, fp16_effect: fp16Description(c, backend?.backend ?? 'current'),
      grid_size: [gw, gh],
      networks: Object.fromEntries([G, D].map((n) => [n.name, { func_name: n.constructor.name, ...n.static_kwargs }])),
    }));
    await saveImageGrid({ data: gridReals.images, shape: [gw * gh, C, Rz, Rz] }, [0, 255], [gw, gh], path.join(runDir, 'reals.png'));
    // Gs follows G's lod through the moving average; at start it must show the schedule's lod.
    const lod0 = sched0(counters.cur_nimg).lod;
    trainer.setLod(lod0); setLod(Gs, lod0);
    await saveFakes(trainer.initialFakesName(counters.cur_nimg));

    out('Training...\n');
    const stats = new TickStats();
    const statsFile = path.join(runDir, 'stats.jsonl');
    const records: Record<string, number>[] = [];
    const total_nimg = c.train.total_kimg * 1000;
    const barOnTty = !hooks.quietProgress && process.stderr.isTTY === true && !process.env.CI;
    // Counted in images of this session (rate and ETA stay right after a resume); the label says where it started.
    const startNimg = counters.cur_nimg;
    const progress = createProgress({
      total: Math.max(total_nimg - startNimg, 0), unit: 'img', silent: hooks.quietProgress,
      label: startNimg > 0 ? `train (resumed at kimg ${(startNimg / 1000).toFixed(1)})` : 'train',
    });
    let { cur_nimg, cur_tick, tick_start_nimg, prev_lod, running_mb_counter } = counters;
    const startTime = Date.now() / 1000 - counters.total_time;
    let tick_start_time = Date.now() / 1000;
    let maintenance_start_time = tick_start_time;
    let lastSnapshot: string | null = null;
    let sched = sched0(cur_nimg);
    let status: TrainingStatus = 'done';
    let optimizerResets = 0;

    const state = (): TrainingState => ({
      cur_nimg, cur_tick, tick_start_nimg, prev_lod, running_mb_counter, total_time: Date.now() / 1000 - startTime,
      rng: rng.get_state(), lod: sched.lod,
      G_opt: { t: G_opt.t, loss_scaling_log2: G_opt.loss_scaling_log2 },
      D_opt: { t: D_opt.t, loss_scaling_log2: D_opt.loss_scaling_log2 },
    });
    const snapshot = (name: string) => {
      const file = path.join(runDir, name);
      saveTrainingSnapshot(file, { G, D, Gs, G_opt, D_opt, state: state(), config: c });
      lastSnapshot = file;
      return file;
    };
    // NVIDIA's metrics.run(pkl, run_dir=...) after each network snapshot: run_metrics' run_snapshot on
    // this file with the run's dataset settings (from config.json), appending to metric-<name>.txt.
    // NVIDIA's loop would crash on a failing metric; here it prints one line and training goes on, so
    // hours of training are not lost to an evaluation problem.
    const snapshotMetrics = async (file: string) => {
      if (!c.metrics.length) return;
      try {
        const plan = prepareRunMetrics({ ...metricsCfg, runDir, snapshot: 'latest' });
        await runMetrics({ ...plan, networks: [file], task: `run ${runDir}, snapshot ${path.basename(file)}` });
      } catch (err) {
        process.stderr.write(`warning: metrics on ${path.basename(file)} failed (training goes on): ${String((err as Error)?.message ?? err).split('\n')[0]}\n`);
      }
    };

    // The dataset as the trainers take it: reals through process_reals at this iteration's lod.
    const source = (sched: TrainingSchedule): MinibatchSource => ({
      next: async () => {
        const mb = (await dataset!.getMinibatch())!;
        const reals = processReals(mb.images, sched.lod, Rz);
        if (reals !== mb.images) mb.images.dispose();
        return { reals, labels: mb.labels };
      },
      randomLabels: (n) => dataset!.getRandomLabels(n),
    });

    while (cur_nimg < total_nimg) {
      if (signals.requested()) break;
      sched = sched0(cur_nimg);
      dataset.configure(sched.minibatch, sched.lod);
      if (c.train.reset_opt_for_new_lod) {
        if (Math.floor(sched.lod) !== Math.floor(prev_lod) || Math.ceil(sched.lod) !== Math.ceil(prev_lod)) {
          G_opt.reset();
          D_opt.reset();
          optimizerResets++;
        }
      }
      prev_lod = sched.lod;
      trainer.setLod(sched.lod);

      for (let r = 0; r < c.train.minibatch_repeats; r++) {
        const { steps, nimg } = await trainer.minibatch(source(sched), sched, running_mb_counter);
        for (const s of steps) {
          stats.addDevice(s.names, s.values);
          for (const [k, v] of Object.entries(s.opt)) stats.add(k, v);
          hooks.onStep?.({ step: s.step, running_mb_counter });
        }
        cur_nimg += nimg;
        running_mb_counter += 1;
      }
      // One host read per iteration: all loss terms of its steps.
      const bad = stats.flush();
      if (bad.length) {
        process.stderr.write(`error: training diverged: non-finite ${bad.join(', ')} during tick ${cur_tick + 1} (kimg ${(cur_nimg / 1000).toFixed(1)}); ` +
          `stopped without writing a snapshot; the last good one is ${lastSnapshot ?? resumeFile ?? '(none written yet)'}\n`);
        status = 'diverged';
        break;
      }
      progress.update(Math.min(cur_nimg, total_nimg) - startNimg);

      const done = cur_nimg >= total_nimg;
      if (cur_tick < 0 || cur_nimg >= tick_start_nimg + sched.tick_kimg * 1000 || done) {
        cur_tick += 1;
        const tick_kimg = (cur_nimg - tick_start_nimg) / 1000.0;
        tick_start_nimg = cur_nimg;
        const now = Date.now() / 1000;
        const report = {
          cur_tick, kimg: cur_nimg / 1000.0, lod: sched.lod, minibatch: sched.minibatch,
          total_time: now - startTime, tick_time: now - tick_start_time, tick_kimg,
          maintenance_time: tick_start_time - maintenance_start_time, peak_rss_bytes: peakRssBytes(),
        };
        maintenance_start_time = now;
        const means = { ...stats.take(), ...tickSummaries(report) };
        // On a terminal the bar sits on the current line: clear it so the report starts a clean line (the
        // bar redraws below it). The clearing bytes never reach log.txt (RunLog drops cursor control).
        if (barOnTty) process.stderr.write('\r\x1b[2K');
        out(formatTickLine(report));
        out('  ' + lossLine(means));
        records.push(means);
        appendStatsLine(statsFile, means);
        await writeLossPlot(path.join(runDir, 'loss.png'), records);

        if (cur_tick % c.train.image_snapshot_ticks === 0 || done) await saveFakes(fakesName(cur_nimg));
        // Also at the first tick (a resumable snapshot early on; StyleGAN2's tick 0 has one anyway).
        if (cur_tick % c.train.network_snapshot_ticks === 0 || done || cur_tick === initialTick + 1) await snapshotMetrics(snapshot(snapshotName(cur_nimg)));
        hooks.onTick?.({ tick: cur_tick, kimg: cur_nimg / 1000, lod: sched.lod, minibatch: sched.minibatch, means, numTensors: tf.memory().numTensors, optimizerResets });
        tick_start_time = Date.now() / 1000;
        if (fs.existsSync(path.join(runDir, 'abort.txt'))) {
          out('abort.txt found in the run dir: stopping');
          status = 'aborted';
          break;
        }
      }
    }
    progress.stop();
    stats.dispose();

    const sig = signals.requested();
    let exitCode = 0;
    if (status === 'diverged') {
      exitCode = 1;
    } else if (sig && cur_nimg < total_nimg) {
      status = 'interrupted';
      const file = snapshot(snapshotName(cur_nimg));
      out(`${sig} at kimg ${(cur_nimg / 1000).toFixed(1)}: wrote ${file}; continue with --resume latest`);
      exitCode = sig === 'SIGINT' ? 130 : 143;
    } else {
      // No metrics here: NVIDIA's loop scores the last tick's snapshot (same weights) and writes
      // network-final without evaluating it again.
      snapshot('network-final.safetensors');
      out(`dnnlib: Finished training.training_loop.training_loop() in ${formatTime(Date.now() / 1000 - startTime)}.`);
    }
    return { status, runDir, exitCode, cur_nimg, lastSnapshot };
  } finally {
    trainer?.dispose();
    for (const n of nets) n.dispose();
    await dataset?.close();
    signals.release();
    try { markFinished(runDir); } catch { /* the run dir may be gone */ }
    log.close();
  }
}
