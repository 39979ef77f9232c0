// numpy's legacy `np.random.RandomState(seed)`, reproduced bit for bit.
//
// NVIDIA's scripts name latents and dataset order by seed (`RandomState(5).randn(1, 512)`,
// `RandomState(123).shuffle(order)`), so "seed 5" only means the paper's face if every draw
// here consumes the Mersenne Twister exactly as numpy does. Each method follows numpy's legacy
// algorithm (mtrand.pyx and legacy-distributions.c), not the newer `Generator` ones.
//
// API conventions (numpy's method names, TS-friendly returns):
// - A shape is given as separate dims (`randn(1, 512)`) or as `size` (a number or a dims
//   array). Results are flat row-major typed arrays whose length is the product of the dims;
//   the caller keeps the shape (e.g. `tf.tensor(rs.randn(n, 512), [n, 512])`).
// - With no shape / `size` undefined, a method returns one plain number, like numpy's scalars.
// - `randint` returns Int32Array; ranges whose values don't fit int32 (e.g. [0, 2**32)) go
//   through `randintFloat64`, which draws identically and returns exact integers as doubles.
//
// Gaussians and the C library's log: legacy_gauss takes log(r2) from libm, whose last bit
// differs between C libraries. We use a correctly rounded log (logCorrectlyRounded below), which
// is what glibc <= 2.27 gave (NVIDIA's environment, to our knowledge). numpy on glibc >= 2.28
// (0.52-ulp log) differs in ~0.04% of randn values, each by 1-2 ulp; tests/random.test.ts lists
// and checks every such difference in its fixtures. Even one glibc gives two numpy streams: its
// FMA and non-FMA log variants round differently (numpy 2.4, glibc 2.36, seed 0: randn(200000)
// hashes differently with GLIBC_TUNABLES=glibc.cpu.hwcaps=-FMA,...), so a correctly rounded log
// is the only platform-independent definition. Everything else (uniforms, integers, shuffles,
// state) has no libm call and matches any numpy exactly.

import { UserError } from './errors.ts';

const N = 624; // MT19937 state words
const M = 397;
const MATRIX_A = 0x9908b0df;
const UPPER_MASK = 0x80000000;
const LOWER_MASK = 0x7fffffff;
const TWO_32 = 4294967296;

/** Plain JSON-serialisable RandomState state; the fields of numpy's legacy `get_state()` tuple. */
export interface RandomStateSnapshot {
  bit_generator: 'MT19937';
  /** The 624 MT19937 state words (uint32). */
  key: number[];
  /** Index of the next word to temper, 0..624 (624 = regenerate before the next draw). */
  pos: number;
  /** 1 if a second polar Box–Muller value is cached for the next `randn`. */
  has_gauss: 0 | 1;
  /** The cached value (0 when none, as numpy resets it). */
  cached_gaussian: number;
}

/** Output shape: one dim or a dims array; the result length is the product. */
export type Size = number | readonly number[];

/** Anything indexable and writable in place: JS arrays and typed arrays. */
export interface MutableArrayLike<T> {
  readonly length: number;
  [index: number]: T;
}

type TypedArray =
  | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array
  | Int32Array | Uint32Array | Float32Array | Float64Array | BigInt64Array | BigUint64Array;

function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'bigint') return `${value}n`;
  if (Array.isArray(value)) return `array of length ${value.length}`;
  return String(value);
}

function isUint32(value: unknown): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < TWO_32;
}

/** Product of validated dims; an empty dims list means one element, like numpy's size=(). */
function sizeOf(dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new UserError(`${what}: dimensions must be non-negative integers, got [${dims.map(describe).join(', ')}]`);
    }
    n *= d;
  }
  if (!Number.isSafeInteger(n)) throw new UserError(`${what}: size [${dims.join(', ')}] is too large`);
  return n;
}

function dimsOf(size: Size): readonly number[] {
  return typeof size === 'number' ? [size] : size;
}

