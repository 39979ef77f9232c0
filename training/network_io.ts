// Loading and saving networks for every script that takes `--network`: our safetensors snapshots
// (training/snapshot.ts), NVIDIA's `.pkl` files (training/network_import.ts), and http(s) URLs of
// either, downloaded once into a cache directory like NVIDIA's dnnlib.util.open_url (spec §9.4).
//
// Snapshot layout: tensors `G/<var>`, `D/<var>`, `Gs/<var>` under NVIDIA's variable names, and the
// metadata `kwargs` JSON holding, per network, NVIDIA's build function and static kwargs:
//   { "G":  { "func_name": "G_style", "resolution": 32, ... },
//     "D":  { "func_name": "D_basic", ... },
//     "Gs": { "func_name": "G_style", ... }, ...extra keys the caller recorded }
// func_name may be dotted like NVIDIA's ('training.networks_stylegan.G_style'); when absent it is
// G_style for G/Gs and D_basic for D. A missing Gs entry means Gs was built like G (G.clone('Gs')).

import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { UserError } from '../dnnlib/errors.ts';
import { writeFileAtomic } from '../dnnlib/atomic.ts';
import { downloadFile, DownloadError, sha256File } from '../dnnlib/download.ts';
import { createProgress } from '../dnnlib/progress.ts';
import { loadNetworkPickle } from '../dnnlib/pickle.ts';
import { loadSnapshot, saveSnapshot, type TensorMap } from './snapshot.ts';
import { buildFromState } from './network_import.ts';
import type { Network } from './network.ts';
import { D_basic, G_mapping, G_style, G_synthesis } from './networks_stylegan.ts';
import { D_paper, G_paper } from './networks_progan.ts';
import { D_stylegan2, G_main, G_synthesis_stylegan2 } from './networks_stylegan2.ts';
import { D_dcgan, D_mlp, G_dcgan, G_mlp } from './networks_baseline.ts';

export type NetworkKey = 'G' | 'D' | 'Gs';
const KEYS: readonly NetworkKey[] = ['G', 'D', 'Gs'];

export interface LoadedNetworks {
  G?: Network;
  D?: Network;
  Gs: Network;
  /** What the user passed (path or URL). */
  source: string;
  /** The local file read (the cache file for a URL). */
  file: string;
  kind: 'pkl' | 'snapshot';
  /** Training progress of a snapshot (absent for pickles). */
  kimg?: number;
}

export interface LoadNetworksOptions {
  /** Where URL downloads are cached (NVIDIA's config.cache_dir). Default 'cache'. */
  cacheDir?: string;
  /** Which networks to build; Gs is always built. Default all three (when the file has them). */
  networks?: readonly NetworkKey[];
  /** No download progress output. */
  quiet?: boolean;
}

// ---------------------------------------------------------------------------------------------
// The bundled model.

/** The model that ships with the project (models/README.md); used when `--network` is omitted. */
export const BUNDLED_NETWORK = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'models', 'stylegan-fmnist-32.safetensors');

/**
 * The network a CLI should load: the `--network` argument, else the bundled model (env
 * STYLEGAN_BUNDLED_MODEL overrides its path), else a one-line UserError saying how to pass one.
 */
export function resolveNetworkArg(arg: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  if (arg !== undefined && arg !== '') {
    if (!isUrl(arg) && !fs.existsSync(arg)) throw new UserError(`${arg}: no such network file`);
    return arg;
  }
  const bundled = env.STYLEGAN_BUNDLED_MODEL || BUNDLED_NETWORK;
  if (fs.existsSync(bundled)) return bundled;
  throw new UserError(
    `no bundled model is installed yet (${path.relative(process.cwd(), bundled) || bundled} does not exist); ` +
    'pass --network <snapshot.safetensors|network.pkl|https://…/network.pkl>', 2);
}

// ---------------------------------------------------------------------------------------------
// Loading.

