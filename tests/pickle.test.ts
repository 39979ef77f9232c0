import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import { UserError } from '../dnnlib/errors.ts';
import { assertOnlyUserErrors } from './pickle_mutate.ts';
import {
  loadNetworkPickle, flattenVariables, parsePickle, NETWORK_GLOBALS,
  type NetworkState, type NetworkVariable, type TypedArray, type PickleContext,
} from '../dnnlib/pickle.ts';

// Fixtures and sidecars come from tests/fixtures/make_pickles.py (numpy 1.24 / numpy 2.4).
const DIR = path.join(import.meta.dirname, 'fixtures', 'pickles');
const readJson = (name: string) => JSON.parse(fs.readFileSync(path.join(DIR, name), 'utf8'));

interface VarSide { name: string; dtype: string; shape: number[]; sha256?: string; sha256_raw?: string; value?: number | boolean }
interface NetSide {
  version: number; name: string; build_func_name: string; static_kwargs: Record<string, unknown>;
  components: Record<string, NetSide>; variables: VarSide[];
}

function sha(a: TypedArray): string {
  return createHash('sha256').update(new Uint8Array(a.buffer, a.byteOffset, a.byteLength)).digest('hex');
}
function toF32(a: TypedArray): Float32Array {
  if (a instanceof Float32Array) return a;
  if (a instanceof BigInt64Array || a instanceof BigUint64Array) return Float32Array.from(a, (x) => Number(x));
  return Float32Array.from(a as ArrayLike<number>);
}

function checkVariable(v: NetworkVariable, s: VarSide, where: string): void {
  assert.equal(v.name, s.name, where);
  assert.equal(v.dtype, s.dtype, `${where}: dtype`);
  assert.deepEqual(v.shape, s.shape, `${where}: shape`);
  assert.equal(v.data.length, s.shape.reduce((a, b) => a * b, 1), `${where}: length`);
  if (s.value !== undefined) {
    const x = v.data[0]!;
    assert.equal(typeof x === 'bigint' ? Number(x) : v.dtype === 'bool' ? x === 1 : x, s.value, `${where}: value`);
    return;
  }
  assert.equal(sha(toF32(v.data)), s.sha256, `${where}: float32 bytes`);
  // float16 is widened to float32, so its raw bytes are not comparable; every other dtype must be bit-exact.
  if (s.sha256_raw && v.dtype !== 'float16') assert.equal(sha(v.data), s.sha256_raw, `${where}: raw bytes`);
}

function checkNetwork(net: NetworkState, side: NetSide, where: string): void {
  assert.equal(net.version, side.version, `${where}: version`);
  assert.equal(net.name, side.name, `${where}: name`);
  assert.equal(net.build_func_name, side.build_func_name, `${where}: build_func_name`);
  assert.deepEqual(net.static_kwargs, side.static_kwargs, `${where}: static_kwargs`);
  assert.deepEqual(Object.keys(net.components), Object.keys(side.components), `${where}: component order`);
  for (const [k, c] of Object.entries(side.components)) checkNetwork(net.components[k]!, c, `${where}/${k}`);
  assert.equal(net.variables.length, side.variables.length, `${where}: variable count`);
  net.variables.forEach((v, i) => checkVariable(v, side.variables[i]!, `${where}: ${side.variables[i]!.name}`));
}

const NETWORK_FIXTURES = [
  'tiny_v1_p4_np1_scalar', 'tiny_v1_p4_np1_0d', 'tiny_v1_p2_np1', 'tiny_v1_p5_np1', 'tiny_v1_p0_np1', 'tiny_v1_p1_np1', 'tiny_v1_p4_np2', 'tiny_v2_p4_np1', 'edge_cases',
];

for (const stem of NETWORK_FIXTURES) {
  test(`${stem}.pkl matches the Python sidecar (names, dtypes, shapes, bytes, kwargs, flat names)`, () => {
    const side = readJson(`${stem}.json`);
    const nets = loadNetworkPickle(path.join(DIR, `${stem}.pkl`));
    assert.deepEqual(Object.keys(nets).sort(), Object.keys(side.networks).sort());
    for (const [key, s] of Object.entries(side.networks as Record<string, NetSide>)) {
      const net = nets[key as 'G' | 'D' | 'Gs']!;
      checkNetwork(net, s, `${stem}:${key}`);
      assert.deepEqual(flattenVariables(net).map((v) => v.fullName), side.flat_names[key], `${stem}:${key}: flat names`);
    }
  });
}

