// The Network base class: NVIDIA's dnnlib.tflib.Network concept in TypeScript. A network owns
// named variables in creation order under NVIDIA's local names (`4x4/Conv/weight`, `noise0`, `lod`),
// holds sub-networks as `components`, and exposes them flattened as `<component name>/<local name>`
// exactly like G.vars in TF, so pickles and snapshots are a name lookup.
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';

export type VarInit = { normal: number } | 'zeros' | 'ones';

/** One row source of print_layers(): a scope whose variables are those named `<name>/…` (or `<name>`). */
export interface LayerInfo {
  name: string;
  /** Output shape in NVIDIA's (NCHW) convention, null = minibatch dimension. */
  outputShape: readonly (number | null)[];
}

export interface NetworkOptions {
  /** Network name (NVIDIA's `G`, `D`, `Gs`, `G_synthesis`, …). */
  name?: string;
  /** Seed for the variable initialisers; omitted = non-deterministic. */
  seed?: number;
  /**
   * false = skip the random initialisers and zero-fill instead, for networks whose values are about
   * to be loaded (pickles, snapshots, clones): drawing 26M normals at 1024² costs seconds.
   */
  initialize?: boolean;
}

/** Checks a kwargs object against a table of defaults: unknown keys are a user error, like a typo in train.py. */
export function resolveKwargs<T extends object>(what: string, defaults: T, given: object | undefined): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [key, value] of Object.entries(given ?? {})) {
    if (!(key in defaults)) {
      throw new UserError(`${what}: unknown keyword argument '${key}' (accepted: ${Object.keys(defaults).join(', ')})`);
    }
    if (value !== undefined) out[key] = value;
  }
  return out as T;
}

/** Throws a UserError unless value is one of the allowed choices. */
export function checkChoice<T>(what: string, key: string, value: T, choices: readonly T[]): void {
  if (!choices.includes(value)) {
    throw new UserError(`${what}: ${key} must be one of ${choices.map((c) => JSON.stringify(c)).join(', ')}, got ${JSON.stringify(value)}`);
  }
}

/** Formats a shape like TF's TensorShape str: (?, 512, 4, 4), (512,), (). */
export function formatShape(shape: readonly (number | null)[]): string {
  const dims = shape.map((d) => (d === null ? '?' : String(d)));
  return dims.length === 1 ? `(${dims[0]},)` : `(${dims.join(', ')})`;
}

/**
 * Variable.assign shares the new tensor's data, so the temporary must be disposed afterwards or
 * every assignment leaks one tensor handle (and keeps its buffer alive).
 */
