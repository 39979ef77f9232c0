// StyleGAN2's losses and lazy regularization (NVlabs/stylegan2 training/loss.py and training_loop.py,
// spec §A.9) as pure functions; the training loop owns the state (pl_mean, the minibatch counter).
//
// * G_logistic_ns_pathreg: loss softplus(−D(G(z))); reg = (|Jᵀy| − a)²·pl_weight on a fresh minibatch of
//   N // pl_minibatch_shrink latents, with y ~ N(0, I)/√(H·W), Jᵀy = ∂Σ(images·y)/∂dlatents, |Jᵀy| =
//   √(mean over layers of Σ over dlatent components of g²), and a = pl_mean ← pl_mean + pl_decay·(mean|Jᵀy| − pl_mean).
//   As in NVIDIA's graph the penalty uses the *updated* a, a tensor of this minibatch's lengths (the
//   gradient flows through it too).
// * D_logistic_r1: loss softplus(D(G(z))) + softplus(−D(x)); reg = (γ/2)·Σ(∂ΣD(x)/∂x)² per sample.
// * Lazy regularization: the reg is its own optimizer step every `interval` minibatches
//   (running_mb_counter % interval == 0, counter from 0) with loss mean(reg·interval), and both the
//   main and the reg step use Adam with lr·c, β1^c, β2^c, c = interval/(interval+1).
import * as tf from '@tensorflow/tfjs';
import type { DiscriminatorFn, GeneratorFn, LossResult, LossScaling } from './loss.ts';

/** G split as the path-length term needs it: z → dlatents (mapping, style mixing), dlatents → images. */
export interface StyleGeneratorFns {
  mapping: (latents: tf.Tensor, labels: tf.Tensor) => tf.Tensor;
  synthesis: (dlatents: tf.Tensor) => tf.Tensor;
  /** G.output_shape[1:]: [C, H, W]. */
  image_shape: readonly [number, number, number];
}

export interface PathRegArgs {
  pl_minibatch_shrink?: number;
  pl_decay?: number;
  pl_weight?: number;
}

export interface PathRegInputs {
  /** z for the path-length minibatch, already shrunk: [N // pl_minibatch_shrink, latent_size]. */
  latents: tf.Tensor;
  labels: tf.Tensor;
  /**
   * pl_mean before this step (0 at the start; NVIDIA's variable is outside every Network, so not in a pickle).
   * A scalar tensor lets the training loop carry it on the device between reg steps without a host read.
   */
  pl_mean: number | tf.Scalar;
  /** y before the 1/√(H·W) scale, [N, C, H, W]; drawn N(0, 1) when omitted. */
  pl_noise?: tf.Tensor;
  opt?: LossScaling;
}

export interface PathRegResult {
  /** Per-sample (|Jᵀy| − a)²·pl_weight, [N, 1]. */
  reg: tf.Tensor;
  /** The updated pl_mean a (a scalar tensor; the loop keeps its value for the next reg step). */
  pl_mean: tf.Tensor;
  stats: Record<string, tf.Tensor>;
}

/** |Jᵀy| per sample [N]: √(mean over layers of Σ_c g²), g = ∂Σ(synthesis(w)·y)/∂w at w = dlatents [N, L, D]. */
export function pathLengths(synthesis: (dlatents: tf.Tensor) => tf.Tensor, dlatents: tf.Tensor, y: tf.Tensor, opt?: LossScaling): tf.Tensor {
  const grad = tf.grad((w: tf.Tensor) => {
    const s = tf.sum(tf.mul(synthesis(w), y));
    return opt ? opt.applyLossScaling(s) : s;
  })(dlatents);
  const g = opt ? opt.undoLossScaling(grad) : grad;
  return tf.sqrt(tf.mean(tf.sum(tf.square(g), 2), 1));
}

/** The path-length regularizer of G_logistic_ns_pathreg (what NVIDIA's G_reg_op evaluates). */
export function G_pathreg(G: StyleGeneratorFns, inputs: PathRegInputs, args: PathRegArgs = {}): PathRegResult {
  const { pl_decay = 0.01, pl_weight = 2.0 } = args;
  const n = inputs.latents.shape[0]!;
  const [c, h, w] = G.image_shape;
  const dlatents = G.mapping(inputs.latents, inputs.labels);
  const y = tf.div(inputs.pl_noise ?? tf.randomNormal([n, c, h, w]), Math.sqrt(h * w));
  const pl_lengths = pathLengths(G.synthesis, dlatents, y, inputs.opt);
  const pl_mean = tf.add(inputs.pl_mean, tf.mul(tf.sub(tf.mean(pl_lengths), inputs.pl_mean), pl_decay));
  const pl_penalty = tf.square(tf.sub(pl_lengths, pl_mean));
  const reg = tf.reshape(tf.mul(pl_penalty, pl_weight), [-1, 1]);
  return { reg, pl_mean, stats: { 'Loss/pl_lengths': pl_lengths, 'Loss/pl_penalty': pl_penalty } };
}

/** softplus(−D(G(z))): the loss half of G_logistic_ns_pathreg (NVIDIA's G_train_op). */
export function G_logistic_ns(G: GeneratorFn, D: DiscriminatorFn, inputs: { latents: tf.Tensor; labels: tf.Tensor }): LossResult {
  const scores = tf.reshape(D(G(inputs.latents, inputs.labels), inputs.labels), [-1, 1]);
  return { loss: tf.softplus(tf.neg(scores)), stats: {} };
}

