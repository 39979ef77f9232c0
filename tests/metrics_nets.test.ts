import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { INCEPTION_V3_LAYOUT, InceptionV3Features, resizeBilinearNCHW } from '../metrics/inception_v3.ts';
import { LPIPS_VGG16_LAYOUT, LpipsVgg16 } from '../metrics/lpips.ts';
import { weightMapFromTorchFile } from '../metrics/weight_map.ts';
import { fileURLToPath } from 'node:url';
import { detUint8, detUniform, detWeight, detWeightMap, loadFixture } from './fixtures/metrics/det_random.ts';

// PyTorch references from tests/fixtures/make_metrics_nets.py (deterministic untrained weights).
const ref = loadFixture<any>('nets.json');
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

function maxErrors(got: ArrayLike<number>, want: number[]): { abs: number; rel: number } {
  let abs = 0, scale = 0;
  for (let i = 0; i < want.length; i++) { abs = Math.max(abs, Math.abs(got[i] - want[i])); scale = Math.max(scale, Math.abs(want[i])); }
  return { abs, rel: abs / scale };
}

test('Inception and LPIPS layouts are the PyTorch state-dict names and shapes', () => {
  assert.deepEqual(INCEPTION_V3_LAYOUT.map(([n, s]) => [n, s]), ref.inception.state_dict.filter(([n]: [string]) => !n.startsWith('fc.')));
  assert.deepEqual(LPIPS_VGG16_LAYOUT.map(([n, s]) => [n, s]), ref.lpips.state_dict);
  // The FID Inception without fc: 21,820,094 state-dict values less 94 BatchNorm step counters.
  assert.equal(INCEPTION_V3_LAYOUT.reduce((a, [, s]) => a + numel(s as number[]), 0), 21820000);
});

test('bilinear resize: half-pixel = torch F.interpolate(align_corners=False), tf1-legacy = TF1 formula', async () => {
  await useTestBackend();
  for (const c of ref.resize) {
    const x = tf.tensor4d(Float32Array.from(detUint8(c.seed, numel(c.shape))), c.shape);
    const half = resizeBilinearNCHW(x, c.size, 'half-pixel');
    const legacy = resizeBilinearNCHW(x, c.size, 'tf1-legacy');
    if (c.half_pixel) assert.ok(maxErrors(half.dataSync(), c.half_pixel).abs < 2e-4, `half-pixel ${c.seed}`);
    else assert.ok(Math.abs(tf.sum(half).dataSync()[0] - c.half_pixel_sum) < 1e-5 * Math.abs(c.half_pixel_sum));
    if (c.tf1_legacy) assert.ok(maxErrors(legacy.dataSync(), c.tf1_legacy).abs < 2e-4, `tf1-legacy ${c.seed}`);
    tf.dispose([x, half, legacy]);
  }
});

test('missing or misshapen weights are a UserError naming the tensor', () => {
  const w = detWeightMap(LPIPS_VGG16_LAYOUT.slice(0, 4));
  assert.throws(() => new LpipsVgg16(w), /LPIPS \(VGG16\): \d+ weights missing, e.g. features\.5\.weight/);
  const all = detWeightMap(LPIPS_VGG16_LAYOUT);
  all.set('lin0.model.1.weight', { shape: [64], data: new Float32Array(64) });
  assert.throws(() => new LpipsVgg16(all), /'lin0\.model\.1\.weight' has shape \[64\], expected \[1,64,1,1\]/);
});

