// torch.save files (zip and legacy) read without Python; fixtures from tests/fixtures/make_torch_files.py (torch 1.13).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { UserError } from '../dnnlib/errors.ts';
import { assertOnlyUserErrors } from './pickle_mutate.ts';
import { loadTorchFile, loadTorchStateDict, TorchScriptObject } from '../dnnlib/torch_file.ts';
import { ZipReader } from '../dnnlib/zip.ts';
import { parsePickle, NETWORK_GLOBALS, type TypedArray } from '../dnnlib/pickle.ts';

const DIR = path.join(import.meta.dirname, 'fixtures', 'torch');
const side = JSON.parse(fs.readFileSync(path.join(DIR, 'state.json'), 'utf8')) as {
  tensors: { name: string; dtype: string; shape: number[]; value?: number | boolean; sha256: string; sha256_raw?: string }[];
  refusals: { file: string; expect: string; sentinel: string | null }[];
  zip: { file: string; entries: Record<string, { size: number; method: string; sha256: string }> };
  torchscript: Record<string, { name: string; dtype: string; shape: number[]; sha256: string }[]>;
};

const sha = (a: TypedArray) => createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
const toF32 = (a: TypedArray) =>
  a instanceof Float32Array ? a : a instanceof BigInt64Array || a instanceof BigUint64Array ? Float32Array.from(a, Number) : Float32Array.from(a as ArrayLike<number>);

for (const file of ['state_zip.pt', 'state_legacy.pt']) {
  test(`${file}: every tensor matches torch's own values (dtype, shape, bytes; views gathered)`, () => {
    const sd = loadTorchStateDict(path.join(DIR, file));
    assert.deepEqual([...sd.keys()], side.tensors.map((t) => t.name));
    for (const e of side.tensors) {
      const t = sd.get(e.name)!;
      assert.equal(t.dtype, e.dtype, e.name);
      assert.deepEqual(t.shape, e.shape, e.name);
      assert.equal(sha(toF32(t.data)), e.sha256, `${e.name}: float32 bytes`);
      if (e.sha256_raw) assert.equal(sha(t.data), e.sha256_raw, `${e.name}: raw bytes`);
      if (e.value !== undefined) assert.equal(t.dtype === 'bool' ? t.data[0] === 1 : Number(t.data[0]), e.value, e.name);
    }
  });
}

test('views keep their storage relation: offset, transposed and strided tensors come from one storage', () => {
  const { tensors } = loadTorchFile(path.join(DIR, 'state_zip.pt'));
  const byShape = tensors.filter((t) => t.storage === tensors.find((x) => x.shape.join() === '4,5')!.storage);
  assert.equal(byShape.length, 4); // base, view_offset, transposed, strided
  const sd = loadTorchStateDict(path.join(DIR, 'state_zip.pt'));
  const base = sd.get('extras.base')!.data as Float32Array;
  const tr = sd.get('extras.transposed')!.data as Float32Array;
  assert.equal(tr[1], base[5]); // transposed[0][1] = base[1][0]
  assert.deepEqual(Array.from(sd.get('extras.view_offset')!.data as Float32Array), Array.from(base.subarray(5, 15)));
});

test('Python 2 OrderedDict pickles (items passed to the constructor, as in old LPIPS .pth files) keep their items', () => {
  const d = parsePickle(fs.readFileSync(path.join(DIR, 'py2_ordereddict.pkl')), { allowGlobals: NETWORK_GLOBALS });
  assert.ok(d instanceof Map);
  assert.deepEqual([...d], [['a', 1], ['b', [2, 3]]]);
});

test('hostile, foreign and truncated torch files are refused with one line, nothing runs', () => {
  const sentinelDir = '/tmp/stylegan-ts-pickle-sentinel';
  fs.rmSync(sentinelDir, { recursive: true, force: true });
  fs.mkdirSync(sentinelDir, { recursive: true });
  try {
    for (const r of side.refusals) {
      assert.throws(() => loadTorchFile(path.join(DIR, r.file)), (err: unknown) => {
        assert.ok(err instanceof UserError, `${r.file}: ${String(err)}`);
        assert.match(err.message, new RegExp(r.expect), r.file);
        assert.ok(err.message.startsWith(r.file), err.message);
        assert.ok(!err.message.includes('\n'));
        return true;
      });
    }
    assert.deepEqual(fs.readdirSync(sentinelDir), []);
  } finally {
    fs.rmSync(sentinelDir, { recursive: true, force: true });
  }
});

test('zip reader: stored and deflated entries, zip64 records (Python zipfile), CRC checked', () => {
  const zip = new ZipReader(fs.readFileSync(path.join(DIR, side.zip.file)), side.zip.file);
  assert.deepEqual([...zip.entries.keys()], Object.keys(side.zip.entries));
  for (const [name, e] of Object.entries(side.zip.entries)) {
    const data = zip.read(name);
    assert.equal(zip.entries.get(name)!.method, e.method === 'stored' ? 0 : 8);
    assert.equal(data.length, e.size, name);
    assert.equal(createHash('sha256').update(data).digest('hex'), e.sha256, name);
  }
  const bad = new ZipReader(fs.readFileSync(path.join(DIR, 'zip_badcrc.zip')), 'bad.zip');
  assert.throws(() => bad.read('a/stored.bin'), (err: unknown) => {
    assert.ok(err instanceof UserError);
    assert.equal(err.message, "bad.zip: entry 'a/stored.bin' fails its CRC-32 check (corrupt file)");
    return true;
  });
  assert.throws(() => bad.read('a/nope'), /bad\.zip: missing entry 'a\/nope'/);
});

for (const [file, expected] of Object.entries(side.torchscript)) {
  test(`${file}: TorchScript weights come out under state_dict() names without reading its code`, () => {
    const { root } = loadTorchFile(path.join(DIR, file));
    assert.ok(root instanceof TorchScriptObject);
    assert.match(root.className, /^__torch__\.(___torch_mangle_\d+\.)?Toy$/); // tracing mangles class names
    if (file.includes('scripted')) {
      assert.deepEqual(root.get('sizes'), [1, 2, 3]); // List[int] via torch.jit._pickle.build_intlist
      assert.equal(root.get('scale'), 2.5);
    }
    const sd = loadTorchStateDict(path.join(DIR, file));
    assert.deepEqual([...sd.keys()].sort(), expected.map((e) => e.name).sort());
    for (const e of expected) {
      const t = sd.get(e.name)!;
      assert.deepEqual([t.dtype, t.shape], [e.dtype, e.shape], e.name);
      assert.equal(sha(toF32(t.data)), e.sha256, e.name);
    }
  });
}

test('corrupted torch files fail only with UserError', () => {
  for (const [i, file] of ['state_zip.pt', 'state_legacy.pt', 'torchscript_scripted.pt'].entries()) {
    const r = assertOnlyUserErrors(fs.readFileSync(path.join(DIR, file)), 100, 31 + i, (b) => loadTorchFile(b));
    assert.ok(r.refused > 0, file);
  }
});
