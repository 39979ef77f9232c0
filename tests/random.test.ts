// RandomState against numpy's legacy RandomState. The fixtures are written by
// tests/fixtures/make_random.py (numpy); each case seeds both generators alike and replays the
// same calls here, comparing every double bit for bit (Object.is on the parsed repr).
//
// Gaussians depend on libm's log. The expected values are numpy's algorithm with a correctly
// rounded log (what RandomState computes); where numpy on the fixture machine (glibc 2.36)
// differed, the fixture lists its values ("numpy" diffs) and we check that those are the only
// differences and each is within 2 ulp.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { RandomState, logCorrectlyRounded, type RandomStateSnapshot } from '../dnnlib/random.ts';

type Arg = number | null | number[];
interface Digest { dtype: 'f8' | 'i4'; n: number; sha256: string; head: (string | number)[]; tail: (string | number)[]; checksum?: number }
interface NumpyState extends Omit<RandomStateSnapshot, 'cached_gaussian'> { cached_gaussian: string }
type Diffs = [index: number, numpyRepr: string][];
interface Call {
  method: string;
  args: Arg[];
  f8?: string | string[];
  int?: number | number[];
  digest?: Digest;
  state?: NumpyState;
  /** Where plain numpy (glibc's log) differs from the correctly rounded reference. */
  numpy?: string | Diffs | { sha256: string; diffs: Diffs };
  numpy_cached_gaussian?: string;
}
interface Case { name: string; seed: number; calls: Call[] }

function load<T>(name: string): T {
  return JSON.parse(readFileSync(new URL(`./fixtures/random/${name}`, import.meta.url), 'utf8')) as T;
}

const u = (a: Arg | undefined): number | number[] | undefined => (a === null ? undefined : a);
const num = (a: Arg | undefined): number | undefined => u(a) as number | undefined;
const arange = (n: number): Int32Array => Int32Array.from({ length: n }, (_, i) => i);

/** Runs one fixture call (numpy's call in the TS API's form) and returns the result. */
function invoke(rs: RandomState, method: string, args: Arg[]): unknown {
  const dims = args as number[];
  switch (method) {
    case 'rand': return dims.length ? rs.rand(dims[0], ...dims.slice(1)) : rs.rand();
    case 'random_sample': return dims.length ? rs.random_sample(dims[0], ...dims.slice(1)) : rs.random_sample();
    case 'randn': return dims.length ? rs.randn(dims[0], ...dims.slice(1)) : rs.randn();
    case 'uniform': return args.length > 2 ? rs.uniform(num(args[0]), num(args[1]), u(args[2])!) : rs.uniform(num(args[0]), num(args[1]));
    case 'normal': return args.length > 2 ? rs.normal(num(args[0]), num(args[1]), u(args[2])!) : rs.normal(num(args[0]), num(args[1]));
    case 'randint': return args.length > 2 ? rs.randint(dims[0], num(args[1]), u(args[2])!) : rs.randint(dims[0], num(args[1]));
    case 'randintFloat64':
      return args.length > 2 ? rs.randintFloat64(dims[0], num(args[1]), u(args[2])!) : rs.randintFloat64(dims[0], num(args[1]));
    case 'shuffle': { const a = arange(dims[0]); rs.shuffle(a); return a; }
    case 'shuffleList': { const a = Array.from({ length: dims[0] }, (_, i) => i); rs.shuffle(a); return a; }
    case 'permutation': return rs.permutation(dims[0]);
    case 'permutationOf': return rs.permutation(Float64Array.from(args[0] as number[]));
    case 'get_state': return rs.get_state();
    default: throw new Error(`fixture names unknown method ${method}`);
  }
}

function checkDoubles(got: unknown, want: string | string[], where: string): void {
  if (typeof want === 'string') {
    assert.equal(typeof got, 'number', `${where}: expected a number`);
    assert.ok(Object.is(got, Number(want)), `${where}: got ${got}, numpy ${want}`);
    return;
  }
  assert.ok(got instanceof Float64Array, `${where}: expected a Float64Array`);
  assert.equal(got.length, want.length, `${where}: length`);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], Number(want[i]))) assert.fail(`${where}[${i}]: got ${got[i]}, numpy ${want[i]}`);
  }
}

function checkInts(got: unknown, want: number | number[], method: string, where: string): void {
  if (typeof want === 'number') {
    assert.equal(got, want, where);
    return;
  }
  const kind = method === 'randintFloat64' ? Float64Array : method === 'shuffleList' ? Array : Int32Array;
  assert.ok(got instanceof kind, `${where}: expected ${kind.name}`);
  assert.deepEqual(Array.from(got as ArrayLike<number>), want, where);
}

