// run_metrics with the classic baselines' snapshots: the proxy FID of a gan-mlp snapshot equals the
// proxy FID computed here from the dataset's images and G(z) in inference mode (z = RandomState(seed)
// .randn, as run_metrics draws it), z-space PPL runs on a gray dcgan snapshot, and the W-space
// metrics answer with one line.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { useTestBackend } from './_backend.ts';
import { makeRectDataset } from './_train_dataset.ts';
import { detWeight } from './fixtures/metrics/det_random.ts';
import { UserError } from '../dnnlib/errors.ts';
import { RandomState } from '../dnnlib/random.ts';
import { writeSafetensors, type SafeTensor } from '../dnnlib/safetensors.ts';
import { TFRecordDataset } from '../training/dataset.ts';
import { buildNetworks } from '../training/network_configs.ts';
import { saveNetworkSnapshot } from '../training/network_io.ts';
import { convertImagesToUint8Tensor } from '../training/misc.ts';
import type { G_mlp } from '../training/networks_baseline.ts';
import { LPIPS_VGG16_LAYOUT } from '../metrics/lpips.ts';
import { DEFAULT_PROXY_WEIGHTS, prepareRunMetrics, runMetrics } from '../metrics/run_metrics_lib.ts';
import { loadProxyWeights, ProxyFeatures, proxyFid } from '../metrics/proxy_features.ts';

let tmp: string;
const snap: Record<string, string> = {};
let Gmlp: G_mlp;

before(async () => {
  await useTestBackend();
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-metrics-base-'));
  await makeRectDataset(path.join(tmp, 'datasets', 'rects32'), { count: 100, resolution: 32 });
  for (const config of ['gan-mlp', 'dcgan'] as const) {
    const { G, D } = buildNetworks({ config, num_channels: 1, resolution: 32, label_size: 0, seed: 11, G_args: config === 'dcgan' ? { fmap: 4, latent_size: 16 } : {} });
    const g = G as G_mlp;
    tf.dispose(g.run(tf.randomNormal([16, g.latent_size], 0, 1, 'float32', 2) as tf.Tensor2D, null, { is_training: true }));
    const Gs = G.clone('Gs');
    snap[config] = path.join(tmp, `${config}.safetensors`);
    saveNetworkSnapshot(snap[config]!, { G, D, Gs, kimg: 0 });
    D.dispose();
    G.dispose();
    if (config === 'gan-mlp') Gmlp = Gs as G_mlp; else Gs.dispose();
  }
});
after(() => {
  Gmlp?.dispose();
  fs.rmSync(tmp, { recursive: true, force: true });
});

const run = (network: string, metrics: string[], extra: object = {}) => runMetrics(prepareRunMetrics({
  metrics, network, dataDir: path.join(tmp, 'datasets'), dataset: 'rects32', resultDir: path.join(tmp, 'results'), seed: 5, quiet: true, ...extra,
}));

test('fid_proxy_fmnist of a gan-mlp snapshot = the proxy FID of the dataset vs G(z) in inference mode', async () => {
  const r = await run(snap['gan-mlp']!, ['fid_proxy_fmnist'], { numImages: 100 });
  const value = r.reports[0]!.results[0]!.value;
  assert.ok(Number.isFinite(value) && value > 0);

  // Independently: the first 100 images in file order, and G of RandomState(5).randn(100, 100).
  const ds = new TFRecordDataset(path.join(tmp, 'datasets', 'rects32'), { repeat: false, shuffleMb: 0, maxLabelSize: 0 });
  const mb = (await ds.getMinibatchNp(100, 0))!;
  await ds.close();
  const crop = (x: tf.Tensor4D) => tf.slice(x, [0, 0, 2, 2], [-1, 1, 28, 28]) as tf.Tensor4D;
  const reals = tf.tidy(() => crop(tf.tensor4d(Float32Array.from(mb.images), mb.shape as [number, number, number, number])));
  const z = tf.tensor2d(Float32Array.from(new RandomState(5).randn(100, 100)), [100, 100]);
  const fakes = tf.tidy(() => crop(convertImagesToUint8Tensor(Gmlp.run(z, null, { is_training: false }))));
  const net = new ProxyFeatures(loadProxyWeights(DEFAULT_PROXY_WEIGHTS));
  const expected = proxyFid(net, [reals], [fakes]).distance;
  net.dispose();
  tf.dispose([reals, z, fakes]);
  assert.ok(Math.abs(value - expected) <= 1e-3 * Math.max(1, expected), `run_metrics ${value} vs ${expected}`);
});

test('ppl_zend runs on a gray dcgan snapshot (z-space, identity mapping); ppl_wend / ppl_wfull / ls refuse with one line', async () => {
  const weights = path.join(tmp, 'lpips-random.safetensors');
  writeSafetensors(weights, LPIPS_VGG16_LAYOUT.map(([name, shape]) => [name, { dtype: 'F32', shape: [...shape], data: detWeight(name, shape) }] as [string, SafeTensor]));
  const r = await run(snap.dcgan!, ['ppl_zend'], { numImages: 4, vgg16: [weights] });
  const v = r.reports[0]!.results[0]!.value;
  assert.ok(Number.isFinite(v) && v >= 0, `ppl_zend ${v}`);
  for (const m of ['ppl_wend', 'ppl_wfull']) {
    await assert.rejects(run(snap.dcgan!, [m], { numImages: 4, vgg16: [weights] }),
      (e: unknown) => e instanceof UserError && new RegExp(`^${m} measures path lengths in W; G_dcgan maps z straight to images .*use ppl_zfull or ppl_zend$`).test(e.message));
  }
});
