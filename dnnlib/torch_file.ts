// Reads PyTorch `torch.save` files without Python and without running anything from them (spec
// stylegan2-and-pickles.md §B.6): the zip format of PyTorch ≥ 1.6 (`<dir>/data.pkl` + `<dir>/data/<key>`),
// the legacy format (a chain of pickles followed by the raw storages), and the weights of TorchScript
// archives (torch.jit.save: same zip; modules are named data classes, their code is never read). Tensors come out as
// contiguous little-endian typed arrays in C order; strided views are gathered. The pickle runs on
// the same allow-listed interpreter as network pickles, with torch's few rebuild functions added.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors.ts';
import { parsePickleAt, pyDictFrom, PyDict, PyGlobal, SETSTATE, type GlobalImpl, type PickleContext } from './pickle_vm.ts';
import { halfToFloat, type DType, type TypedArray } from './pickle_numpy.ts';
import { ZipReader } from './zip.ts';

export type TorchDType = DType | 'bfloat16';

/** torch.<T>Storage → element type and size in the file. */
const STORAGES: Record<string, { dtype: TorchDType; size: number }> = {
  FloatStorage: { dtype: 'float32', size: 4 },
  DoubleStorage: { dtype: 'float64', size: 8 },
  HalfStorage: { dtype: 'float16', size: 2 },
  BFloat16Storage: { dtype: 'bfloat16', size: 2 },
  LongStorage: { dtype: 'int64', size: 8 },
  IntStorage: { dtype: 'int32', size: 4 },
  ShortStorage: { dtype: 'int16', size: 2 },
  CharStorage: { dtype: 'int8', size: 1 },
  ByteStorage: { dtype: 'uint8', size: 1 },
  BoolStorage: { dtype: 'bool', size: 1 },
};

/** A storage named by a persistent id; its bytes are attached once known (at the end for legacy files). */
class Storage {
  values: TypedArray | null = null;
  constructor(readonly key: string, readonly dtype: TorchDType, readonly size: number, readonly numel: number) {}
}

/** A tensor as unpickled. `data` is filled in after all storages are known. */
export class TorchTensor {
  data: TypedArray = new Float32Array(0);
  constructor(
    readonly dtype: TorchDType,
    readonly shape: number[],
    readonly stride: number[],
    readonly storageOffset: number,
    readonly storage: Storage,
  ) {}
}

function toTypedArray(bytes: Uint8Array, dtype: TorchDType, size: number, numel: number): TypedArray {
  // Typed arrays need aligned offsets; torch zips align storages to 64 bytes, legacy files do not.
  const b = bytes.byteOffset % size === 0 ? bytes : new Uint8Array(bytes); // (not .slice(): on a Buffer that is a view)
  const buf = b.buffer as ArrayBuffer, off = b.byteOffset;
  switch (dtype) {
    case 'float32': return new Float32Array(buf, off, numel);
    case 'float64': return new Float64Array(buf, off, numel);
    case 'float16': return halfToFloat(new Uint16Array(buf, off, numel));
    case 'bfloat16': { // the top 16 bits of a float32
      const h = new Uint16Array(buf, off, numel);
      const out = new Uint32Array(numel);
      for (let i = 0; i < numel; i++) out[i] = h[i]! << 16;
      return new Float32Array(out.buffer);
    }
    case 'int64': return new BigInt64Array(buf, off, numel);
    case 'int32': return new Int32Array(buf, off, numel);
    case 'int16': return new Int16Array(buf, off, numel);
    case 'int8': return new Int8Array(buf, off, numel);
    case 'uint8': case 'bool': return new Uint8Array(buf, off, numel);
    default: throw new Error(`unhandled dtype ${dtype}`);
  }
}

/** Gathers a (possibly strided) tensor out of its storage into C order. */
function materialize(t: TorchTensor, fail: (m: string) => never): void {
  const src = t.storage.values ?? fail(`storage '${t.storage.key}' has no data`);
  const n = t.shape.reduce((a, b) => a * b, 1);
  if (n === 0) { t.data = src.slice(0, 0); return; }
  let last = t.storageOffset;
  for (let d = 0; d < t.shape.length; d++) last += (t.shape[d]! - 1) * t.stride[d]!;
  if (t.storageOffset < 0 || t.stride.some((s) => s < 0) || last >= src.length) {
    fail(`tensor in storage '${t.storage.key}' reaches past its ${src.length} elements`);
  }
  let contiguous = true;
  for (let d = t.shape.length - 1, expect = 1; d >= 0; d--) {
    if (t.shape[d]! !== 1 && t.stride[d]! !== expect) contiguous = false;
    expect *= t.shape[d]!;
  }
  if (contiguous) { t.data = src.subarray(t.storageOffset, t.storageOffset + n); return; }
  const out = new (src.constructor as new (n: number) => TypedArray)(n);
  const idx = new Array<number>(t.shape.length).fill(0);
  let s = t.storageOffset;
  for (let i = 0; i < n; i++) {
    (out as unknown as unknown[])[i] = (src as unknown as unknown[])[s];
    for (let d = t.shape.length - 1; d >= 0; d--) { // odometer over the C index
      idx[d]!++;
      s += t.stride[d]!;
      if (idx[d]! < t.shape[d]!) break;
      s -= t.stride[d]! * t.shape[d]!;
      idx[d] = 0;
    }
  }
  t.data = out;
}

