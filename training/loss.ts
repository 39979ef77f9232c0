// NVIDIA's loss functions (training/loss.py, spec §5), plus the classic min-max GAN pair.
//
// G and D are plain callables so the losses know nothing about the networks: G(latents, labels) →
// images NCHW, D(images, labels) → scores [N,1] (raw logits; probabilities for the *_basic_* pair).
// Each loss returns the per-sample loss [N,1] (the training loop takes the mean, as NVIDIA) and the
// per-sample terms NVIDIA records with autosummary, under the same names, for logging.
//
// Differences in plumbing, not in math: NVIDIA draws z ~ N(0, I) (and, for G, random labels) inside
// each loss; here the caller passes `latents` and `labels` so all randomness comes from one place.
// The WGAN-GP mixing factors u ~ U[0,1) may be passed too (`mixing_factors`), else they are drawn here.
//
// Gradient penalties take tf.grad of D with respect to its input inside the loss; the optimizer then
// differentiates the loss again with respect to D's variables (second order). tfjs records the inner
// backward pass on the outer tape, which needs zero gradients for the comparison kernels
// (engine/gradients/comparison_grads.ts, registered by dnnlib/backend.ts).
import * as tf from '@tensorflow/tfjs';

export type GeneratorFn = (latents: tf.Tensor, labels: tf.Tensor) => tf.Tensor;
export type DiscriminatorFn = (images: tf.Tensor, labels: tf.Tensor) => tf.Tensor;

/** The two halves of dynamic loss scaling (training/optimizer.ts); identity when absent. */
export interface LossScaling {
  applyLossScaling(value: tf.Tensor): tf.Tensor;
  undoLossScaling(value: tf.Tensor): tf.Tensor;
}

export interface GLossInputs {
  /** z, [N, latent_size]. */
  latents: tf.Tensor;
  /** Labels for the fakes, [N, label_size] ([N, 0] without labels). */
  labels: tf.Tensor;
  opt?: LossScaling;
}

export interface DLossInputs {
  /** z for the fakes, [N, latent_size]. */
  latents: tf.Tensor;
  /** Reals exactly as fed to D (after process_reals), NCHW. */
  reals: tf.Tensor;
  /** Labels of the reals, also used for the fakes (as NVIDIA). */
  labels: tf.Tensor;
  opt?: LossScaling;
  /** WGAN-GP only: u for x̂ = lerp(x, G(z), u), shape [N,1,1,1]; drawn from U[0,1) when omitted. */
  mixing_factors?: tf.Tensor;
}

export interface LossResult {
  /** Per-sample loss, [N,1]. */
  loss: tf.Tensor;
  /** Per-sample terms for autosummary, keyed by NVIDIA's names ('Loss/scores/real', ...). */
  stats: Record<string, tf.Tensor>;
}

export interface WganArgs { wgan_epsilon?: number }
export interface WganGpArgs { wgan_lambda?: number; wgan_epsilon?: number; wgan_target?: number }
export interface HingeGpArgs { wgan_lambda?: number; wgan_target?: number }
export interface SimpleGpArgs { r1_gamma?: number; r2_gamma?: number }

export type GLoss = (G: GeneratorFn, D: DiscriminatorFn, inputs: GLossInputs, args?: object) => LossResult;
export type DLoss = (G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs, args?: object) => LossResult;

// ---------------------------------------------------------------------------------------------
// Helpers.

/** Scores as [N,1] whatever D's output rank ([N] or [N,1]). */
function asScores(scores: tf.Tensor): tf.Tensor {
  return scores.rank === 2 && scores.shape[1] === 1 ? scores : tf.reshape(scores, [-1, 1]);
}

const scale = (opt: LossScaling | undefined, v: tf.Tensor) => (opt ? opt.applyLossScaling(v) : v);
const unscale = (opt: LossScaling | undefined, v: tf.Tensor) => (opt ? opt.undoLossScaling(v) : v);

