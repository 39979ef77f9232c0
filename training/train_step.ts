// The training steps of NVIDIA's training loops, one Trainer per family (train_config.trainingFamily):
// * 'progressive' (StyleGAN / ProGAN, spec §3.5, §3.6): process_reals, D steps with the Gs moving
//   average, then the G step; regularisers inside the losses (training/loss.ts by name).
//   The classic baselines (gan-mlp, dcgan, wgan-gp) take the same steps at lod 0, in training mode.
// * 'stylegan2' (stylegan2-and-pickles.md §A.9): per minibatch G step, G path-length reg step when due,
//   D step + Gs update, D R1 reg step when due, with Adam rescaled for lazy regularisation.
// Each step runs inside one tf.tidy; every random draw (latents, noise, style mixing, WGAN-GP mixing
// factors, path-length noise) is seeded from one RandomState so a resumed run continues its stream.
//
// Nothing is read back here: each step returns a small kept tensor of its loss terms' means (NVIDIA's
// autosummaries), which the loop batches into one host read per iteration.
import * as tf from '@tensorflow/tfjs';
import type { RandomState } from '../dnnlib/random.ts';
import { G_LOSSES, D_LOSSES, D_logistic, type DiscriminatorFn, type GeneratorFn, type LossResult } from './loss.ts';
import { D_r1, D_logistic_r1, G_logistic_ns, G_pathreg, lazyRegAdam, lazyRegLoss, regDue, type StyleGeneratorFns } from './loss_stylegan2.ts';
import type { Network } from './network.ts';
import { G_paper } from './networks_progan.ts';
import { G_main, D_stylegan2, isStyleGenerator } from './networks_stylegan2.ts';
import { isBaselineDiscriminator, isBaselineGenerator } from './networks_baseline.ts';
import { Optimizer } from './optimizer.ts';
import { Gs_beta } from './misc.ts';
import type { TrainingSchedule } from './schedule.ts';
import type { LossConfig, TrainConfig } from './train_config.ts';

/** The latent size a generator expects (G_style / G_main: their mapping's latent_size; G_paper: nf(0) by default). */
export function latentSize(G: Network): number {
  if (isStyleGenerator(G)) return G.components.mapping.kw.latent_size;
  if (G instanceof G_paper || isBaselineGenerator(G)) return G.latent_size;
  throw new Error(`${G.name}: not a generator`);
}

/** A network's lod (the Gs copy follows G through the moving average); networks without one (D_stylegan2) have nothing to set. */
export function setLod(net: Network, lod: number): void {
  const n = net as unknown as { setLod?: (lod: number) => void };
  if (n.setLod) n.setLod(lod);
}

// ---------------------------------------------------------------------------------------------
// process_reals (§3.6). The dataset already mapped [0,255] → [-1,1] and mirrored on the host.

/** 2×2 box average then nearest 2× upsampling of NCHW images (NVIDIA's FadeLOD blur target). */
function boxDownUp(x: tf.Tensor4D): tf.Tensor4D {
  const [n, c, h, w] = x.shape;
  const y = tf.mean(tf.reshape(x, [n, c, h / 2, 2, w / 2, 2]), [3, 5], true);
  return tf.reshape(tf.tile(y, [1, 1, 1, 2, 1, 2]), [n, c, h, w]);
}

/** Nearest-neighbour upsampling of NCHW images by an integer factor (NVIDIA's UpscaleLOD). */
export function upscaleNCHW(x: tf.Tensor4D, factor: number): tf.Tensor4D {
  if (factor === 1) return x;
  const [n, c, h, w] = x.shape;
  const y = tf.tile(tf.reshape(x, [n, c, h, 1, w, 1]), [1, 1, 1, factor, 1, factor]);
  return tf.reshape(y, [n, c, h * factor, w * factor]);
}

/**
 * FadeLOD then UpscaleLOD: `x` comes from the dataset level floor(lod) (resolution R / 2^floor(lod)),
 * is blended toward its 2×2-blurred self by lod − floor(lod), and upsampled to `resolution`.
 */
export function processReals(x: tf.Tensor4D, lod: number, resolution: number): tf.Tensor4D {
  return tf.tidy(() => {
    const frac = lod - Math.floor(lod);
    let y = x;
    if (frac > 0) y = tf.add(x, tf.mul(tf.sub(boxDownUp(x), x), frac)); // tflib.lerp(x, blur, frac)
    return upscaleNCHW(y, resolution / x.shape[2]);
  });
}