function intTuple(x: unknown, what: string, ctx: PickleContext): number[] {
  if (!Array.isArray(x) || !x.every((d) => Number.isSafeInteger(d) && d >= 0)) ctx.fail(`bad tensor ${what}`);
  return x as number[];
}

const STORAGE_MARKER: GlobalImpl = {}; // torch.<T>Storage: only ever inside a persistent id

function torchGlobals(tensors: TorchTensor[]): Record<string, GlobalImpl> {
  const rebuildTensor: GlobalImpl = {
    // _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    call: (args: unknown[], ctx: PickleContext) => {
      const [storage, offset, size, stride] = args;
      if (!(storage instanceof Storage)) ctx.fail('tensor without a storage');
      if (!Number.isSafeInteger(offset)) ctx.fail('bad tensor storage offset');
      const shape = intTuple(size, 'size', ctx), strides = intTuple(stride, 'stride', ctx);
      if (shape.length !== strides.length) ctx.fail('tensor size and stride differ in length');
      const t = new TorchTensor(storage.dtype, shape, strides, offset as number, storage);
      tensors.push(t);
      return t;
    },
  };
  const g: Record<string, GlobalImpl> = {
    'torch._utils._rebuild_tensor_v2': rebuildTensor,
    'torch._utils._rebuild_tensor': rebuildTensor,
    // nn.Parameter(tensor, requires_grad, backward_hooks): the tensor is all we keep.
    'torch._utils._rebuild_parameter': {
      call: (args: unknown[], ctx: PickleContext) => (args[0] instanceof TorchTensor ? args[0] : ctx.fail('parameter without a tensor')),
    },
    'collections.OrderedDict': { call: pyDictFrom, construct: pyDictFrom },
  };
  for (const name of Object.keys(STORAGES)) g[`torch.${name}`] = STORAGE_MARKER;
  for (const name of JIT_PICKLE) g[`torch.jit._pickle.${name}`] = IDENTITY;
  return g;
}

/**
 * A TorchScript module or object (torch.jit.save): its class is only a name (the code in `code/` is
 * never read), its attributes a dict — submodules, parameters, buffers, plain values.
 */
export class TorchScriptObject extends PyDict {
  constructor(readonly className: string) {
    super();
  }
  override [SETSTATE](state: unknown, ctx: PickleContext): void {
    if (!(state instanceof Map)) ctx.fail(`TorchScript object ${this.className} has a custom state, which is not supported`);
    for (const [k, v] of state) this.set(k, v);
  }
}

function torchScriptClass(qualname: string): GlobalImpl | undefined {
  if (!qualname.startsWith('__torch__.')) return undefined;
  return { construct: () => new TorchScriptObject(qualname) };
}

// torch.jit._pickle helpers wrap typed lists; the value is the list itself.
const IDENTITY: GlobalImpl = { call: (args: unknown[]) => args[0] };
const JIT_PICKLE = ['build_intlist', 'build_tensorlist', 'build_doublelist', 'build_boollist', 'build_strlist', 'restore_type_tag'];

function refusalHint(qualname: string): string | undefined {
  if (qualname === 'torch.storage._load_from_bytes') return 'tensors pickled inside a plain pickle (stylegan2-ada-pytorch .pkl) are not supported';
  return undefined;
}

/** Persistent id ('storage', torch.<T>Storage, key, location, numel[, view_metadata]) → Storage. */
function storageFromPid(pid: unknown, ctx: PickleContext, storages: Map<string, Storage>): Storage {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) ctx.fail('unsupported persistent id');
  const [, cls, key, , numel, view] = pid as unknown[];
  if (!(cls instanceof PyGlobal) || cls.impl !== STORAGE_MARKER) ctx.fail('persistent id without a torch storage class');
  const type = STORAGES[cls.qualname.slice('torch.'.length)]!;
  if (typeof key !== 'string' || !Number.isSafeInteger(numel) || (numel as number) < 0) ctx.fail('bad storage persistent id');
  if (view != null) ctx.fail('legacy storage views (view_metadata) are not supported');
  let s = storages.get(key);
  if (!s) storages.set(key, (s = new Storage(key, type.dtype, type.size, numel as number)));
  return s;
}

export interface TorchFile {
  /** The unpickled object: dicts are Maps (OrderedDict state dicts too), tensors TorchTensor. */
  root: unknown;
  /** Every tensor in the file, in pickle order. */
  tensors: TorchTensor[];
  /** A TorchScript archive's constants.pkl (a tuple of tensors), else null. */
  constants: unknown;
}

