// Builds our networks from an NVIDIA network pickle: the build function name picks the class, the
// pickle's static_kwargs are its constructor kwargs (they are NVIDIA's own keyword names), and the
// variables are copied by their full NVIDIA names (`G_synthesis/4x4/Conv/weight`), since our
// networks own their variables under exactly those names and shapes.

import { UserError } from '../dnnlib/errors.ts';
import { flattenVariables, loadNetworkPickle, type NetworkPickle, type NetworkState } from '../dnnlib/pickle.ts';
import type { Network } from './network.ts';
import { D_basic, G_mapping, G_style, G_synthesis } from './networks_stylegan.ts';
import { D_stylegan2, G_main, G_mapping_stylegan2, G_synthesis_stylegan2 } from './networks_stylegan2.ts';

type Builder = (kwargs: Record<string, unknown>, name: string, version: number) => Network;

/**
 * NVIDIA build function names we can rebuild: StyleGAN v1 (networks_stylegan.py, pickle version 3)
 * and StyleGAN2 configs e/f (networks_stylegan2.py, version 4). 'G_mapping' exists in both modules;
 * the pickle version tells them apart (their dense layers place the √2 gain differently).
 */
const BUILDERS: Record<string, Builder> = {
  G_style: (kw, name) => new G_style(kw, { name }),
  G_synthesis: (kw, name) => new G_synthesis(kw, { name }),
  G_mapping: (kw, name, version) => (version >= 4 ? new G_mapping_stylegan2(kw, { name }) : new G_mapping(kw, { name })),
  D_basic: (kw, name) => new D_basic(kw, { name }),
  G_main: (kw, name) => new G_main(kw, { name }),
  G_synthesis_stylegan2: (kw, name) => new G_synthesis_stylegan2(kw, { name }),
  D_stylegan2: (kw, name) => new D_stylegan2(kw, { name }),
};

export interface ImportReport {
  /** Variables copied from the pickle. */
  loaded: number;
  /** In the pickle but not in our network. */
  unmapped: string[];
  /** In our network but not in the pickle (left at their initial values). */
  missing: string[];
}

/**
 * Copies every variable of `state` into `net` by full name, checking shapes exactly. Returns which
 * names did not match; with `strict` (the default) any mismatch is a UserError instead.
 */
export function loadVariables(net: Network, state: NetworkState, { strict = true, file = 'network.pkl' } = {}): ImportReport {
  const ours = net.vars;
  const seen = new Set<string>();
  const unmapped: string[] = [];
  let loaded = 0;
  for (const v of flattenVariables(state)) {
    const target = ours.get(v.fullName);
    if (!target) { unmapped.push(v.fullName); continue; }
    const same = target.shape.length === v.shape.length && target.shape.every((d, i) => d === v.shape[i]);
    if (!same) {
      throw new UserError(`${file}: ${state.name}/${v.fullName} has shape [${v.shape.join(',')}], our ${net.name} expects [${target.shape.join(',')}]`);
    }
    const data = v.data instanceof Float32Array ? v.data
      : v.data instanceof BigInt64Array || v.data instanceof BigUint64Array ? Float32Array.from(v.data, Number)
      : Float32Array.from(v.data);
    net.setVar(v.fullName, data);
    seen.add(v.fullName);
    loaded++;
  }
  const missing = [...ours.keys()].filter((n) => !seen.has(n));
  if (strict && (unmapped.length || missing.length)) {
    const list = (xs: string[]) => xs.slice(0, 5).join(', ') + (xs.length > 5 ? `, … (${xs.length})` : '');
    const parts = [unmapped.length ? `not in our network: ${list(unmapped)}` : '', missing.length ? `missing from the pickle: ${list(missing)}` : ''];
    throw new UserError(`${file}: ${state.name} variables do not match (${parts.filter(Boolean).join('; ')})`);
  }
  return { loaded, unmapped, missing };
}

/** Builds the network a pickle state describes and loads its variables. */
export function buildFromState(state: NetworkState, opts: { strict?: boolean; file?: string } = {}): { net: Network; report: ImportReport } {
  const file = opts.file ?? 'network.pkl';
  const build = Object.hasOwn(BUILDERS, state.build_func_name) ? BUILDERS[state.build_func_name] : undefined;
  if (!build) {
    throw new UserError(`${file}: ${state.name} was built by '${state.build_func_name}', which stylegan-ts cannot rebuild (supported: ${Object.keys(BUILDERS).join(', ')})`);
  }
  const net = build(state.static_kwargs, state.name, state.version);
  try {
    return { net, report: loadVariables(net, state, { ...opts, file }) };
  } catch (err) {
    net.dispose();
    throw err;
  }
}

export interface ImportedNetworks {
  G?: Network;
  D?: Network;
  Gs?: Network;
  reports: Partial<Record<'G' | 'D' | 'Gs', ImportReport>>;
}

/** Loads an NVIDIA `.pkl` (path or parsed) into our G, D and Gs. */
export function importNetworkPickle(source: string | NetworkPickle, opts: { strict?: boolean; file?: string } = {}): ImportedNetworks {
  const file = opts.file ?? (typeof source === 'string' ? source.split(/[\\/]/).pop()! : 'network.pkl');
  const pkl = typeof source === 'string' ? loadNetworkPickle(source) : source;
  const out: ImportedNetworks = { reports: {} };
  try {
    for (const key of ['G', 'D', 'Gs'] as const) {
      const state = pkl[key];
      if (!state) continue;
      const { net, report } = buildFromState(state, { ...opts, file });
      out[key] = net;
      out.reports[key] = report;
    }
  } catch (err) {
    for (const key of ['G', 'D', 'Gs'] as const) out[key]?.dispose();
    throw err;
  }
  return out;
}
