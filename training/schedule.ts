// The progressive-growing schedule (NVIDIA's training_loop.training_schedule) as a pure function of
// the number of real images shown, and a pure simulation of the main loop's bookkeeping (iterations,
// optimizer resets, ticks, snapshots) so the loop's arithmetic can be checked without any network.
// Spec: stylegan.md §3.4 and §3.5.

/** Resolution-keyed overrides, as NVIDIA's dicts: `{4: 512, 8: 256, ...}`. */
export type ResolutionDict = Readonly<Record<number, number>>;

export interface TrainingScheduleArgs {
  /** log2 of the dataset resolution (10 for FFHQ 1024²). */
  training_set_resolution_log2: number;
  num_gpus?: number;
  /** Image resolution used at the beginning. */
  lod_initial_resolution?: number;
  /** Thousands of real images to show before doubling the resolution. */
  lod_training_kimg?: number;
  /** Thousands of real images to show while fading in new layers. */
  lod_transition_kimg?: number;
  /** Maximum minibatch size, divided evenly among GPUs. */
  minibatch_base?: number;
  minibatch_dict?: ResolutionDict;
  /** Resolution-specific maximum minibatch size per GPU. */
  max_minibatch_per_gpu?: ResolutionDict;
  G_lrate_base?: number;
  G_lrate_dict?: ResolutionDict;
  D_lrate_base?: number;
  D_lrate_dict?: ResolutionDict;
  /** Duration of the linear learning-rate ramp-up; 0 = none. */
  lrate_rampup_kimg?: number;
  /** Default interval between ticks (progress reports and snapshots). */
  tick_kimg_base?: number;
  tick_kimg_dict?: ResolutionDict;
}

export interface TrainingSchedule {
  kimg: number;
  lod: number;
  /** The resolution being trained; during a fade this is the incoming (higher) one. */
  resolution: number;
  minibatch: number;
  G_lrate: number;
  D_lrate: number;
  tick_kimg: number;
}

export const DEFAULT_TICK_KIMG_DICT: ResolutionDict = Object.freeze({
  4: 160, 8: 140, 16: 120, 32: 100, 64: 80, 128: 60, 256: 40, 512: 30, 1024: 20,
});

function lookup(dict: ResolutionDict, resolution: number, fallback: number): number {
  return Object.prototype.hasOwnProperty.call(dict, resolution) ? dict[resolution]! : fallback;
}

/** NVIDIA's training_schedule(cur_nimg, training_set, num_gpus, **sched_args). */
export function training_schedule(cur_nimg: number, args: TrainingScheduleArgs): TrainingSchedule {
  const {
    training_set_resolution_log2: resolution_log2,
    num_gpus = 1,
    lod_initial_resolution = 4,
    lod_training_kimg = 600,
    lod_transition_kimg = 600,
    minibatch_base = 16,
    minibatch_dict = {},
    max_minibatch_per_gpu = {},
    G_lrate_base = 0.001,
    G_lrate_dict = {},
    D_lrate_base = 0.001,
    D_lrate_dict = {},
    lrate_rampup_kimg = 0,
    tick_kimg_base = 160,
    tick_kimg_dict = DEFAULT_TICK_KIMG_DICT,
  } = args;

  const kimg = cur_nimg / 1000.0;

  // Training phase: each phase is a stable period followed by a fade-in of the next resolution.
  const phase_dur = lod_training_kimg + lod_transition_kimg;
  const phase_idx = phase_dur > 0 ? Math.floor(kimg / phase_dur) : 0;
  const phase_kimg = kimg - phase_idx * phase_dur;

  // Level of detail (0 = full resolution) and the resolution it implies. Same operation order as
  // NVIDIA's so the float results (and therefore floor/ceil at phase boundaries) agree bit for bit.
  let lod = resolution_log2;
  lod -= Math.floor(Math.log2(lod_initial_resolution));
  lod -= phase_idx;
  if (lod_transition_kimg > 0) lod -= Math.max(phase_kimg - lod_training_kimg, 0.0) / lod_transition_kimg;
  lod = Math.max(lod, 0.0);
  const resolution = 2 ** (resolution_log2 - Math.floor(lod));

  let minibatch = lookup(minibatch_dict, resolution, minibatch_base);
  minibatch -= minibatch % num_gpus;
  if (Object.prototype.hasOwnProperty.call(max_minibatch_per_gpu, resolution)) {
    minibatch = Math.min(minibatch, max_minibatch_per_gpu[resolution]! * num_gpus);
  }

  let G_lrate = lookup(G_lrate_dict, resolution, G_lrate_base);
  let D_lrate = lookup(D_lrate_dict, resolution, D_lrate_base);
  if (lrate_rampup_kimg > 0) {
    const rampup = Math.min(kimg / lrate_rampup_kimg, 1.0);
    G_lrate *= rampup;
    D_lrate *= rampup;
  }

  const tick_kimg = lookup(tick_kimg_dict, resolution, tick_kimg_base);
  return { kimg, lod, resolution, minibatch, G_lrate, D_lrate, tick_kimg };
}

