// Backend choice for every CLI: `--backend auto|tensorflow|wasm|cpu`, `--threads N`, `--verbose`
// (or STYLEGAN_BACKEND / STYLEGAN_THREADS). `tensorflow` is tfjs-node's addon on a libtensorflow
// (linked by scripts/setup_tensorflow.ts); `auto` takes it when it loads and otherwise the fallback.
// `wasm` is tfjs' threaded-SIMD wasm module started on every core (engine/wasm_threads.ts) with the
// conv-gradient kernels it lacks (engine/wasm/), so it trains where no TensorFlow can be linked.
// Nothing outside this file and engine/ needs to know which backend runs.
import * as tf from '@tensorflow/tfjs';
import { createRequire } from 'node:module';
import os from 'node:os';
import { UserError } from './errors.ts';
import { registerEngine } from '../engine/register.ts';
import { startWasmThreads } from '../engine/wasm_threads.ts';

export const BACKEND_NAMES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];
export type ResolvedBackend = Exclude<BackendName, 'auto'>;

// What `auto` runs when TensorFlow cannot load: the threaded wasm engine (5-8x slower than TensorFlow
// on a CPU, but it trains; tfjs' `cpu` backend runs conv backprop-filter at ~0.01 GFLOP/s). If the
// threaded module cannot start, `auto` says why and takes `cpu`.
export const FALLBACK_BACKEND: ResolvedBackend = 'wasm';

export interface InitBackendOptions {
  backend?: BackendName;
  /** Threads for TensorFlow's intra-op and inter-op pools (TF's default when omitted) or the wasm engine's pool (all cores when omitted). */
  threads?: number;
  /** Show TensorFlow's own start-up log lines. */
  verbose?: boolean;
  /** Print the one start line on stderr (default true). */
  print?: boolean;
}

export interface BackendInfo {
  backend: ResolvedBackend;
  /** The package that provided the backend, e.g. '@tensorflow/tfjs-node@4.22.0'. */
  provider: string;
  /** Version of the loaded libtensorflow (tensorflow backend only). */
  tfVersion: string | null;
  devices: string[];
  /** Threads the backend computes with, or null when left to TensorFlow's default. */
  threads: number | null;
  /** Why `auto` did not take tensorflow. */
  fallbackReason: string | null;
  /** The start line every CLI prints. */
  line: string;
}

/** yargs option definitions shared by every CLI: `.options(backendOptions)`. */
export const backendOptions = {
  backend: {
    type: 'string',
    describe: 'compute backend: auto|tensorflow|wasm|cpu (env STYLEGAN_BACKEND; default auto)',
  },
  threads: {
    type: 'string',
    describe: "threads for TensorFlow's intra/inter-op pools or the wasm engine's pool (env STYLEGAN_THREADS; default: TF's choice / all cores)",
  },
  verbose: {
    type: 'boolean',
    describe: "show TensorFlow's own log lines",
  },
} as const;

/**
 * Turns flags (which win) and the environment into validated options; bad values are UserErrors
 * naming the flag. Accepts yargs' argv as is.
 */
export function backendOptionsFrom(
  argv: { backend?: unknown; threads?: unknown; verbose?: unknown },
  env: NodeJS.ProcessEnv = process.env,
): InitBackendOptions {
  const rawBackend = argv.backend ?? env.STYLEGAN_BACKEND ?? 'auto';
  const backendSource = argv.backend != null ? '--backend' : 'STYLEGAN_BACKEND';
  const backend = String(rawBackend).trim().toLowerCase();
  if (!(BACKEND_NAMES as readonly string[]).includes(backend)) {
    throw new UserError(`${backendSource}: unknown backend '${String(rawBackend)}' (expected one of ${BACKEND_NAMES.join(', ')})`);
  }
  const rawThreads = argv.threads ?? env.STYLEGAN_THREADS;
  const threadsSource = argv.threads != null ? '--threads' : 'STYLEGAN_THREADS';
  let threads: number | undefined;
  if (rawThreads != null && String(rawThreads).trim() !== '') {
    threads = parseThreads(rawThreads, threadsSource);
  }
  return { backend: backend as BackendName, threads, verbose: argv.verbose === true };
}

