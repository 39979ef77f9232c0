// Linear separability (linear_separability.py): how well a linear SVM in z or w predicts each of
// the 40 CelebA-HQ attributes that the attribute classifiers see in generated images. This file
// holds the pure scoring (confidence pruning, the 2×2 joint, conditional entropy, 2^ΣH) and the
// sampling loop over a generator and the 40 classifiers, both given as callables.

import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { LinearSVC } from './linear_svc.ts';
import { registerMetric, type MetricOptions, type MetricOutput, type WeightsInfo } from './metric_base.ts';
import { downsampleTo } from './perceptual_path_length.ts';

/**
 * The num_keep most confident samples: NVIDIA sorts indices by −max(p) with Python's stable
 * sort, so ties keep their original order. probs is [N, 2] row-major softmax([l, −l]).
 */
export function mostConfident(probs: ArrayLike<number>, numKeep: number): number[] {
  const n = probs.length / 2;
  const idx = Array.from({ length: n }, (_, i) => i);
  const conf = idx.map((i) => Math.max(probs[2 * i], probs[2 * i + 1]));
  idx.sort((a, b) => conf[b] - conf[a] || a - b);
  return idx.slice(0, numKeep);
}

/** argmax over [p0, p1] per row; 0 (l > 0) wins ties, as np.argmax returns the first maximum. */
export function argmaxTargets(probs: ArrayLike<number>, indices: number[]): Uint8Array {
  return Uint8Array.from(indices, (i) => (probs[2 * i + 1] > probs[2 * i] ? 1 : 0));
}

/** p[row = svm prediction][col = target] as frequencies (NVIDIA's list comprehension). */
export function jointFrequencies(predictions: ArrayLike<number>, targets: ArrayLike<number>): number[][] {
  const n = targets.length;
  const p = [[0, 0], [0, 0]];
  for (let i = 0; i < n; i++) p[predictions[i]][targets[i]] += 1;
  return p.map((row) => row.map((c) => c / n));
}

function probNormalize(p: number[][]): number[][] {
  const s = p.flat().reduce((a, b) => a + b, 0);
  return p.map((row) => row.map((v) => v / s));
}

/** H(p) in bits over all cells. */
export function entropy(p: number[][]): number {
  let r = 0;
  for (const v of probNormalize(p).flat()) if (v > 0) r -= v * Math.log2(v);
  return r;
}

/** I(X;Y) in bits, X along rows, Y along columns. */
export function mutualInformation(p: number[][]): number {
  const q = probNormalize(p);
  const px = q.map((row) => row.reduce((a, b) => a + b, 0));
  const py = q[0].map((_, y) => q.reduce((a, row) => a + row[y], 0));
  let r = 0;
  for (let x = 0; x < q.length; x++) for (let y = 0; y < q[x].length; y++) {
    const v = q[x][y];
    if (v > 0) r += v * Math.log2(v / (px[x] * py[y]));
  }
  return r;
}

/** H(Y|X) = max(0, H(Y) − I(X;Y)): bits still needed for the target given the SVM's answer. */
export function conditionalEntropy(p: number[][]): number {
  const q = probNormalize(p);
  const py = [q[0].map((_, y) => q.reduce((a, row) => a + row[y], 0))];
  return Math.max(0, entropy(py) - mutualInformation(q));
}

/** The reported score: 2^(Σ over attributes of H(Y|X)) — the paper's exp(Σ H) in nats. */
export function separabilityScore(conditionalEntropies: number[]): number {
  return 2 ** conditionalEntropies.reduce((a, b) => a + b, 0);
}

// ---------------------------------------------------------------------------------------------

export interface LSGenerator {
  latentSize: number;
  /** z [N, latentSize] → dlatents [N, numLayers, dlatentSize], no truncation. */
  mapping(z: tf.Tensor2D): tf.Tensor3D;
  /** dlatents → images [N, C, H, W] in [−1, 1], randomize_noise=True. */
  synthesis(dlatents: tf.Tensor3D): tf.Tensor4D;
}

/** One attribute classifier: images [N, 3, 256, 256] in [−1, 1] → N logits (l > 0: attribute 0 side). */
export type AttributeClassifier = (images: tf.Tensor4D) => Float32Array | Promise<Float32Array>;

export interface LSConfig {
  numSamples: number;
  numKeep: number;
  attribIndices: number[];
  minibatch: number;
  generator: LSGenerator;
  classifier: (attribIndex: number) => AttributeClassifier;
  randn: (count: number) => Float64Array;
  /** Resolution the classifiers take (NVIDIA: 256). */
  classifierResolution?: number;
}

export interface LSResult {
  ls_z: number;
  ls_w: number;
  /** H(Y|X) per attribute, in the order of attribIndices. */
  entropies: { z: number[]; w: number[] };
}