type Builder = (kwargs: Record<string, unknown>, name: string) => Network;
const BUILDERS: Record<string, Builder> = {
  G_style: (kw, name) => new G_style(kw, { name }),
  G_paper: (kw, name) => new G_paper(kw, { name }),
  D_basic: (kw, name) => new D_basic(kw, { name }),
  D_paper: (kw, name) => new D_paper(kw, { name }),
  G_mapping: (kw, name) => new G_mapping(kw, { name }),
  G_synthesis: (kw, name) => new G_synthesis(kw, { name }),
  G_main: (kw, name) => new G_main(kw, { name }),
  G_synthesis_stylegan2: (kw, name) => new G_synthesis_stylegan2(kw, { name }),
  D_stylegan2: (kw, name) => new D_stylegan2(kw, { name }),
  G_mlp: (kw, name) => new G_mlp(kw, { name, initialize: false }),
  D_mlp: (kw, name) => new D_mlp(kw, { name, initialize: false }),
  G_dcgan: (kw, name) => new G_dcgan(kw, { name, initialize: false }),
  D_dcgan: (kw, name) => new D_dcgan(kw, { name, initialize: false }),
};

/** NVIDIA's build function name of one of our networks. */
export function buildFuncName(net: Network): string {
  if (net instanceof G_style) return 'G_style';
  if (net instanceof G_paper) return 'G_paper';
  if (net instanceof D_basic) return 'D_basic';
  if (net instanceof D_paper) return 'D_paper';
  if (net instanceof G_mapping) return 'G_mapping';
  if (net instanceof G_synthesis) return 'G_synthesis';
  if (net instanceof G_main) return 'G_main';
  if (net instanceof G_synthesis_stylegan2) return 'G_synthesis_stylegan2';
  if (net instanceof D_stylegan2) return 'D_stylegan2';
  if (net instanceof G_mlp) return 'G_mlp';
  if (net instanceof D_mlp) return 'D_mlp';
  if (net instanceof G_dcgan) return 'G_dcgan';
  if (net instanceof D_dcgan) return 'D_dcgan';
  throw new Error(`${net.name}: unknown network class ${net.constructor.name}`);
}

const isUrl = (s: string) => /^https?:\/\//i.test(s);

/** Loads G, D and Gs from a snapshot, an NVIDIA pickle or an http(s) URL of either. */
export async function loadNetworks(pathOrUrl: string, opts: LoadNetworksOptions = {}): Promise<LoadedNetworks> {
  const file = isUrl(pathOrUrl) ? await downloadToCache(pathOrUrl, opts.cacheDir ?? 'cache', { quiet: opts.quiet }) : pathOrUrl;
  const want = new Set<NetworkKey>([...(opts.networks ?? KEYS), 'Gs']);
  const name = isUrl(pathOrUrl) ? urlFileName(pathOrUrl) : path.basename(file);
  let stat: fs.Stats;
  try {
    stat = fs.statSync(file);
  } catch {
    throw new UserError(`${pathOrUrl}: no such network file`);
  }
  if (stat.isDirectory()) throw new UserError(`${pathOrUrl}: is a directory, expected a network file (.safetensors or .pkl)`);
  const kind = detectKind(file, name);
  const nets = kind === 'snapshot' ? loadSnapshotNetworks(file, name, want) : loadPickleNetworks(file, name, want);
  return { ...nets, source: pathOrUrl, file, kind };
}

/** By extension, else by content: a safetensors file has an 8-byte length then '{'. */
function detectKind(file: string, name: string): 'pkl' | 'snapshot' {
  if (/\.safetensors$/i.test(name)) return 'snapshot';
  if (/\.pkl$/i.test(name)) return 'pkl';
  const fd = fs.openSync(file, 'r');
  const head = Buffer.alloc(9);
  const n = fs.readSync(fd, head, 0, 9, 0);
  fs.closeSync(fd);
  return n === 9 && head[8] === 0x7b ? 'snapshot' : 'pkl';
}

