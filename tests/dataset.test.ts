// training/dataset.ts (NVIDIA's TFRecordDataset) on the Python-made reference datasets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { TFRecordDataset, itemsPerBuffer, mirrorInPlace, uint8ToDynamicRange } from '../training/dataset.ts';
import { readLevel } from '../training/dataset_tool/dataset_dir.ts';
import { useTestBackend } from './_backend.ts';
import { RandomState } from '../dnnlib/random.ts';

const FIX = path.join(import.meta.dirname, 'fixtures', 'dataset');
const RGB = path.join(FIX, 'expected_rgb');
const MNIST = path.join(FIX, 'expected_mnist');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-reader-'));
const level = (dir: string, r: string) => [...readLevel(path.join(dir, `${path.basename(dir)}-r${r}.tfrecords`))];

test('constructor: autodetected shape, levels, labels', () => {
  const d = new TFRecordDataset(RGB);
  assert.equal(d.resolution, 32);
  assert.equal(d.resolutionLog2, 5);
  assert.deepEqual(d.shape, [3, 32, 32]);
  assert.equal(d.numLods, 4);
  assert.equal(d.labelSize, 0);
  assert.deepEqual(d.dynamicRange, [0, 255]);
  assert.equal(new TFRecordDataset(MNIST, { maxLabelSize: 'full' }).labelSize, 10);
  assert.equal(new TFRecordDataset(MNIST, { maxLabelSize: 3 }).labelSize, 3);
  assert.equal(new TFRecordDataset(MNIST).labelSize, 0);
  assert.equal(new TFRecordDataset(MNIST, { maxLabelSize: 'full', labelFile: 'expected_mnist-rxx.labels' }).labelSize, 10, 'label_file relative to the dataset dir');
  assert.throws(() => new TFRecordDataset(MNIST, { maxLabelSize: 'full', labelFile: 'nope.labels' }), /nope\.labels: no such file/);
  assert.equal(itemsPerBuffer(4096, 3 * 1024 * 1024), 1366);
  assert.equal(itemsPerBuffer(0, 100), 0);
});

test('one pass without shuffle: file order, short last batch, then null; labels zipped by index', async () => {
  const d = new TFRecordDataset(MNIST, { maxLabelSize: 'full', shuffleMb: 0, repeat: false });
  const recs = level(MNIST, '05');
  const labels = fs.readFileSync(path.join(MNIST, 'expected_mnist-rxx.labels'));
  const labelRows = new Float32Array(labels.buffer.slice(labels.byteOffset + 128, labels.byteOffset + labels.length));
  const sizes: number[] = [];
  let i = 0;
  for (let mb = await d.getMinibatchNp(5, 0); mb; mb = await d.getMinibatchNp()) {
    sizes.push(mb.shape[0]);
    assert.deepEqual(mb.shape.slice(1), [1, 32, 32]);
    for (let k = 0; k < mb.shape[0]; k++, i++) {
      assert.ok(Buffer.from(mb.images.subarray(k * 1024, (k + 1) * 1024)).equals(Buffer.from(recs[i]!.data)), `image ${i}`);
      assert.deepEqual(Array.from(mb.labels.subarray(k * 10, k * 10 + 10)), Array.from(labelRows.subarray(i * 10, i * 10 + 10)));
    }
  }
  assert.deepEqual(sizes, [5, 5, 2]);
  await d.close();
});

test('configure(minibatch, lod) reads the level floor(lod); resolution= ignores higher levels', async () => {
  const d = new TFRecordDataset(RGB, { shuffleMb: 0 });
  d.configure(3, 1.7);
  const mb = (await d.getMinibatchNp())!;
  assert.deepEqual(mb.shape, [3, 3, 16, 16]);
  assert.ok(Buffer.from(mb.images.subarray(0, 768)).equals(Buffer.from(level(RGB, '04')[0]!.data)));
  const low = new TFRecordDataset(RGB, { resolution: 16, shuffleMb: 0 });
  assert.deepEqual(low.shape, [3, 16, 16]);
  assert.equal(low.numLods, 3);
  const m = (await low.getMinibatchNp(2, 2))!;
  assert.deepEqual(m.shape, [2, 3, 4, 4]);
  assert.ok(Buffer.from(m.images.subarray(0, 48)).equals(Buffer.from(level(RGB, '02')[0]!.data)));
  assert.throws(() => low.configure(2, 3), /lod 3 is outside 0\.\.2/);
  await d.close(); await low.close();
});

test('every lod must be present; wrong resolution override is named', () => {
  const dir = path.join(tmp(), 'ds');
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(RGB)) fs.copyFileSync(path.join(RGB, f), path.join(dir, f));
  assert.throws(() => new TFRecordDataset(RGB, { resolution: 64 }), /no \.tfrecords file of resolution 64 \(lod 0\)/);
  fs.rmSync(path.join(dir, 'expected_rgb-r03.tfrecords'));
  assert.throws(() => new TFRecordDataset(dir), /ds: no \.tfrecords file of resolution 8 \(lod 2\)/);
  assert.throws(() => new TFRecordDataset(path.join(dir, 'nope')), /nope: dataset directory does not exist/);
});

