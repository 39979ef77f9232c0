// Perceptual path length (perceptual_path_length.py): the LPIPS distance between images generated
// from two latents ε apart along an interpolation path, scaled by 1/ε², with the 1%/99% outliers
// dropped. This file holds the pure pieces (slerp, face crop, box downsample, outlier filter) and
// the sampling loop over a generator given as callables, so any G (TF pickle, our own nets) plugs in.
// StyleGAN2's version of the file adds a `crop` switch (its ppl2_wend turns the face crop off, for
// datasets that are not aligned faces) and evaluates G the same way: mapping without truncation,
// synthesis with randomize_noise=False and the noise re-drawn once per minibatch, float32.

import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { registerMetric, type MetricOptions, type MetricOutput, type WeightsInfo } from './metric_base.ts';

/** Rows of `v` ([n, dim], row-major) scaled to unit length (NVIDIA's normalize). */
export function normalizeRows(v: Float64Array, dim: number): Float64Array {
  const out = new Float64Array(v.length);
  for (let r = 0; r < v.length / dim; r++) {
    let s = 0;
    for (let j = 0; j < dim; j++) s += v[r * dim + j] ** 2;
    const inv = 1 / Math.sqrt(s);
    for (let j = 0; j < dim; j++) out[r * dim + j] = v[r * dim + j] * inv;
  }
  return out;
}

/**
 * NVIDIA's slerp: a, b normalised; d = a·b; p = t·acos(d); c = normalize(b − d·a);
 * result = normalize(a·cos p + c·sin p). One t per row. Computed in float64.
 */
export function slerp(a: Float64Array, b: Float64Array, t: ArrayLike<number>, dim: number): Float64Array {
  const an = normalizeRows(a, dim), bn = normalizeRows(b, dim);
  const n = a.length / dim;
  const out = new Float64Array(a.length);
  const c = new Float64Array(dim);
  for (let r = 0; r < n; r++) {
    const o = r * dim;
    let d = 0;
    for (let j = 0; j < dim; j++) d += an[o + j] * bn[o + j];
    const p = t[r] * Math.acos(d);
    for (let j = 0; j < dim; j++) c[j] = bn[o + j] - d * an[o + j];
    const cn = normalizeRows(c, dim);
    const cp = Math.cos(p), sp = Math.sin(p);
    for (let j = 0; j < dim; j++) out[o + j] = an[o + j] * cp + cn[j] * sp;
  }
  return normalizeRows(out, dim);
}

/** tflib.lerp: a + (b − a)·t, one t per row. */
export function lerp(a: Float64Array, b: Float64Array, t: ArrayLike<number>, rowLength: number): Float64Array {
  const out = new Float64Array(a.length);
  for (let i = 0; i < a.length; i++) {
    const tr = t[Math.floor(i / rowLength)];
    out[i] = a[i] + (b[i] - a[i]) * tr;
  }
  return out;
}

/** The face crop (always on in v1; StyleGAN2's `crop`): c = H//8, rows 3c..7c, columns 2c..6c (NCHW). */
export function cropFace(images: tf.Tensor4D): tf.Tensor4D {
  const [, ch, h, w] = images.shape;
  const c = Math.floor(h / 8);
  return tf.slice(images, [0, 0, 3 * c, 2 * c], [-1, ch, 4 * c, Math.min(4 * c, w - 2 * c)]);
}

/**
 * Box-average down by the integer factor H//target when H > target (NCHW), as PPL and LS do
 * before their 256² networks; smaller images pass through unchanged.
 */
export function downsampleTo(images: tf.Tensor4D, target = 256): tf.Tensor4D {
  const [n, ch, h, w] = images.shape;
  if (h <= target) return images;
  const f = Math.floor(h / target);
  return tf.tidy(() => tf.mean(tf.reshape(images, [n, ch, Math.floor(h / f), f, Math.floor(w / f), f]), [3, 5]) as tf.Tensor4D);
}

/** numpy.percentile(v, q, method='lower' | 'higher'). */
export function percentile(sorted: Float64Array, q: number, method: 'lower' | 'higher'): number {
  const pos = (q / 100) * (sorted.length - 1);
  // numpy computes the virtual index in float64 and floors/ceils it.
  return sorted[method === 'lower' ? Math.floor(pos) : Math.ceil(pos)];
}