export function assignVar(v: tf.Variable, value: tf.Tensor): void {
  v.assign(value);
  value.dispose();
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

export abstract class Network {
  name: string;
  readonly static_kwargs: Readonly<Record<string, unknown>>;
  readonly components: Record<string, Network> = {};
  /** Names and shapes of the inputs/outputs (NVIDIA's NCHW convention, null = minibatch). */
  input_names: string[] = [];
  input_shapes: (number | null)[][] = [];
  output_names: string[] = [];
  output_shapes: (number | null)[][] = [];
  protected readonly ownVars = new Map<string, tf.Variable>();
  protected readonly layerInfos: LayerInfo[] = [];
  private seedCounter: number | undefined;
  protected readonly initialize: boolean;

  protected constructor(defaultName: string, static_kwargs: Record<string, unknown>, opts: NetworkOptions = {}) {
    this.name = opts.name ?? defaultName;
    this.static_kwargs = { ...static_kwargs };
    this.seedCounter = opts.seed;
    this.initialize = opts.initialize ?? true;
  }

  /** A network of the same architecture and kwargs (values zero-filled: clone() copies them in). */
  protected abstract rebuild(name: string): Network;

  /** Called after any of this network's own variables was overwritten from outside (setVar, copy, EMA). */
  protected onVarsAssigned(): void {}

  /** Creates an own variable; creation order is the pickle's `variables` order. */
  makeVar(localName: string, shape: number[], init: VarInit, trainable = true): tf.Variable {
    if (this.ownVars.has(localName)) throw new Error(`${this.name}: variable ${localName} created twice`);
    const value = tf.tidy(() => {
      if (init === 'zeros') return tf.zeros(shape);
      if (init === 'ones') return tf.ones(shape);
      if (!this.initialize) return tf.zeros(shape);
      const seed = this.seedCounter === undefined ? undefined : this.seedCounter++;
      return tf.randomNormal(shape, 0, init.normal, 'float32', seed);
    });
    // tfjs variable names are process-global; G and its clone Gs share local names, so let tfjs
    // pick unique global names and keep NVIDIA's local name in our own map.
    const v = tf.variable(value, trainable);
    value.dispose();
    this.ownVars.set(localName, v);
    return v;
  }

  /** Registers a row of the print_layers() table, in build order. */
  protected addLayer(name: string, outputShape: readonly (number | null)[]): void {
    this.layerInfos.push({ name, outputShape });
  }

  get input_shape(): (number | null)[] {
    return this.input_shapes[0] ?? [];
  }

  get output_shape(): (number | null)[] {
    return this.output_shapes[0] ?? [];
  }

  /** Declares the inputs and outputs (name → shape), as NVIDIA's template graph reports them. */
  protected setIO(inputs: Record<string, (number | null)[]>, outputs: Record<string, (number | null)[]>): void {
    this.input_names = Object.keys(inputs);
    this.input_shapes = Object.values(inputs);
    this.output_names = Object.keys(outputs);
    this.output_shapes = Object.values(outputs);
  }

  /** Rows of print_layers(), with full names (components prefixed). */
  layers(): LayerInfo[] {
    return [...this.layerInfos];
  }

  /** Layers of a component, prefixed with its name, for composing a parent's table. */
  protected componentLayers(key: string): LayerInfo[] {
    const comp = this.components[key]!;
    return comp.layers().map((l) => ({ name: `${comp.name}/${l.name}`, outputShape: l.outputShape }));
  }

  /** Own variables then each component's, as `<component name>/<local name>` (NVIDIA's Network.vars). */
  get vars(): Map<string, tf.Variable> {
    const out = new Map(this.ownVars);
    for (const comp of Object.values(this.components)) {
      for (const [name, v] of comp.vars) out.set(`${comp.name}/${name}`, v);
    }
    return out;
  }

  get own_vars(): Map<string, tf.Variable> {
    return new Map(this.ownVars);
  }

  get trainables(): Map<string, tf.Variable> {
    return new Map([...this.vars].filter(([, v]) => v.trainable));
  }

  /** Number of trainable parameters (print_layers' Total). */
  numParams(): number {
    let n = 0;
    for (const v of this.trainables.values()) n += v.size;
    return n;
  }

  /** Finds the network that owns a full variable name, and the local name inside it. */
  private locate(name: string): [Network, string] | null {
    if (this.ownVars.has(name)) return [this, name];
    for (const comp of Object.values(this.components)) {
      if (name.startsWith(comp.name + '/')) {
        const hit = comp.locate(name.slice(comp.name.length + 1));
        if (hit) return hit;
      }
    }
    return null;
  }

  getVar(name: string): tf.Variable {
    const hit = this.locate(name);
    if (!hit) throw new UserError(`${this.name}: no variable named '${name}'`);
    return hit[0].ownVars.get(hit[1])!;
  }

  /** Overwrites a variable by name, checking the shape (a Float32Array must have the variable's size). */
  setVar(name: string, data: Float32Array | tf.Tensor): void {
    const hit = this.locate(name);
    if (!hit) throw new UserError(`${this.name}: no variable named '${name}'`);
    const [net, local] = hit;
    const v = net.ownVars.get(local)!;
    if (data instanceof Float32Array) {
      if (data.length !== v.size) {
        throw new UserError(`${this.name}: ${name} has shape [${v.shape.join(',')}] (${v.size} values), got ${data.length} values`);
      }
      assignVar(v, tf.tensor(data, v.shape));
    } else {
      if (data.shape.length !== v.shape.length || data.shape.some((d, i) => d !== v.shape[i])) {
        throw new UserError(`${this.name}: ${name} has shape [${v.shape.join(',')}], got [${data.shape.join(',')}]`);
      }
      assignVar(v, tf.tidy(() => tf.cast(data, 'float32')));
    }
    net.onVarsAssigned();
  }

  /** Copies every variable whose name also exists in `src` (NVIDIA's copy_vars_from). */
  copyVarsFrom(src: Network): void {
    this.assignFrom(src, () => 0);
  }

  /**
   * Moving-average update (NVIDIA's setup_as_moving_average_of, run once): trainables become
   * lerp(src, self, beta), non-trainables lerp(src, self, beta_nontrainable) — a plain copy by default.
   */
  setupAsMovingAverageOf(src: Network, beta = 0.99, beta_nontrainable = 0.0): void {
    this.assignFrom(src, (v) => (v.trainable ? beta : beta_nontrainable));
  }

  private assignFrom(src: Network, betaOf: (v: tf.Variable) => number): void {
    const srcVars = src.vars;
    const touched = new Set<Network>();
    for (const [name, v] of this.vars) {
      const s = srcVars.get(name);
      if (!s) continue;
      if (s.shape.some((d, i) => d !== v.shape[i]) || s.rank !== v.rank) {
        throw new UserError(`${this.name}: cannot copy ${name}: shape [${s.shape.join(',')}] into [${v.shape.join(',')}]`);
      }
      const beta = betaOf(v);
      assignVar(v, tf.tidy(() => (beta === 0 ? tf.clone(s) : tf.add(s, tf.mul(tf.sub(v, s), beta)))));
      touched.add(this.locate(name)![0]);
    }
    for (const net of touched) net.onVarsAssigned();
  }

  /** Same architecture and kwargs under a new name, with this network's variable values (NVIDIA's clone). */
  clone(name: string = this.name): Network {
    const net = this.rebuild(name);
    net.copyVarsFrom(this);
    return net;
  }

  /** The text table of NVIDIA's print_layers(): name, params, output shape, weight shape, Total. */
  print_layers(title?: string, hide_layers_with_no_params = false): string {
    const vars = this.vars;
    const rows: string[][] = [[title ?? this.name, 'Params', 'OutputShape', 'WeightShape'], ['---', '---', '---', '---']];
    let total = 0;
    for (const layer of this.layers()) {
      const mine = [...vars].filter(([n]) => n === layer.name || n.startsWith(layer.name + '/'));
      const trainables = mine.filter(([, v]) => v.trainable);
      const params = trainables.reduce((a, [, v]) => a + sizeOf(v.shape), 0);
      let weights = trainables.filter(([n]) => n.endsWith('/weight')).sort((a, b) => a[0].length - b[0].length);
      if (weights.length === 0 && trainables.length === 1) weights = trainables;
      total += params;
      if (hide_layers_with_no_params && params === 0) continue;
      rows.push([layer.name, params > 0 ? String(params) : '-', formatShape(layer.outputShape), weights.length ? formatShape(weights[0]![1].shape) : '-']);
    }
    rows.push(['---', '---', '---', '---'], ['Total', String(total), '', '']);
    const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
    return rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i]!)).join('  ').trimEnd()).join('\n');
  }

  dispose(): void {
    for (const v of this.ownVars.values()) v.dispose();
    this.ownVars.clear();
    for (const comp of Object.values(this.components)) comp.dispose();
  }
}