function parseThreads(raw: unknown, source: string): number {
  const s = String(raw).trim();
  if (!/^\d+$/.test(s) || Number(s) < 1) {
    throw new UserError(`${source}: expected a positive whole number of threads, got '${String(raw)}'`);
  }
  const n = Number(s);
  if (n > 1024) throw new UserError(`${source}: ${n} threads is not plausible (this machine has ${os.cpus().length} CPUs)`);
  return n;
}

let current: { key: string; info: BackendInfo } | null = null;
type TensorflowLoad = { ok: true; provider: string } | { ok: false; reason: string };
let tensorflowLoad: TensorflowLoad | null = null;

/**
 * Chooses, loads and readies the backend, registers engine/'s gradients, and prints the start line.
 * Memoised: a second call with the same options returns the same info.
 */
export async function initBackend(opts: InitBackendOptions = {}): Promise<BackendInfo> {
  const { backend: requested, threads, verbose } = backendOptionsFrom({ backend: opts.backend, threads: opts.threads, verbose: opts.verbose }, {});
  const key = JSON.stringify([requested, threads ?? null]);
  if (current && current.key === key) return current.info;

  let backend: ResolvedBackend;
  let provider: string;
  let fallbackReason: string | null = null;
  let wasmThreads: number | null = null;
  if (requested === 'tensorflow' || requested === 'auto') {
    const load = loadTensorflow(threads, verbose === true);
    if (load.ok) {
      backend = 'tensorflow';
      provider = load.provider;
    } else if (requested === 'tensorflow') {
      throw new UserError(`--backend tensorflow: TensorFlow cannot load (${load.reason}); run 'npm run setup-tensorflow' or use --backend auto`);
    } else {
      fallbackReason = load.reason;
      try {
        wasmThreads = (await startWasmThreads(threads)).threads;
        backend = 'wasm';
        provider = WASM_PROVIDER;
      } catch (err) {
        backend = 'cpu';
        provider = `@tensorflow/tfjs@${tf.version_core}`;
        fallbackReason += `; threaded wasm failed to start: ${firstLine(err)}`;
      }
    }
  } else if (requested === 'wasm') {
    try {
      wasmThreads = (await startWasmThreads(threads)).threads;
    } catch (err) {
      throw new UserError(`--backend wasm: the threaded wasm engine failed to start (${firstLine(err)})`);
    }
    backend = 'wasm';
    provider = WASM_PROVIDER;
  } else {
    backend = 'cpu';
    provider = `@tensorflow/tfjs@${tf.version_core}`;
  }

  if (!(await tf.setBackend(backend))) throw new UserError(`--backend ${backend}: the backend failed to initialise`);
  await tf.ready();
  // The cpu backend greets its first write in Node with a multi-line "install tfjs-node" banner;
  // the start line below already says what runs and how to get TensorFlow.
  if (backend === 'cpu') (tf.backend() as unknown as { firstUse?: boolean }).firstUse = false;
  registerEngine();

  const info = describe(backend, provider, backend === 'wasm' ? wasmThreads : threads ?? null, fallbackReason, threads ?? null);
  current = { key, info };
  if (opts.print !== false) process.stderr.write(info.line + '\n');
  return info;
}

/** The backend initBackend chose, or null before the first call. */
export function currentBackend(): BackendInfo | null {
  return current?.info ?? null;
}