export class RandomState {
  // Int32Array, not Uint32Array: V8 keeps int32 values unboxed, words >= 2**31 from a
  // Uint32Array would become heap doubles. The bits are the same; `>>> 0` reads them unsigned.
  private readonly key = new Int32Array(N);
  // key[i] tempered, filled whenever key changes: a draw is then one load. get_state still
  // reports key and pos only, as numpy does.
  private readonly tempered = new Int32Array(N);
  private pos = N;
  private hasGauss = false;
  private gauss = 0;

  /** Seeds like `np.random.RandomState(seed)` with an integer seed in [0, 2**32 - 1]. */
  constructor(seed: number) {
    if (!isUint32(seed)) {
      throw new UserError(`RandomState seed must be an integer in [0, 2**32 - 1], got ${describe(seed)}`);
    }
    // Knuth's linear initialisation from the MT reference code (numpy's mt19937_seed); the
    // multiply must wrap at 32 bits, hence Math.imul.
    const key = this.key;
    key[0] = seed | 0;
    for (let i = 1; i < N; i++) {
      const prev = key[i - 1];
      key[i] = Math.imul(1812433253, prev ^ (prev >>> 30)) + i;
    }
    // pos = N: the first draw regenerates the whole block, as numpy does.
  }

  // ---- MT19937 core -------------------------------------------------------------------------

  /** Refills all 624 words (the standard MT19937 recurrence), then restarts at word 0. */
  private regenerate(): void {
    const key = this.key;
    let i = 0;
    let y: number;
    for (; i < N - M; i++) {
      y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
      key[i] = key[i + M] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    for (; i < N - 1; i++) {
      y = (key[i] & UPPER_MASK) | (key[i + 1] & LOWER_MASK);
      key[i] = key[i + M - N] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    }
    y = (key[N - 1] & UPPER_MASK) | (key[0] & LOWER_MASK);
    key[N - 1] = key[M - 1] ^ (y >>> 1) ^ (y & 1 ? MATRIX_A : 0);
    this.temperAll();
    this.pos = 0;
  }

  /** MT19937's output tempering, applied to the whole block at once. */
  private temperAll(): void {
    const key = this.key, out = this.tempered;
    for (let i = 0; i < N; i++) {
      let y = key[i];
      y ^= y >>> 11;
      y ^= (y << 7) & 0x9d2c5680;
      y ^= (y << 15) & 0xefc60000;
      y ^= y >>> 18;
      out[i] = y;
    }
  }

  /** Next tempered 32-bit word, bits as an int32 (`>>> 0` gives numpy's uint32). */
  private nextInt32(): number {
    if (this.pos === N) this.regenerate();
    return this.tempered[this.pos++];
  }

  /** numpy's random_sample: 27 + 26 high bits of two words make a 53-bit double in [0, 1). */
  private nextDouble(): number {
    const a = this.nextInt32() >>> 5;
    const b = this.nextInt32() >>> 6;
    return (a * 67108864 + b) / 9007199254740992;
  }

  /**
   * numpy's legacy_gauss: polar Box–Muller. Each accepted pair yields two normals; the second
   * is cached and returned by the next call (even across methods), and numpy zeroes the cache
   * slot when it is used, which get_state() exposes, so we do too.
   */
  private nextGauss(): number {
    if (this.hasGauss) {
      const cached = this.gauss;
      this.hasGauss = false;
      this.gauss = 0;
      return cached;
    }
    let x1: number, x2: number, r2: number;
    do {
      x1 = 2 * this.nextDouble() - 1;
      x2 = 2 * this.nextDouble() - 1;
      r2 = x1 * x1 + x2 * x2;
    } while (r2 >= 1 || r2 === 0);
    const f = Math.sqrt((-2 * logCorrectlyRounded(r2)) / r2);
    this.gauss = f * x1;
    this.hasGauss = true;
    return f * x2;
  }

  /**
   * Uniform integer in [0, rng] by masked rejection: draw, keep the bits under the smallest
   * all-ones mask >= rng, retry while above rng. This is both numpy's random_interval (shuffle)
   * and its legacy randint fill: rng = 0 draws nothing, rng < 2**32 uses one word per try,
   * larger ranges one 64-bit value (first word high) per try. Exact for rng < 2**53.
   */
  private bounded(rng: number): number {
    if (rng === 0) return 0;
    if (rng <= 0xffffffff) {
      let mask = rng | 0;
      mask |= mask >>> 1;
      mask |= mask >>> 2;
      mask |= mask >>> 4;
      mask |= mask >>> 8;
      mask |= mask >>> 16;
      let value: number;
      do value = (this.nextInt32() & mask) >>> 0;
      while (value > rng);
      return value;
    }
    // rng >= 2**32: the mask's low word is all ones, its high word is the smallest all-ones
    // mask covering rng's high word. Split so every step stays exact in doubles.
    let maskHi = Math.floor(rng / TWO_32);
    maskHi |= maskHi >>> 1;
    maskHi |= maskHi >>> 2;
    maskHi |= maskHi >>> 4;
    maskHi |= maskHi >>> 8;
    maskHi |= maskHi >>> 16;
    let value: number;
    do {
      const hi = this.nextInt32() & maskHi;
      const lo = this.nextInt32() >>> 0;
      value = hi * TWO_32 + lo;
    } while (value > rng);
    return value;
  }

  // ---- Uniform floats ---------------------------------------------------------------------

  /** Uniform doubles in [0, 1): `rand()` is one number, `rand(2, 3)` a Float64Array of 6. */
  rand(): number;
  rand(d0: number, ...dims: number[]): Float64Array;
  rand(...dims: number[]): number | Float64Array {
    if (dims.length === 0) return this.nextDouble();
    return this.fillDoubles(sizeOf(dims, 'rand'));
  }

  /** Same as rand(...shape) (numpy's random_sample takes a size tuple; here the dims). */
  random_sample(): number;
  random_sample(d0: number, ...dims: number[]): Float64Array;
  random_sample(...dims: number[]): number | Float64Array {
    if (dims.length === 0) return this.nextDouble();
    return this.fillDoubles(sizeOf(dims, 'random_sample'));
  }

  private fillDoubles(n: number): Float64Array {
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) out[i] = this.nextDouble();
    return out;
  }

