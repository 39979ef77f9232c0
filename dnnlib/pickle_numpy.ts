// The numpy part of the pickle allow-list: handlers for the few globals through which numpy 1.x and
// 2.x pickle arrays, dtypes and scalars. Every array comes out little-endian, C-ordered, in its own
// typed array (one copy of the file's bytes, so offsets need no alignment). float16 is widened to
// Float32Array (JS has no Float16Array in Node 20); the dtype still says 'float16'.

import { SETSTATE, PyGlobal, type Buildable, type GlobalImpl, type PickleContext } from './pickle_vm.ts';

export type DType =
  | 'float16' | 'float32' | 'float64'
  | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64'
  | 'bool';

export type TypedArray =
  | Float32Array | Float64Array
  | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

// numpy type string (kind + itemsize) → our dtype.
const TYPESTR: Record<string, DType> = {
  f2: 'float16', f4: 'float32', f8: 'float64',
  i1: 'int8', i2: 'int16', i4: 'int32', i8: 'int64',
  u1: 'uint8', u2: 'uint16', u4: 'uint32', u8: 'uint64',
  b1: 'bool',
};

export const ITEMSIZE: Record<DType, number> = {
  float16: 2, float32: 4, float64: 8, int8: 1, int16: 2, int32: 4, int64: 8,
  uint8: 1, uint16: 2, uint32: 4, uint64: 8, bool: 1,
};

/** A numpy.dtype under construction (REDUCE gives the type, BUILD the byte order). */
export class NpDType implements Buildable {
  byteOrder: '<' | '>' = '<';
  constructor(readonly dtype: DType) {}
  [SETSTATE](state: unknown, ctx: PickleContext): void {
    if (!Array.isArray(state)) ctx.fail('numpy dtype state is not a tuple');
    // (version, endian, subarray, names, fields, elsize, alignment, flags[, metadata]); versions < 3
    // omit the leading version number.
    const off = typeof state[0] === 'number' ? 1 : 0;
    const [endian, subarray, names, fields] = state.slice(off, off + 4);
    if (subarray != null || names != null || fields != null) ctx.fail('structured/subarray numpy dtype refused');
    if (endian === '>') this.byteOrder = '>';
    else if (endian === '<' || endian === '|' || endian === '=') this.byteOrder = '<';
    else ctx.fail(`bad numpy byte order ${JSON.stringify(endian)}`);
  }
}

/** A numpy array or scalar, already converted to little-endian C order. */
export class NdArray implements Buildable {
  dtype: DType = 'float32';
  shape: number[] = [];
  data: TypedArray | null = null; // null until BUILD fills an array made by _reconstruct
  /** True for numpy scalars (np.float32(…)); 0-d arrays are false. Both have shape []. */
  isScalar = false;

  [SETSTATE](state: unknown, ctx: PickleContext): void {
    if (this.data) ctx.fail('numpy array state set twice');
    if (!Array.isArray(state)) ctx.fail('numpy array state is not a tuple');
    // (version, shape, dtype, is_fortran, rawdata); the oldest form has no version.
    const st = state.length === 5 ? state.slice(1) : state;
    if (st.length !== 4) ctx.fail('numpy array state has the wrong length');
    const [shape, dt, fortran, raw] = st;
    this.fill(raw, dt, shape, fortran === true || fortran === 1, ctx);
  }

  fill(raw: unknown, dt: unknown, shape: unknown, fortran: boolean, ctx: PickleContext): void {
    if (!(dt instanceof NpDType)) ctx.fail('numpy array without a supported dtype');
    const dims = checkShape(shape, ctx);
    const bytes = rawBytes(raw, ctx);
    const n = dims.reduce((a, b) => a * b, 1);
    const itemsize = ITEMSIZE[dt.dtype];
    if (bytes.length !== n * itemsize) {
      ctx.fail(`numpy array data is ${bytes.length} bytes, expected ${n * itemsize} for ${dt.dtype}[${dims.join(',')}]`);
    }
    this.dtype = dt.dtype;
    this.shape = dims;
    this.data = toTypedArray(bytes, dt, dims, fortran);
  }
}

function checkShape(shape: unknown, ctx: PickleContext): number[] {
  if (!Array.isArray(shape)) ctx.fail('numpy shape is not a tuple');
  let n = 1;
  for (const d of shape) {
    if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < 0) ctx.fail(`bad numpy dimension ${String(d)}`);
    n *= d;
  }
  if (n > 2 ** 31) ctx.fail('numpy array too large');
  return shape as number[];
}

function rawBytes(raw: unknown, ctx: PickleContext): Uint8Array {
  if (raw instanceof Uint8Array) return raw;
  // Python 2 pickles carry array bytes as a py2 str, read as latin-1 text (encoding='latin1').
  if (typeof raw === 'string') return latin1Bytes(raw, ctx);
  if (Array.isArray(raw)) ctx.fail('object-dtype numpy array refused');
  return ctx.fail('numpy array data is not bytes');
}

function latin1Bytes(s: string, ctx: PickleContext): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255) ctx.fail('latin-1 data contains a character above U+00FF');
    out[i] = c;
  }
  return out;
}

/** Copies `bytes` once into a new buffer, fixes the byte order in place, and reorders Fortran data. */
function toTypedArray(bytes: Uint8Array, dt: NpDType, shape: number[], fortran: boolean): TypedArray {
  const size = ITEMSIZE[dt.dtype];
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  if (dt.byteOrder === '>' && size > 1) {
    for (let i = 0; i < copy.length; i += size) copy.subarray(i, i + size).reverse();
  }
  let arr = viewAs(copy, dt.dtype);
  if (fortran && shape.length > 1) arr = fortranToC(arr, shape);
  return arr;
}

