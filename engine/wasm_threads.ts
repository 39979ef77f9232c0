// The multithreaded (pthreads + SIMD) build of tfjs' wasm backend, started in Node on all cores and
// registered as the 'wasm' backend. Stock tfjs 4.22 runs wasm on one thread in Node: its
// WASM_HAS_MULTITHREAD_SUPPORT flag is false there, and forcing it fails because tfjs hands
// Emscripten a Blob URL for the pthread worker, which node:worker_threads cannot load
// (engine-notes.md, fact 1 and Appendix A). So we instantiate the Emscripten module ourselves:
//   - the pthread worker script, which tfjs ships only as a JS string, is written to a real file;
//   - the main script is given as a file path, which each worker evals at start;
//   - the C++ side sizes XNNPACK's pool as min(requested, logical cores / 2) (it assumes SMT), and
//     Emscripten reads the core count from os.cpus() in Node: while the module starts we report
//     twice the requested threads, so a 2-core machine gets 2 threads, not 1;
//   - the pool's workers are unref'd once started, so the process still exits by itself
//     (stopWasmThreads() terminates them outright).
//
// Version pin: this relies on package internals of @tensorflow/tfjs-backend-wasm — the file names in
// wasm-out/, the worker's `wasmWorkerContents` export, the exported BackendWasm class and the shape of
// the `module.tfjs` bridge its constructor calls, Emscripten's PThread object — none of which is
// public API and all of which have changed between releases. package.json therefore pins tfjs and
// tfjs-backend-wasm to exactly 4.22.0 (no caret); check this file when bumping them.
import * as tf from '@tensorflow/tfjs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ENGINE_KERNELS, registerEngine } from './register.ts';

const require = createRequire(import.meta.url);
const PKG = '@tensorflow/tfjs-backend-wasm';
const PINNED_VERSION = '4.22.0';

interface EmscriptenWorker { unref(): void }
interface ThreadedModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => unknown;
  PThread?: { runningWorkers: EmscriptenWorker[]; unusedWorkers: EmscriptenWorker[] };
  tfjs?: Record<string, unknown>;
}
type ModuleFactory = (config: Record<string, unknown>) => Promise<ThreadedModule>;
interface WasmPackage {
  BackendWasm: new (module: unknown) => tf.KernelBackend;
  setThreadsCount(n: number): void;
  getThreadsCount(): number;
}

export interface WasmThreadsInfo {
  /** XNNPACK's pool size as the module reports it (the calling thread included). */
  threads: number;
  /** The pthread worker script on disk. */
  workerFile: string;
}

let started: { requested: number; info: WasmThreadsInfo } | null = null;

/** Where the package keeps its Emscripten output. */
function wasmOutDir(): string {
  return path.join(path.dirname(require.resolve(`${PKG}/package.json`)), 'wasm-out');
}

/**
 * Writes the pthread worker script to a real file (once per content and user: the name carries a
 * hash of the text, so concurrent processes share it and a stale one is never reused).
 */
function workerScriptFile(outDir: string): string {
  const { wasmWorkerContents } = require(path.join(outDir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };
  // The string export is a template literal, which turned the source's "\n" escapes into real
  // newlines inside string literals; escape them again, as tfjs does before making its Blob.
  const text = wasmWorkerContents.replace(/\n/g, '\\n');
  const hash = createHash('sha256').update(text).digest('hex').slice(0, 16);
  const uid = typeof process.getuid === 'function' ? process.getuid() : 'u';
  const file = path.join(os.tmpdir(), `stylegan-ts-tfjs-wasm-${uid}-${hash}.worker.js`);
  if (!fs.existsSync(file) || fs.readFileSync(file, 'utf8') !== text) {
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text);
    fs.renameSync(tmp, file);
  }
  return file;
}

/**
 * Starts the threaded-SIMD wasm module with `threads` threads (default: every core), registers it as
 * tfjs' 'wasm' backend (replacing the stock single-threaded one) and makes it the active backend.
 * Idempotent for the same thread count.
 */
export async function startWasmThreads(threads = os.availableParallelism()): Promise<WasmThreadsInfo> {
  if (started && started.requested === threads && tf.findBackendFactory('wasm') != null) {
    await tf.setBackend('wasm');
    return started.info;
  }
  const version = (require(`${PKG}/package.json`) as { version: string }).version;
  if (version !== PINNED_VERSION) throw new Error(`${PKG} ${version} is installed; engine/wasm_threads.ts is written for ${PINNED_VERSION}`);
  // The package's first import registers its stock kernels, warning about every name already taken:
  // take ours out of the way first and put them back over the stock ones after.
  for (const k of ENGINE_KERNELS) {
    if (k.backendName === 'wasm' && tf.getKernel(k.kernelName, 'wasm')?.kernelFunc === k.kernelFunc) tf.unregisterKernel(k.kernelName, 'wasm');
  }
  const pkg = (await import(PKG)) as unknown as WasmPackage;
  registerEngine();
  const outDir = wasmOutDir();
  const workerFile = workerScriptFile(outDir);
  const mainScript = path.join(outDir, 'tfjs-backend-wasm-threaded-simd.js');
  const factory = require(mainScript) as ModuleFactory;

  const realCpus = os.cpus;
  const cpus = realCpus();
  os.cpus = () => Array.from({ length: Math.max(cpus.length, 2 * threads) }, (_, i) => cpus[i % cpus.length]!);
  let mod: ThreadedModule;
  try {
    mod = await factory({
      mainScriptUrlOrBlob: mainScript,
      locateFile: (file: string, prefix: string) => {
        if (file.endsWith('.worker.js')) return workerFile;
        if (file.endsWith('.wasm')) return path.join(outDir, 'tfjs-backend-wasm-threaded-simd.wasm');
        return prefix + file;
      },
    });
    // The bridge BackendWasm's constructor and methods call (as tfjs' own init() builds it).
    mod.tfjs = {
      init: mod.cwrap('init', null, []),
      initWithThreadsCount: mod.cwrap('init_with_threads_count', null, ['number']),
      getThreadsCount: mod.cwrap('get_threads_count', 'number', []),
      registerTensor: mod.cwrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: mod.cwrap('dispose_data', null, ['number']),
      dispose: mod.cwrap('dispose', null, []),
    };
    pkg.setThreadsCount(threads);
    if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
    // The constructor starts XNNPACK's pool (pthread_create) and must see the inflated core count.
    const backend = new pkg.BackendWasm(mod);
    if (!tf.registerBackend('wasm', () => backend, 2)) throw new Error('could not register the threaded wasm backend');
    if (!(await tf.setBackend('wasm'))) throw new Error('the threaded wasm backend failed to initialise');
  } finally {
    os.cpus = realCpus;
  }
  // Emscripten refs a worker while it runs a pthread; XNNPACK's pool threads run for the module's
  // lifetime and would keep the event loop alive forever.
  for (const w of [...(mod.PThread?.runningWorkers ?? []), ...(mod.PThread?.unusedWorkers ?? [])]) w.unref();
  const info = { threads: pkg.getThreadsCount(), workerFile };
  started = { requested: threads, info };
  return info;
}

/** Terminates the pool's workers (tfjs' BackendWasm.dispose does it on removeBackend). */
export function stopWasmThreads(): void {
  if (tf.findBackendFactory('wasm') != null) tf.removeBackend('wasm');
  started = null;
}