  /** numpy's legacy uniform: `low + (high - low) * u` per draw, u from random_sample. */
  uniform(low?: number, high?: number): number;
  uniform(low: number | undefined, high: number | undefined, size: Size): Float64Array;
  uniform(low = 0, high = 1, size?: Size): number | Float64Array {
    const range = high - low;
    if (!Number.isFinite(range)) {
      throw new UserError(`uniform: range high - low must be finite, got low=${low}, high=${high}`);
    }
    if (size === undefined) return low + range * this.nextDouble();
    const out = new Float64Array(sizeOf(dimsOf(size), 'uniform'));
    for (let i = 0; i < out.length; i++) out[i] = low + range * this.nextDouble();
    return out;
  }

  // ---- Normals ------------------------------------------------------------------------------

  /** Standard normals (legacy polar Box–Muller): `randn(1, 512)` is a Float64Array of 512. */
  randn(): number;
  randn(d0: number, ...dims: number[]): Float64Array;
  randn(...dims: number[]): number | Float64Array {
    if (dims.length === 0) return this.nextGauss();
    const out = new Float64Array(sizeOf(dims, 'randn'));
    for (let i = 0; i < out.length; i++) out[i] = this.nextGauss();
    return out;
  }

  /** numpy's legacy normal: `loc + scale * gauss` per draw; scale must not be negative. */
  normal(loc?: number, scale?: number): number;
  normal(loc: number | undefined, scale: number | undefined, size: Size): Float64Array;
  normal(loc = 0, scale = 1, size?: Size): number | Float64Array {
    // numpy's check: sign bit set and not NaN (so -0 is rejected and NaN passes through).
    if (scale < 0 || Object.is(scale, -0)) throw new UserError(`normal: scale must be >= 0, got ${Object.is(scale, -0) ? '-0' : scale}`);
    if (size === undefined) return loc + scale * this.nextGauss();
    const out = new Float64Array(sizeOf(dimsOf(size), 'normal'));
    for (let i = 0; i < out.length; i++) out[i] = loc + scale * this.nextGauss();
    return out;
  }