/** Loads a torch.save file (zip or legacy) from a path or bytes. */
export function loadTorchFile(source: string | Uint8Array, fileName?: string): TorchFile {
  const file = fileName ?? (typeof source === 'string' ? path.basename(source) : 'torch file');
  const bytes = typeof source === 'string' ? fs.readFileSync(source) : source;
  const fail = (msg: string): never => { throw new UserError(`${file}: ${msg}`); };
  const tensors: TorchTensor[] = [];
  const storages = new Map<string, Storage>();
  const options = {
    allowGlobals: torchGlobals(tensors),
    fileName: file,
    refusalNote: 'only torch.save tensors and state dicts are accepted',
    refusalHint,
    persistentLoad: (pid: unknown, ctx: PickleContext) => storageFromPid(pid, ctx, storages),
    globalFallback: torchScriptClass,
  };
  let root: unknown;
  let constants: unknown = null;
  if (bytes.length >= 4 && bytes[0] === 0x50 && bytes[1] === 0x4b && bytes[2] === 0x03 && bytes[3] === 0x04) {
    const zip = new ZipReader(bytes, file);
    const pkl = [...zip.entries.keys()].find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? fail('zip archive without <dir>/data.pkl (not a torch.save file)');
    const dir = pkl.slice(0, -'data.pkl'.length);
    if (zip.entries.has(`${dir}byteorder`) && new TextDecoder().decode(zip.read(`${dir}byteorder`)).trim() !== 'little') {
      fail('big-endian torch files are not supported');
    }
    // data.pkl's storages live in data/, those of a TorchScript archive's constants.pkl in constants/.
    const readPickle = (name: string, folder: string): unknown => {
      const own = new Map<string, Storage>();
      const bytes = zip.read(name);
      const { value, end } = parsePickleAt(bytes, 0, {
        ...options, fileName: `${file}:${name}`, persistentLoad: (pid: unknown, ctx: PickleContext) => storageFromPid(pid, ctx, own),
      });
      if (end !== bytes.length) fail(`${name} has bytes after its STOP`);
      for (const s of own.values()) {
        const raw = zip.read(`${dir}${folder}/${s.key}`);
        if (raw.length !== s.numel * s.size) fail(`storage '${folder}/${s.key}' is ${raw.length} bytes, expected ${s.numel * s.size}`);
        s.values = toTypedArray(raw, s.dtype, s.size, s.numel);
      }
      return value;
    };
    root = readPickle(pkl, 'data');
    if (zip.entries.has(`${dir}constants.pkl`)) constants = readPickle(`${dir}constants.pkl`, 'constants');
  } else {
    root = readLegacy(bytes, options, storages, fail);
  }
  for (const t of tensors) materialize(t, fail);
  return { root, tensors, constants };
}

const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;

/** Legacy format: magic, protocol 1001, sys_info, the object, the storage keys, then each storage. */
function readLegacy(bytes: Uint8Array, options: Parameters<typeof parsePickleAt>[2], storages: Map<string, Storage>, fail: (m: string) => never): unknown {
  let pos = 0;
  const next = (): unknown => {
    const { value, end } = parsePickleAt(bytes, pos, options);
    pos = end;
    return value;
  };
  const magic = next();
  if (magic !== LEGACY_MAGIC) fail('not a torch.save file (neither a zip nor the legacy magic number)');
  if (next() !== 1001) fail('unsupported legacy torch protocol version');
  const sysInfo = next();
  if (!(sysInfo instanceof Map) || sysInfo.get('little_endian') !== true) fail('big-endian torch files are not supported');
  const root = next();
  const keys = next();
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) fail('bad legacy storage key list');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (const key of keys as string[]) {
    const s = storages.get(key) ?? fail(`legacy storage '${key}' is not used by any tensor`);
    if (pos + 8 > bytes.length) fail(`truncated file: storage '${key}' is missing`);
    const numel = Number(view.getBigInt64(pos, true));
    if (numel !== s.numel) fail(`storage '${key}' has ${numel} elements, expected ${s.numel}`);
    pos += 8;
    const n = numel * s.size;
    if (pos + n > bytes.length) fail(`truncated file: storage '${key}' needs ${n} bytes, ${bytes.length - pos} remain`);
    s.values = toTypedArray(bytes.subarray(pos, pos + n), s.dtype, s.size, numel);
    pos += n;
  }
  for (const s of storages.values()) if (!s.values) fail(`storage '${s.key}' has no data`);
  return root;
}

/**
 * The tensors of a state dict, flattened with '.'-joined keys (nested dicts such as rosinality's
 * { g_ema: {...}, latent_avg } become `g_ema.style.1.weight`, `latent_avg`). Non-tensor values are skipped.
 */
export function loadTorchStateDict(source: string | Uint8Array, fileName?: string): Map<string, TorchTensor> {
  const { root } = loadTorchFile(source, fileName);
  const out = new Map<string, TorchTensor>();
  const stack: [string, unknown][] = [['', root]];
  const seen = new Set<unknown>();
  while (stack.length) { // iterative, and each dict once: a hostile file may nest deeply or loop
    const [prefix, x] = stack.pop()!;
    if (x instanceof TorchTensor) out.set(prefix, x);
    else if (x instanceof Map && !seen.has(x)) {
      seen.add(x);
      const items = [...x].reverse();
      for (const [k, v] of items) stack.push([prefix ? `${prefix}.${String(k)}` : String(k), v]);
    }
  }
  return out;
}