test('shuffle buffer: seeded, each pass a permutation of all images, repeat continues', async () => {
  const ids = (mb: { images: Uint8Array }, per: number, all: Buffer[]) => {
    const out: number[] = [];
    for (let k = 0; k < mb.images.length / per; k++) out.push(all.findIndex((b) => b.equals(Buffer.from(mb.images.subarray(k * per, (k + 1) * per)))));
    return out;
  };
  const all = level(RGB, '02').map((r) => Buffer.from(r.data));
  const perItem = 3 * 4 * 4;
  // A 4-item window: shuffle_mb such that ceil(mb·2^20 / 48) = 4 is impossible in whole MB, so
  // use the full window (all 9 fit) and compare seeds.
  const run = async (seed: number, shared = false) => {
    const d = new TFRecordDataset(RGB, shared ? { rng: new RandomState(seed) } : { seed });
    const mb = (await d.getMinibatchNp(18, 3))!;
    await d.close();
    return ids(mb, perItem, all);
  };
  const a = await run(1), b = await run(1), c = await run(2);
  assert.deepEqual(a, b, 'same seed, same order');
  assert.deepEqual(await run(1, true), a, 'a given RandomState draws like the seed');
  assert.notDeepEqual(a, c, 'different seed, different order');
  assert.deepEqual([...a.slice(0, 9)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8], 'first pass holds every image once');
  assert.deepEqual([...a.slice(9)].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8], 'second pass too');
  assert.notDeepEqual(a.slice(0, 9), [0, 1, 2, 3, 4, 5, 6, 7, 8]);

  // A window of 3 items (shuffle_mb in fractions of a MB): output i comes from records 0..i+2.
  const w = new TFRecordDataset(RGB, { shuffleMb: (3 * perItem) / 2 ** 20, seed: 7 });
  const order = ids((await w.getMinibatchNp(9, 3))!, perItem, all);
  await w.close();
  assert.deepEqual([...order].sort(), [0, 1, 2, 3, 4, 5, 6, 7, 8]);
  order.forEach((rec, i) => assert.ok(rec <= i + 2, `output ${i} is record ${rec}, beyond the window`));
  assert.notDeepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8]);
});

test('getMinibatch: float32 NCHW in [-1,1] as x*2/255-1, mirror augment flips some images', async () => {
  await useTestBackend();
  assert.deepEqual(Array.from(uint8ToDynamicRange(new Uint8Array([0, 255, 51]))), [-1, 1, Math.fround(Math.fround(51 * Math.fround(2 / 255)) - 1)]);
  const img = Uint8Array.from([1, 2, 3, 4, 5, 6]);
  mirrorInPlace(img, 1, 2, 3);
  assert.deepEqual(Array.from(img), [3, 2, 1, 6, 5, 4]);

  const d = new TFRecordDataset(MNIST, { shuffleMb: 0, maxLabelSize: 'full' });
  d.configure(4, 0);
  const mb = (await d.getMinibatch())!;
  assert.deepEqual(mb.images.shape, [4, 1, 32, 32]);
  assert.equal(mb.images.dtype, 'float32');
  assert.deepEqual(mb.labels.shape, [4, 10]);
  const v = await mb.images.data();
  const raw = level(MNIST, '05');
  for (const k of [0, 100, 1023, 3000]) assert.equal(v[k], Math.fround(Math.fround(raw[Math.floor(k / 1024)]!.data[k % 1024]! * Math.fround(2 / 255)) - 1));
  assert.equal(Math.min(...v), -1);
  assert.equal(Math.max(...v), 1);
  mb.images.dispose(); mb.labels.dispose();
  await d.close();

  const m = new TFRecordDataset(MNIST, { shuffleMb: 0, mirrorAugment: true, seed: 3 });
  m.configure(12, 0);
  const flipped = (await m.getMinibatch())!;
  const fv = await flipped.images.data();
  let mirrored = 0;
  for (let i = 0; i < 12; i++) {
    const orig = uint8ToDynamicRange(raw[i]!.data);
    const got = fv.subarray(i * 1024, (i + 1) * 1024);
    const same = got.every((x, k) => x === orig[k]);
    const flip = got.every((x, k) => x === orig[Math.floor(k / 32) * 32 + 31 - (k % 32)]);
    assert.ok(same || flip, `image ${i} is the original or its mirror`);
    if (!same) mirrored++;
  }
  assert.ok(mirrored > 0 && mirrored < 12, `${mirrored} of 12 mirrored`);
  flipped.images.dispose(); flipped.labels.dispose();
  await m.close();
});

test('random labels come from the label rows', () => {
  const d = new TFRecordDataset(MNIST, { maxLabelSize: 'full', seed: 5 });
  const r = d.getRandomLabelsNp(20);
  assert.equal(r.length, 200);
  for (let i = 0; i < 20; i++) assert.equal(r.subarray(i * 10, i * 10 + 10).reduce((a, b) => a + b, 0), 1);
  assert.equal(new TFRecordDataset(MNIST).getRandomLabelsNp(4).length, 0);
});