// ---------------------------------------------------------------------------------------------
// Steps.

export interface TrainStepOptions {
  G: Network;
  D: Network;
  Gs: Network;
  G_opt: Optimizer;
  D_opt: Optimizer;
  G_loss: LossConfig;
  D_loss: LossConfig;
  /** The training random stream (latents, noise, mixing). */
  rng: RandomState;
  G_smoothing_kimg: number;
}

/** Which optimizer step produced an output: NVIDIA's G_train_op, G_reg_op, D_train_op, D_reg_op. */
export type StepKind = 'G' | 'G_reg' | 'D' | 'D_reg';

export interface StepOutput {
  step: StepKind;
  /** Names of `values`, in order (loss first, then NVIDIA's autosummary terms). */
  names: string[];
  /** Kept [k] tensor of per-minibatch means; the caller disposes it. */
  values: tf.Tensor1D;
  /** Host-side optimizer summaries (learning rate, overflow frequency, loss scale). */
  opt: Record<string, number>;
}

const seed = (rng: RandomState) => rng.randint(0, 2 ** 31 - 1);

/** Minimises mean(loss) for `opt`, keeping [mean loss, mean of each stat] for the report (every family's steps). */
export function minimize(opt: Optimizer, step: StepKind, lossName: string, run: () => LossResult, lr: number): StepOutput {
  let names: string[] = [];
  let kept: tf.Tensor1D | null = null;
  // variableGrads tidies the forward pass itself; the optimizer owns its moments, so its update must
  // not run inside a tidy of ours (that would dispose the new moments).
  const { value, grads } = opt.computeGradients(() => {
    const r = run();
    const loss = tf.mean(r.loss) as tf.Scalar;
    names = [lossName, ...Object.keys(r.stats)];
    kept = tf.keep(tf.stack([loss, ...Object.values(r.stats).map((t) => tf.mean(t))]) as tf.Tensor1D);
    return loss;
  });
  value.dispose();
  let optStats: Record<string, number>;
  try {
    optStats = opt.applyUpdates(grads, lr).stats;
  } finally {
    tf.dispose(grads);
  }
  return { step, names, values: kept!, opt: optStats };
}

export class TrainStep {
  private readonly o: TrainStepOptions;
  private readonly latent: number;
  private readonly rngFn: () => number;

  constructor(o: TrainStepOptions) {
    this.o = o;
    this.latent = latentSize(o.G);
    if (!Object.hasOwn(G_LOSSES, o.G_loss.func_name)) throw new Error(`unknown G loss ${o.G_loss.func_name}`);
    if (!Object.hasOwn(D_LOSSES, o.D_loss.func_name)) throw new Error(`unknown D loss ${o.D_loss.func_name}`);
    this.rngFn = () => o.rng.random_sample();
  }

  /**
   * G as the losses call it: is_training (W average update, style mixing) at the current lod. The
   * baselines (no lod) run in training mode as a PyTorch module in .train(): batch norm on batch
   * statistics, updating the running ones that Gs copies and generates with.
   */
  private generator(lod: number): GeneratorFn {
    const G = this.o.G;
    if (isStyleGenerator(G)) return (z, l) => G.run(z as tf.Tensor2D, l as tf.Tensor2D, { is_training: true, lod, rng: this.rngFn });
    if (G instanceof G_paper) return (z, l) => G.run(z as tf.Tensor2D, l as tf.Tensor2D, { lod });
    if (isBaselineGenerator(G)) return (z, l) => G.run(z as tf.Tensor2D, l as tf.Tensor2D, { is_training: true });
    throw new Error(`${G.name}: not a generator`);
  }

  /** D at the current lod; a baseline D in training mode, called once on the reals and once on the fakes (each batch its own statistics, as the DCGAN tutorial). */
  private discriminator(lod: number): DiscriminatorFn {
    const D = this.o.D;
    if (isBaselineDiscriminator(D)) return (x, l) => D.run(x as tf.Tensor4D, l as tf.Tensor2D, { is_training: true });
    const Dl = D as unknown as { run(x: tf.Tensor4D, l: tf.Tensor2D, o: { lod: number }): tf.Tensor };
    return (x, l) => Dl.run(x as tf.Tensor4D, l as tf.Tensor2D, { lod });
  }

  private latents(n: number): tf.Tensor2D {
    return tf.randomNormal([n, this.latent], 0, 1, 'float32', seed(this.o.rng));
  }