test('FID Inception-v3 pool3 features match the PyTorch reference (random weights, 64×80→107² and 75²)', async () => {
  await useTestBackend();
  const net = new InceptionV3Features(detWeightMap(INCEPTION_V3_LAYOUT));
  try {
    // The fixture has two images; the first alone keeps the test quick on the cpu backend.
    const c = ref.inception.images;
    const [, ch, h, w] = c.shape;
    const x = tf.tensor4d(Float32Array.from(detUint8(c.seed, numel(c.shape)).subarray(0, ch * h * w)), [1, ch, h, w]);
    const f = net.featuresFromUint8(x, { size: c.size[0], resize: 'half-pixel' });
    assert.deepEqual(f.shape, [1, 2048]);
    const e = maxErrors(f.dataSync(), ref.inception.features.slice(0, 2048));
    console.log(`# inception 1×(64×80→107²) vs torch: max abs ${e.abs.toExponential(2)}, rel ${e.rel.toExponential(2)}`);
    assert.ok(e.rel < 1e-4, `max rel error ${e.rel}`);
    const c75 = ref.inception.features75;
    const x75 = tf.tensor4d(Float32Array.from(detUint8(c75.seed, numel(c75.shape))), c75.shape);
    const f75 = net.featuresFromUint8(x75, { size: 75 });
    const e75 = maxErrors(f75.dataSync(), c75.features);
    console.log(`# inception 1×75² vs torch: max abs ${e75.abs.toExponential(2)}, rel ${e75.rel.toExponential(2)}`);
    assert.ok(e75.rel < 1e-4, `max rel error ${e75.rel}`);
    tf.dispose([x, f, x75, f75]);
  } finally {
    net.dispose();
  }
});

test('LPIPS distance of an image to itself is 0', async () => {
  await useTestBackend();
  const net = new LpipsVgg16(detWeightMap(LPIPS_VGG16_LAYOUT));
  const t = tf.tensor4d(Float32Array.from(detUniform(5, 3 * 16 * 16).map((u) => (u + 1) * 127.5)), [1, 3, 16, 16]);
  const same = net.distance(t, t).dataSync()[0], other = net.distance(t, tf.reverse(t, 3) as tf.Tensor4D).dataSync()[0];
  assert.ok(Math.abs(same) < 1e-7 && other > 1e-3, `${same} ${other}`);
  net.dispose();
  t.dispose();
});

test('LPIPS-VGG16 distances match the PyTorch reference (random weights)', async () => {
  await useTestBackend();
  const net = new LpipsVgg16(detWeightMap(LPIPS_VGG16_LAYOUT));
  try {
    for (const c of ref.lpips.cases) {
      const n = numel(c.shape);
      const a = detUniform(c.seed0, n).map((u) => (u + 1) * 127.5);
      const b = a.map((v, i) => Math.min(255, Math.max(0, v + 40 * detUniform(c.seed1, n)[i])));
      const ta = tf.tensor4d(Float32Array.from(a), c.shape), tb = tf.tensor4d(Float32Array.from(b), c.shape);
      const d = net.distance(ta, tb);
      const e = maxErrors(d.dataSync(), c.distances);
      console.log(`# lpips ${c.shape.join('×')} vs torch: max abs ${e.abs.toExponential(2)}, rel ${e.rel.toExponential(2)}`);
      assert.ok(e.rel < 1e-4, `max rel error ${e.rel}`);
      tf.dispose([ta, tb, d]);
    }
  } finally {
    net.dispose();
  }
});

test('torch.save state dicts (zip and legacy) load into a float32 weight map, integer entries skipped', () => {
  for (const kind of ['zip', 'legacy']) {
    const file = fileURLToPath(new URL(`./fixtures/metrics/small_state_${kind}.pth`, import.meta.url));
    const map = weightMapFromTorchFile(file);
    const names = [...map.keys()].sort();
    assert.deepEqual(names, [
      'Conv2d_1a_3x3.bn.bias', 'Conv2d_1a_3x3.bn.running_mean', 'Conv2d_1a_3x3.bn.running_var', 'Conv2d_1a_3x3.bn.weight',
      'lin0.model.1.weight', 'lin1.model.1.weight', 'lin2.model.1.weight', 'lin3.model.1.weight', 'lin4.model.1.weight',
    ], kind);
    for (const [name, t] of map) assert.deepEqual(t.data, detWeight(name, t.shape), `${kind}: ${name}`);
    assert.deepEqual(map.get('lin4.model.1.weight')!.shape, [1, 512, 1, 1]);
  }
});