  // ---- Integers -----------------------------------------------------------------------------

  /**
   * Integers in [low, high) (or [0, low) when high is omitted), drawing exactly like numpy's
   * `randint` with the default dtype. One number when size is undefined, else an Int32Array;
   * both bounds must fit int32 here — use randintFloat64 for wider ranges.
   */
  randint(low: number, high?: number): number;
  randint(low: number, high: number | undefined, size: Size): Int32Array;
  randint(low: number, high?: number, size?: Size): number | Int32Array {
    const [lo, rng] = this.intRange('randint', low, high);
    if (lo < -0x80000000 || lo + rng > 0x7fffffff) {
      throw new UserError(
        `randint: [${lo}, ${lo + rng + 1}) does not fit an Int32Array; use randintFloat64 for this range`,
      );
    }
    if (size === undefined) return lo + this.bounded(rng);
    const out = new Int32Array(sizeOf(dimsOf(size), 'randint'));
    for (let i = 0; i < out.length; i++) out[i] = lo + this.bounded(rng);
    return out;
  }

  /**
   * randint for ranges beyond int32 (e.g. [0, 2**32)): same draws, values as exact doubles.
   * Bounds must be safe integers and high - low at most 2**53.
   */
  randintFloat64(low: number, high?: number): number;
  randintFloat64(low: number, high: number | undefined, size: Size): Float64Array;
  randintFloat64(low: number, high?: number, size?: Size): number | Float64Array {
    const [lo, rng] = this.intRange('randintFloat64', low, high);
    if (size === undefined) return lo + this.bounded(rng);
    const out = new Float64Array(sizeOf(dimsOf(size), 'randintFloat64'));
    for (let i = 0; i < out.length; i++) out[i] = lo + this.bounded(rng);
    return out;
  }

  /** Validates randint bounds; returns [low, high - 1 - low] (numpy's off and rng). */
  private intRange(what: string, low: number, high: number | undefined): [number, number] {
    if (high === undefined) [low, high] = [0, low];
    // Integers up to 2**53 in magnitude are exact doubles (2**53 itself is a valid open bound).
    const exact = (v: number) => Number.isInteger(v) && Math.abs(v) <= 2 ** 53;
    if (!exact(low) || !exact(high)) {
      throw new UserError(`${what}: low and high must be integers within ±2**53, got low=${describe(low)}, high=${describe(high)}`);
    }
    if (low >= high) throw new UserError(`${what}: low >= high (low=${low}, high=${high})`);
    // BigInt: high - 1 - low can exceed 2**53 and round in doubles.
    const rng = BigInt(high) - 1n - BigInt(low);
    if (rng > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new UserError(`${what}: range [${low}, ${high}) is wider than 2**53`);
    }
    return [low, Number(rng)];
  }

  // ---- Permutations -------------------------------------------------------------------------

  /**
   * Shuffles a 1-D JS array or typed array in place: numpy's legacy Fisher–Yates from the end,
   * swapping x[i] with x[j], j uniform in [0, i] by masked rejection.
   */
  shuffle<T>(x: MutableArrayLike<T>): void {
    for (let i = x.length - 1; i > 0; i--) {
      const j = this.bounded(i);
      const tmp = x[i];
      x[i] = x[j];
      x[j] = tmp;
    }
  }

