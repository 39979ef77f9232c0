import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../dnnlib/errors.ts';
import { assertOnlyUserErrors } from './pickle_mutate.ts';
import { encodeSafetensors, readSafetensors, writeSafetensors, type SafeTensor } from '../dnnlib/safetensors.ts';
import { loadSnapshot, saveSnapshot, type TensorMap } from '../training/snapshot.ts';

// Python-made files: tests/fixtures/make_safetensors.py (numpy only, reference-writer layout).
const DIR = path.join(import.meta.dirname, 'fixtures', 'safetensors');
const expected = JSON.parse(fs.readFileSync(path.join(DIR, 'numpy.json'), 'utf8')) as {
  metadata: Record<string, string>;
  tensors: Record<string, { dtype: string; shape: number[]; values: (number | boolean)[]; bits?: number[] }>;
};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-safetensors-'));
const bytesOf = (d: ArrayBufferView) => Buffer.from(d.buffer, d.byteOffset, d.byteLength);

function userError(re: RegExp) {
  return (err: unknown) => {
    assert.ok(err instanceof UserError, String(err));
    assert.match(err.message, re);
    return true;
  };
}

for (const stem of ['numpy_padded', 'numpy_unpadded']) {
  test(`reads the Python-written ${stem}.safetensors`, () => {
    const bytes = fs.readFileSync(path.join(DIR, `${stem}.safetensors`));
    const { tensors, metadata } = readSafetensors(bytes, `${stem}.safetensors`);
    assert.deepEqual(metadata, expected.metadata);
    assert.deepEqual([...tensors.keys()].sort(), Object.keys(expected.tensors).sort());
    for (const [name, e] of Object.entries(expected.tensors)) {
      const t = tensors.get(name)!;
      assert.equal(t.dtype, e.dtype, name);
      assert.deepEqual(t.shape, e.shape, name);
      const got = Array.from(t.data as ArrayLike<number | bigint>, (x) => (typeof x === 'bigint' ? Number(x) : t.dtype === 'BOOL' ? x === 1 : x));
      assert.deepEqual(got, e.bits ?? e.values, name);
    }
    // Padded headers keep every tensor aligned, so the reader hands out views instead of copies.
    const w = tensors.get('G/weight')!.data;
    assert.equal(w.buffer === bytes.buffer, stem === 'numpy_padded');
  });
}

test('our encoding of the same tensors is byte-identical to the Python reference-layout writer', () => {
  const bytes = fs.readFileSync(path.join(DIR, 'numpy_padded.safetensors'));
  const { tensors, metadata } = readSafetensors(bytes);
  assert.ok(bytesOf(encodeSafetensors(tensors, metadata)).equals(bytes));
});

test('round trip through a file is bit-identical (NaN payloads, -0, all dtypes) and atomic', () => {
  const f32 = new Float32Array([1.5, -0, NaN, Infinity, 3e-45]);
  new Uint32Array(f32.buffer)[2] = 0x7fc01234; // a NaN with a payload must survive
  const tensors: [string, SafeTensor][] = [
    ['a/f32', { dtype: 'F32', shape: [5], data: f32 }],
    ['b/f64', { dtype: 'F64', shape: [1, 2], data: new Float64Array([Math.PI, -1e-310]) }],
    ['c/i64', { dtype: 'I64', shape: [2], data: new BigInt64Array([-(2n ** 63n), 2n ** 63n - 1n]) }],
    ['d/bf16', { dtype: 'BF16', shape: [3], data: new Uint16Array([0x3f80, 0xbf80, 0x7f80]) }],
    ['e/bool', { dtype: 'BOOL', shape: [3], data: new Uint8Array([1, 0, 1]) }],
    ['f/scalar', { dtype: 'F32', shape: [], data: new Float32Array([0.25]) }],
    ['g/empty', { dtype: 'F32', shape: [0, 3], data: new Float32Array(0) }],
  ];
  const dir = tmp();
  const file = path.join(dir, 'x.safetensors');
  writeSafetensors(file, tensors, { hello: 'wörld' });
  assert.deepEqual(fs.readdirSync(dir), ['x.safetensors']); // no temp file left behind
  const back = readSafetensors(file);
  assert.deepEqual(back.metadata, { hello: 'wörld' });
  for (const [name, t] of tensors) {
    const b = back.tensors.get(name)!;
    assert.deepEqual([b.dtype, b.shape], [t.dtype, t.shape], name);
    assert.ok(bytesOf(b.data).equals(bytesOf(t.data)), name);
  }
  const header = Number(fs.readFileSync(file).readBigUInt64LE(0));
  assert.equal(header % 8, 0);
  fs.rmSync(dir, { recursive: true });
});