/**
 * D's scores for `images` and ∂Σscores/∂images from one forward pass (NVIDIA reuses the scores of the
 * loss for tf.gradients; recomputing D would cost a second forward).
 */
function scoresWithInputGradient(D: DiscriminatorFn, images: tf.Tensor, labels: tf.Tensor, opt?: LossScaling) {
  let kept: tf.Tensor | undefined;
  const grads = tf.grad((x: tf.Tensor) => {
    const s = asScores(D(x, labels));
    // grad() tidies away everything its forward pass creates except the returned sum; keep the
    // scores and hand them to the caller's scope below.
    kept = tf.keep(s);
    return scale(opt, tf.sum(s));
  })(images);
  // The clone is tracked by the caller's tidy and recorded on the tape (Identity), so the outer
  // gradient still flows into D; the kept original can go.
  const scores = tf.clone(kept!);
  kept!.dispose();
  return { scores, grads: unscale(opt, grads) };
}

/** Per-sample Σ of the squared gradient over all but the batch axis (C,H,W for images): [N,1]. */
function sumSquaresPerSample(grads: tf.Tensor): tf.Tensor {
  const axes = Array.from({ length: grads.rank - 1 }, (_, i) => i + 1);
  return tf.reshape(tf.sum(tf.square(grads), axes), [-1, 1]);
}

/** WGAN-GP term (λ/t²)·(‖∇D(x̂)‖ − t)² on x̂ = lerp(reals, fakes, u); also returns its stats. */
function gradientPenalty(D: DiscriminatorFn, reals: tf.Tensor, fakes: tf.Tensor, inputs: DLossInputs, lambda: number, target: number) {
  const n = reals.shape[0]!;
  const u = inputs.mixing_factors ?? tf.randomUniform([n, 1, 1, 1], 0.0, 1.0);
  const mixed = tf.add(reals, tf.mul(tf.sub(fakes, reals), u)); // tflib.lerp(a, b, t) = a + (b − a)·t
  const { scores: mixed_scores, grads } = scoresWithInputGradient(D, mixed, inputs.labels, inputs.opt);
  const mixed_norms = tf.sqrt(sumSquaresPerSample(grads));
  const penalty = tf.mul(tf.square(tf.sub(mixed_norms, target)), lambda / target ** 2);
  return { penalty, stats: { 'Loss/scores/mixed': mixed_scores, 'Loss/mixed_norms': mixed_norms } };
}

function realAndFakeScores(G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs) {
  const fakes = G(inputs.latents, inputs.labels);
  const real_scores = asScores(D(inputs.reals, inputs.labels));
  const fake_scores = asScores(D(fakes, inputs.labels));
  return { fakes, real_scores, fake_scores };
}

function fakeScores(G: GeneratorFn, D: DiscriminatorFn, inputs: GLossInputs): tf.Tensor {
  return asScores(D(G(inputs.latents, inputs.labels), inputs.labels));
}

// ---------------------------------------------------------------------------------------------
// WGAN and WGAN-GP.

/** −D(G(z)). */
export function G_wgan(G: GeneratorFn, D: DiscriminatorFn, inputs: GLossInputs): LossResult {
  return { loss: tf.neg(fakeScores(G, D, inputs)), stats: {} };
}

/** D(G(z)) − D(x) + ε·D(x)²; ε keeps the real scores from drifting. */
export function D_wgan(G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs, args: WganArgs = {}): LossResult {
  const { wgan_epsilon = 0.001 } = args;
  const { real_scores, fake_scores } = realAndFakeScores(G, D, inputs);
  const epsilon_penalty = tf.square(real_scores);
  const loss = tf.add(tf.sub(fake_scores, real_scores), tf.mul(epsilon_penalty, wgan_epsilon));
  return { loss, stats: { 'Loss/scores/real': real_scores, 'Loss/scores/fake': fake_scores, 'Loss/epsilon_penalty': epsilon_penalty } };
}