test('the tiny v1 network has NVIDIA layout: components, flat names, lod scalars', () => {
  const { G, D, Gs } = loadNetworkPickle(fs.readFileSync(path.join(DIR, 'tiny_v1_p4_np1_scalar.pkl')), 'tiny.pkl');
  assert.ok(G && D && Gs);
  assert.deepEqual(Object.keys(Gs.components), ['synthesis', 'mapping']);
  assert.equal(Gs.components.mapping!.static_kwargs.dlatent_broadcast, 6);
  const flat = flattenVariables(Gs).map((v) => v.fullName);
  assert.deepEqual(flat.slice(0, 3), ['lod', 'dlatent_avg', 'G_synthesis/lod']);
  assert.ok(flat.includes('G_synthesis/4x4/Conv/weight') && flat.includes('G_mapping/Dense0/weight'));
  const lod = Gs.variables[0]!;
  assert.deepEqual([lod.name, lod.shape, lod.dtype, lod.data[0]], ['lod', [], 'float32', 0.5]);
  assert.ok(Gs.variables[1]!.data instanceof Float32Array);
});

test('edge cases: memo-shared arrays stay shared, big-endian/Fortran data is reordered, no prototype pollution', () => {
  const { Gs } = loadNetworkPickle(path.join(DIR, 'edge_cases.pkl'));
  const byName = new Map(Gs!.variables.map((v) => [v.name, v]));
  assert.equal(byName.get('shared_a')!.data, byName.get('shared_b')!.data); // one array, referenced twice
  assert.deepEqual(Array.from(byName.get('big_int32')!.data as Int32Array), [1, -2, 70000]);
  assert.deepEqual(Array.from(byName.get('half_specials')!.data as Float32Array),
    [0, -0, 65504, 5.960464477539063e-8, -Infinity, 0.333251953125]);
  assert.deepEqual(Array.from(byName.get('bool')!.data as Uint8Array), [1, 0, 1, 1]);
  assert.equal(Gs!.variables.length, 1100);
  const kw = Gs!.static_kwargs;
  assert.equal(Object.getPrototypeOf(kw), Object.prototype);
  assert.deepEqual(Object.getOwnPropertyDescriptor(kw, '__proto__')!.value, { polluted: true });
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

interface Refusal { file: string; expect: string; sentinel: string | null }

test('hostile and corrupt pickles are refused with one clear line, and nothing runs', () => {
  const { sentinel_dir: sentinelDir, cases } = readJson('refusals.json') as { sentinel_dir: string; cases: Refusal[] };
  fs.rmSync(sentinelDir, { recursive: true, force: true });
  fs.mkdirSync(sentinelDir, { recursive: true }); // so an executed `touch` would succeed and be seen
  try {
    assert.ok(cases.length >= 18);
    for (const c of cases) {
      assert.throws(() => loadNetworkPickle(path.join(DIR, c.file)), (err: unknown) => {
        assert.ok(err instanceof UserError, `${c.file}: ${String(err)}`);
        assert.match(err.message, new RegExp(c.expect), c.file);
        assert.ok(err.message.startsWith(`${c.file}: `), err.message);
        assert.ok(!err.message.includes('\n'), err.message);
        return true;
      });
    }
    assert.deepEqual(fs.readdirSync(sentinelDir), []);
  } finally {
    fs.rmSync(sentinelDir, { recursive: true, force: true });
  }
});

test('a refused global anywhere in the file stops it before any allowed handler has run', () => {
  // refuse_os_system.pkl instantiates dnnlib.tflib.network.Network before it names os.system.
  let calls = 0;
  const network = NETWORK_GLOBALS['dnnlib.tflib.network.Network']!;
  const spied = {
    ...NETWORK_GLOBALS,
    'dnnlib.tflib.network.Network': { construct: (args: unknown[], ctx: PickleContext) => { calls++; return network.construct!(args, ctx); } },
  };
  const bytes = fs.readFileSync(path.join(DIR, 'refuse_os_system.pkl'));
  assert.throws(() => parsePickle(bytes, { allowGlobals: spied }), /refused global 'os\.system'/);
  assert.equal(calls, 0);
  parsePickle(fs.readFileSync(path.join(DIR, 'tiny_v1_p4_np1_scalar.pkl')), { allowGlobals: spied });
  assert.equal(calls, 7); // the spy does see the 7 Networks (G, D, Gs and the 4 components) when nothing is refused
});

test('parsePickle survives 100,000 nested lists and refuses globals missing from its allow-list', () => {
  let x = parsePickle(fs.readFileSync(path.join(DIR, 'refuse_deep_nesting.pkl')), { allowGlobals: {} });
  let depth = 0;
  while (Array.isArray(x) && x.length) { x = x[0]; depth++; }
  assert.equal(depth, 100000 - 1);
  const bytes = fs.readFileSync(path.join(DIR, 'tiny_v1_p4_np1_scalar.pkl'));
  const { 'dnnlib.tflib.network.Network': _, ...noNetwork } = NETWORK_GLOBALS;
  assert.throws(() => parsePickle(bytes, { allowGlobals: noNetwork, fileName: 'x.pkl' }), (err: Error) => {
    assert.match(err.message, /^x\.pkl: refused global 'dnnlib\.tflib\.network\.Network' at byte \d+ — only allow-listed globals are accepted$/);
    return true;
  });
});

test('corrupted network pickles (random byte edits, cuts, deletions) fail only with UserError', () => {
  for (const [i, stem] of ['tiny_v1_p4_np1_scalar', 'tiny_v1_p2_np1', 'tiny_v1_p0_np1', 'tiny_v1_p5_np1', 'edge_cases'].entries()) {
    const r = assertOnlyUserErrors(fs.readFileSync(path.join(DIR, `${stem}.pkl`)), 60, 17 + i, (b) => loadNetworkPickle(b));
    assert.ok(r.refused > 0, stem);
  }
});

// Plain Python data at protocols 0/2/4/5 and hand-written rare opcodes; zoo.json is Python's own
// unpickling of each file (encoding='latin1', as NVIDIA's loaders), normalized the same way as here.
function normalize(x: unknown): unknown {
  if (x === null || typeof x === 'boolean' || typeof x === 'string') return x;
  if (typeof x === 'bigint') return { int: x.toString() };
  if (typeof x === 'number') return Object.is(x, -0) ? { float: '-0' } : Number.isFinite(x) ? x : { float: x > 0 ? 'inf' : '-inf' };
  if (x instanceof Uint8Array) return { bytes: Buffer.from(x).toString('hex') };
  if (Array.isArray(x)) return x.map(normalize);
  if (x instanceof Set) return { set: [...x].map(normalize).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) };
  if (x instanceof Map) return { dict: [...x].map(([k, v]) => [normalize(k), normalize(v)]) };
  throw new Error(`unexpected value ${String(x)}`);
}

test('opcode zoo: every protocol and the rare opcodes give what Python itself unpickles', () => {
  const expected = readJson('zoo.json') as Record<string, unknown>;
  // Data-only handlers for the builtins protocols 0–2 use for sets and empty bytes.
  const allowGlobals = {
    ...NETWORK_GLOBALS,
    '__builtin__.set': { call: (args: unknown[]) => new Set(args[0] as unknown[]) },
    '__builtin__.frozenset': { call: (args: unknown[]) => new Set(args[0] as unknown[]) },
    '__builtin__.bytes': { call: () => new Uint8Array(0) },
  };
  assert.equal(Object.keys(expected).length, 5);
  for (const [file, value] of Object.entries(expected)) {
    const got = parsePickle(fs.readFileSync(path.join(DIR, file)), { allowGlobals, fileName: file });
    assert.deepEqual(normalize(got), value, file);
  }
});
