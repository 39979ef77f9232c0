// NVIDIA's optimizer wrapper (dnnlib/tflib/optimizer.py, spec §3.8) around TF1's Adam, for one device:
//   * TF1 Adam exactly (training_ops ApplyAdam): m += (g − m)(1 − β1); v += (g² − v)(1 − β2);
//     θ −= m·α / (√v + ε) with α = lr·√(1 − β2^t)/(1 − β1^t), so ε sits on the *uncorrected* √v.
//     The β powers are float32 variables multiplied once per applied step, as in TF.
//   * a learning rate per step (NVIDIA feeds lrate_in each run);
//   * reset() of m, v and the β powers (reset_optimizer_state, at every lod boundary);
//   * an update is skipped entirely when any gradient is non-finite;
//   * optional dynamic loss scaling (use_loss_scaling): the loss is multiplied by 2^ls before
//     differentiation and the gradients by 2^−ls after; ls grows by loss_scaling_inc per good step and
//     shrinks by loss_scaling_dec per overflow. reset() leaves ls alone, as NVIDIA (it is not an Adam slot).
//   * state export/import for resume.
//
// Speed: every tfjs op costs a fixed dispatch (~9 µs) and a G has ~120 variables, so the moments live
// in one flat buffer over all variables: the gradients are concatenated once, Adam runs as a dozen ops
// on the flat tensor, and the step is split back — about 3 ops per variable instead of ~12.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import type { LossScaling } from './loss.ts';

export interface OptimizerArgs {
  /** Prefix of the autosummary names, NVIDIA's 'TrainG' / 'TrainD'. */
  name?: string;
  /** Defaults are train.py's G_opt / D_opt (TF's own Adam defaults would be 0.9 / 0.999 / 1e-8). */
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  use_loss_scaling?: boolean;
  /** log2 of the initial loss scale (64 → a factor 2^64). */
  loss_scaling_init?: number;
  loss_scaling_inc?: number;
  loss_scaling_dec?: number;
}

/** Everything needed to resume: per-variable moments in variable order, plain float32 arrays. */
export interface AdamState {
  names: string[];
  /** Applied steps since the last reset (the β powers are β^(t+1) before the next step). */
  t: number;
  m: Float32Array[];
  v: Float32Array[];
  loss_scaling_log2: number;
}

export interface StepStats {
  /** NVIDIA's autosummaries of this step: `<name>/learning_rate`, `<name>/overflow_frequency`, `<name>/loss_scaling_log2`. */
  stats: Record<string, number>;
  applied: boolean;
}

const f32 = Math.fround;

export class Optimizer implements LossScaling {
  readonly name: string;
  readonly vars: readonly tf.Variable[];
  readonly beta1: number;
  readonly beta2: number;
  readonly epsilon: number;
  readonly use_loss_scaling: boolean;
  readonly loss_scaling_inc: number;
  readonly loss_scaling_dec: number;

  /** log2 of the current loss scale (float32, as NVIDIA's variable). */
  loss_scaling_log2: number;
  /** Applied steps since the last reset. */
  t = 0;
  private beta1_power = 0;
  private beta2_power = 0;
  private m: tf.Tensor1D | null = null;
  private v: tf.Tensor1D | null = null;
  private readonly sizes: number[];
  private readonly total: number;

  constructor(vars: readonly tf.Variable[], args: OptimizerArgs = {}) {
    if (vars.length === 0) throw new Error('Optimizer: no variables to train');
    this.vars = vars;
    this.name = args.name ?? 'Train';
    this.beta1 = args.beta1 ?? 0.0;
    this.beta2 = args.beta2 ?? 0.99;
    this.epsilon = args.epsilon ?? 1e-8;
    this.use_loss_scaling = args.use_loss_scaling ?? false;
    this.loss_scaling_log2 = f32(args.loss_scaling_init ?? 64.0);
    this.loss_scaling_inc = args.loss_scaling_inc ?? 0.0005;
    this.loss_scaling_dec = args.loss_scaling_dec ?? 1.0;
    this.sizes = vars.map((v) => v.size);
    this.total = this.sizes.reduce((a, b) => a + b, 0);
    this.reset();
  }