function viewAs(b: Uint8Array, dtype: DType): TypedArray {
  const buf = b.buffer as ArrayBuffer;
  switch (dtype) {
    case 'float16': return halfToFloat(new Uint16Array(buf));
    case 'float32': return new Float32Array(buf);
    case 'float64': return new Float64Array(buf);
    case 'int8': return new Int8Array(buf);
    case 'int16': return new Int16Array(buf);
    case 'int32': return new Int32Array(buf);
    case 'int64': return new BigInt64Array(buf);
    case 'uint8': case 'bool': return b;
    case 'uint16': return new Uint16Array(buf);
    case 'uint32': return new Uint32Array(buf);
    case 'uint64': return new BigUint64Array(buf);
  }
}

/** IEEE half → float32, exact (every half value is representable). */
export function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i]!;
    const sign = x & 0x8000 ? -1 : 1;
    const exp = (x >> 10) & 0x1f;
    const frac = x & 0x3ff;
    out[i] = exp === 0 ? sign * frac * 2 ** -24
      : exp === 31 ? (frac ? NaN : sign * Infinity)
      : sign * (1 + frac / 1024) * 2 ** (exp - 15);
  }
  return out;
}

/** Reorders column-major data to row-major by walking the C index with an odometer. */
function fortranToC<T extends TypedArray>(src: T, shape: number[]): T {
  const nd = shape.length;
  const fstride: number[] = [];
  let acc = 1;
  for (let d = 0; d < nd; d++) { fstride.push(acc); acc *= shape[d]!; }
  const out = new (src.constructor as new (n: number) => T)(src.length);
  const idx = new Array<number>(nd).fill(0);
  let f = 0;
  for (let c = 0; c < src.length; c++) {
    (out as unknown as number[])[c] = (src as unknown as number[])[f]!;
    for (let d = nd - 1; d >= 0; d--) { // advance the last axis fastest, as C order does
      idx[d]!++;
      f += fstride[d]!;
      if (idx[d]! < shape[d]!) break;
      f -= fstride[d]! * shape[d]!;
      idx[d] = 0;
    }
  }
  return out;
}

function dtypeOf(typestr: unknown, ctx: PickleContext): NpDType {
  if (typeof typestr !== 'string') ctx.fail('numpy dtype name is not a string');
  let t = typestr;
  let order: '<' | '>' = '<';
  if (t[0] === '<' || t[0] === '>' || t[0] === '|' || t[0] === '=') { order = t[0] === '>' ? '>' : '<'; t = t.slice(1); }
  if (t[0] === 'O') ctx.fail('object-dtype numpy array refused');
  const dtype = TYPESTR[t];
  if (!dtype) ctx.fail(`unsupported numpy dtype '${typestr}'`);
  const dt = new NpDType(dtype);
  dt.byteOrder = order;
  return dt;
}

const ndarrayClass: GlobalImpl = {}; // only ever an argument of _reconstruct

const reconstruct: GlobalImpl = {
  // _reconstruct(ndarray, (0,), b'b') makes an empty array that BUILD then fills.
  call: (args: unknown[], ctx: PickleContext) => {
    if (!(args[0] instanceof PyGlobal) || args[0].impl !== ndarrayClass) ctx.fail('_reconstruct of something other than numpy.ndarray');
    return new NdArray();
  },
};

const dtype: GlobalImpl = {
  call: (args: unknown[], ctx: PickleContext) => dtypeOf(args[0], ctx),
};

const scalar: GlobalImpl = {
  // scalar(dtype, raw bytes): a numpy scalar such as np.float32(0.5), e.g. TF1's fetched `lod`.
  call: (args: unknown[], ctx: PickleContext) => {
    const a = new NdArray();
    a.fill(args[1], args[0], [], false, ctx);
    a.isScalar = true;
    return a;
  },
};

const frombuffer: GlobalImpl = {
  // Protocol 5: _frombuffer(buffer, dtype, shape, order).
  call: (args: unknown[], ctx: PickleContext) => {
    const [buf, dt, shape, order] = args;
    if (order !== 'C' && order !== 'F') ctx.fail(`bad array order ${JSON.stringify(order)}`);
    const a = new NdArray();
    a.fill(buf, dt, shape, order === 'F', ctx);
    return a;
  },
};

const codecsEncode: GlobalImpl = {
  // Protocols 0–2 carry bytes as _codecs.encode(str, 'latin1').
  call: (args: unknown[], ctx: PickleContext) => {
    const [text, enc] = args;
    if (typeof text !== 'string' || (enc !== 'latin1' && enc !== 'latin-1' && enc !== 'iso-8859-1')) {
      ctx.fail('_codecs.encode is only accepted as (str, "latin1")');
    }
    return latin1Bytes(text, ctx);
  },
};

/** Globals for numpy arrays, scalars and dtypes under both numpy 1 (`core`) and numpy 2 (`_core`) names. */
export const NUMPY_GLOBALS: Readonly<Record<string, GlobalImpl>> = {
  'numpy.ndarray': ndarrayClass,
  'numpy.dtype': dtype,
  'numpy.core.multiarray._reconstruct': reconstruct,
  'numpy._core.multiarray._reconstruct': reconstruct,
  'numpy.core.multiarray.scalar': scalar,
  'numpy._core.multiarray.scalar': scalar,
  'numpy.core.numeric._frombuffer': frombuffer,
  'numpy._core.numeric._frombuffer': frombuffer,
  '_codecs.encode': codecsEncode,
};
