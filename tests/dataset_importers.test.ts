// The remaining create_* importers against the Python reference (fixture script): CIFAR-10/100
// and SVHN pickles, MNIST-RGB (numpy's randint), CelebA crops, the legacy HDF5 archive (h5py),
// and create_lsun (LMDB built here with the lmdb package; PIL's Lanczos result as reference).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../dnnlib/errors.ts';
import { readNpy } from '../dnnlib/npy.ts';
import { createCifar10 } from '../training/dataset_tool/create_cifar10.ts';
import { createCifar100 } from '../training/dataset_tool/create_cifar100.ts';
import { createSvhn } from '../training/dataset_tool/create_svhn.ts';
import { createMnistRgb } from '../training/dataset_tool/create_mnistrgb.ts';
import { createCeleba } from '../training/dataset_tool/create_celeba.ts';
import { createFromHdf5 } from '../training/dataset_tool/create_from_hdf5.ts';
import { createLsun } from '../training/dataset_tool/create_lsun.ts';
import { createLsunWide } from '../training/dataset_tool/create_lsun_wide.ts';
import { openDatasetDir, readLevel } from '../training/dataset_tool/dataset_dir.ts';

const FIX = path.join(import.meta.dirname, 'fixtures', 'dataset');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-importers-'));

/** Every output file equals the reference byte for byte (names differ by the directory name). */
function assertSameDataset(outDir: string, expectedDir: string) {
  const out = path.basename(outDir), exp = path.basename(expectedDir);
  const files = fs.readdirSync(expectedDir).sort();
  assert.deepEqual(fs.readdirSync(outDir).sort(), files.map((f) => f.replace(exp, out)));
  for (const f of files) {
    assert.ok(fs.readFileSync(path.join(outDir, f.replace(exp, out))).equals(fs.readFileSync(path.join(expectedDir, f))), `${f} differs`);
  }
}

test('create_cifar10, create_cifar100, create_svhn: pickles → records and one-hot labels', async () => {
  const c10 = path.join(tmp(), 'c10');
  assert.equal((await createCifar10(c10, path.join(FIX, 'cifar10'))).numImages, 15);
  assertSameDataset(c10, path.join(FIX, 'expected_cifar10'));
  const c100 = path.join(tmp(), 'c100');
  await createCifar100(c100, path.join(FIX, 'cifar100'));
  assertSameDataset(c100, path.join(FIX, 'expected_cifar100'));
  const sv = path.join(tmp(), 'sv');
  await createSvhn(sv, path.join(FIX, 'svhn'));
  assertSameDataset(sv, path.join(FIX, 'expected_svhn'));
  await assert.rejects(createCifar10(path.join(tmp(), 'x'), path.join(FIX, 'cifar100')), /data_batch_1: not found/);
});

test('create_mnistrgb: digits drawn by RandomState(123).randint like numpy', async () => {
  const out = path.join(tmp(), 'mrgb');
  await createMnistRgb(out, path.join(FIX, 'mnist'), { numImages: 10, randomSeed: 123 });
  assertSameDataset(out, path.join(FIX, 'expected_mnistrgb'));
});

test('create_celeba: 128x128 window at (cx, cy), shuffled; strict image count', async () => {
  const out = path.join(tmp(), 'celeba');
  await createCeleba(out, path.join(FIX, 'celeba'), { expectedImages: 5 });
  assertSameDataset(out, path.join(FIX, 'expected_celeba'));
  await assert.rejects(createCeleba(path.join(tmp(), 'c'), path.join(FIX, 'celeba')), /expected to find 202599 images, found 5/);
});

test('create_from_hdf5: largest data* dataset, shuffled, labels from -labels.npy', async () => {
  const out = path.join(tmp(), 'h5');
  await createFromHdf5(out, path.join(FIX, 'hdf5', 'tiny.h5'));
  assertSameDataset(out, path.join(FIX, 'expected_hdf5'));
  const notH5 = path.join(tmp(), 'x.h5');
  fs.writeFileSync(notH5, 'not hdf5');
  await assert.rejects(createFromHdf5(path.join(tmp(), 'o'), notH5), (e: unknown) => e instanceof UserError && /x\.h5: not a readable HDF5 file/.test(e.message));
});

test('create_lsun: cursor order, centre crop + Lanczos resize, bad entries skipped, max_images', async () => {
  const { open } = await import('lmdb');
  const lmdbDir = path.join(tmp(), 'bedroom_lmdb');
  fs.mkdirSync(lmdbDir);
  const db = open({ path: lmdbDir, encoding: 'binary', keyEncoding: 'binary', noSubdir: false });
  // Keys sort as k0, k1, kbad, k2: cursor order puts the undecodable entry third.
  for (const [k, v] of [['k0', 'img0.png'], ['k1', 'img1.png'], ['k2', 'img2.png']]) await db.put(Buffer.from(k!), fs.readFileSync(path.join(FIX, 'lsun', v!)));
  await db.put(Buffer.from('k15'), Buffer.from('garbage'));
  await db.close();
  const expected = readNpy(path.join(FIX, 'lsun', 'expected_16.npy'));
  const warnings: string[] = [];
  const out = path.join(tmp(), 'lsun');
  const r = await createLsun(out, lmdbDir, { resolution: 16, warn: (l) => warnings.push(l) });
  assert.equal(r.numImages, 3);
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /bedroom_lmdb entry 2 \(key k15\): .*; skipped/);
  const got = [...readLevel(openDatasetDir(out).levelFiles[0]!)];
  got.forEach((img, i) => {
    const ref = (expected.data as Uint8Array).subarray(i * 768, (i + 1) * 768);
    let maxDiff = 0, sum = 0;
    for (let k = 0; k < 768; k++) { const d = Math.abs(img.data[k]! - ref[k]!); maxDiff = Math.max(maxDiff, d); sum += d; }
    assert.ok(sum / 768 < 2 && maxDiff <= 12, `image ${i}: mean |diff| ${(sum / 768).toFixed(2)}, max ${maxDiff} vs PIL`);
  });
  const two = path.join(tmp(), 'lsun2');
  assert.equal((await createLsun(two, lmdbDir, { resolution: 16, maxImages: 2, warn: () => {} })).numImages, 2);

  // create_lsun_wide 16x12: the 60x40 image is skipped (ch = 11 < 12), the others letterboxed.
  const wide = path.join(tmp(), 'wide');
  const w = await createLsunWide(wide, lmdbDir, { width: 16, height: 12, warn: () => {} });
  assert.equal(w.numImages, 2);
  const expWide = readNpy(path.join(FIX, 'lsun', 'expected_wide_16x12.npy'));
  [...readLevel(openDatasetDir(wide).levelFiles[0]!)].forEach((img, i) => {
    const ref = (expWide.data as Uint8Array).subarray(i * 768, (i + 1) * 768);
    let sum = 0;
    for (let k = 0; k < 768; k++) {
      const y = Math.floor((k % 256) / 16);
      if (y < 2 || y >= 14) assert.equal(img.data[k], 0, 'letterbox bars are black');
      sum += Math.abs(img.data[k]! - ref[k]!);
    }
    assert.ok(sum / 768 < 2, `wide image ${i}: mean |diff| ${(sum / 768).toFixed(2)} vs PIL`);
  });
});