/** softmax([l, −l]) per logit, rows [p0, p1] (p0 > 0.5 when l > 0), in float32 as TF computes it. */
export function attributeProbabilities(logits: ArrayLike<number>): Float32Array {
  const p = new Float32Array(2 * logits.length);
  for (let i = 0; i < logits.length; i++) {
    const p0 = Math.fround(1 / (1 + Math.exp(-2 * logits[i])));
    p[2 * i] = p0;
    p[2 * i + 1] = Math.fround(1 - p0);
  }
  return p;
}

/** NVIDIA's LS: sample, classify, prune to the most confident, fit a LinearSVC in z and in w. */
export async function computeLS(cfg: LSConfig): Promise<LSResult> {
  if (cfg.numKeep > cfg.numSamples) throw new UserError(`LS: num_keep ${cfg.numKeep} > num_samples ${cfg.numSamples}`);
  const Z = cfg.generator.latentSize;
  const total = Math.ceil(cfg.numSamples / cfg.minibatch) * cfg.minibatch;
  const zs = new Float32Array(total * Z);
  let wDim = 0;
  let ws = new Float32Array(0);
  const probs = new Map(cfg.attribIndices.map((a) => [a, new Float32Array(total * 2)] as const));
  const classifiers = new Map(cfg.attribIndices.map((a) => [a, cfg.classifier(a)] as const));
  for (let done = 0; done < total; done += cfg.minibatch) {
    const B = cfg.minibatch;
    const z = Float32Array.from(cfg.randn(B * Z));
    zs.set(z, done * Z);
    const [wLast, images] = tf.tidy(() => {
      const dl = cfg.generator.mapping(tf.tensor2d(z, [B, Z]));
      const [, L, D] = dl.shape;
      const last = tf.reshape(tf.slice(dl, [0, L - 1, 0], [B, 1, D]), [B, D]) as tf.Tensor2D; // dlatents[:, -1]
      return [last, downsampleTo(cfg.generator.synthesis(dl), cfg.classifierResolution ?? 256)] as const;
    });
    if (wDim === 0) { wDim = wLast.shape[1]!; ws = new Float32Array(total * wDim); }
    ws.set(wLast.dataSync(), done * wDim);
    for (const a of cfg.attribIndices) {
      probs.get(a)!.set(attributeProbabilities(await classifiers.get(a)!(images)), 2 * done);
    }
    tf.dispose([wLast, images]);
  }
  const entropies = { z: [] as number[], w: [] as number[] };
  for (const a of cfg.attribIndices) {
    const p = probs.get(a)!.subarray(0, cfg.numSamples * 2);
    const keep = mostConfident(p, cfg.numKeep);
    const targets = argmaxTargets(p, keep);
    for (const [space, data, dim] of [['z', zs, Z], ['w', ws, wDim]] as const) {
      const X = new Float32Array(keep.length * dim);
      keep.forEach((idx, r) => X.set(data.subarray(idx * dim, (idx + 1) * dim), r * dim));
      let predictions: ArrayLike<number>;
      try {
        predictions = LinearSVC.fit(X, targets, dim).predict(X);
      } catch {
        predictions = targets; // NVIDIA: "assume perfect prediction"
      }
      entropies[space].push(conditionalEntropy(jointFrequencies(predictions, targets)));
    }
  }
  return { ls_z: separabilityScore(entropies.z), ls_w: separabilityScore(entropies.w), entropies };
}

/** Registered form (ls): generator, classifier, randn and classifier weights come from run_metrics. */
async function lsMetric(opts: MetricOptions & Record<string, unknown>): Promise<MetricOutput> {
  const o = opts as unknown as Partial<LSConfig> & { num_samples: number; num_keep: number; attrib_indices: number[]; minibatch_per_gpu: number; classifierWeights?: WeightsInfo[] };
  if (!o.generator || !o.classifier || !o.randn) {
    throw new UserError('LS needs a generator and the 40 CelebA-HQ attribute classifiers (--classifiers DIR); pass them through run_metrics');
  }
  const r = await computeLS({ numSamples: o.num_samples, numKeep: o.num_keep, attribIndices: o.attrib_indices, minibatch: o.minibatch_per_gpu,
    generator: o.generator, classifier: o.classifier, randn: o.randn });
  return {
    results: [{ value: r.ls_z, suffix: '_z' }, { value: r.ls_w, suffix: '_w' }],
    pipeline: {
      weights: o.classifierWeights ?? [],
      numImages: o.num_samples,
      resize: 'box-downsample to 256',
      dtype: 'float32 networks and features, float64 SVM',
      svm: 'LinearSVC C=1 squared hinge L2 dual tol 1e-4 max_iter 1000 (liblinear dual CD, own shuffle)',
      entropies: r.entropies,
    },
  };
}

registerMetric('ls', lsMetric, { num_samples: 200000, num_keep: 100000, attrib_indices: Array.from({ length: 40 }, (_, i) => i), minibatch_per_gpu: 4 });