/** NVIDIA's outlier rejection: keep lo ≤ d ≤ hi (1st 'lower', 99th 'higher' percentiles), mean. */
export function filteredMean(distances: ArrayLike<number>): { mean: number; lo: number; hi: number; kept: number } {
  const v = Float64Array.from(distances);
  const sorted = v.slice().sort();
  const lo = percentile(sorted, 1, 'lower');
  const hi = percentile(sorted, 99, 'higher');
  let s = 0, kept = 0;
  // Summed in the original order, as np.mean(np.extract(...)) does (pairwise summation aside).
  for (const d of v) if (lo <= d && d <= hi) { s += d; kept++; }
  return { mean: s / kept, lo, hi, kept };
}

// ---------------------------------------------------------------------------------------------
// The sampling loop. The generator and the distance network are callables so this file does not
// depend on how they are loaded.

export interface PPLGenerator {
  /** Length of z. */
  latentSize: number;
  /** z [N, latentSize] → dlatents [N, numLayers, dlatentSize], no truncation. */
  mapping(z: tf.Tensor2D): tf.Tensor3D;
  /** dlatents → images [N, C, H, W] in [−1, 1] with the current noise (randomize_noise=False). */
  synthesis(dlatents: tf.Tensor3D): tf.Tensor4D;
  /** Re-draws the noise inputs; called once per minibatch so a whole minibatch shares noise. */
  reinitNoise(): void;
}

/** LPIPS-like: two [N, C, H, W] image batches in [0, 255] → N distances. */
export type DistanceFn = (img0: tf.Tensor4D, img1: tf.Tensor4D) => Promise<Float32Array> | Float32Array;

export interface PPLConfig {
  numSamples: number;
  epsilon: number;
  space: 'z' | 'w';
  sampling: 'full' | 'end';
  /** The face crop before downsampling (v1 always; StyleGAN2's ppl2_wend: false). */
  crop: boolean;
  minibatch: number;
  generator: PPLGenerator;
  distance: DistanceFn;
  /** Standard normal and uniform [0,1) sources (e.g. dnnlib/random.ts). */
  randn: (count: number) => Float64Array;
  rand: (count: number) => Float64Array;
  /** Resolution the distance network expects (NVIDIA: 256). */
  distanceResolution?: number;
}

/** Runs the PPL sampling loop; returns all scaled distances (before outlier rejection). */
export async function samplePathLengths(cfg: PPLConfig): Promise<Float64Array> {
  const G = cfg.generator, B = cfg.minibatch, Z = G.latentSize;
  const out = new Float64Array(Math.ceil(cfg.numSamples / B) * B);
  for (let done = 0; done < cfg.numSamples; done += B) {
    const z = cfg.randn(2 * B * Z);
    const t = cfg.sampling === 'full' ? cfg.rand(B) : new Float64Array(B); // 'end': U[0,0) = 0
    const tEps = t.map((v) => v + cfg.epsilon);
    const z0 = new Float64Array(B * Z), z1 = new Float64Array(B * Z);
    for (let i = 0; i < B; i++) {
      z0.set(z.subarray(2 * i * Z, (2 * i + 1) * Z), i * Z);
      z1.set(z.subarray((2 * i + 1) * Z, (2 * i + 2) * Z), i * Z);
    }
    G.reinitNoise();
    const dist = tf.tidy(() => {
      let dl: tf.Tensor3D;
      if (cfg.space === 'w') {
        const w = G.mapping(tf.tensor2d(Float32Array.from(z), [2 * B, Z]));
        const [, L, D] = w.shape;
        const wd = Float64Array.from(w.dataSync());
        const w0 = new Float64Array(B * L * D), w1 = new Float64Array(B * L * D);
        for (let i = 0; i < B; i++) {
          w0.set(wd.subarray(2 * i * L * D, (2 * i + 1) * L * D), i * L * D);
          w1.set(wd.subarray((2 * i + 1) * L * D, (2 * i + 2) * L * D), i * L * D);
        }
        dl = interleave(lerp(w0, w1, t, L * D), lerp(w0, w1, tEps, L * D), B, [L, D]) as tf.Tensor3D;
      } else {
        const e = interleave(slerp(z0, z1, t, Z), slerp(z0, z1, tEps, Z), B, [Z]) as tf.Tensor2D;
        dl = G.mapping(e);
      }
      let images = G.synthesis(dl);
      if (cfg.crop) images = cropFace(images);
      images = downsampleTo(images, cfg.distanceResolution ?? 256);
      images = tf.mul(tf.add(images, 1), 255 / 2);
      const [, C, H, W] = images.shape;
      const pairs = tf.reshape(images, [B, 2, C, H, W]);
      const img0 = tf.reshape(tf.slice(pairs, [0, 0], [B, 1]), [B, C, H, W]) as tf.Tensor4D;
      const img1 = tf.reshape(tf.slice(pairs, [0, 1], [B, 1]), [B, C, H, W]) as tf.Tensor4D;
      return [tf.keep(img0), tf.keep(img1)] as const;
    });
    try {
      const d = await cfg.distance(dist[0], dist[1]);
      for (let i = 0; i < B; i++) out[done + i] = d[i] * (1 / cfg.epsilon ** 2);
    } finally {
      dist[0].dispose();
      dist[1].dispose();
    }
  }
  return out.subarray(0, cfg.numSamples);
}