  /** `permutation(n)`: arange(n) shuffled. `permutation(x)`: a shuffled copy of 1-D x. */
  permutation(n: number): Int32Array;
  permutation<A extends TypedArray>(x: A): A;
  permutation<T>(x: readonly T[]): T[];
  permutation(x: number | TypedArray | readonly unknown[]): Int32Array | TypedArray | unknown[] {
    if (typeof x === 'number') {
      if (!Number.isInteger(x) || x < 0 || x > 0x7fffffff) {
        throw new UserError(`permutation: n must be an integer in [0, 2**31 - 1], got ${describe(x)}`);
      }
      const arr = new Int32Array(x);
      for (let i = 0; i < x; i++) arr[i] = i;
      this.shuffle(arr);
      return arr;
    }
    const copy = x.slice();
    this.shuffle(copy as MutableArrayLike<unknown>);
    return copy;
  }

  // ---- State --------------------------------------------------------------------------------

  /** The full generator state as plain JSON data (numpy's legacy get_state() fields). */
  get_state(): RandomStateSnapshot {
    return {
      bit_generator: 'MT19937',
      key: Array.from(this.key, (w) => w >>> 0),
      pos: this.pos,
      has_gauss: this.hasGauss ? 1 : 0,
      cached_gaussian: this.gauss,
    };
  }

  /** Restores a state from get_state() (ours, or numpy's fields after JSON round trip). */
  set_state(state: RandomStateSnapshot): void {
    const s = state as unknown as Record<string, unknown>;
    if (s === null || typeof s !== 'object') throw new UserError(`set_state: expected a state object, got ${describe(s)}`);
    if (s.bit_generator !== 'MT19937') {
      throw new UserError(`set_state: bit_generator must be "MT19937", got ${describe(s.bit_generator)}`);
    }
    const key = s.key;
    if (!Array.isArray(key) || key.length !== N || !key.every(isUint32)) {
      throw new UserError(`set_state: key must be ${N} uint32 values, got ${describe(key)}`);
    }
    const pos = s.pos;
    if (typeof pos !== 'number' || !Number.isInteger(pos) || pos < 0 || pos > N) {
      throw new UserError(`set_state: pos must be an integer in [0, ${N}], got ${describe(pos)}`);
    }
    const hasGauss = s.has_gauss;
    if (hasGauss !== 0 && hasGauss !== 1 && hasGauss !== true && hasGauss !== false) {
      throw new UserError(`set_state: has_gauss must be 0 or 1, got ${describe(hasGauss)}`);
    }
    const gauss = s.cached_gaussian;
    if (typeof gauss !== 'number' || !Number.isFinite(gauss)) {
      throw new UserError(`set_state: cached_gaussian must be a finite number, got ${describe(gauss)}`);
    }
    this.key.set(key);
    this.temperAll();
    this.pos = pos;
    this.hasGauss = hasGauss === 1 || hasGauss === true;
    this.gauss = gauss;
  }
}

// ---- Correctly rounded natural log --------------------------------------------------------
//
// legacy_gauss calls the C library's log(). V8's Math.log is fdlibm-grade (within 1 ulp): on
// uniform inputs it differs from a correctly rounded log in ~7% of calls, which would change the
// last bit of ~7% of randn values. glibc's log up to 2.27 (NVIDIA's StyleGAN environment) was,
// to our knowledge, correctly rounded; glibc >= 2.28 is within 0.52 ulp and misrounds ~0.04% of
// the r2 values legacy_gauss sees (measured against Decimal in make_random.py). We
// compute the correctly rounded log: numpy's stream as defined by exact arithmetic.
//
// Method (Ziv's strategy): a fast table-driven evaluation in double-double to ~2**-70 relative
// error; if the rounding of that result is ambiguous within the error bound (~1 in 20000
// calls), a slow series evaluation to ~2**-100 decides.

const SPLITTER = 134217729; // 2**27 + 1, Veltkamp split of a double into two 26-bit halves
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer); // u32[1] is the high word on little-endian hosts
if (new Uint8Array(new Uint16Array([1]).buffer)[0] !== 1) throw new Error('dnnlib/random.ts assumes a little-endian host');

type DD = [hi: number, lo: number];

