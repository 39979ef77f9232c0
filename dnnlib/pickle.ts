// Safe import of NVIDIA's TensorFlow network pickles (StyleGAN v1, StyleGAN2, StyleGAN2-ADA TF).
// A `.pkl` holds the tuple (G, D, Gs) of `dnnlib.tflib.network.Network` objects, each pickled as
// NEWOBJ + BUILD with its state dict: version, name, static_kwargs, components, build_module_src,
// build_func_name, variables. NVIDIA's own loader exec()s build_module_src; we read only the data and
// never look at that source. See spec stylegan2-and-pickles.md §B.1 and stylegan.md §10.

import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './errors.ts';
import { parsePickle, pyDictFrom, PyGlobal, SETSTATE, type Buildable, type GlobalImpl, type PickleContext } from './pickle_vm.ts';
import { NdArray, NUMPY_GLOBALS, type DType, type TypedArray } from './pickle_numpy.ts';

export { parsePickle, parsePickleAt, PyDict, PyGlobal, SETSTATE } from './pickle_vm.ts';
export type { ParseOptions, GlobalImpl, PickleContext, Buildable } from './pickle_vm.ts';
export { NdArray, NUMPY_GLOBALS } from './pickle_numpy.ts';
export type { DType, TypedArray } from './pickle_numpy.ts';

export interface NetworkVariable {
  name: string;
  shape: number[];
  dtype: DType;
  /** Little-endian, C order; Float32Array for float32 (and widened float16) weights. */
  data: TypedArray;
}

export interface NetworkState {
  version: number;
  name: string;
  static_kwargs: Record<string, unknown>;
  components: Record<string, NetworkState>;
  build_func_name: string;
  /** The network's own variables in creation order (components hold theirs). */
  variables: NetworkVariable[];
}

export interface NetworkPickle {
  G?: NetworkState;
  D?: NetworkState;
  Gs?: NetworkState;
}

/** A Network instance as unpickled: an empty shell (NEWOBJ) that BUILD fills with the state dict. */
class TFNetwork implements Buildable {
  state: Map<unknown, unknown> | null = null;
  [SETSTATE](state: unknown, ctx: PickleContext): void {
    if (this.state) ctx.fail('Network state set twice');
    if (!(state instanceof Map)) ctx.fail('Network state is not a dict');
    this.state = state;
  }
}

const OBJECT_MARKER: GlobalImpl = {}; // builtins.object: only an argument of copyreg._reconstructor

const network: GlobalImpl = { construct: () => new TFNetwork() };

const reconstructor: GlobalImpl = {
  // Protocols 0/1 spell NEWOBJ as copyreg._reconstructor(cls, object, None).
  call: (args: unknown[], ctx: PickleContext) => {
    const [cls, base, state] = args;
    if (!(cls instanceof PyGlobal) || !cls.impl.construct || !(base instanceof PyGlobal) || base.impl !== OBJECT_MARKER || state !== null) {
      ctx.fail('copyreg._reconstructor is only accepted for allowed classes');
    }
    return cls.impl.construct([], ctx);
  },
};

const dictSubclass: GlobalImpl = { construct: pyDictFrom, call: pyDictFrom };

/** Everything an NVIDIA TF network pickle legitimately names (§B.1); all else is refused. */
export const NETWORK_GLOBALS: Readonly<Record<string, GlobalImpl>> = {
  ...NUMPY_GLOBALS,
  'dnnlib.tflib.network.Network': network,
  'dnnlib.util.EasyDict': dictSubclass,
  'collections.OrderedDict': dictSubclass,
  'copyreg._reconstructor': reconstructor,
  'copy_reg._reconstructor': reconstructor, // the name Python 3 writes for protocols < 3
  'builtins.object': OBJECT_MARKER,
  '__builtin__.object': OBJECT_MARKER,
};

function refusalHint(qualname: string): string | undefined {
  if (qualname.startsWith('torch_utils.persistence.') || qualname.startsWith('torch.')) {
    return 'this looks like a stylegan2-ada-pytorch/stylegan3 pickle, which is not supported; only NVIDIA TensorFlow network pickles are accepted';
  }
  return undefined;
}

/**
 * Reads an NVIDIA network pickle (path or bytes) without executing anything.
 * A 3-tuple gives { G, D, Gs }; a single Network is returned under its own name (G, D or Gs), or
 * under Gs when it has another name.
 */
export function loadNetworkPickle(source: Uint8Array | string, fileName?: string): NetworkPickle {
  const file = fileName ?? (typeof source === 'string' ? path.basename(source) : 'network.pkl');
  const bytes = typeof source === 'string' ? fs.readFileSync(source) : source;
  const root = parsePickle(bytes, {
    allowGlobals: NETWORK_GLOBALS,
    fileName: file,
    refusalNote: 'only NVIDIA network pickles are accepted',
    refusalHint,
  });
  const fail = (msg: string): never => { throw new UserError(`${file}: ${msg}`); };
  if (root instanceof TFNetwork) {
    const net = toState(root, file, 'network', new Budget());
    const key = net.name === 'G' || net.name === 'D' ? net.name : 'Gs';
    return { [key]: net };
  }
  if (Array.isArray(root) && root.length === 3 && root.every((x) => x instanceof TFNetwork)) {
    const budget = new Budget();
    return {
      G: toState(root[0] as TFNetwork, file, 'G', budget),
      D: toState(root[1] as TFNetwork, file, 'D', budget),
      Gs: toState(root[2] as TFNetwork, file, 'Gs', budget),
    };
  }
  return fail(`not an NVIDIA network pickle: expected a Network or a (G, D, Gs) tuple, found ${describe(root)}`);
}