  /** reset_optimizer_state: zero m and v, β powers back to β (i.e. t = 0). */
  reset(): void {
    this.m?.dispose();
    this.v?.dispose();
    this.m = null; // allocated lazily as zeros on the next step
    this.v = null;
    this.t = 0;
    this.beta1_power = f32(this.beta1);
    this.beta2_power = f32(this.beta2);
  }

  applyLossScaling(value: tf.Tensor): tf.Tensor {
    return this.use_loss_scaling ? tf.mul(value, 2 ** this.loss_scaling_log2) : value;
  }

  undoLossScaling(value: tf.Tensor): tf.Tensor {
    return this.use_loss_scaling ? tf.mul(value, 2 ** -this.loss_scaling_log2) : value;
  }

  /**
   * Gradients of the scalar f() (already the mean over the minibatch) with respect to this optimizer's
   * variables, loss scaling applied; variables f does not reach get zeros (NVIDIA's disconnected
   * gradients). Returns the unscaled value and *scaled* gradients, ready for applyUpdates.
   */
  computeGradients(f: () => tf.Scalar): { value: tf.Scalar; grads: tf.Tensor[] } {
    const { value, grads } = tf.variableGrads(() => this.applyLossScaling(f()) as tf.Scalar, this.vars as tf.Variable[]);
    const out = this.vars.map((v) => grads[v.name] ?? tf.zerosLike(v));
    const unscaled = this.use_loss_scaling ? tf.tidy(() => this.undoLossScaling(value) as tf.Scalar) : value;
    if (unscaled !== value) value.dispose();
    return { value: unscaled, grads: out };
  }

  /**
   * One Adam step with learning rate `lr` from gradients of the (scaled) loss, in variable order or
   * keyed by variable name; missing ones count as zeros. Skipped when any gradient is non-finite.
   * Does not dispose `grads`.
   */
  applyUpdates(grads: readonly (tf.Tensor | null | undefined)[] | tf.NamedTensorMap, lr: number): StepStats {
    const list = Array.isArray(grads) ? grads : this.vars.map((v) => (grads as tf.NamedTensorMap)[v.name]);
    if (list.length !== this.vars.length) throw new Error(`${this.name}: ${list.length} gradients for ${this.vars.length} variables`);
    const g = tf.tidy(() => {
      const flat = tf.concat(this.vars.map((v, i) => {
        const gi = list[i];
        if (gi == null) return tf.zeros([v.size]);
        if (gi.size !== v.size) throw new Error(`${this.name}: gradient of ${v.name} has shape [${gi.shape}], variable [${v.shape}]`);
        return tf.reshape(gi, [-1]);
      }));
      return this.use_loss_scaling ? (tf.mul(flat, 2 ** -this.loss_scaling_log2) as tf.Tensor1D) : (flat as tf.Tensor1D);
    });
    const finite = tf.tidy(() => tf.all(tf.isFinite(g)));
    const ok = finite.dataSync()[0] === 1; // the one host sync per step: the skip decides what runs next
    finite.dispose();
    const stats: Record<string, number> = { [`${this.name}/learning_rate`]: lr, [`${this.name}/overflow_frequency`]: ok ? 0 : 1 };
    if (ok) this.adamStep(g, lr);
    g.dispose();
    if (this.use_loss_scaling) {
      this.loss_scaling_log2 = f32(this.loss_scaling_log2 + (ok ? this.loss_scaling_inc : -this.loss_scaling_dec));
      stats[`${this.name}/loss_scaling_log2`] = this.loss_scaling_log2;
    }
    return { stats, applied: ok };
  }