export interface LoopArgs {
  /** Minibatches between schedule re-evaluations. */
  minibatch_repeats?: number;
  /** D steps per G step. */
  D_repeats?: number;
  image_snapshot_ticks?: number;
  network_snapshot_ticks?: number;
  /** Reset both Adam states when floor(lod) or ceil(lod) changes. */
  reset_opt_for_new_lod?: boolean;
  /** Assumed progress at the start (resume). */
  resume_kimg?: number;
}

export interface SimulatedTick {
  tick: number;
  /** cur_nimg / 1000 at the end of the tick. */
  kimg: number;
  lod: number;
  minibatch: number;
  /** Images shown during the tick, in thousands. */
  tick_kimg: number;
  done: boolean;
}

export interface SimulatedTraining {
  /** Loop iterations (schedule evaluations). */
  iterations: number;
  D_steps: number;
  G_steps: number;
  /** Number of optimizer resets (each resets G's and D's Adam together). */
  optimizer_resets: number;
  /** cur_nimg at each reset. */
  reset_nimg: number[];
  ticks: SimulatedTick[];
  /** The %06d numbers (cur_nimg // 1000) of fakes*.png written at ticks. */
  image_snapshot_kimg: number[];
  /** The %06d numbers of network-snapshot-*.pkl; network-final is written after these. */
  network_snapshot_kimg: number[];
  final_nimg: number;
}

/**
 * Replays training_loop's bookkeeping (§3.5) without training: which schedule each iteration uses,
 * when Adam is reset, how many D and G steps run, when ticks end and which snapshots are written.
 * Ignores abort.txt / should_stop.
 */
export function simulateTraining(total_kimg: number, sched_args: TrainingScheduleArgs, loop: LoopArgs = {}): SimulatedTraining {
  const {
    minibatch_repeats = 4,
    D_repeats = 1,
    image_snapshot_ticks = 1,
    network_snapshot_ticks = 10,
    reset_opt_for_new_lod = true,
    resume_kimg = 0.0,
  } = loop;

  const out: SimulatedTraining = {
    iterations: 0, D_steps: 0, G_steps: 0, optimizer_resets: 0, reset_nimg: [],
    ticks: [], image_snapshot_kimg: [], network_snapshot_kimg: [], final_nimg: 0,
  };
  let cur_nimg = Math.trunc(resume_kimg * 1000);
  let cur_tick = 0;
  let tick_start_nimg = cur_nimg;
  let prev_lod = -1.0; // below any real lod, so the first iteration always resets
  while (cur_nimg < total_kimg * 1000) {
    const sched = training_schedule(cur_nimg, sched_args);
    if (reset_opt_for_new_lod) {
      if (Math.floor(sched.lod) !== Math.floor(prev_lod) || Math.ceil(sched.lod) !== Math.ceil(prev_lod)) {
        out.optimizer_resets++;
        out.reset_nimg.push(cur_nimg);
      }
    }
    prev_lod = sched.lod;
    out.iterations++;

    for (let r = 0; r < minibatch_repeats; r++) {
      for (let d = 0; d < D_repeats; d++) {
        out.D_steps++;
        cur_nimg += sched.minibatch;
      }
      out.G_steps++;
    }

    const done = cur_nimg >= total_kimg * 1000;
    if (cur_nimg >= tick_start_nimg + sched.tick_kimg * 1000 || done) {
      cur_tick++;
      const tick_kimg = (cur_nimg - tick_start_nimg) / 1000.0;
      tick_start_nimg = cur_nimg;
      out.ticks.push({ tick: cur_tick, kimg: cur_nimg / 1000.0, lod: sched.lod, minibatch: sched.minibatch, tick_kimg, done });
      if (cur_tick % image_snapshot_ticks === 0 || done) out.image_snapshot_kimg.push(Math.floor(cur_nimg / 1000));
      if (cur_tick % network_snapshot_ticks === 0 || done || cur_tick === 1) out.network_snapshot_kimg.push(Math.floor(cur_nimg / 1000));
    }
  }
  out.final_nimg = cur_nimg;
  return out;
}