function checkDigest(got: unknown, want: Digest, where: string): void {
  const kind = want.dtype === 'f8' ? Float64Array : Int32Array;
  assert.ok(got instanceof kind, `${where}: expected ${kind.name}`);
  const arr = got as Float64Array | Int32Array;
  assert.equal(arr.length, want.n, `${where}: length`);
  const parse = (v: string | number) => (typeof v === 'string' ? Number(v) : v);
  // Head and tail first, so a mismatch shows values rather than only a hash.
  want.head.forEach((v, i) => assert.ok(Object.is(arr[i], parse(v)), `${where}[${i}]: got ${arr[i]}, numpy ${v}`));
  want.tail.forEach((v, k) => {
    const i = arr.length - want.tail.length + k;
    assert.ok(Object.is(arr[i], parse(v)), `${where}[${i}]: got ${arr[i]}, numpy ${v}`);
  });
  if (want.checksum !== undefined) {
    let sum = 0;
    for (let i = 0; i < arr.length; i++) sum = (sum + i * arr[i]) % 2 ** 31; // each term < 2**53
    assert.equal(sum, want.checksum, `${where}: sum(i * p[i]) mod 2**31`);
  }
  const hash = createHash('sha256').update(new Uint8Array(arr.buffer, arr.byteOffset, arr.byteLength)).digest('hex');
  assert.equal(hash, want.sha256, `${where}: sha256 of the ${want.n} values`);
}

/** Distance in units in the last place between two finite doubles of the same sign. */
function ulps(a: number, b: number): number {
  const bits = new BigInt64Array(new Float64Array([a, b]).buffer);
  assert.equal(Math.sign(a), Math.sign(b), `ulps(${a}, ${b}): signs differ`);
  const d = bits[0] - bits[1];
  return Number(d < 0n ? -d : d);
}

/** numpy's value differs from ours (it must, or the fixture would not list it) by <= 2 ulp. */
function checkNumpyDiffs(got: ArrayLike<number>, diffs: Diffs, where: string): void {
  for (const [i, v] of diffs) {
    const d = ulps(got[i], Number(v));
    assert.ok(d >= 1 && d <= 2, `${where}[${i}]: ours ${got[i]}, numpy/glibc ${v}: ${d} ulp apart`);
  }
}

function checkNumpy(got: unknown, call: Call, where: string): void {
  const n = call.numpy;
  if (call.numpy_cached_gaussian !== undefined) {
    checkNumpyDiffs([(got as RandomStateSnapshot).cached_gaussian], [[0, call.numpy_cached_gaussian]], where);
  }
  if (n === undefined) return;
  if (typeof n === 'string') return checkNumpyDiffs([got as number], [[0, n]], where);
  if (Array.isArray(n)) return checkNumpyDiffs(got as Float64Array, n, where);
  // Long stream: patch numpy's values in and the bytes must hash to numpy's own output.
  const patched = Float64Array.from(got as Float64Array);
  checkNumpyDiffs(patched, n.diffs, where);
  for (const [i, v] of n.diffs) patched[i] = Number(v);
  const hash = createHash('sha256').update(new Uint8Array(patched.buffer)).digest('hex');
  assert.equal(hash, n.sha256, `${where}: numpy's stream = ours except at the ${n.diffs.length} listed values`);
}

function checkState(got: unknown, want: NumpyState, where: string): void {
  assert.deepEqual(got, { ...want, cached_gaussian: Number(want.cached_gaussian) }, where);
}

function replay(c: Case): void {
  const rs = new RandomState(c.seed);
  c.calls.forEach((call, k) => {
    const where = `seed ${c.seed} "${c.name}" call ${k} ${call.method}(${JSON.stringify(call.args)})`;
    const got = invoke(rs, call.method, call.args);
    if (call.digest) checkDigest(got, call.digest, where);
    else if (call.f8 !== undefined) checkDoubles(got, call.f8, where);
    else if (call.int !== undefined) checkInts(got, call.int, call.method, where);
    else if (call.state) checkState(got, call.state, where);
    else assert.fail(`${where}: fixture has no expected output`);
    checkNumpy(got, call, where);
  });
}

assert.equal(endianness(), 'LE', 'digests hash little-endian bytes');

for (const file of ['streams.json', 'integers.json', 'permutations.json']) {
  const { cases } = load<{ cases: Case[] }>(file);
  const names = [...new Set(cases.map((c) => c.name))];
  for (const name of names) {
    const group = cases.filter((c) => c.name === name);
    test(`numpy parity: ${name} (seeds ${group.map((c) => c.seed).join(', ')})`, () => group.forEach(replay));
  }
}

const stateFixture = load<{ cases: Case[]; resume: { state: NumpyState; randn7: string[]; randint_0_100_5: number[] } }>('state.json');