/**
 * Both halves at once (lazy_regularization=False: NVIDIA adds reg to the loss every step). The
 * path-length minibatch is N // pl_minibatch_shrink fresh latents (`pl_latents`, drawn when omitted).
 */
export function G_logistic_ns_pathreg(G: GeneratorFn, Gfns: StyleGeneratorFns, D: DiscriminatorFn,
  inputs: { latents: tf.Tensor; labels: tf.Tensor; pl_latents?: tf.Tensor; pl_labels?: tf.Tensor; pl_mean: number | tf.Scalar; pl_noise?: tf.Tensor; opt?: LossScaling },
  args: PathRegArgs = {}): LossResult & { reg: tf.Tensor; pl_mean: tf.Tensor } {
  const { pl_minibatch_shrink = 2 } = args;
  const { loss } = G_logistic_ns(G, D, inputs);
  const n = inputs.latents.shape[0]!;
  const m = pl_minibatch_shrink > 1 ? Math.floor(n / pl_minibatch_shrink) : n;
  const pl_latents = inputs.pl_latents ?? (pl_minibatch_shrink > 1 ? tf.randomNormal([m, inputs.latents.shape[1]!]) : inputs.latents);
  const pl_labels = inputs.pl_labels ?? tf.slice(inputs.labels, [0, 0], [pl_latents.shape[0]!, -1]);
  const pr = G_pathreg(Gfns, { latents: pl_latents, labels: pl_labels, pl_mean: inputs.pl_mean, pl_noise: inputs.pl_noise, opt: inputs.opt }, args);
  return { loss, reg: pr.reg, pl_mean: pr.pl_mean, stats: pr.stats };
}

export interface R1Args {
  gamma?: number;
}

/** The R1 regularizer alone, (γ/2)·Σ(∂ΣD(x)/∂x)² per sample [N, 1] (NVIDIA's D_reg_op). */
export function D_r1(D: DiscriminatorFn, reals: tf.Tensor, labels: tf.Tensor, args: R1Args = {}, opt?: LossScaling): LossResult {
  const { gamma = 10.0 } = args;
  let kept: tf.Tensor | undefined;
  const grads = tf.grad((x: tf.Tensor) => {
    const s = tf.reshape(D(x, labels), [-1, 1]);
    kept = tf.keep(s);
    const sum = tf.sum(s);
    return opt ? opt.applyLossScaling(sum) : sum;
  })(reals);
  const real_scores = tf.clone(kept!);
  kept!.dispose();
  const g = opt ? opt.undoLossScaling(grads) : grads;
  const penalty = tf.reshape(tf.sum(tf.square(g), [1, 2, 3]), [-1, 1]);
  return { loss: tf.mul(penalty, gamma * 0.5), stats: { 'Loss/scores/real': real_scores, 'Loss/gradient_penalty': penalty } };
}

/** D_logistic_r1 with both halves: loss softplus(D(G(z))) + softplus(−D(x)), reg from D_r1. */
export function D_logistic_r1(G: GeneratorFn, D: DiscriminatorFn, inputs: { latents: tf.Tensor; reals: tf.Tensor; labels: tf.Tensor; opt?: LossScaling }, args: R1Args = {}): LossResult & { reg: tf.Tensor } {
  const fake_scores = tf.reshape(D(G(inputs.latents, inputs.labels), inputs.labels), [-1, 1]);
  const r1 = D_r1(D, inputs.reals, inputs.labels, args, inputs.opt);
  const real_scores = r1.stats['Loss/scores/real']!;
  const loss = tf.add(tf.softplus(fake_scores), tf.softplus(tf.neg(real_scores)));
  return { loss, reg: r1.loss, stats: { ...r1.stats, 'Loss/scores/fake': fake_scores } };
}

// ---------------------------------------------------------------------------------------------
// Lazy regularization

export interface AdamHyper {
  learning_rate: number;
  beta1: number;
  beta2: number;
  epsilon?: number;
}

/** NVIDIA's mb_ratio = interval/(interval+1): lr·c, β1^c, β2^c (ε unchanged), for the main and the reg step. */
export function lazyRegAdam(opt: AdamHyper, interval: number | null): AdamHyper {
  if (interval === null || interval <= 0) return { ...opt };
  const c = interval / (interval + 1);
  return { ...opt, learning_rate: opt.learning_rate * c, beta1: opt.beta1 ** c, beta2: opt.beta2 ** c };
}

/** Whether this minibatch runs the reg step: running_mb_counter % interval == 0 (counter starts at 0). */
export function regDue(running_mb_counter: number, interval: number): boolean {
  return running_mb_counter % interval === 0;
}

/** The loss of the reg step: mean(reg·interval) (lazy) or mean(reg) added every step (interval null). */
export function lazyRegLoss(reg: tf.Tensor, interval: number | null): tf.Tensor {
  return tf.mean(interval ? tf.mul(reg, interval) : reg);
}

/** Training-loop defaults of NVIDIA's StyleGAN2 (lazy_regularization=True, G_reg_interval 4, D_reg_interval 16). */
export const LAZY_REG_DEFAULTS = { lazy_regularization: true, G_reg_interval: 4, D_reg_interval: 16 } as const;