function loadSnapshotNetworks(file: string, name: string, want: Set<NetworkKey>): Omit<LoadedNetworks, 'source' | 'file' | 'kind'> {
  const snap = loadSnapshot(file);
  const fail = (msg: string): never => { throw new UserError(`${name}: ${msg}`); };
  if (snap.Gs.size === 0) fail('the snapshot has no Gs/ tensors');
  const out: Partial<Record<NetworkKey, Network>> = {};
  try {
    for (const key of KEYS) {
      if (!want.has(key) || snap[key].size === 0) continue;
      const entry = snap.kwargs[key] ?? (key === 'Gs' ? snap.kwargs.G : undefined);
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) fail(`metadata kwargs has no '${key}' entry to build ${key} from`);
      const { func_name, ...kwargs } = entry as Record<string, unknown>;
      const func = func_name === undefined ? (key === 'D' ? 'D_basic' : 'G_style') : String(func_name).split('.').pop()!;
      const build = Object.hasOwn(BUILDERS, func) ? BUILDERS[func]! : fail(`${key} was built by '${String(func_name)}', which stylegan-ts cannot rebuild (supported: ${Object.keys(BUILDERS).join(', ')})`);
      const net = build(kwargs, key);
      out[key] = net;
      assignTensors(net, snap[key], key, name);
    }
  } catch (err) {
    for (const net of Object.values(out)) net.dispose();
    throw err;
  }
  return { G: out.G, D: out.D, Gs: out.Gs!, kimg: snap.kimg };
}

/** Copies every tensor into the network by name; names or shapes that do not map are a UserError. */
function assignTensors(net: Network, tensors: TensorMap, key: NetworkKey, file: string): void {
  const vars = net.vars;
  const unmapped = [...tensors.keys()].filter((n) => !vars.has(n));
  const missing = [...vars.keys()].filter((n) => !tensors.has(n));
  if (unmapped.length || missing.length) {
    const list = (xs: string[]) => xs.slice(0, 4).join(', ') + (xs.length > 4 ? `, … (${xs.length} in all)` : '');
    const parts = [unmapped.length ? `not in the network: ${list(unmapped)}` : '', missing.length ? `missing from the file: ${list(missing)}` : ''];
    throw new UserError(`${file}: ${key} tensors do not match the ${buildFuncName(net)} built from the snapshot's kwargs (${parts.filter(Boolean).join('; ')})`);
  }
  for (const [n, t] of tensors) {
    const v = vars.get(n)!;
    if (t.shape.length !== v.shape.length || t.shape.some((d, i) => d !== v.shape[i])) {
      throw new UserError(`${file}: ${key}/${n} has shape [${t.shape.join(',')}], the network expects [${v.shape.join(',')}]`);
    }
    net.setVar(n, t.data);
  }
}

function loadPickleNetworks(file: string, name: string, want: Set<NetworkKey>): Omit<LoadedNetworks, 'source' | 'file' | 'kind'> {
  let pkl: ReturnType<typeof loadNetworkPickle>;
  try {
    pkl = loadNetworkPickle(file, name);
  } catch (err) {
    if (!(err instanceof UserError)) throw err;
    const detail = err.message.startsWith(`${name}: `) ? err.message.slice(name.length + 2) : err.message;
    throw new UserError(`${name}: corrupt or not a network pickle (${detail})`);
  }
  if (!pkl.Gs) throw new UserError(`${name}: the pickle has no Gs network`);
  const out: Partial<Record<NetworkKey, Network>> = {};
  try {
    for (const key of KEYS) {
      const state = pkl[key];
      if (!want.has(key) || !state) continue;
      out[key] = buildFromState(state, { file: name }).net;
    }
  } catch (err) {
    for (const net of Object.values(out)) net.dispose();
    throw err;
  }
  return { G: out.G, D: out.D, Gs: out.Gs! };
}

// ---------------------------------------------------------------------------------------------
// Saving.