function describe(x: unknown): string {
  if (Array.isArray(x)) return `a list/tuple of ${x.length} items`;
  if (x instanceof Map) return 'a dict';
  if (x === null) return 'None';
  return typeof x === 'object' ? (x.constructor?.name ?? 'an object') : typeof x;
}

const SUPPORTED_VERSIONS = [2, 3, 4, 5]; // v1 code writes 3, StyleGAN2 4, StyleGAN2-ADA (TF) 5

/**
 * Limits on what the conversion below expands: memo references can make a small file describe a
 * huge tree (a DAG shared at every level), which would otherwise hang the loader.
 */
class Budget {
  networks = 64;
  kwargNodes = 100_000;
}

function toState(net: TFNetwork, file: string, where: string, budget: Budget, depth = 0): NetworkState {
  const fail = (msg: string): never => { throw new UserError(`${file}: ${where}: ${msg}`); };
  if (depth > 8) fail('components nested too deeply (or a cycle)');
  if (--budget.networks < 0) fail('too many component networks');
  const st = net.state ?? fail('Network without state');
  const get = (k: string): unknown => (st.has(k) ? st.get(k) : fail(`Network state has no '${k}'`));
  const version = get('version');
  if (typeof version !== 'number' || !SUPPORTED_VERSIONS.includes(version)) fail(`unsupported Network version ${String(version)}`);
  const name = get('name');
  if (typeof name !== 'string') fail('Network name is not a string');
  const buildFunc = get('build_func_name');
  if (typeof buildFunc !== 'string') fail('build_func_name is not a string');
  const kwargs = get('static_kwargs');
  if (!(kwargs instanceof Map)) fail('static_kwargs is not a dict');
  const comps = get('components');
  if (!(comps instanceof Map)) fail('components is not a dict');
  const vars = get('variables');
  if (!Array.isArray(vars)) fail('variables is not a list');

  const components: Record<string, NetworkState> = {};
  for (const [k, v] of comps as Map<unknown, unknown>) {
    if (typeof k !== 'string' || !(v instanceof TFNetwork)) fail('components must map names to Networks');
    components[k as string] = toState(v as TFNetwork, file, `${where}/${String(k)}`, budget, depth + 1);
  }
  const variables = (vars as unknown[]).map((item, i): NetworkVariable => {
    if (!Array.isArray(item) || item.length !== 2 || typeof item[0] !== 'string') fail(`variables[${i}] is not a (name, value) pair`);
    const [vname, value] = item as [string, unknown];
    if (value instanceof NdArray) {
      if (!value.data) fail(`variable '${vname}' is an array without data`);
      return { name: vname, shape: [...value.shape], dtype: value.dtype, data: value.data! };
    }
    // legacy.py accepts any value np.array() takes; plain Python numbers are the only other case.
    if (typeof value === 'number') return { name: vname, shape: [], dtype: 'float64', data: new Float64Array([value]) };
    return fail(`variable '${vname}' has an unsupported value (${describe(value)})`);
  });
  return {
    version: version as number,
    name: name as string,
    static_kwargs: toPlain(kwargs, fail, budget, 0) as Record<string, unknown>,
    components,
    build_func_name: buildFunc as string,
    variables,
  };
}

const MAX_DEPTH = 64;

/** Python containers → JSON-like values (dicts to plain objects, sets to arrays), depth-limited. */
function toPlain(x: unknown, fail: (m: string) => never, budget: Budget, depth: number): unknown {
  if (depth > MAX_DEPTH) fail(`static_kwargs nested deeper than ${MAX_DEPTH} levels`);
  if (--budget.kwargNodes < 0) fail('static_kwargs too large');
  if (x instanceof Map) {
    // Object.fromEntries defines own properties, so a '__proto__' key cannot touch the prototype.
    return Object.fromEntries([...x].map(([k, v]) => [String(k), toPlain(v, fail, budget, depth + 1)]));
  }
  if (Array.isArray(x) || x instanceof Set) return [...x].map((v) => toPlain(v, fail, budget, depth + 1));
  if (x instanceof PyGlobal || x instanceof TFNetwork) fail('static_kwargs holds an object, not plain data');
  return x;
}

export interface FlatVariable extends NetworkVariable {
  /** Full name as in NVIDIA's `net.vars`: own variables bare, component ones as `<component name>/<name>`. */
  fullName: string;
}

/**
 * All variables of a network in NVIDIA's `vars` order: own variables first, then each component's
 * (in component order) prefixed with the component network's name, e.g. `G_synthesis/4x4/Conv/weight`.
 */
export function flattenVariables(state: NetworkState): FlatVariable[] {
  const out: FlatVariable[] = state.variables.map((v) => ({ ...v, fullName: v.name }));
  for (const comp of Object.values(state.components)) {
    for (const v of flattenVariables(comp)) out.push({ ...v, fullName: `${comp.name}/${v.fullName}` });
  }
  return out;
}