function twoSum(a: number, b: number): DD {
  const s = a + b;
  const bb = s - a;
  return [s, a - (s - bb) + (b - bb)];
}

function twoProd(a: number, b: number): DD {
  const p = a * b;
  let c = SPLITTER * a;
  const ah = c - (c - a), al = a - ah;
  c = SPLITTER * b;
  const bh = c - (c - b), bl = b - bh;
  return [p, ah * bh - p + ah * bl + al * bh + al * bl];
}

function ddAdd(x: DD, y: DD): DD {
  const [s, e] = twoSum(x[0], y[0]);
  const [t, f] = twoSum(x[1], y[1]);
  const [s2, e2] = twoSum(s, e + t);
  return twoSum(s2, e2 + f);
}

function ddMul(x: DD, y: DD): DD {
  const [p, e] = twoProd(x[0], y[0]);
  return twoSum(p, e + x[0] * y[1] + x[1] * y[0]);
}

function ddDiv(x: DD, y: DD): DD {
  const q1 = x[0] / y[0];
  let r = ddAdd(x, ddMul([-q1, 0], y));
  const q2 = r[0] / y[0];
  r = ddAdd(r, ddMul([-q2, 0], y));
  const q3 = r[0] / y[0];
  return ddAdd(twoSum(q1, q2), [q3, 0]);
}

/** Splits positive finite x into m * 2**e with m in [sqrt(1/2), sqrt(2)). */
function reduce(x: number): [m: number, e: number] {
  let e = 0;
  if (x < 2 ** -1022) { x *= 2 ** 54; e = -54; } // subnormal: make the exponent field meaningful
  f64[0] = x;
  const hi = u32[1];
  e += (hi >>> 20) - 1023;
  u32[1] = (hi & 0x000fffff) | 0x3ff00000; // same mantissa, exponent 0: m in [1, 2)
  let m = f64[0];
  if (m >= Math.SQRT2) { m *= 0.5; e += 1; }
  return [m, e];
}

/** 2 * atanh(s) = 2 * (s + s**3/3 + s**5/5 + ...) in double-double; |s| <= 1/3. */
function twoAtanh(s: DD): DD {
  const s2 = ddMul(s, s);
  let term = s;
  let sum = s;
  for (let n = 3; n < 120; n += 2) {
    term = ddMul(term, s2);
    const t = ddDiv(term, [n, 0]);
    sum = ddAdd(sum, t);
    if (Math.abs(t[0]) < Math.abs(sum[0]) * 2 ** -110) break;
  }
  return [2 * sum[0], 2 * sum[1]];
}

const LN2: DD = twoAtanh(ddDiv([1, 0], [3, 0])); // ln 2 = 2 atanh(1/3)
// ln 2 cut to 42 bits so e * LN2_HI is exact for any exponent e (|e| < 2**11).
const LN2_HI = Math.round(LN2[0] * 2 ** 42) / 2 ** 42;
const LN2_LO = LN2[0] - LN2_HI + LN2[1];

/** Slow path: log(x) in double-double via log m = 2 atanh((m - 1) / (m + 1)); ~2**-100. */
function logDD(x: number): DD {
  const [m, e] = reduce(x);
  const s = ddDiv([m - 1, 0], twoSum(m, 1)); // m - 1 is exact for m in [1/2, 2]
  return ddAdd(ddMul([e, 0], LN2), twoAtanh(s));
}

// Table for the fast path, over k = floor(m * 128) for m in [sqrt(1/2), sqrt(2)): INV[k] is 1/c
// for c at the centre of [k/128, (k+1)/128) (exactly 1 next to m = 1, so inputs near 1 keep
// full relative precision), LOGC = -log(INV[k]) in double-double, INV split for exact products.
const TABLE_SIZE = 182;
const INV = new Float64Array(TABLE_SIZE);
const INV_H = new Float64Array(TABLE_SIZE);
const INV_L = new Float64Array(TABLE_SIZE);
const LOGC_HI = new Float64Array(TABLE_SIZE);
const LOGC_LO = new Float64Array(TABLE_SIZE);
for (let k = 90; k < TABLE_SIZE; k++) {
  const inv = k === 127 || k === 128 ? 1 : 128 / (k + 0.5);
  const logc = logDD(inv);
  INV[k] = inv;
  const c = SPLITTER * inv;
  INV_H[k] = c - (c - inv);
  INV_L[k] = inv - INV_H[k];
  LOGC_HI[k] = -logc[0];
  LOGC_LO[k] = -logc[1];
}

