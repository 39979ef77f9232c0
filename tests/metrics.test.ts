import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import {
  calcMetric, convertImagesToUint8, jsonLine, listMetrics, pyRepr, realsCacheDigest, realsCacheFile,
  registerMetric, resultLine, appendJsonLine,
} from '../metrics/metric_base.ts';
import { cropFace, downsampleTo, filteredMean, samplePathLengths, slerp } from '../metrics/perceptual_path_length.ts';
import { conditionalEntropy, computeLS, jointFrequencies, mostConfident, argmaxTargets, separabilityScore } from '../metrics/linear_separability.ts';
import { detUniform, loadFixture } from './fixtures/metrics/det_random.ts';

const ref = loadFixture<any>('reference.json');

test('result line has NVIDIA\'s layout', () => {
  const line = resultLine({ metric: 'fid50k', networkPkl: '/x/network-snapshot-025000.pkl', evalTime: 961, results: [{ value: 4.41592, suffix: '' }] });
  assert.equal(line, 'network-snapshot-025000        time 16m 01s      fid50k 4.4159    ');
  const long = resultLine({ metric: 'ls', networkPkl: 'https://host/karras2019stylegan-ffhq-1024x1024.pkl', evalTime: 5, results: [{ value: 3.5, suffix: '_z' }, { value: 12.25, suffix: '_w' }] });
  // karras2019stylegan-ffhq-1024x1024 has 33 characters: '...' + its last 26.
  assert.ok(long.startsWith('...' + 'karras2019stylegan-ffhq-1024x1024'.slice(-26) + ' '));
  assert.ok(long.endsWith(' time 5s           ls_z 3.5000     ls_w 12.2500   '));
});

test('registry: calcMetric times a metric and records its pipeline; JSON line carries it', async () => {
  registerMetric('test_const', () => ({ results: [{ value: 1.5, suffix: '_a' }], pipeline: { weights: [{ name: 'n', file: 'f', sha256: 'abc' }], numImages: 7, resize: 'none', dtype: 'float64' } }), { num_images: 7 });
  assert.ok(listMetrics().includes('dummy') && listMetrics().includes('test_const'));
  const r = await calcMetric('test_const', { networkPkl: 'a/b.pkl' });
  assert.equal(r.results[0].value, 1.5);
  assert.ok(r.evalTime >= 0);
  const j = JSON.parse(jsonLine(r));
  assert.deepEqual(j.results, { test_const_a: 1.5 });
  assert.equal(j.params.num_images, 7);
  assert.equal(j.pipeline.weights[0].sha256, 'abc');
  assert.equal(j.pipeline.resize, 'none');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'metrics-'));
  const f = path.join(dir, 'sub', 'metric-test.jsonl');
  appendJsonLine(f, jsonLine(r));
  appendJsonLine(f, jsonLine(r));
  assert.equal(fs.readFileSync(f, 'utf8').trim().split('\n').length, 2);
  fs.rmSync(dir, { recursive: true });
  await assert.rejects(calcMetric('no_such_metric'), /unknown metric 'no_such_metric'/);
});

test('reals cache key equals md5(repr(sorted(args.items()))) from Python', () => {
  for (const c of ref.cache) {
    const { metric_name, mirror_augment, ...rest } = c.args;
    const items = Object.keys(c.args).sort().map((k) => `(${pyRepr(k)}, ${pyRepr(c.args[k])})`);
    assert.equal('[' + items.join(', ') + ']', c.repr);
    assert.equal(realsCacheDigest({ metricName: metric_name, mirrorAugment: mirror_augment, datasetArgs: rest }), c.md5);
  }
  const f = realsCacheFile({ cacheDir: 'cache', metricName: 'fid50k', mirrorAugment: true, datasetArgs: { tfrecord_dir: 'ffhq', shuffle_mb: 0 }, kwargs: { num_images: 50000 } });
  assert.equal(f, path.join('cache', `${ref.cache[0].md5}-fid50k-ffhq.pkl`));
});

test('convertImagesToUint8 = tf.saturate_cast(x·127.5 + 128) in float32 (numpy fixture)', () => {
  const u8 = convertImagesToUint8(Float32Array.from(ref.uint8.x));
  assert.deepEqual([...u8], ref.uint8.u8);
  // Round half up of 127.5x + 127.5: x = 0 → 128 (not 127 or banker's 128 by accident: check 0.5/127.5).
  assert.deepEqual([...convertImagesToUint8([-1, 0, 1, -0.5 / 127.5, 0.5 / 127.5])], [0, 128, 255, 127, 128]);
});

