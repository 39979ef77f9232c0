// .npy read/write against files written by numpy's np.save (the fixture script).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { decodeNpy, encodeNpy, readNpy } from '../dnnlib/npy.ts';

const LABELS = path.join(import.meta.dirname, 'fixtures', 'dataset', 'expected_mnist', 'expected_mnist-rxx.labels');

test('reads np.save float32 labels and writes the identical bytes back', () => {
  const arr = readNpy(LABELS);
  assert.equal(arr.dtype, '<f4');
  assert.deepEqual(arr.shape, [12, 10]);
  const labels = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 0, 8];
  const order = JSON.parse(fs.readFileSync(path.join(path.dirname(LABELS), '..', 'fixtures.json'), 'utf8')).mnist_order as number[];
  for (let i = 0; i < 12; i++) {
    const row = Array.from(arr.data.subarray(i * 10, i * 10 + 10) as Float32Array);
    assert.deepEqual(row, Array.from({ length: 10 }, (_, k) => (k === labels[order[i]!] ? 1 : 0)));
  }
  assert.ok(Buffer.from(encodeNpy(arr.data, arr.shape)).equals(fs.readFileSync(LABELS)), 'byte-identical to np.save');
});

test('round-trips dtypes and shapes; header is 64-byte aligned', () => {
  const cases = [
    [new Float32Array([1.5, -2, 3]), [3]],
    [new Float64Array([1, 2, 3, 4, 5, 6]), [2, 3]],
    [new Uint8Array([1, 2, 255]), [1, 3]],
    [new Int32Array([-1, 7]), [2, 1]],
    [new BigInt64Array([1n, -5n]), [2]],
  ] as const;
  for (const [data, shape] of cases) {
    const bytes = encodeNpy(data, shape);
    const hlen = bytes[8]! | (bytes[9]! << 8);
    assert.equal((10 + hlen) % 64, 0);
    const back = decodeNpy(bytes);
    assert.deepEqual(back.shape, [...shape]);
    assert.deepEqual(Array.from(back.data as ArrayLike<number | bigint>), Array.from(data as ArrayLike<number | bigint>));
  }
  assert.match(Buffer.from(encodeNpy(new Float32Array(3), [3])).toString('latin1'), /'shape': \(3,\), \}/);
});

test('bad .npy files are named', () => {
  assert.throws(() => decodeNpy(new Uint8Array([1, 2, 3]), 'x.labels'), /x\.labels: not a readable \.npy file \(missing/);
  const good = encodeNpy(new Float32Array(8), [2, 4]);
  assert.throws(() => decodeNpy(good.subarray(0, good.length - 4), 'y.labels'), /y\.labels: .*data truncated/);
});
