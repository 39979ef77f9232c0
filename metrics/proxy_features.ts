// A proxy FID for machines without the official Inception weights: the same Fréchet pipeline
// over the 32-d global-average-pooled features of a small CNN trained on Fashion-MNIST
// (tests/fixtures/make_metrics_proxy.py; weights shipped in tests/fixtures/metrics/proxy_fmnist).
// It is ≈ 0 between two halves of the same data and grows with corruption, which is what the
// pipeline tests need; its values are NOT comparable to published FIDs, and every line that
// reports one says so.
//
// Network: conv3×3(1→8) relu maxpool2 → conv3×3(8→16) relu maxpool2 → conv3×3(16→32) relu →
// mean over H, W. Input: uint8-valued [N, 1, 28, 28] images scaled by 1/255.

import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { FeatureStatistics, frechetDistance, type FrechetResult } from './frechet.ts';
import { registerMetric, type MetricOptions, type MetricOutput } from './metric_base.ts';
import { missingWeights, oihwToHwio, takeWeight, type LayoutEntry, type WeightMap } from './weight_map.ts';

export const PROXY_METRIC_NAME = 'fid_proxy_fmnist';
export const PROXY_NOTE = 'not comparable to published FID';
const WHAT = 'proxy feature network (Fashion-MNIST)';

const CONVS: [string, number, number][] = [['conv1', 1, 8], ['conv2', 8, 16], ['conv3', 16, 32]];

export const PROXY_LAYOUT: readonly LayoutEntry[] = [
  ...CONVS.flatMap(([n, cin, cout]) => [[`${n}.weight`, [cout, cin, 3, 3]], [`${n}.bias`, [cout]]] as LayoutEntry[]),
  ['fc.weight', [10, 32]], ['fc.bias', [10]],
];

/** Reads weights.bin + weights.json as written by make_metrics_proxy.py. */
export function loadProxyWeights(dir: string): WeightMap {
  const meta = JSON.parse(fs.readFileSync(`${dir}/weights.json`, 'utf8')) as { tensors: { name: string; shape: number[]; offset: number }[] };
  const bytes = fs.readFileSync(`${dir}/weights.bin`);
  const all = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
  const map: WeightMap = new Map();
  for (const t of meta.tensors) {
    const n = t.shape.reduce((a, b) => a * b, 1);
    map.set(t.name, { shape: t.shape, data: all.slice(t.offset, t.offset + n) });
  }
  return map;
}

export class ProxyFeatures {
  static readonly featureDim = 32;
  private readonly layers: { filter: tf.Tensor4D; bias: tf.Tensor1D }[] = [];

  constructor(weights: WeightMap) {
    const missing = missingWeights(weights, PROXY_LAYOUT);
    if (missing.length) throw new UserError(`${WHAT}: weights missing: ${missing.join(', ')}`);
    for (const [n, cin, cout] of CONVS) {
      const shape = [cout, cin, 3, 3];
      this.layers.push({
        filter: tf.tensor4d(oihwToHwio(takeWeight(weights, `${n}.weight`, shape, WHAT), shape), [3, 3, cin, cout]),
        bias: tf.tensor1d(takeWeight(weights, `${n}.bias`, [cout], WHAT)),
      });
    }
  }

  /** uint8-valued (or float, in [0, 255]) [N, 1, 28, 28] → [N, 32]. */
  features(images: tf.Tensor4D): tf.Tensor2D {
    return tf.tidy(() => {
      let x = tf.div(tf.transpose(tf.cast(images, 'float32'), [0, 2, 3, 1]), 255) as tf.Tensor4D;
      this.layers.forEach((l, i) => {
        x = tf.relu(tf.add(tf.conv2d(x, l.filter, 1, 'same'), l.bias)) as tf.Tensor4D;
        if (i < 2) x = tf.maxPool(x, 2, 2, 'valid');
      });
      return tf.mean(x, [1, 2]) as tf.Tensor2D;
    });
  }

  dispose(): void {
    for (const l of this.layers) { l.filter.dispose(); l.bias.dispose(); }
  }
}

/** Reads an idx3 image file (optionally gzipped), as MNIST/Fashion-MNIST ship: uint8 [N, H, W]. */
export function readIdxImages(file: string): { count: number; height: number; width: number; data: Uint8Array } {
  let buf = fs.readFileSync(file);
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = zlib.gunzipSync(buf);
  if (buf.length < 16 || buf[0] !== 0 || buf[1] !== 0 || buf[2] !== 0x08 || buf[3] !== 3) {
    throw new UserError(`${file}: not an idx3 uint8 image file`);
  }
  const count = buf.readUInt32BE(4), height = buf.readUInt32BE(8), width = buf.readUInt32BE(12);
  if (buf.length !== 16 + count * height * width) throw new UserError(`${file}: truncated idx file`);
  return { count, height, width, data: new Uint8Array(buf.buffer, buf.byteOffset + 16, count * height * width) };
}

/** Feature statistics of image batches ([N,1,28,28] each) through the proxy network. */
export function proxyStatistics(net: ProxyFeatures, batches: Iterable<tf.Tensor4D>): FeatureStatistics {
  const acc = new FeatureStatistics(ProxyFeatures.featureDim);
  for (const b of batches) {
    const f = net.features(b);
    acc.append(f.dataSync());
    f.dispose();
  }
  return acc;
}

/** The proxy FID between two image sets, given as batches of [N, 1, 28, 28]. */
export function proxyFid(net: ProxyFeatures, a: Iterable<tf.Tensor4D>, b: Iterable<tf.Tensor4D>, warn?: (m: string) => void): FrechetResult {
  return frechetDistance(proxyStatistics(net, a).finalize(), proxyStatistics(net, b).finalize(), { warn });
}

/** Registered form: options `weightsDir`, `reals` and `fakes` (iterables of image batches). */
function proxyMetric(opts: MetricOptions & Record<string, unknown>): MetricOutput {
  const { weightsDir, reals, fakes } = opts as { weightsDir?: string; reals?: Iterable<tf.Tensor4D>; fakes?: Iterable<tf.Tensor4D> };
  if (!weightsDir || !reals || !fakes) throw new UserError(`${PROXY_METRIC_NAME} needs weightsDir, reals and fakes`);
  const net = new ProxyFeatures(loadProxyWeights(weightsDir));
  try {
    const r = proxyFid(net, reals, fakes);
    return {
      results: [{ value: r.distance, suffix: '', note: PROXY_NOTE }],
      pipeline: {
        weights: [{ name: 'proxy_fmnist', file: `${weightsDir}/weights.bin`, sha256: null }],
        resize: 'none (28×28 grayscale)', dtype: 'float32 network, float64 statistics', notes: [PROXY_NOTE],
      },
    };
  } finally {
    net.dispose();
  }
}

registerMetric(PROXY_METRIC_NAME, proxyMetric);
