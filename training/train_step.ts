// One training step of NVIDIA's training_loop (spec §3.5, §3.6): process_reals, the D step with the Gs
// moving average, and the G step, each inside one tf.tidy. Losses come from training/loss.ts by name;
// every random draw (latents, noise, style mixing, WGAN-GP mixing factors) is seeded from one
// RandomState so a run can be resumed with its random stream where it stopped.
//
// Nothing is read back here: each step returns a small kept tensor of its loss terms' means (NVIDIA's
// autosummaries), which the loop batches into one host read per iteration.
import * as tf from '@tensorflow/tfjs';
import type { RandomState } from '../dnnlib/random.ts';
import { G_LOSSES, D_LOSSES, type DiscriminatorFn, type GeneratorFn, type LossResult } from './loss.ts';
import type { Network } from './network.ts';
import { G_style } from './networks_stylegan.ts';
import { G_paper } from './networks_progan.ts';
import type { Optimizer } from './optimizer.ts';
import { Gs_beta } from './misc.ts';
import type { LossConfig } from './train_config.ts';

/** The latent size a generator expects (G_style: its mapping's latent_size; G_paper: nf(0) by default). */
export function latentSize(G: Network): number {
  if (G instanceof G_style) return G.components.mapping.kw.latent_size;
  if (G instanceof G_paper) return G.latent_size;
  throw new Error(`${G.name}: not a generator`);
}

/** G's lod (the Gs copy follows G through the moving average). */
export function setLod(net: Network, lod: number): void {
  (net as unknown as { setLod(lod: number): void }).setLod(lod);
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

export interface StepOutput {
  /** Names of `values`, in order (loss first, then NVIDIA's autosummary terms). */
  names: string[];
  /** Kept [k] tensor of per-minibatch means; the caller disposes it. */
  values: tf.Tensor1D;
  /** Host-side optimizer summaries (learning rate, overflow frequency, loss scale). */
  opt: Record<string, number>;
}

const seed = (rng: RandomState) => rng.randint(0, 2 ** 31 - 1);

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

  /** G as the losses call it: is_training (W average update, style mixing) at the current lod. */
  private generator(lod: number): GeneratorFn {
    const G = this.o.G;
    if (G instanceof G_style) return (z, l) => G.run(z as tf.Tensor2D, l as tf.Tensor2D, { is_training: true, lod, rng: this.rngFn });
    if (G instanceof G_paper) return (z, l) => G.run(z as tf.Tensor2D, l as tf.Tensor2D, { lod });
    throw new Error(`${G.name}: not a generator`);
  }

  private discriminator(lod: number): DiscriminatorFn {
    const D = this.o.D as unknown as { run(x: tf.Tensor4D, l: tf.Tensor2D, o: { lod: number }): tf.Tensor };
    return (x, l) => D.run(x as tf.Tensor4D, l as tf.Tensor2D, { lod });
  }

  private latents(n: number): tf.Tensor2D {
    return tf.randomNormal([n, this.latent], 0, 1, 'float32', seed(this.o.rng));
  }

  /** Minimises mean(loss) for `opt`, keeping [mean loss, mean of each stat] for the report. */
  private minimize(opt: Optimizer, lossName: string, run: () => LossResult, lr: number): StepOutput {
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
    return { names, values: kept!, opt: optStats };
  }

  /**
   * One D step on processed reals, then Gs ← lerp(G, Gs, β) with β = 0.5^(minibatch / (G_smoothing_kimg·1000))
   * (NVIDIA runs the Gs update together with the D op).
   */
  dStep(reals: tf.Tensor4D, labels: tf.Tensor2D, lod: number, lr: number): StepOutput {
    const o = this.o;
    const n = reals.shape[0];
    const args = o.D_loss.args;
    const out = this.minimize(o.D_opt, 'Loss/D', () => {
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
    return this.minimize(o.G_opt, 'Loss/G', () => {
      const latents = this.latents(n);
      return G_LOSSES[o.G_loss.func_name]!(this.generator(lod), this.discriminator(lod), { latents, labels, opt: o.G_opt }, o.G_loss.args);
    }, lr);
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
      if (Gs instanceof G_style) return Gs.run(z, l, { is_validation: true, rng: rngFn });
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
