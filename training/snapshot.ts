// Training snapshots as .safetensors: our counterpart of NVIDIA's network-snapshot-<kimg>.pkl, but
// data only, so loading one can never run code, and Python can read it with safetensors.numpy.
//
// Tensors are stored under NVIDIA's variable names (the `net.vars` names, e.g.
// `G_synthesis/4x4/Conv/weight`) prefixed by the network: `G/…`, `D/…`, `Gs/…`; optimizer state goes
// under `opt/…` (e.g. `opt/G/G_mapping/Dense0/weight/m`). The network kwargs, kimg and the training
// state are JSON strings in the header's __metadata__. This module knows nothing about networks: it
// takes plain name → {shape, Float32Array} maps, which a network fills from / feeds to its variables.

import { UserError } from '../dnnlib/errors.ts';
import { readSafetensors, writeSafetensors, type SafeTensor } from '../dnnlib/safetensors.ts';

export interface Tensor32 {
  shape: number[];
  data: Float32Array;
}
export type TensorMap = Map<string, Tensor32>;

export interface Snapshot {
  G: TensorMap;
  D: TensorMap;
  Gs: TensorMap;
  /** Construction kwargs per network (NVIDIA's static_kwargs, e.g. { G: {...}, D: {...} }). */
  kwargs: Record<string, unknown>;
  kimg: number;
  /** Anything else the loop needs to resume (lod, tick counters, RNG state, ...), JSON-serializable. */
  trainingState: Record<string, unknown>;
  /** Optimizer slots, keyed e.g. 'G/<var>/m'; stored as 'opt/<key>'. */
  optimizer: TensorMap;
}

export const SNAPSHOT_FORMAT = 'stylegan-ts-snapshot';
export const SNAPSHOT_VERSION = '1';

const GROUPS = ['G', 'D', 'Gs', 'opt'] as const;
type Group = (typeof GROUPS)[number];

/** Writes `snap` to `path` atomically (nothing appears at `path` unless the whole file was written). */
export function saveSnapshot(path: string, snap: Pick<Snapshot, 'G' | 'D' | 'Gs' | 'kwargs' | 'kimg'> & Partial<Snapshot>): void {
  const tensors: [string, SafeTensor][] = [];
  const add = (group: Group, map: TensorMap | undefined) => {
    for (const [name, t] of map ?? []) {
      if (!(t.data instanceof Float32Array)) throw new Error(`snapshot tensor ${group}/${name} is not a Float32Array`);
      tensors.push([`${group}/${name}`, { dtype: 'F32', shape: t.shape, data: t.data }]);
    }
  };
  add('G', snap.G);
  add('D', snap.D);
  add('Gs', snap.Gs);
  add('opt', snap.optimizer);
  writeSafetensors(path, tensors, {
    format: SNAPSHOT_FORMAT,
    format_version: SNAPSHOT_VERSION,
    kimg: String(snap.kimg), // String() of a double round-trips exactly
    kwargs: JSON.stringify(snap.kwargs),
    training_state: JSON.stringify(snap.trainingState ?? {}),
  });
}

/** Reads a snapshot written by saveSnapshot; corrupt or foreign files give a one-line UserError. */
export function loadSnapshot(path: string): Snapshot {
  const file = path.split(/[\\/]/).pop()!;
  const fail = (msg: string): never => { throw new UserError(`${file}: ${msg}`); };
  const { tensors, metadata } = readSafetensors(path, file);
  if (metadata.format !== SNAPSHOT_FORMAT) fail(`not a stylegan-ts snapshot (metadata format is ${JSON.stringify(metadata.format ?? null)})`);
  if (metadata.format_version !== SNAPSHOT_VERSION) fail(`unsupported snapshot version ${JSON.stringify(metadata.format_version)}`);
  const json = (key: string): Record<string, unknown> => {
    try {
      const v = JSON.parse(metadata[key] ?? 'null');
      if (typeof v === 'object' && v !== null && !Array.isArray(v)) return v;
    } catch { /* reported below */ }
    return fail(`metadata '${key}' is not a JSON object`);
  };
  const kimg = Number(metadata.kimg);
  if (metadata.kimg === undefined || !Number.isFinite(kimg)) fail(`metadata 'kimg' is not a number`);
  const snap: Snapshot = {
    G: new Map(), D: new Map(), Gs: new Map(), optimizer: new Map(),
    kwargs: json('kwargs'), kimg, trainingState: json('training_state'),
  };
  for (const [key, t] of tensors) {
    const slash = key.indexOf('/');
    const group = key.slice(0, slash) as Group;
    if (slash < 0 || !GROUPS.includes(group)) fail(`unexpected tensor '${key}' (expected a G/, D/, Gs/ or opt/ prefix)`);
    if (t.dtype !== 'F32') fail(`tensor '${key}' is ${t.dtype}, expected F32`);
    const target = group === 'opt' ? snap.optimizer : snap[group as 'G' | 'D' | 'Gs'];
    target.set(key.slice(slash + 1), { shape: t.shape, data: t.data as Float32Array });
  }
  return snap;
}
