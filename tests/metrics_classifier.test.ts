import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { readNpy } from '../dnnlib/npy.ts';
import type { NetworkState } from '../dnnlib/pickle.ts';
import { D_paper } from '../training/networks_progan.ts';
import { classifierFromState, loadAttributeClassifier } from '../metrics/classifier.ts';
import { attributeProbabilities } from '../metrics/linear_separability.ts';
import { downsampleTo } from '../metrics/perceptual_path_length.ts';
import { detUniform, loadFixture } from './fixtures/metrics/det_random.ts';

// Tiny classifiers in NVIDIA's single-Network pickle layout and their logits from an independent
// float64 PyTorch forward (tests/fixtures/make_classifier_reference.py).
interface ClassifierRef {
  images: string;
  image_shape: [number, number, number, number];
  classifiers: { pickle: string; name: string; fused_scale: boolean; static_kwargs: Record<string, unknown>; input_downsample: number; logits: number[]; probs: [number, number][] }[];
}
const REF = loadFixture<ClassifierRef>('classifier_reference.json');
const FIXTURES = path.join(import.meta.dirname, 'fixtures', 'metrics');

for (const c of REF.classifiers) {
  test(`attribute classifier ${c.pickle} (fused_scale ${c.fused_scale}, no mbstd) loads through loadAttributeClassifier and matches the PyTorch reference`, async () => {
    await useTestBackend();
    const loaded = loadAttributeClassifier(path.join(FIXTURES, c.pickle));
    assert.equal(loaded.net.kw.fused_scale, c.fused_scale);
    assert.equal(loaded.net.kw.mbstd_group_size > 1, false);
    const res = REF.image_shape[2] / c.input_downsample;
    assert.deepEqual(loaded.net.input_shape, [null, REF.image_shape[1], res, res]);
    const npy = readNpy(path.join(FIXTURES, REF.images));
    assert.deepEqual(npy.shape, REF.image_shape);
    // The 16² classifier's reference ran on the images' 2×2 box means (torch avg_pool2d).
    const images = tf.tidy(() => downsampleTo(tf.tensor4d(npy.data as Float32Array, REF.image_shape), res));
    const before = tf.memory().numTensors;
    const logits = await loaded.classify(images);
    assert.equal(tf.memory().numTensors, before, 'classify leaves no tensors behind');
    assert.equal(logits.length, c.logits.length);
    for (let i = 0; i < logits.length; i++) assert.ok(Math.abs(logits[i]! - c.logits[i]!) < 1e-4, `logit ${i}: ${logits[i]} vs ${c.logits[i]}`);
    // The probabilities LS ranks and labels samples by: softmax([l, −l]).
    const p = attributeProbabilities(logits);
    for (let i = 0; i < c.probs.length; i++) {
      assert.ok(Math.abs(p[2 * i]! - c.probs[i]![0]) < 1e-4 && Math.abs(p[2 * i + 1]! - c.probs[i]![1]) < 1e-4, `p ${i}: ${p[2 * i]},${p[2 * i + 1]} vs ${c.probs[i]}`);
    }
    // One image at a time gives the same logits (no minibatch coupling without mbstd).
    const one = tf.slice(images, [2, 0, 0, 0], [1, -1, -1, -1]);
    assert.ok(Math.abs((await loaded.classify(one))[0]! - c.logits[2]!) < 1e-4);
    tf.dispose([images, one]);
    loaded.dispose();
  });
}

test('softmax([l, −l]) probabilities: explicit values', () => {
  const p = attributeProbabilities([0, Math.log(3) / 2, -Math.log(3) / 2, 40]);
  // l = ln(3)/2: e^l / (e^l + e^−l) = 3/4.
  assert.deepEqual([...p].map((v) => Math.round(v * 1e6) / 1e6), [0.5, 0.5, 0.75, 0.25, 0.25, 0.75, 1, 0]);
});

// Plumbing only (the real classifier pickles are not available offline): a state shaped like a
// parsed single-Network pickle is rebuilt by build_func_name and gives the source network's logits.
const KW = { num_channels: 3, resolution: 8, mbstd_group_size: 0, fmap_base: 64, fmap_max: 16 };

function stateOf(net: D_paper, build = 'training.networks_progan.D_paper'): NetworkState {
  return {
    version: 3, name: 'D', static_kwargs: { ...KW }, components: {}, build_func_name: build,
    variables: [...net.vars].map(([name, v]) => ({ name, shape: [...v.shape], dtype: 'float32', data: v.dataSync() as Float32Array })),
  };
}

test('attribute classifier: rebuilt from a D_paper network state, one logit per image', async () => {
  await useTestBackend();
  const src = new D_paper(KW, { seed: 7 });
  const loaded = classifierFromState(stateOf(src));
  const images = tf.tensor4d(Float32Array.from(detUniform(3, 2 * 3 * 8 * 8)), [2, 3, 8, 8]);
  const want = src.run(images, null).dataSync();
  const got = await loaded.classify(images);
  assert.equal(got.length, 2);
  assert.ok(Math.abs(got[0] - want[0]) < 1e-6 && Math.abs(got[1] - want[1]) < 1e-6 && got[0] !== got[1]);
  assert.throws(() => classifierFromState(stateOf(src, 'training.networks_stylegan.G_style')), (e: unknown) => e instanceof UserError && /D_paper/.test((e as Error).message));
  const broken = stateOf(src);
  broken.variables.pop();
  assert.throws(() => classifierFromState(broken), /variables do not match/);
  loaded.dispose();
  src.dispose();
  images.dispose();
});
