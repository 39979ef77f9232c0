import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { calcMetric, realsCacheFile, resultLine } from '../metrics/metric_base.ts';
import { computeFID, readStats } from '../metrics/frechet_inception_distance.ts';
import { loadProxyWeights, proxyFid, ProxyFeatures, readIdxImages, PROXY_METRIC_NAME } from '../metrics/proxy_features.ts';
import { detUniform, loadFixture } from './fixtures/metrics/det_random.ts';

const DIR = fileURLToPath(new URL('./fixtures/metrics/proxy_fmnist', import.meta.url));
const images = readIdxImages(`${DIR}/t10k-1000-images-idx3-ubyte.gz`);
const PIX = images.height * images.width;

/** Images [from, to) as float batches of at most 250, optionally with N(0, σ·255) noise, clipped. */
function batches(from: number, to: number, sigma = 0, seed = 0): tf.Tensor4D[] {
  const out: tf.Tensor4D[] = [];
  for (let s = from; s < to; s += 250) {
    const e = Math.min(to, s + 250);
    const x = Float32Array.from(images.data.subarray(s * PIX, e * PIX));
    if (sigma > 0) {
      // Box–Muller on deterministic uniforms, so the test never depends on a random stream.
      const u = detUniform(seed + s, 2 * x.length);
      for (let i = 0; i < x.length; i++) {
        const u1 = (u[2 * i] + 1) / 2 || Number.MIN_VALUE, u2 = (u[2 * i + 1] + 1) / 2;
        const z = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
        x[i] = Math.min(255, Math.max(0, x[i] + sigma * 255 * z));
      }
    }
    out.push(tf.tensor4d(x, [e - s, 1, images.height, images.width]));
  }
  return out;
}

test('proxy network matches its PyTorch original on 4 Fashion-MNIST images', async () => {
  await useTestBackend();
  const ref = loadFixture<{ features: number[] }>('proxy_fmnist/reference.json');
  const net = new ProxyFeatures(loadProxyWeights(DIR));
  const [x] = batches(0, 4);
  const f = net.features(x).dataSync();
  let abs = 0, scale = 0;
  ref.features.forEach((v, i) => { abs = Math.max(abs, Math.abs(f[i] - v)); scale = Math.max(scale, Math.abs(v)); });
  assert.ok(abs / scale < 1e-5, `max rel error ${abs / scale}`);
  net.dispose();
  x.dispose();
});

test('proxy FID ≈ 0 between two halves of Fashion-MNIST and grows with added noise', async () => {
  await useTestBackend();
  assert.equal(images.count, 1000);
  const net = new ProxyFeatures(loadProxyWeights(DIR));
  const a = batches(0, 500);
  const fids: number[] = [];
  for (const sigma of [0, 0.1, 0.2, 0.4]) {
    const b = batches(500, 1000, sigma, 1000);
    fids.push(proxyFid(net, a, b).distance);
    tf.dispose(b);
  }
  console.log(`# ${PROXY_METRIC_NAME} (not comparable to published FID): halves ${fids[0].toFixed(4)}, σ=0.1 ${fids[1].toFixed(4)}, σ=0.2 ${fids[2].toFixed(4)}, σ=0.4 ${fids[3].toFixed(4)}`);
  for (let i = 1; i < fids.length; i++) assert.ok(fids[i] > fids[i - 1], `not increasing: ${fids}`);
  // Two halves of one distribution differ only by sampling noise: far below the mildest corruption.
  assert.ok(fids[0] < 0.1 * fids[1], `halves ${fids[0]} vs σ=0.1 ${fids[1]}`);
  tf.dispose(a);
  net.dispose();
});

test('the proxy metric is labelled as not comparable to published FID', async () => {
  await useTestBackend();
  const reals = batches(0, 200), fakes = batches(200, 400);
  const r = await calcMetric(PROXY_METRIC_NAME, { weightsDir: DIR, reals, fakes, networkPkl: 'fmnist-halves' });
  const line = resultLine(r);
  assert.match(line, /^fmnist-halves +time \S+ +fid_proxy_fmnist \d+\.\d{4} +\(not comparable to published FID\)$/);
  assert.deepEqual(r.pipeline.notes, ['not comparable to published FID']);
  tf.dispose([...reals, ...fakes]);
});

test('FID loop: reals statistics cached under NVIDIA\'s key, fakes through convert_images_to_uint8', async () => {
  await useTestBackend();
  const net = new ProxyFeatures(loadProxyWeights(DIR));
  const featureNet = { dim: 32, features: (x: tf.Tensor4D) => net.features(x), weights: { name: 'proxy_fmnist', file: 'weights.bin', sha256: null }, inputPipeline: 'none' };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fid-'));
  const cacheFile = realsCacheFile({ cacheDir: dir, metricName: 'fid_test', mirrorAugment: false, datasetArgs: { tfrecord_dir: 'fmnist', shuffle_mb: 0 }, kwargs: { num_images: 300 }, extension: 'stats' });
  // Fakes: images 500.. as a generator would give them, in [-1, 1]; the uint8 conversion restores them exactly.
  const fakeSource = () => {
    let next = 500;
    return (n: number) => { const [b] = batches(next, next + n); next += n; return tf.tidy(() => tf.sub(tf.div(b, 127.5), 1)) as tf.Tensor4D; };
  };
  const reals = () => batches(0, 400); // more than needed: the loop stops at num_images
  const first = await computeFID({ numImages: 300, minibatch: 64, net: featureNet, reals, generate: fakeSource(), cacheFile });
  assert.equal(first.realsFromCache, false);
  assert.ok(fs.existsSync(cacheFile));
  const direct = proxyFid(net, batches(500, 800), batches(0, 300)).distance;
  assert.ok(Math.abs(first.fid - direct) < 1e-9 * direct, `${first.fid} vs ${direct}`);
  const second = await computeFID({ numImages: 300, minibatch: 100, net: featureNet, reals: () => { throw new Error('reals must come from the cache'); }, generate: fakeSource(), cacheFile });
  assert.equal(second.realsFromCache, true);
  assert.ok(Math.abs(second.fid - first.fid) < 1e-9 * first.fid);
  const stats = readStats(cacheFile)!;
  assert.equal(stats.count, 300);
  fs.rmSync(dir, { recursive: true });
  net.dispose();
});