test('slerp follows NVIDIA\'s formula (numpy fixture)', () => {
  const s = ref.slerp;
  const a = detUniform(s.seed_a, s.n * s.dim), b = detUniform(s.seed_b, s.n * s.dim);
  const out = slerp(a, b, s.t, s.dim), outEps = slerp(a, b, s.t.map((t: number) => t + 1e-4), s.dim);
  for (let i = 0; i < out.length; i++) {
    assert.ok(Math.abs(out[i] - s.out[i]) < 1e-12, `slerp[${i}]`);
    assert.ok(Math.abs(outEps[i] - s.out_eps[i]) < 1e-12, `slerp eps[${i}]`);
  }
});

test('face crop and box downsample match numpy slicing + reshape-mean', async () => {
  await useTestBackend();
  const c = ref.crop;
  const x = tf.tensor4d(Float32Array.from(detUniform(c.seed, c.shape.reduce((p: number, q: number) => p * q, 1))), c.shape);
  const y = downsampleTo(cropFace(x), c.target);
  assert.deepEqual(y.shape, c.out_shape);
  const v = y.dataSync();
  for (let i = 0; i < v.length; i++) assert.ok(Math.abs(v[i] - c.out[i]) < 1e-6, `crop[${i}]`);
  // At or below the target size nothing is averaged.
  assert.equal(downsampleTo(x, 64), x);
  tf.dispose([x, y]);
});

test('outlier filter: numpy percentile 1 lower / 99 higher, mean of the kept values', () => {
  for (const c of ref.percentile) {
    const v = detUniform(c.seed, c.n).map((u) => Math.exp(3 * u));
    const r = filteredMean(v);
    assert.equal(r.lo, c.lo);
    assert.equal(r.hi, c.hi);
    assert.equal(r.kept, c.kept);
    assert.ok(Math.abs(r.mean - c.mean) < 1e-12 * c.mean);
  }
});

test('LS: conditional entropy and 2^ΣH match NVIDIA\'s definitions (numpy fixture)', () => {
  for (const c of ref.entropy.tables) assert.ok(Math.abs(conditionalEntropy(c.p) - c.h) < 1e-12, JSON.stringify(c));
  const s = ref.entropy.score;
  const u = detUniform(s.seed, s.n * s.attrs * 2);
  const hs: number[] = [];
  for (let a = 0; a < s.attrs; a++) {
    const preds = Array.from({ length: s.n }, (_, i) => (u[(a * 2) * s.n + i] > 0.1 ? 1 : 0));
    const targets = Array.from({ length: s.n }, (_, i) => (u[(a * 2 + 1) * s.n + i] > -0.2 ? 1 : 0));
    hs.push(conditionalEntropy(jointFrequencies(preds, targets)));
  }
  hs.forEach((h, i) => assert.ok(Math.abs(h - s.entropies[i]) < 1e-12));
  assert.ok(Math.abs(separabilityScore(hs) - s.score) < 1e-12 * s.score);
});

test('LS: pruning keeps the most confident samples, ties in original order', () => {
  const probs = [0.6, 0.4, 0.1, 0.9, 0.4, 0.6, 0.5, 0.5, 0.95, 0.05];
  assert.deepEqual(mostConfident(probs, 4), [4, 1, 0, 2]);
  assert.deepEqual([...argmaxTargets(probs, [0, 1, 3])], [0, 1, 0]);
});

test('PPL loop (space w, end) on a toy generator equals the closed form (127.5·Δw)² per pair', async () => {
  await useTestBackend();
  const Z = 3, B = 2, eps = 1e-4;
  const zs = detUniform(77, 2 * B * Z);
  const generator = {
    latentSize: Z,
    mapping: (z: tf.Tensor2D) => tf.reshape(z, [z.shape[0], 1, Z]) as tf.Tensor3D,
    // Every pixel of a 16×16 one-channel image equals w[0].
    synthesis: (w: tf.Tensor3D) => tf.tile(tf.reshape(tf.slice(w, [0, 0, 0], [-1, 1, 1]), [-1, 1, 1, 1]), [1, 1, 16, 16]) as tf.Tensor4D,
    reinitNoise: () => {},
  };
  const distance = (a: tf.Tensor4D, b: tf.Tensor4D) => tf.tidy(() => tf.mean(tf.square(tf.sub(a, b)), [1, 2, 3]).dataSync() as Float32Array);
  const d = await samplePathLengths({ numSamples: B, epsilon: eps, space: 'w', sampling: 'end', crop: true, minibatch: B, generator, distance,
    randn: (n) => zs.slice(0, n), rand: (n) => new Float64Array(n).fill(0.5), distanceResolution: 256 });
  for (let i = 0; i < B; i++) {
    const dw = zs[(2 * i + 1) * Z] - zs[2 * i * Z];
    const expected = (127.5 * dw) ** 2; // (127.5·ε·Δw)² / ε²
    assert.ok(Math.abs(d[i] - expected) / expected < 2e-2, `pair ${i}: ${d[i]} vs ${expected}`);
  }
});