  /**
   * One D step on processed reals, then Gs ← lerp(G, Gs, β) with β = 0.5^(minibatch / (G_smoothing_kimg·1000))
   * (NVIDIA runs the Gs update together with the D op).
   */
  dStep(reals: tf.Tensor4D, labels: tf.Tensor2D, lod: number, lr: number): StepOutput {
    const o = this.o;
    const n = reals.shape[0];
    const args = o.D_loss.args;
    const out = minimize(o.D_opt, 'D', 'Loss/D', () => {
      const latents = this.latents(n);
      const mixing_factors = /gp$/.test(o.D_loss.func_name) ? tf.randomUniform([n, 1, 1, 1], 0, 1, 'float32', seed(o.rng)) : undefined;
      return D_LOSSES[o.D_loss.func_name]!(this.generator(lod), this.discriminator(lod), { latents, reals, labels, opt: o.D_opt, mixing_factors }, args);
    }, lr);
    o.Gs.setupAsMovingAverageOf(o.G, Gs_beta(n, o.G_smoothing_kimg));
    return out;
  }

  /** One G step on `labels` (random dataset labels, [N, label_size]). */
  gStep(labels: tf.Tensor2D, lod: number, lr: number): StepOutput {
    const o = this.o;
    const n = labels.shape[0];
    return minimize(o.G_opt, 'G', 'Loss/G', () => {
      const latents = this.latents(n);
      return G_LOSSES[o.G_loss.func_name]!(this.generator(lod), this.discriminator(lod), { latents, labels, opt: o.G_opt }, o.G_loss.args);
    }, lr);
  }
}

// ---------------------------------------------------------------------------------------------
// Trainers: what the loop runs for each of its minibatch_repeats, by family.

/** Where a trainer takes its data from (the loop owns the dataset and process_reals). */
export interface MinibatchSource {
  /** The next minibatch of reals as D sees them (processed for the current lod) and their labels; the trainer disposes both. */
  next(): Promise<{ reals: tf.Tensor4D; labels: tf.Tensor2D }>;
  /** n labels drawn from the dataset (training_set.get_random_labels_tf); the trainer disposes them. */
  randomLabels(n: number): tf.Tensor2D;
}

export interface Trainer {
  readonly G_opt: Optimizer;
  readonly D_opt: Optimizer;
  /**
   * cur_tick before training. StyleGAN's loop starts at 0 (first report after a full tick); StyleGAN2's
   * at −1, so its first iteration ends with tick 0 (a report, fakes and a network snapshot).
   */
  readonly initialTick: number;
  /** The fakes grid written before training (StyleGAN: fakes<kimg>.png; StyleGAN2: fakes_init.png). */
  initialFakesName(nimg: number): string;
  /** Sets the networks' lod for this iteration. */
  setLod(lod: number): void;
  /**
   * One minibatch of training (one of minibatch_repeats); `running_mb_counter` counts the minibatches
   * before it (from 0, kept across resumes). Returns the steps run, in order, and the reals consumed.
   */
  minibatch(src: MinibatchSource, sched: TrainingSchedule, running_mb_counter: number): Promise<{ steps: StepOutput[]; nimg: number }>;
  dispose(): void;
}

export interface TrainerNetworks {
  G: Network;
  D: Network;
  Gs: Network;
  /** The training random stream. */
  rng: RandomState;
}

/** The trainer of c.family: the one place the loop's steps differ between families. */
export function createTrainer(c: TrainConfig, nets: TrainerNetworks): Trainer {
  switch (c.family) {
    case 'progressive': return new ProgressiveTrainer(c, nets);
    case 'stylegan2': return new StyleGAN2Trainer(c, nets);
    case 'baseline': {
      // The classic GANs train in NVIDIA's loop like StyleGAN at a fixed lod 0: D_repeats (n_critic) D steps
      // each with the Gs update (G_smoothing_kimg 0: a plain copy, running statistics included), then a G
      // step, fresh latents for every step where the PyTorch scripts reuse one batch of fakes.
      if (!isBaselineGenerator(nets.G) || !isBaselineDiscriminator(nets.D)) {
        throw new Error(`baseline training needs G_mlp/G_dcgan and D_mlp/D_dcgan, got ${nets.G.constructor.name} / ${nets.D.constructor.name}`);
      }
      return new ProgressiveTrainer(c, nets);
    }
  }
}

