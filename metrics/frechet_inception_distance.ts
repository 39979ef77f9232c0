// FID (frechet_inception_distance.py): statistics of the first num_images reals (cached, keyed
// like NVIDIA's) and of num_images fakes drawn from z ~ N(0, I), both through the same feature
// network, then the Fréchet distance. The generator, the reals and the feature network are
// passed in, so a TF pickle's Gs, our own G_style or a test stub all plug in.

import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { writeFileAtomic } from '../dnnlib/atomic.ts';
import { FeatureStatistics, frechetDistance, type GaussianStats } from './frechet.ts';
import { convertImagesToUint8Tensor, registerMetric, type MetricOptions, type MetricOutput, type WeightsInfo } from './metric_base.ts';

/** A network mapping uint8-valued NCHW images to feature vectors (Inception pool3, the proxy net). */
export interface FeatureNetwork {
  dim: number;
  features(imagesUint8: tf.Tensor4D): tf.Tensor2D;
  weights: WeightsInfo;
  /** e.g. 'bilinear tf1-legacy to 299x299, (x-128)/128'. */
  inputPipeline: string;
}

export interface FIDConfig {
  numImages: number;
  minibatch: number;
  net: FeatureNetwork;
  /** Real images as uint8-valued NCHW batches in dataset order (mirrored at random if the dataset is). */
  reals: () => AsyncIterable<tf.Tensor4D> | Iterable<tf.Tensor4D>;
  /** n fake images in [−1, 1], NCHW: Gs(z ~ N(0, I)), no truncation, random noise. */
  generate: (n: number) => tf.Tensor4D | Promise<tf.Tensor4D>;
  /** Where real statistics are cached (metric_base.realsCacheFile), or null for no cache. */
  cacheFile: string | null;
  warn?: (message: string) => void;
}

/** Runs the FID pipeline; returns the distance and how the real statistics were obtained. */
export async function computeFID(cfg: FIDConfig): Promise<{ fid: number; realsFromCache: boolean }> {
  let real: GaussianStats | null = cfg.cacheFile ? readStats(cfg.cacheFile) : null;
  const realsFromCache = real !== null;
  if (!real) {
    const acc = new FeatureStatistics(cfg.net.dim);
    for await (const batch of cfg.reals()) {
      const take = Math.min(batch.shape[0], cfg.numImages - acc.count);
      const part = take < batch.shape[0] ? tf.slice(batch, [0, 0, 0, 0], [take, -1, -1, -1]) : batch;
      const f = cfg.net.features(part);
      acc.append(f.dataSync());
      tf.dispose(part === batch ? [f] : [f, part]);
      if (acc.count >= cfg.numImages) break;
    }
    if (acc.count < cfg.numImages) throw new UserError(`FID needs ${cfg.numImages} real images, the dataset gave ${acc.count}`);
    real = acc.finalize();
    if (cfg.cacheFile) writeStats(cfg.cacheFile, real);
  }
  const fake = new FeatureStatistics(cfg.net.dim);
  while (fake.count < cfg.numImages) {
    const n = Math.min(cfg.minibatch, cfg.numImages - fake.count);
    const images = await cfg.generate(n);
    const f = tf.tidy(() => cfg.net.features(convertImagesToUint8Tensor(images)));
    fake.append(f.dataSync());
    tf.dispose([images, f]);
  }
  // NVIDIA: sqrtm(sigma_fake · sigma_real), fakes first.
  const r = frechetDistance(fake.finalize(), real, { warn: cfg.warn });
  return { fid: r.distance, realsFromCache };
}

// Real statistics on disk: 'FIDSTATS' magic, uint32 dim, float64 count, then μ and Σ as
// little-endian float64 (NVIDIA pickles (mu, sigma); we keep a format that needs no pickle writer).
const MAGIC = Buffer.from('FIDSTATS');

export function writeStats(file: string, s: GaussianStats): void {
  const head = Buffer.alloc(MAGIC.length + 4 + 8);
  MAGIC.copy(head, 0);
  head.writeUInt32LE(s.dim, MAGIC.length);
  head.writeDoubleLE(s.count, MAGIC.length + 4);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writeFileAtomic(file, Buffer.concat([head, Buffer.from(s.mu.buffer, s.mu.byteOffset, s.mu.byteLength), Buffer.from(s.sigma.buffer, s.sigma.byteOffset, s.sigma.byteLength)]));
}

export function readStats(file: string): GaussianStats | null {
  if (!fs.existsSync(file)) return null;
  const b = fs.readFileSync(file);
  const hl = MAGIC.length + 12;
  if (b.length < hl || !b.subarray(0, MAGIC.length).equals(MAGIC)) throw new UserError(`${file}: not a statistics cache file (delete it to recompute)`);
  const dim = b.readUInt32LE(MAGIC.length), count = b.readDoubleLE(MAGIC.length + 4);
  if (b.length !== hl + 8 * (dim + dim * dim)) throw new UserError(`${file}: truncated statistics cache (delete it to recompute)`);
  const all = new Float64Array(b.buffer.slice(b.byteOffset + hl, b.byteOffset + b.length));
  return { dim, count, mu: all.slice(0, dim), sigma: all.slice(dim) };
}

/** Registered form (fid50k): options net, reals, generate, cacheFile come from run_metrics. */
async function fidMetric(opts: MetricOptions & Record<string, unknown>): Promise<MetricOutput> {
  const o = opts as unknown as Partial<FIDConfig> & { num_images: number; minibatch_per_gpu: number };
  if (!o.net || !o.reals || !o.generate) {
    throw new UserError('FID needs a feature network, the real images and a generator; pass them through run_metrics');
  }
  const r = await computeFID({ numImages: o.num_images, minibatch: o.minibatch_per_gpu, net: o.net, reals: o.reals, generate: o.generate, cacheFile: o.cacheFile ?? null, warn: o.warn });
  return {
    results: [{ value: r.fid, suffix: '' }],
    pipeline: {
      weights: [o.net.weights],
      numImages: o.num_images,
      resize: o.net.inputPipeline,
      dtype: 'float32 network, float64 statistics and Fréchet distance',
      fakes: 'z ~ N(0, I), no truncation, random noise, convert_images_to_uint8 (round half up)',
      realsCache: o.cacheFile ? { file: o.cacheFile, hit: r.realsFromCache } : null,
    },
  };
}

registerMetric('fid50k', fidMetric, { num_images: 50000, minibatch_per_gpu: 8 });
