// Everything a training run needs to continue exactly where it stopped, beside the networks in the
// snapshot file (training/network_io.ts): Adam moments of both optimizers under NVIDIA's variable
// names, the loop's counters (cur_nimg, tick, tick start, previous lod, running minibatch counter), the
// random stream, and elapsed time. Also finds what `--resume latest|<run dir>|<file>` means.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../dnnlib/errors.ts';
import type { RandomStateSnapshot } from '../dnnlib/random.ts';
import type { Network } from './network.ts';
import type { Optimizer } from './optimizer.ts';
import { saveNetworkSnapshot } from './network_io.ts';
import { type Snapshot, type TensorMap } from './snapshot.ts';
import { list_network_pkls } from './misc.ts';

export interface LoopCounters {
  cur_nimg: number;
  cur_tick: number;
  tick_start_nimg: number;
  /** lod of the previous iteration (−1 before the first): decides the next optimizer reset. */
  prev_lod: number;
  /** Seconds of training so far (NVIDIA's resume_time). */
  total_time: number;
  /**
   * Minibatches trained so far (StyleGAN2's running_mb_counter, which decides the lazy reg steps). NVIDIA
   * restarts it at 0 with every process; kept here so a resumed run regularises on the same minibatches.
   */
  running_mb_counter: number;
}

export interface TrainingState extends LoopCounters {
  /** The training random stream. */
  rng: RandomStateSnapshot;
  G_opt: { t: number; loss_scaling_log2: number };
  D_opt: { t: number; loss_scaling_log2: number };
  lod: number;
}

/** Optimizer variables in order under their NVIDIA names (the network's trainables). */
export function trainableNames(net: Network): string[] {
  return [...net.trainables.keys()];
}

function optimizerTensors(prefix: string, opt: Optimizer, names: string[], out: TensorMap): void {
  const st = opt.exportState();
  names.forEach((name, i) => {
    const shape = [...opt.vars[i]!.shape];
    out.set(`${prefix}/${name}/m`, { shape, data: st.m[i]! });
    out.set(`${prefix}/${name}/v`, { shape, data: st.v[i]! });
  });
}

export interface SaveTrainingArgs {
  G: Network;
  D: Network;
  Gs: Network;
  G_opt: Optimizer;
  D_opt: Optimizer;
  state: TrainingState;
  /** The resolved config, recorded so a snapshot says how it was trained. */
  config: unknown;
}

/** network-snapshot-NNNNNN.safetensors: networks, optimizer moments and loop state (atomic write). */
export function saveTrainingSnapshot(file: string, a: SaveTrainingArgs): void {
  const optimizer: TensorMap = new Map();
  optimizerTensors('G', a.G_opt, trainableNames(a.G), optimizer);
  optimizerTensors('D', a.D_opt, trainableNames(a.D), optimizer);
  saveNetworkSnapshot(file, {
    G: a.G, D: a.D, Gs: a.Gs,
    kimg: a.state.cur_nimg / 1000,
    kwargs: { train_config: a.config as Record<string, unknown> },
    state: a.state as unknown as Record<string, unknown>,
    optimizer,
  });
}

/** The loop state of a snapshot; a UserError when the file is not a training snapshot. */
export function trainingStateOf(snap: Snapshot, file: string): TrainingState {
  const st = snap.trainingState as unknown as Partial<TrainingState>;
  const need = ['cur_nimg', 'cur_tick', 'tick_start_nimg', 'prev_lod', 'total_time', 'rng', 'G_opt', 'D_opt'] as const;
  const missing = need.filter((k) => st[k] === undefined);
  if (missing.length) {
    throw new UserError(`${path.basename(file)}: not a training snapshot (no ${missing.join(', ')} in its training state); --resume needs a network-snapshot-*.safetensors written by train.ts`);
  }
  // Snapshots written before the counter existed (StyleGAN runs only; it does not use it) count from 0.
  return { ...st, running_mb_counter: st.running_mb_counter ?? 0 } as TrainingState;
}

/** Loads the optimizer moments of a training snapshot into the optimizers (variables matched by NVIDIA name). */
export function restoreOptimizers(snap: Snapshot, file: string, nets: { G: Network; D: Network }, opts: { G_opt: Optimizer; D_opt: Optimizer }): void {
  const name = path.basename(file);
  const st = trainingStateOf(snap, file);
  const restore = (prefix: 'G' | 'D', net: Network, opt: Optimizer, o: { t: number; loss_scaling_log2: number }) => {
    const names = trainableNames(net);
    const part = (slot: 'm' | 'v') => names.map((n) => {
      const t = snap.optimizer.get(`${prefix}/${n}/${slot}`);
      if (!t) throw new UserError(`${name}: optimizer state ${prefix}/${n}/${slot} is missing`);
      return t.data;
    });
    opt.importState({ t: o.t, m: part('m'), v: part('v'), loss_scaling_log2: o.loss_scaling_log2 });
  };
  restore('G', nets.G, opts.G_opt, st.G_opt);
  restore('D', nets.D, opts.D_opt, st.D_opt);
}

/** The run directories under `resultDir` whose name ends in `-<desc>`, newest (highest id) first. */
function runDirsFor(resultDir: string, desc: string): string[] {
  if (!fs.existsSync(resultDir)) return [];
  return fs.readdirSync(resultDir)
    .map((name) => ({ name, m: /^(\d+)-(.*)$/.exec(name) }))
    .filter((e) => e.m && e.m[2] === desc && fs.statSync(path.join(resultDir, e.name)).isDirectory())
    .sort((a, b) => Number(b.m![1]) - Number(a.m![1]))
    .map((e) => path.join(resultDir, e.name));
}

/**
 * The snapshot `--resume` names: a file as is; a run directory's newest snapshot (network-final last,
 * as misc.locate_network_pkl); 'latest' = the newest snapshot in the newest run dir of this desc
 * (same dataset and config) that has one.
 */
export function locateResume(arg: string, resultDir: string, desc: string): string {
  if (arg !== 'latest') {
    let stat: fs.Stats;
    try { stat = fs.statSync(arg); } catch { throw new UserError(`--resume: ${arg}: no such snapshot file or run directory`, 2); }
    if (stat.isFile()) return arg;
    const snaps = list_network_pkls(arg).filter((f) => f.endsWith('.safetensors'));
    if (snaps.length === 0) throw new UserError(`--resume: ${arg} holds no network-*.safetensors snapshot`, 2);
    return snaps.at(-1)!;
  }
  for (const dir of runDirsFor(resultDir, desc)) {
    const snaps = list_network_pkls(dir).filter((f) => f.endsWith('.safetensors'));
    if (snaps.length) return snaps.at(-1)!;
  }
  throw new UserError(`--resume latest: no run directory ${path.join(resultDir, `NNNNN-${desc}`)} holds a snapshot yet`, 2);
}