/** NVIDIA's fakes%06d.png of cur_nimg // 1000. */
export const fakesName = (nimg: number) => `fakes${String(Math.floor(nimg / 1000)).padStart(6, '0')}.png`;

/** StyleGAN / ProGAN (and the baselines): D_repeats D steps (each with the Gs update), then one G step. */
class ProgressiveTrainer implements Trainer {
  readonly G_opt: Optimizer;
  readonly D_opt: Optimizer;
  readonly initialTick = 0;
  private readonly step: TrainStep;

  constructor(private readonly c: TrainConfig, private readonly nets: TrainerNetworks) {
    this.G_opt = new Optimizer([...nets.G.trainables.values()], { name: 'TrainG', ...c.G_opt });
    this.D_opt = new Optimizer([...nets.D.trainables.values()], { name: 'TrainD', ...c.D_opt });
    this.step = new TrainStep({
      G: nets.G, D: nets.D, Gs: nets.Gs, G_opt: this.G_opt, D_opt: this.D_opt,
      G_loss: c.G_loss, D_loss: c.D_loss, rng: nets.rng, G_smoothing_kimg: c.train.G_smoothing_kimg,
    });
  }

  initialFakesName(nimg: number): string {
    return fakesName(nimg);
  }

  setLod(lod: number): void {
    setLod(this.nets.G, lod);
    setLod(this.nets.D, lod);
  }

  async minibatch(src: MinibatchSource, sched: TrainingSchedule): Promise<{ steps: StepOutput[]; nimg: number }> {
    const steps: StepOutput[] = [];
    let nimg = 0;
    for (let d = 0; d < this.c.train.D_repeats; d++) {
      const { reals, labels } = await src.next();
      try {
        steps.push(this.step.dStep(reals, labels, sched.lod, sched.D_lrate));
      } finally {
        tf.dispose([reals, labels]);
      }
      nimg += sched.minibatch;
    }
    const labels = src.randomLabels(sched.minibatch);
    try {
      steps.push(this.step.gStep(labels, sched.lod, sched.G_lrate));
    } finally {
      labels.dispose();
    }
    return { steps, nimg };
  }

  dispose(): void {
    this.G_opt.dispose();
    this.D_opt.dispose();
  }
}

/**
 * StyleGAN2 (NVlabs/stylegan2 training_loop.py, one device, fast path): per minibatch G_train, G_reg when
 * running_mb_counter % G_reg_interval == 0, D_train + Gs_update, D_reg when running_mb_counter %
 * D_reg_interval == 0. The reg steps use the main steps' Optimizer objects, i.e. the same Adam moments
 * and step count, as NVIDIA's RegG/RegD (share=TrainG/TrainD). With lazy regularisation both optimizers
 * run with lr·c, β1^c, β2^c, c = interval/(interval+1) (also when pl_weight is 0, as NVIDIA).
 */
class StyleGAN2Trainer implements Trainer {
  readonly G_opt: Optimizer;
  readonly D_opt: Optimizer;
  readonly initialTick = -1;
  private readonly G: G_main;
  private readonly D: D_stylegan2;
  private readonly latent: number;
  private readonly rngFn: () => number;
  private readonly G_interval: number | null;
  private readonly D_interval: number | null;
  private readonly G_lrMul: number;
  private readonly D_lrMul: number;
  private readonly pl: { pl_minibatch_shrink: number; pl_decay: number; pl_weight: number };
  private readonly gamma: number;
  /**
   * The path-length target a (NVIDIA's pl_mean variable). Kept on the device between reg steps. Like
   * NVIDIA's, it lives outside every network and is not in a snapshot: a resumed run restarts it at 0.
   */
  private pl_mean: tf.Scalar = tf.keep(tf.scalar(0));