/** D_wgan plus (λ/t²)·(‖∇_x̂ D(x̂)‖₂ − t)², the norm over C,H,W of each sample. */
export function D_wgan_gp(G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs, args: WganGpArgs = {}): LossResult {
  const { wgan_lambda = 10.0, wgan_epsilon = 0.001, wgan_target = 1.0 } = args;
  const { fakes, real_scores, fake_scores } = realAndFakeScores(G, D, inputs);
  let loss = tf.sub(fake_scores, real_scores);
  const gp = gradientPenalty(D, inputs.reals, fakes, inputs, wgan_lambda, wgan_target);
  loss = tf.add(loss, gp.penalty);
  const epsilon_penalty = tf.square(real_scores);
  loss = tf.add(loss, tf.mul(epsilon_penalty, wgan_epsilon));
  return {
    loss,
    stats: { 'Loss/scores/real': real_scores, 'Loss/scores/fake': fake_scores, ...gp.stats, 'Loss/epsilon_penalty': epsilon_penalty },
  };
}

// ---------------------------------------------------------------------------------------------
// Hinge (used with G_wgan).

function hinge(real_scores: tf.Tensor, fake_scores: tf.Tensor): tf.Tensor {
  return tf.add(tf.relu(tf.add(fake_scores, 1)), tf.relu(tf.sub(1, real_scores))); // max(0, ·) = relu
}

/** max(0, 1 + D(G(z))) + max(0, 1 − D(x)). */
export function D_hinge(G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs): LossResult {
  const { real_scores, fake_scores } = realAndFakeScores(G, D, inputs);
  return { loss: hinge(real_scores, fake_scores), stats: { 'Loss/scores/real': real_scores, 'Loss/scores/fake': fake_scores } };
}

/** D_hinge plus the WGAN-GP gradient penalty (no ε term). */
export function D_hinge_gp(G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs, args: HingeGpArgs = {}): LossResult {
  const { wgan_lambda = 10.0, wgan_target = 1.0 } = args;
  const { fakes, real_scores, fake_scores } = realAndFakeScores(G, D, inputs);
  const gp = gradientPenalty(D, inputs.reals, fakes, inputs, wgan_lambda, wgan_target);
  return {
    loss: tf.add(hinge(real_scores, fake_scores), gp.penalty),
    stats: { 'Loss/scores/real': real_scores, 'Loss/scores/fake': fake_scores, ...gp.stats },
  };
}

// ---------------------------------------------------------------------------------------------
// Logistic losses of "Which Training Methods for GANs do actually Converge?" (Mescheder et al.).

/** −softplus(D(G(z))) = log(1 − σ(D(G(z)))). */
export function G_logistic_saturating(G: GeneratorFn, D: DiscriminatorFn, inputs: GLossInputs): LossResult {
  return { loss: tf.neg(tf.softplus(fakeScores(G, D, inputs))), stats: {} };
}

/** softplus(−D(G(z))) = −log σ(D(G(z))). StyleGAN's default G loss. */
export function G_logistic_nonsaturating(G: GeneratorFn, D: DiscriminatorFn, inputs: GLossInputs): LossResult {
  return { loss: tf.softplus(tf.neg(fakeScores(G, D, inputs))), stats: {} };
}

/** softplus(D(G(z))) + softplus(−D(x)). */
export function D_logistic(G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs): LossResult {
  const { real_scores, fake_scores } = realAndFakeScores(G, D, inputs);
  const loss = tf.add(tf.softplus(fake_scores), tf.softplus(tf.neg(real_scores)));
  return { loss, stats: { 'Loss/scores/real': real_scores, 'Loss/scores/fake': fake_scores } };
}

/**
 * D_logistic + (γ₁/2)·Σ(∂D(x)/∂x)² on the reals + (γ₂/2)·Σ(∂D(G(z))/∂G(z))² on the fakes.
 * StyleGAN's default D loss with r1_gamma = 10. The reals must be exactly what D sees (after
 * process_reals), since R1 is the gradient with respect to that input.
 */