  /** computeGradients + applyUpdates; returns the loss value as a number. */
  minimize(f: () => tf.Scalar, lr: number): StepStats & { loss: number } {
    const { value, grads } = this.computeGradients(f);
    try {
      const step = this.applyUpdates(grads, lr);
      return { ...step, loss: value.dataSync()[0]! };
    } finally {
      value.dispose();
      tf.dispose(grads);
    }
  }

  private adamStep(g: tf.Tensor1D, lr: number): void {
    const m0 = this.m ?? tf.zeros([this.total]);
    const v0 = this.v ?? tf.zeros([this.total]);
    // α in float32 with the kernel's operation order: lr·√(1 − β2^t) / (1 − β1^t).
    const alpha = f32(f32(f32(lr) * f32(Math.sqrt(f32(1 - this.beta2_power)))) / f32(1 - this.beta1_power));
    const [m, v] = tf.tidy(() => {
      const m = tf.add(m0, tf.mul(tf.sub(g, m0), 1 - this.beta1)) as tf.Tensor1D;
      const v = tf.add(v0, tf.mul(tf.sub(tf.square(g), v0), 1 - this.beta2)) as tf.Tensor1D;
      const step = tf.div(tf.mul(m, alpha), tf.add(tf.sqrt(v), this.epsilon));
      const pieces = this.vars.length === 1 ? [step] : tf.split(step, this.sizes);
      this.vars.forEach((variable, i) => variable.assign(tf.sub(variable, tf.reshape(pieces[i]!, variable.shape))));
      return [m, v];
    });
    m0.dispose();
    v0.dispose();
    this.m = m;
    this.v = v;
    this.t++;
    this.beta1_power = f32(this.beta1_power * f32(this.beta1));
    this.beta2_power = f32(this.beta2_power * f32(this.beta2));
  }

  exportState(): AdamState {
    const split = (flat: tf.Tensor1D | null): Float32Array[] => {
      const data = flat ? (flat.dataSync() as Float32Array) : new Float32Array(this.total);
      let off = 0;
      return this.sizes.map((n) => data.slice(off, (off += n)));
    };
    return {
      names: this.vars.map((v) => v.name),
      t: this.t,
      m: split(this.m),
      v: split(this.v),
      loss_scaling_log2: this.loss_scaling_log2,
    };
  }

  importState(state: { t: number; m: readonly ArrayLike<number>[]; v: readonly ArrayLike<number>[]; loss_scaling_log2?: number }): void {
    const { t, m, v } = state;
    if (!Number.isInteger(t) || t < 0) throw new UserError(`${this.name}: optimizer state has an invalid step count ${t}`);
    if (m.length !== this.vars.length || v.length !== this.vars.length) {
      throw new UserError(`${this.name}: optimizer state has ${m.length} moments for ${this.vars.length} variables`);
    }
    const join = (parts: readonly ArrayLike<number>[], what: string): tf.Tensor1D => {
      const flat = new Float32Array(this.total);
      let off = 0;
      parts.forEach((p, i) => {
        if (p.length !== this.sizes[i]) throw new UserError(`${this.name}: optimizer state ${what} of ${this.vars[i]!.name} has ${p.length} values, expected ${this.sizes[i]}`);
        flat.set(p, off);
        off += p.length;
      });
      return tf.tensor1d(flat);
    };
    const mt = join(m, 'm');
    const vt = join(v, 'v');
    this.reset();
    this.m = mt;
    this.v = vt;
    // Replay the float32 power products so they are bit-identical to the uninterrupted run.
    for (let i = 0; i < t; i++) {
      this.beta1_power = f32(this.beta1_power * f32(this.beta1));
      this.beta2_power = f32(this.beta2_power * f32(this.beta2));
    }
    this.t = t;
    if (state.loss_scaling_log2 !== undefined) this.loss_scaling_log2 = f32(state.loss_scaling_log2);
  }

  dispose(): void {
    this.m?.dispose();
    this.v?.dispose();
    this.m = null;
    this.v = null;
  }
}