  constructor(private readonly c: TrainConfig, private readonly nets: TrainerNetworks) {
    if (!(nets.G instanceof G_main) || !(nets.D instanceof D_stylegan2)) throw new Error(`StyleGAN2 training needs G_main and D_stylegan2, got ${nets.G.constructor.name} / ${nets.D.constructor.name}`);
    if (c.G_loss.func_name !== 'G_logistic_ns_pathreg' || c.D_loss.func_name !== 'D_logistic_r1') throw new Error(`StyleGAN2 training uses G_logistic_ns_pathreg + D_logistic_r1, got ${c.G_loss.func_name} + ${c.D_loss.func_name}`);
    this.G = nets.G;
    this.D = nets.D;
    this.latent = latentSize(nets.G);
    this.rngFn = () => nets.rng.random_sample();
    const reg = c.reg ?? { lazy_regularization: true, G_reg_interval: 4, D_reg_interval: 16 };
    this.G_interval = reg.lazy_regularization ? reg.G_reg_interval : null;
    this.D_interval = reg.lazy_regularization ? reg.D_reg_interval : null;
    const make = (net: Network, name: string, opt: TrainConfig['G_opt'], interval: number | null) => {
      const h = lazyRegAdam({ learning_rate: 1, beta1: opt.beta1, beta2: opt.beta2, epsilon: opt.epsilon }, interval);
      return { opt: new Optimizer([...net.trainables.values()], { name, ...opt, beta1: h.beta1, beta2: h.beta2 }), lrMul: h.learning_rate };
    };
    const g = make(nets.G, 'TrainG', c.G_opt, this.G_interval);
    const d = make(nets.D, 'TrainD', c.D_opt, this.D_interval);
    [this.G_opt, this.G_lrMul, this.D_opt, this.D_lrMul] = [g.opt, g.lrMul, d.opt, d.lrMul];
    const a = c.G_loss.args;
    this.pl = { pl_minibatch_shrink: a.pl_minibatch_shrink ?? 2, pl_decay: a.pl_decay ?? 0.01, pl_weight: a.pl_weight ?? 2.0 };
    this.gamma = c.D_loss.args.gamma ?? 10.0;
  }

  initialFakesName(): string {
    return 'fakes_init.png';
  }

  setLod(lod: number): void {
    setLod(this.G, lod); // D_stylegan2 has no lod
  }

  private latents(n: number): tf.Tensor2D {
    return tf.randomNormal([n, this.latent], 0, 1, 'float32', seed(this.nets.rng));
  }

  /** G as the losses call it: is_training (W-average update, style mixing, fresh noise). */
  private readonly generator: GeneratorFn = (z, l) => this.G.run(z as tf.Tensor2D, l as tf.Tensor2D, { is_training: true, rng: this.rngFn });
  private readonly discriminator: DiscriminatorFn = (x, l) => this.D.run(x as tf.Tensor4D, l as tf.Tensor2D);

  /** The path-length term on N // pl_minibatch_shrink fresh latents; keeps the updated pl_mean in `next`. */
  private pathReg(n: number, labels: tf.Tensor2D, next: { pl_mean: tf.Scalar | null }) {
    const { synthesis } = this.G.components;
    const fns: StyleGeneratorFns = {
      mapping: (z, l) => this.G.trainingDlatents(z as tf.Tensor2D, l as tf.Tensor2D, this.rngFn),
      synthesis: (w) => synthesis.run(w, { rng: this.rngFn }),
      image_shape: [synthesis.kw.num_channels, synthesis.kw.resolution, synthesis.kw.resolution],
    };
    const [C, H, W] = fns.image_shape;
    const pl_noise = tf.randomNormal([n, C, H, W], 0, 1, 'float32', seed(this.nets.rng));
    const r = G_pathreg(fns, { latents: this.latents(n), labels, pl_mean: this.pl_mean, pl_noise }, this.pl);
    next.pl_mean = tf.keep(r.pl_mean as tf.Scalar);
    return r;
  }

  private plMinibatch(n: number): number {
    return this.pl.pl_minibatch_shrink > 1 ? Math.floor(n / this.pl.pl_minibatch_shrink) : n;
  }

  private takePlMean(next: { pl_mean: tf.Scalar | null }): void {
    if (!next.pl_mean) return;
    this.pl_mean.dispose();
    this.pl_mean = next.pl_mean;
  }