// tfjs-node registers the `tensorflow` backend as a side effect of loading; the thread and log
// settings are read by libtensorflow from the environment when the addon creates its context, so
// they must be in place before the require.
function loadTensorflow(threads: number | undefined, verbose: boolean): TensorflowLoad {
  if (tensorflowLoad) {
    if (tensorflowLoad.ok && threads != null && process.env.TF_NUM_INTRAOP_THREADS !== String(threads)) {
      throw new Error(`TensorFlow is already loaded with ${process.env.TF_NUM_INTRAOP_THREADS ?? 'default'} threads; cannot switch to ${threads}`);
    }
    return tensorflowLoad;
  }
  if (threads != null) {
    process.env.TF_NUM_INTRAOP_THREADS = String(threads);
    process.env.TF_NUM_INTEROP_THREADS = String(threads);
  }
  if (!verbose && process.env.TF_CPP_MIN_LOG_LEVEL == null) process.env.TF_CPP_MIN_LOG_LEVEL = '2';
  const require = createRequire(import.meta.url);
  const reasons: string[] = [];
  // The GPU package is only present when `npm run setup-tensorflow -- --gpu` put it there; it wins.
  for (const name of ['@tensorflow/tfjs-node-gpu', '@tensorflow/tfjs-node']) {
    let resolved: string;
    try {
      resolved = require.resolve(name);
    } catch {
      continue;
    }
    // tfjs-node finds its addon through node-pre-gyp, which parses process.argv with nopt: a user's
    // `--dir …` (an abbreviation of its --directory), `--arch` or `--debug` would redirect the lookup and
    // the addon would not load. Hide the CLI's own arguments while it loads.
    const argv = process.argv;
    process.argv = argv.slice(0, 2);
    try {
      require(resolved);
      const version = (require(`${name}/package.json`) as { version: string }).version;
      tensorflowLoad = { ok: true, provider: `${name}@${version}` };
      return tensorflowLoad;
    } catch (err) {
      reasons.push(`${name}: ${firstLine(err)}`);
    } finally {
      process.argv = argv;
    }
  }
  tensorflowLoad = { ok: false, reason: reasons.length > 0 ? reasons.join('; ') : '@tensorflow/tfjs-node is not installed' };
  return tensorflowLoad;
}

function firstLine(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  // tfjs-node's "addon not found" message spans lines; the first one names the problem.
  return msg.split('\n')[0]!.replace(/\s+$/, '').slice(0, 200);
}

interface NodeBinding { TF_Version?: string; isUsingGpuDevice?: () => boolean }

const WASM_PROVIDER = `@tensorflow/tfjs-backend-wasm@${tf.version_core}`;

function describe(backend: ResolvedBackend, provider: string, threads: number | null, fallbackReason: string | null, requestedThreads: number | null): BackendInfo {
  let tfVersion: string | null = null;
  let devices: string[] = ['CPU'];
  let threadsText: string;
  let effectiveThreads: number | null = threads;
  if (backend === 'tensorflow') {
    const binding = (tf.backend() as unknown as { binding?: NodeBinding }).binding;
    tfVersion = binding?.TF_Version ?? null;
    // The addon keeps one device: the first GPU if TF found one, else the host CPU.
    devices = binding?.isUsingGpuDevice?.() ? ['GPU:0'] : ['CPU'];
    threadsText = threads != null ? `${threads} intra-op / ${threads} inter-op` : `TF default (${os.availableParallelism()} CPUs)`;
  } else if (backend === 'wasm') {
    // The pool size XNNPACK reports (engine/wasm_threads.ts), which can differ from what was asked.
    threadsText = `${threads} (threaded wasm${requestedThreads != null && requestedThreads !== threads ? `, ${requestedThreads} requested` : ''})`;
  } else {
    // tfjs' cpu backend computes on the main thread.
    effectiveThreads = 1;
    threadsText = threads != null && threads !== 1 ? `1 (--threads ${threads} ignored: ${backend} runs on one thread)` : '1';
  }
  let line = `backend: ${backend} (${provider})`;
  line += tfVersion ? `, TF ${tfVersion}` : '';
  line += `, devices: ${devices.join(' ')}, threads: ${threadsText}`;
  if (provider.startsWith('@tensorflow/tfjs-node-gpu') && !devices[0]!.startsWith('GPU')) line += ' [tfjs-node-gpu sees no GPU: running on the CPU]';
  if (fallbackReason) line += ` [auto fallback, TensorFlow unavailable: ${fallbackReason}; run 'npm run setup-tensorflow']`;
  return { backend, provider, tfVersion, devices, threads: effectiveThreads, fallbackReason, line };
}