// A toy generator for the crop / no-crop difference: an H×H one-channel image that is w[0] inside
// NVIDIA's face crop (rows 3c..7c, cols 2c..6c, c = H/8) and w[1] outside it.
function cropToy(H: number) {
  const c = H / 8;
  const inside = new Float32Array(H * H);
  for (let y = 3 * c; y < 7 * c; y++) for (let x = 2 * c; x < 6 * c; x++) inside[y * H + x] = 1;
  let reinits = 0;
  return {
    get reinits() { return reinits; },
    latentSize: 2,
    mapping: (z: tf.Tensor2D) => tf.reshape(z, [z.shape[0], 1, 2]) as tf.Tensor3D,
    synthesis: (w: tf.Tensor3D) => tf.tidy(() => {
      const m = tf.tensor4d(inside, [1, 1, H, H]);
      const w0 = tf.reshape(tf.slice(w, [0, 0, 0], [-1, 1, 1]), [-1, 1, 1, 1]);
      const w1 = tf.reshape(tf.slice(w, [0, 0, 1], [-1, 1, 1]), [-1, 1, 1, 1]);
      return tf.add(tf.mul(m, w0), tf.mul(tf.sub(1, m), w1)) as tf.Tensor4D;
    }),
    reinitNoise: () => { reinits++; },
  };
}

test('ppl2_wend (StyleGAN2): NVIDIA\'s kwargs, no face crop: the whole image enters the distance', async () => {
  await useTestBackend();
  const H = 16, N = 8;
  const zs = detUniform(78, 2 * N * 2);
  let drawn = 0;
  const randn = (n: number) => { const r = zs.slice(drawn, drawn + n); drawn += n; return r; };
  const shapes: number[][] = [];
  const distance = (a: tf.Tensor4D, b: tf.Tensor4D) => { shapes.push(a.shape); return tf.tidy(() => tf.mean(tf.square(tf.sub(a, b)), [1, 2, 3]).dataSync() as Float32Array); };
  const toy = cropToy(H);
  const r = await calcMetric('ppl2_wend', { generator: toy, distance, randn, rand: () => { throw new Error('end sampling draws no t'); }, num_samples: N });
  // StyleGAN2's metric_defaults.py: num_samples 50000 (here overridden), epsilon 1e-4, space w, sampling end, crop False, minibatch 4.
  const { epsilon, space, sampling, crop, minibatch_per_gpu } = r.params;
  assert.deepEqual({ epsilon, space, sampling, crop, minibatch_per_gpu }, { epsilon: 1e-4, space: 'w', sampling: 'end', crop: false, minibatch_per_gpu: 4 });
  assert.equal(r.params.num_samples, N);
  assert.equal(toy.reinits, N / 4, 'noise re-drawn once per minibatch of 4 pairs');
  assert.deepEqual(shapes, [[4, 1, H, H], [4, 1, H, H]], 'uncropped 16² images');
  // t = 0: e0 = w_a, e1 = w_a + ε(w_b − w_a). Mean over the image of (127.5·Δ)², divided by ε²:
  // 64 of 256 pixels inside the crop carry Δw0, the other 192 carry Δw1.
  const expected = Array.from({ length: N }, (_, i) => {
    const dw0 = zs[(2 * i + 1) * 2]! - zs[2 * i * 2]!, dw1 = zs[(2 * i + 1) * 2 + 1]! - zs[2 * i * 2 + 1]!;
    return 127.5 ** 2 * (64 * dw0 ** 2 + 192 * dw1 ** 2) / 256;
  });
  const want = filteredMean(expected).mean;
  assert.ok(Math.abs(r.results[0]!.value - want) / want < 2e-2, `${r.results[0]!.value} vs ${want}`);
  assert.match(String(r.pipeline.resize), /^no crop/);
  // v1's ppl_wend on the same pairs sees only the crop: (127.5·Δw0)².
  drawn = 0;
  shapes.length = 0;
  const v1 = await calcMetric('ppl_wend', { generator: cropToy(H), distance, randn, rand: () => new Float64Array(0), num_samples: N, minibatch_per_gpu: 4 });
  assert.deepEqual(shapes[0], [4, 1, H / 2, H / 2]);
  const wantV1 = filteredMean(expected.map((_, i) => (127.5 * (zs[(2 * i + 1) * 2]! - zs[2 * i * 2]!)) ** 2)).mean;
  assert.ok(Math.abs(v1.results[0]!.value - wantV1) / wantV1 < 2e-2, `${v1.results[0]!.value} vs ${wantV1}`);
  assert.equal(v1.params.crop, true);
});