test('corrupt safetensors files give one-line UserErrors', () => {
  const good = fs.readFileSync(path.join(DIR, 'numpy_padded.safetensors'));
  const n = Number(good.readBigUInt64LE(0));
  const read = (b: Uint8Array) => () => readSafetensors(b, 'bad.safetensors');
  assert.throws(read(good.subarray(0, 5)), userError(/^bad\.safetensors: truncated file: 5 bytes/));
  assert.throws(read(good.subarray(0, 100)), userError(/header length 688 goes beyond the file size 100/));
  assert.throws(read(good.subarray(0, good.length - 3)), userError(/beyond the \d+ data bytes \(truncated file\?\)/));
  const huge = Buffer.from(good); huge.writeBigUInt64LE(2n ** 60n, 0);
  assert.throws(read(huge), userError(/implausibly large/));
  const badJson = Buffer.from(good); badJson[8] = 0x78; // '{' → 'x'
  assert.throws(read(badJson), userError(/header is not valid UTF-8 JSON/));
  const extra = Buffer.concat([good, Buffer.from([0, 0, 0, 0])]);
  assert.throws(read(extra), userError(/4 bytes after the last tensor/));
  const edit = (fn: (h: Record<string, any>) => void) => { // eslint-disable-line @typescript-eslint/no-explicit-any
    const h = JSON.parse(good.subarray(8, 8 + n).toString('utf8'));
    fn(h);
    const json = Buffer.from(JSON.stringify(h));
    const text = Buffer.concat([json, Buffer.alloc(n - json.length, 0x20)]);
    assert.equal(text.length, n);
    return Buffer.concat([good.subarray(0, 8), text, good.subarray(8 + n)]);
  };
  assert.throws(read(edit((h) => { h['G/weight'].shape = [3, 3]; })), userError(/'G\/weight': 24 bytes, but F32\[3,3\] needs 36/));
  assert.throws(read(edit((h) => { h['G/weight'].dtype = 'X9'; })), userError(/unsupported dtype "X9"/));
  assert.throws(read(edit((h) => { h['G/weight'].data_offsets = [0, 24]; })), userError(/overlap or hole/));
});

function randomMap(names: [string, number[]][], seed: number): TensorMap {
  let s = seed;
  const m: TensorMap = new Map();
  for (const [name, shape] of names) {
    const data = new Float32Array(shape.reduce((a, b) => a * b, 1)).map(() => ((s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 30) - 1);
    m.set(name, { shape, data });
  }
  return m;
}

test('snapshots round-trip bit-identically with kwargs, kimg, training state and optimizer slots', () => {
  const G = randomMap([['lod', []], ['dlatent_avg', [16]], ['G_synthesis/4x4/Conv/weight', [3, 3, 8, 8]], ['G_mapping/Dense0/weight', [16, 16]]], 1);
  const D = randomMap([['lod', []], ['4x4/Dense1/weight', [8, 1]]], 2);
  const Gs = randomMap([['lod', []], ['G_synthesis/4x4/Conv/weight', [3, 3, 8, 8]]], 3);
  const optimizer = randomMap([['G/G_mapping/Dense0/weight/m', [16, 16]], ['G/G_mapping/Dense0/weight/v', [16, 16]]], 4);
  const kwargs = { G: { resolution: 16, fmap_max: 8, mapping_lrmul: 0.01 }, D: { resolution: 16 } };
  const trainingState = { lod: 0.5, cur_tick: 3, rng: [1, 2, 3] };
  const dir = tmp();
  const file = path.join(dir, 'network-snapshot-001234.safetensors');
  saveSnapshot(file, { G, D, Gs, kwargs, kimg: 1234.5678, trainingState, optimizer });
  assert.deepEqual(fs.readdirSync(dir), ['network-snapshot-001234.safetensors']);
  const back = loadSnapshot(file);
  assert.equal(back.kimg, 1234.5678);
  assert.deepEqual(back.kwargs, kwargs);
  assert.deepEqual(back.trainingState, trainingState);
  for (const [orig, got] of [[G, back.G], [D, back.D], [Gs, back.Gs], [optimizer, back.optimizer]] as const) {
    assert.deepEqual([...got.keys()].sort(), [...orig.keys()].sort());
    for (const [name, t] of orig) {
      assert.deepEqual(got.get(name)!.shape, t.shape, name);
      assert.ok(bytesOf(got.get(name)!.data).equals(bytesOf(t.data)), name);
    }
  }
  // Stored under NVIDIA names with network prefixes, readable as plain safetensors.
  assert.ok(readSafetensors(file).tensors.has('G/G_synthesis/4x4/Conv/weight'));
  assert.ok(readSafetensors(file).tensors.has('opt/G/G_mapping/Dense0/weight/m'));

  const bytes = fs.readFileSync(file);
  fs.writeFileSync(file, bytes.subarray(0, bytes.length - 10));
  assert.throws(() => loadSnapshot(file), userError(/^network-snapshot-001234\.safetensors: .*truncated file/));
  assert.throws(() => loadSnapshot(path.join(DIR, 'numpy_padded.safetensors')), userError(/not a stylegan-ts snapshot/));
  fs.rmSync(dir, { recursive: true });
});

test('corrupted safetensors files fail only with UserError', () => {
  const r = assertOnlyUserErrors(fs.readFileSync(path.join(DIR, 'numpy_padded.safetensors')), 300, 7, (b) => readSafetensors(b));
  assert.ok(r.refused > 0);
});