export function D_logistic_simplegp(G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs, args: SimpleGpArgs = {}): LossResult {
  const { r1_gamma = 10.0, r2_gamma = 0.0 } = args;
  const { latents, reals, labels, opt } = inputs;
  const fakes = G(latents, labels);
  // Run D once per input; when a penalty needs its input gradient, take it from that same pass.
  const real = r1_gamma !== 0 ? scoresWithInputGradient(D, reals, labels, opt) : { scores: asScores(D(reals, labels)), grads: null };
  const fake = r2_gamma !== 0 ? scoresWithInputGradient(D, fakes, labels, opt) : { scores: asScores(D(fakes, labels)), grads: null };
  const stats: Record<string, tf.Tensor> = { 'Loss/scores/real': real.scores, 'Loss/scores/fake': fake.scores };
  let loss = tf.add(tf.softplus(fake.scores), tf.softplus(tf.neg(real.scores)));
  if (real.grads) {
    const r1_penalty = sumSquaresPerSample(real.grads);
    stats['Loss/r1_penalty'] = r1_penalty;
    loss = tf.add(loss, tf.mul(r1_penalty, r1_gamma * 0.5));
  }
  if (fake.grads) {
    const r2_penalty = sumSquaresPerSample(fake.grads);
    stats['Loss/r2_penalty'] = r2_penalty;
    loss = tf.add(loss, tf.mul(r2_penalty, r2_gamma * 0.5));
  }
  return { loss, stats };
}

// ---------------------------------------------------------------------------------------------
// The original min-max GAN (Goodfellow et al. 2014) for a D that ends in a sigmoid, i.e. returns
// probabilities p = D(x) ∈ (0,1). Binary cross-entropy as torch.nn.BCELoss computes it: each log is
// clamped at −100 so a saturated p of exactly 0 or 1 gives a large finite loss, not Infinity/NaN.
// (For a D that returns logits these are D_logistic / G_logistic_*, which need no clamp.)

const LOG_CLAMP = -100;
const clampedLog = (p: tf.Tensor) => tf.maximum(tf.log(p), LOG_CLAMP);

/** −log D(G(z)): the non-saturating generator objective the GAN paper recommends in practice. */
export function G_basic_nonsaturating(G: GeneratorFn, D: DiscriminatorFn, inputs: GLossInputs): LossResult {
  return { loss: tf.neg(clampedLog(fakeScores(G, D, inputs))), stats: {} };
}

/** log(1 − D(G(z))): the generator's side of the original min-max value function. */
export function G_basic_saturating(G: GeneratorFn, D: DiscriminatorFn, inputs: GLossInputs): LossResult {
  return { loss: clampedLog(tf.sub(1, fakeScores(G, D, inputs))), stats: {} };
}

/** −log D(x) − log(1 − D(G(z))): BCE with target 1 for reals and 0 for fakes. */
export function D_basic_bce(G: GeneratorFn, D: DiscriminatorFn, inputs: DLossInputs): LossResult {
  const { real_scores, fake_scores } = realAndFakeScores(G, D, inputs);
  const loss = tf.neg(tf.add(clampedLog(real_scores), clampedLog(tf.sub(1, fake_scores))));
  return { loss, stats: { 'Loss/scores/real': real_scores, 'Loss/scores/fake': fake_scores } };
}

// ---------------------------------------------------------------------------------------------
// Registry: configs name a loss as NVIDIA's func_name does ('training.loss.D_logistic_simplegp'),
// with the remaining keys as `args`.

export const G_LOSSES: Readonly<Record<string, GLoss>> = Object.freeze({
  G_wgan, G_logistic_saturating, G_logistic_nonsaturating, G_basic_nonsaturating, G_basic_saturating,
});

export const D_LOSSES: Readonly<Record<string, DLoss>> = Object.freeze({
  D_wgan, D_wgan_gp, D_hinge, D_hinge_gp, D_logistic, D_logistic_simplegp, D_basic_bce,
});