  async minibatch(src: MinibatchSource, sched: TrainingSchedule, running_mb_counter: number): Promise<{ steps: StepOutput[]; nimg: number }> {
    const n = sched.minibatch;
    const steps: StepOutput[] = [];
    const plOn = this.pl.pl_weight > 0;
    const lazy = this.G_interval !== null;
    // NVIDIA feeds sched.G_lrate to both optimizers (one lrate_in); with its defaults G and D rates are
    // equal. Here --D-lrate-base is honoured for D rather than silently ignored.
    const lrG = sched.G_lrate * this.G_lrMul;
    const lrD = sched.D_lrate * this.D_lrMul;

    // G_train (data_fetch runs with it in NVIDIA's graph: the minibatch D sees below).
    const { reals, labels } = await src.next();
    try {
      const gLabels = src.randomLabels(n);
      const plLabels = plOn ? src.randomLabels(this.plMinibatch(n)) : null;
      const next = { pl_mean: null as tf.Scalar | null };
      try {
        steps.push(minimize(this.G_opt, 'G', 'Loss/G', () => {
          const main = G_logistic_ns(this.generator, this.discriminator, { latents: this.latents(n), labels: gLabels });
          if (lazy || !plOn) return main;
          // Without lazy regularisation the penalty joins every G step. NVIDIA adds the [N,1] loss and the
          // [N/2,1] penalty elementwise (which cannot broadcast with the default shrink 2); the sum of
          // their means is what that sum means when the shapes agree.
          const r = this.pathReg(plLabels!.shape[0], plLabels!, next);
          return { loss: tf.add(tf.mean(main.loss), tf.mean(r.reg)), stats: r.stats };
        }, lrG));
        this.takePlMean(next);
        // G_reg: the path-length penalty as its own step, mean(reg·G_reg_interval).
        if (lazy && plOn && regDue(running_mb_counter, this.G_interval!)) {
          steps.push(minimize(this.G_opt, 'G_reg', 'Loss/G_reg', () => {
            const r = this.pathReg(plLabels!.shape[0], plLabels!, next);
            return { loss: lazyRegLoss(r.reg, this.G_interval), stats: r.stats };
          }, lrG));
          this.takePlMean(next);
        }
      } finally {
        tf.dispose([gLabels, ...(plLabels ? [plLabels] : [])]);
        if (next.pl_mean && next.pl_mean !== this.pl_mean) next.pl_mean.dispose();
      }

      // D_train + Gs_update.
      steps.push(minimize(this.D_opt, 'D', 'Loss/D', () => {
        const inputs = { latents: this.latents(n), reals, labels };
        if (lazy) return D_logistic(this.generator, this.discriminator, inputs);
        const r = D_logistic_r1(this.generator, this.discriminator, inputs, { gamma: this.gamma });
        return { loss: tf.add(r.loss, r.reg), stats: r.stats };
      }, lrD));
      this.nets.Gs.setupAsMovingAverageOf(this.G, Gs_beta(n, this.c.train.G_smoothing_kimg));
      // D_reg: R1 on the same reals, mean(reg·D_reg_interval). Its real scores are not reported again
      // (Loss/scores/real is the D step's).
      if (lazy && regDue(running_mb_counter, this.D_interval!)) {
        steps.push(minimize(this.D_opt, 'D_reg', 'Loss/D_reg', () => {
          const r = D_r1(this.discriminator, reals, labels, { gamma: this.gamma });
          return { loss: lazyRegLoss(r.loss, this.D_interval), stats: { 'Loss/gradient_penalty': r.stats['Loss/gradient_penalty']! } };
        }, lrD));
      }
    } finally {
      tf.dispose([reals, labels]);
    }
    return { steps, nimg: n };
  }

  dispose(): void {
    this.G_opt.dispose();
    this.D_opt.dispose();
    this.pl_mean.dispose();
  }
}

/**
 * Gs.run for the snapshot grids: is_validation (no truncation unless truncation_psi_val), fresh noise
 * from `rng`, in chunks of `minibatch`; returns NCHW float32 images on the host.
 */
export function generateGrid(Gs: Network, latents: Float32Array, labels: Float32Array, labelSize: number, minibatch: number, rng: RandomState): { data: Float32Array; shape: number[] } {
  const latent = latentSize(Gs);
  const n = latents.length / latent;
  const chunks: Float32Array[] = [];
  let shape: number[] = [];
  const rngFn = () => rng.random_sample();
  for (let i = 0; i < n; i += minibatch) {
    const m = Math.min(minibatch, n - i);
    const img = tf.tidy(() => {
      const z = tf.tensor2d(latents.subarray(i * latent, (i + m) * latent), [m, latent]);
      const l = tf.tensor2d(labels.subarray(i * labelSize, (i + m) * labelSize), [m, labelSize]);
      if (isStyleGenerator(Gs)) return Gs.run(z, l, { is_validation: true, rng: rngFn });
      return (Gs as G_paper).run(z, l);
    });
    shape = img.shape;
    chunks.push(img.dataSync() as Float32Array);
    img.dispose();
  }
  const data = new Float32Array(chunks.reduce((a, c) => a + c.length, 0));
  let off = 0;
  for (const c of chunks) { data.set(c, off); off += c.length; }
  return { data, shape: [n, shape[1]!, shape[2]!, shape[3]!] };
}