// log1p(r) = r - r**2/2 + r**3/3 - ...; coefficients of r**3 .. r**12 (|r| < 2**-7, so the
// first omitted term is < 2**-84 |r|).
const P3 = 1 / 3, P4 = -1 / 4, P5 = 1 / 5, P6 = -1 / 6, P7 = 1 / 7;
const P8 = -1 / 8, P9 = 1 / 9, P10 = -1 / 10, P11 = 1 / 11, P12 = -1 / 12;

/**
 * Natural log rounded correctly to nearest (what an exact log would give, rounded once).
 * Non-positive, infinite and NaN inputs follow Math.log (C log gives the same).
 */
export function logCorrectlyRounded(x: number): number {
  if (!(x > 0) || x === Infinity) return Math.log(x);
  const input = x;
  // Exponent/mantissa split, inlined from reduce() for speed.
  let e = 0;
  if (x < 2 ** -1022) { x *= 2 ** 54; e = -54; }
  f64[0] = x;
  const hw = u32[1];
  e += (hw >>> 20) - 1023;
  u32[1] = (hw & 0x000fffff) | 0x3ff00000;
  let m = f64[0];
  if (m >= Math.SQRT2) { m *= 0.5; e += 1; }

  // m * INV[k] = p + pe exactly (Dekker); p - 1 is exact since p is within 1% of 1.
  const k = (m * 128) | 0;
  const p = m * INV[k];
  let c = SPLITTER * m;
  const mh = c - (c - m), ml = m - mh;
  const ih = INV_H[k], il = INV_L[k];
  const pe = mh * ih - p + mh * il + ml * ih + ml * il;
  const t = p - 1;
  const rh = t + pe; // r = rh + rl exactly (twoSum: t may be smaller than pe)
  const bb = rh - t;
  const rl = t - (rh - bb) + (pe - bb);

  // r**2 = sq + sqe to ~2**-106 relative.
  c = SPLITTER * rh;
  const hh = c - (c - rh), hl = rh - hh;
  const sq = rh * rh;
  const sqe = hh * hh - sq + 2 * hh * hl + hl * hl + 2 * rh * rl;
  const poly =
    rh * sq * (P3 + rh * (P4 + rh * (P5 + rh * (P6 + rh * (P7 + rh * (P8 + rh * (P9 + rh * (P10 + rh * (P11 + rh * P12))))))))) +
    sq * rl;

  // Sum the large terms exactly (twoSum), the small ones plainly.
  const a = e * LN2_HI;
  const s1 = a + LOGC_HI[k];
  let z = s1 - a;
  const e1 = a - (s1 - z) + (LOGC_HI[k] - z);
  const s2 = s1 + rh;
  z = s2 - s1;
  const e2 = s1 - (s2 - z) + (rh - z);
  const h = -0.5 * sq;
  const s3 = s2 + h;
  z = s3 - s2;
  const e3 = s2 - (s3 - z) + (h - z);
  const lo = e1 + e2 + e3 + (e * LN2_LO + LOGC_LO[k] + rl - 0.5 * sqe + poly);

  // The error is far below 2**-68 |log x|; if both ends of that interval round alike, so does
  // the exact value.
  const result = s3 + lo;
  const err = Math.abs(result) * 2 ** -68;
  if (s3 + (lo - err) === s3 + (lo + err)) return result;
  const slow = logDD(input);
  return slow[0] + slow[1];
}