test('ppl2_wend: images above 256² are box-downsampled by H//256 without cropping first', async () => {
  await useTestBackend();
  const H = 512, eps = 1e-4;
  const zs = detUniform(79, 2 * 4 * 2);
  const shapes: number[][] = [];
  // w[0] + w[1]·(−1)^(x+y): the 2×2 box average removes the checkerboard, so only Δw0 remains.
  const sign = tf.tensor4d(Float32Array.from({ length: H * H }, (_, i) => (((i % H) + Math.floor(i / H)) % 2 ? -1 : 1)), [1, 1, H, H]);
  const generator = {
    latentSize: 2,
    mapping: (z: tf.Tensor2D) => tf.reshape(z, [z.shape[0], 1, 2]) as tf.Tensor3D,
    synthesis: (w: tf.Tensor3D) => tf.tidy(() => tf.add(tf.reshape(tf.slice(w, [0, 0, 0], [-1, 1, 1]), [-1, 1, 1, 1]),
      tf.mul(sign, tf.reshape(tf.slice(w, [0, 0, 1], [-1, 1, 1]), [-1, 1, 1, 1]))) as tf.Tensor4D),
    reinitNoise: () => {},
  };
  const distance = (a: tf.Tensor4D, b: tf.Tensor4D) => { shapes.push(a.shape); return tf.tidy(() => tf.mean(tf.square(tf.sub(a, b)), [1, 2, 3]).dataSync() as Float32Array); };
  const before = tf.memory().numTensors;
  const d = await samplePathLengths({ numSamples: 4, epsilon: eps, space: 'w', sampling: 'end', crop: false, minibatch: 4, generator, distance,
    randn: (n) => zs.slice(0, n), rand: () => new Float64Array(0) });
  assert.equal(tf.memory().numTensors, before, 'the loop leaves no tensors behind');
  assert.deepEqual(shapes, [[4, 1, 256, 256]]);
  for (let i = 0; i < 4; i++) {
    const expected = (127.5 * (zs[(2 * i + 1) * 2]! - zs[2 * i * 2]!)) ** 2;
    assert.ok(Math.abs(d[i]! - expected) / expected < 2e-2, `pair ${i}: ${d[i]} vs ${expected}`);
  }
  sign.dispose();
});

test('LS loop on a toy generator: a linear attribute scores H = 0, an XOR attribute does not', async () => {
  await useTestBackend();
  const Z = 4, N = 400;
  const u = detUniform(91, 2 * N * Z);
  let next = 0;
  // Box–Muller normals from deterministic uniforms.
  const randn = (n: number) => {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++, next++) {
      const u1 = (u[2 * next] + 1) / 2 || 1e-12, u2 = (u[2 * next + 1] + 1) / 2;
      out[i] = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
    return out;
  };
  const generator = {
    latentSize: Z,
    mapping: (z: tf.Tensor2D) => tf.tile(tf.reshape(tf.mul(z, 2), [-1, 1, Z]), [1, 3, 1]) as tf.Tensor3D, // w = 2z on 3 layers
    synthesis: (w: tf.Tensor3D) => tf.reshape(tf.slice(w, [0, 0, 0], [-1, 1, Z]), [-1, 1, 2, 2]) as tf.Tensor4D, // "image" = w
  };
  const classifier = (a: number) => (images: tf.Tensor4D) => {
    const v = images.dataSync();
    return Float32Array.from({ length: images.shape[0] }, (_, i) => (a === 0 ? v[i * 4] - 0.3 * v[i * 4 + 1] : v[i * 4] * v[i * 4 + 1]));
  };
  const r = await computeLS({ numSamples: N, numKeep: N / 2, attribIndices: [0, 1], minibatch: 50, generator, classifier, randn });
  assert.equal(r.entropies.z[0], 0);
  assert.equal(r.entropies.w[0], 0);
  assert.ok(r.entropies.z[1] > 0.5 && r.entropies.w[1] > 0.5, JSON.stringify(r.entropies));
  assert.ok(Math.abs(r.ls_z - 2 ** r.entropies.z[1]) < 1e-12);
});

test('all_metrics registers NVIDIA\'s metric names and the proxy', async () => {
  const { listMetrics: list } = await import('../metrics/all_metrics.ts');
  for (const name of ['fid50k', 'ppl_zfull', 'ppl_wfull', 'ppl_zend', 'ppl_wend', 'ppl2_wend', 'ls', 'dummy', 'fid_proxy_fmnist']) assert.ok(list().includes(name), name);
  const r = await calcMetric('fid50k').catch((e: Error) => e);
  assert.match(String(r), /FID needs a feature network, the real images and a generator/);
});