/** Rows (e0[0], e1[0], e0[1], e1[1], ...) as NVIDIA's stack+reshape builds them. */
function interleave(e0: Float64Array, e1: Float64Array, B: number, rowShape: number[]): tf.Tensor {
  const len = e0.length / B;
  const out = new Float32Array(2 * e0.length);
  for (let i = 0; i < B; i++) {
    out.set(e0.subarray(i * len, (i + 1) * len), 2 * i * len);
    out.set(e1.subarray(i * len, (i + 1) * len), (2 * i + 1) * len);
  }
  return tf.tensor(out, [2 * B, ...rowShape]);
}

/** Registered form: needs a generator and an LPIPS network in the options (run_metrics.ts). */
async function pplMetric(opts: MetricOptions & Record<string, unknown>): Promise<MetricOutput> {
  const cfg = opts as unknown as Partial<PPLConfig> & { distanceWeights?: WeightsInfo | WeightsInfo[]; num_samples: number; epsilon: number; space: 'z' | 'w'; sampling: 'full' | 'end'; crop: boolean; minibatch_per_gpu: number };
  if (!cfg.generator || !cfg.distance || !cfg.randn || !cfg.rand) {
    throw new UserError('perceptual path length needs a generator and the LPIPS network (vgg16_zhang_perceptual); pass them through run_metrics');
  }
  const d = await samplePathLengths({
    numSamples: cfg.num_samples, epsilon: cfg.epsilon, space: cfg.space, sampling: cfg.sampling, crop: cfg.crop,
    minibatch: cfg.minibatch_per_gpu, generator: cfg.generator, distance: cfg.distance, randn: cfg.randn, rand: cfg.rand,
  });
  const r = filteredMean(d);
  return {
    results: [{ value: r.mean, suffix: '' }],
    pipeline: {
      weights: cfg.distanceWeights === undefined ? [] : [cfg.distanceWeights].flat(),
      numImages: cfg.num_samples,
      resize: `${cfg.crop ? 'face crop (rows 3c..7c, cols 2c..6c, c=H//8)' : 'no crop'}, box-downsample to 256 when larger`,
      dtype: 'float32 networks, float64 slerp and statistics',
      outliers: { lo: r.lo, hi: r.hi, kept: r.kept },
    },
  };
}

/** NVIDIA's PPL metrics and their kwargs: v1's metric_base.py, and StyleGAN2's metric_defaults.py for ppl2_wend. */
export const PPL_METRICS: Readonly<Record<string, { num_samples: number; epsilon: number; space: 'z' | 'w'; sampling: 'full' | 'end'; crop: boolean; minibatch_per_gpu: number }>> = {
  ppl_zfull: { num_samples: 100000, epsilon: 1e-4, space: 'z', sampling: 'full', crop: true, minibatch_per_gpu: 16 },
  ppl_wfull: { num_samples: 100000, epsilon: 1e-4, space: 'w', sampling: 'full', crop: true, minibatch_per_gpu: 16 },
  ppl_zend: { num_samples: 100000, epsilon: 1e-4, space: 'z', sampling: 'end', crop: true, minibatch_per_gpu: 16 },
  ppl_wend: { num_samples: 100000, epsilon: 1e-4, space: 'w', sampling: 'end', crop: true, minibatch_per_gpu: 16 },
  // StyleGAN2 (Gs_overrides dtype/mapping_dtype float32: every network here runs in float32).
  ppl2_wend: { num_samples: 50000, epsilon: 1e-4, space: 'w', sampling: 'end', crop: false, minibatch_per_gpu: 4 },
};

/** Whether a metric name is one of the PPL variants (they need a style generator and LPIPS). */
export function isPPLMetric(name: string): boolean {
  return Object.hasOwn(PPL_METRICS, name);
}

for (const [name, kwargs] of Object.entries(PPL_METRICS)) registerMetric(name, pplMetric, { ...kwargs });