export interface SaveNetworkSnapshotArgs {
  G: Network;
  D: Network;
  Gs: Network;
  kimg: number;
  /** Extra JSON-serialisable settings recorded beside the networks' kwargs (keys G, D, Gs are reserved). */
  kwargs?: Record<string, unknown>;
  /** What the training loop needs to resume (lod, tick counters, RNG state, …). */
  state?: Record<string, unknown>;
  /** Optimizer slots, keyed e.g. 'G/<var>/m'. */
  optimizer?: TensorMap;
}

/** The tensors of a network under their NVIDIA names, copied to host memory. */
export function networkTensors(net: Network): TensorMap {
  const out: TensorMap = new Map();
  for (const [name, v] of net.vars) out.set(name, { shape: [...v.shape], data: v.dataSync() as Float32Array });
  return out;
}

/** Writes G, D and Gs (with their build functions and kwargs) as a snapshot, atomically. */
export function saveNetworkSnapshot(file: string, args: SaveNetworkSnapshotArgs): void {
  const extra = args.kwargs ?? {};
  for (const key of KEYS) {
    if (Object.hasOwn(extra, key)) throw new Error(`saveNetworkSnapshot: kwargs.${key} is reserved for the network's own kwargs`);
  }
  const entry = (net: Network) => ({ func_name: buildFuncName(net), ...net.static_kwargs });
  saveSnapshot(file, {
    G: networkTensors(args.G),
    D: networkTensors(args.D),
    Gs: networkTensors(args.Gs),
    kwargs: { ...extra, G: entry(args.G), D: entry(args.D), Gs: entry(args.Gs) },
    kimg: args.kimg,
    trainingState: args.state ?? {},
    optimizer: args.optimizer ?? new Map(),
  });
}

// ---------------------------------------------------------------------------------------------
// URL cache (NVIDIA's open_url with cache_dir).

function urlFileName(url: string): string {
  const base = decodeURIComponent(new URL(url).pathname.split('/').pop() ?? '');
  return base.replace(/[^A-Za-z0-9._-]/g, '_') || 'download';
}

export interface DownloadOptions {
  attempts?: number;
  quiet?: boolean;
}

/**
 * Downloads `url` once into `cacheDir` as `<md5(url)>_<file name>` (NVIDIA's naming) and records its
 * sha256 beside it in `<name>.sha256` (sha256sum format). A cached file whose hash no longer matches
 * is downloaded again. The download is atomic: a failed or interrupted one leaves nothing behind.
 */
export async function downloadToCache(url: string, cacheDir: string, opts: DownloadOptions = {}): Promise<string> {
  const name = `${crypto.createHash('md5').update(url).digest('hex')}_${urlFileName(url)}`;
  const target = path.join(cacheDir, name);
  const sidecar = `${target}.sha256`;
  if (fs.existsSync(target) && fs.existsSync(sidecar)) {
    const recorded = fs.readFileSync(sidecar, 'utf8').split(/\s+/)[0];
    if (recorded === sha256File(target)) return target;
    if (!opts.quiet) process.stderr.write(`${target}: sha256 does not match the recorded one; downloading again\n`);
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const attempts = opts.attempts ?? 3;
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const result = await downloadOnce(url, target, opts.quiet === true);
    if (result.ok) {
      writeFileAtomic(sidecar, `${result.sha256}  ${name}\n`);
      return target;
    }
    lastError = result.error;
    if (!result.retry) break;
  }
  throw new UserError(`${url}: download failed (${lastError})`);
}

type DownloadResult = { ok: true; sha256: string } | { ok: false; error: string; retry: boolean };

async function downloadOnce(url: string, target: string, quiet: boolean): Promise<DownloadResult> {
  let bar: ReturnType<typeof createProgress> | undefined;
  try {
    const sha256 = await downloadFile(url, target, {
      onStart: (total) => { bar = createProgress({ total: Number.isFinite(total) ? total : 0, label: `download ${urlFileName(url)}`, unit: 'B', silent: quiet }); },
      onBytes: (n) => bar?.increment(n),
    });
    return { ok: true, sha256 };
  } catch (err) {
    return { ok: false, error: (err as Error).message, retry: err instanceof DownloadError ? err.retry : true };
  } finally {
    bar?.stop();
  }
}
