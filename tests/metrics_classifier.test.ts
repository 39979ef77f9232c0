import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import type { NetworkState } from '../dnnlib/pickle.ts';
import { D_paper } from '../training/networks_progan.ts';
import { classifierFromState } from '../metrics/classifier.ts';
import { detUniform } from './fixtures/metrics/det_random.ts';

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