test('logCorrectlyRounded matches the correctly rounded log (Decimal), incl. where glibc misrounds', () => {
  const { x, log, glibc_misrounded_from } = load<{ x: string[]; log: string[]; glibc_misrounded_from: number }>('log.json');
  assert.ok(x.length - glibc_misrounded_from >= 50, 'fixture holds glibc-misrounded inputs');
  x.forEach((xs, i) => {
    const got = logCorrectlyRounded(Number(xs));
    assert.ok(Object.is(got, Number(log[i])), `log(${xs}) = ${got}, correctly rounded ${log[i]}`);
  });
  // Math.log is not enough: it misses the correctly rounded value on many of these inputs.
  const mathLogMisses = x.filter((xs, i) => !Object.is(Math.log(Number(xs)), Number(log[i]))).length;
  assert.ok(mathLogMisses > 0);
});

test('numpy parity: get_state fields after seeding and draws', () => stateFixture.cases.forEach(replay));

test('set_state with numpy\'s mid-stream state (cached gaussian) continues numpy\'s stream', () => {
  const { state, randn7, randint_0_100_5 } = stateFixture.resume;
  const rs = new RandomState(7);
  rs.randn(3); // a different state and a cached gaussian, both to be overwritten
  rs.set_state({ ...state, cached_gaussian: Number(state.cached_gaussian) });
  checkDoubles(rs.randn(7), randn7, 'randn(7) after set_state');
  assert.deepEqual(Array.from(rs.randint(0, 100, 5)), randint_0_100_5);
});

test('get_state survives JSON and resumes the same stream', () => {
  const a = new RandomState(123);
  a.rand(1000);
  a.randn(1); // leaves has_gauss = 1
  const saved = JSON.parse(JSON.stringify(a.get_state())) as RandomStateSnapshot;
  assert.equal(saved.has_gauss, 1);
  const b = new RandomState(0);
  b.set_state(saved);
  assert.deepEqual(b.get_state(), a.get_state());
  assert.deepEqual(b.randn(2000), a.randn(2000));
  assert.deepEqual(b.randint(0, 70000, 100), a.randint(0, 70000, 100));
});

test('shapes: the result length is the product of the dims', () => {
  const rs = new RandomState(0);
  assert.equal(rs.randn(1, 512).length, 512);
  assert.equal(rs.rand(3, 4, 5).length, 60);
  assert.equal(rs.randint(0, 10, [2, 3]).length, 6);
  assert.equal(rs.uniform(0, 1, [2, 0]).length, 0);
  assert.equal(typeof rs.randint(3), 'number');
});

test('seeds outside uint32 are rejected, naming the value', () => {
  for (const [bad, shown] of [[-1, '-1'], [2 ** 32, '4294967296'], [1.5, '1.5'], [NaN, 'NaN'], ['5', '"5"'], [5n, '5n']] as const) {
    assert.throws(() => new RandomState(bad as number), (e: Error) => e.message.includes(`got ${shown}`), `seed ${shown}`);
  }
  assert.doesNotThrow(() => new RandomState(2 ** 32 - 1));
});

test('bad arguments are rejected with a clear message', () => {
  const rs = new RandomState(0);
  assert.throws(() => rs.randint(5, 5), /low >= high/);
  assert.throws(() => rs.randint(0), /low >= high/);
  assert.throws(() => rs.randint(0, 2 ** 32, 3), /randintFloat64/);
  assert.throws(() => rs.randint(0.5, 3), /integers within/);
  assert.throws(() => rs.randintFloat64(-(2 ** 52), 2 ** 52 + 2), /wider than 2\*\*53/);
  assert.throws(() => rs.randn(2, -1), /non-negative integers/);
  assert.throws(() => rs.normal(0, -1), /scale must be >= 0/);
  assert.throws(() => rs.normal(0, -0), /scale must be >= 0, got -0/); // numpy rejects -0.0 too
  assert.throws(() => rs.uniform(-Number.MAX_VALUE, Number.MAX_VALUE), /finite/);
  assert.throws(() => rs.permutation(-3), /got -3/);
  const good = rs.get_state();
  assert.throws(() => rs.set_state({ ...good, key: good.key.slice(1) }), /624 uint32/);
  assert.throws(() => rs.set_state({ ...good, pos: 625 }), /pos must be/);
  assert.throws(() => rs.set_state({ ...good, bit_generator: 'PCG64' as 'MT19937' }), /MT19937/);
  assert.deepEqual(rs.get_state(), good, 'a rejected set_state leaves the state alone');
});

test('randn(10000, 512) takes well under a second of CPU', () => {
  const rs = new RandomState(0);
  rs.randn(1000); // warm up the JIT
  // CPU time, not wall time: other test runs share this machine.
  const c0 = process.cpuUsage();
  const z = rs.randn(10000, 512);
  const c = process.cpuUsage(c0);
  const ms = (c.user + c.system) / 1000;
  assert.equal(z.length, 5_120_000);
  assert.ok(ms < 1000, `randn(10000, 512) took ${ms.toFixed(0)} ms of CPU`);
});
