// The install route for the `tensorflow` backend, in the order issue 10 sets:
//   1. tfjs-node's own libtensorflow, when its download from Google's storage works;
//   2. else the libtensorflow inside TensorFlow's wheel: from the per-user cache, from a Python
//      TensorFlow already installed, else from `pip download tensorflow-cpu==2.21.0`;
//   3. else one line saying which fallback backend will run and how to get TensorFlow.
// Every step that touches node_modules either ends with an addon that loads (checked in a child
// process) or is rolled back to the package as npm unpacked it.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import {
  TF_WHEEL_VERSION, cacheFromInstalled, cacheFromWheel, cachedLibtensorflow, findPythonTensorflow, inspectWheel,
  lastLine, libtensorflowInPlace, nvidiaLibDirs, pipDownloadWheel, type Libtensorflow,
} from './libtensorflow_source.ts';
import {
  TFJS_NODE_VERSION, googleStorageReachable, linkAndBuild, packageDir, probeAddon, resetAddon, runOwnInstaller,
  type AddonPackage, type ProbeResult,
} from './tfjs_node_addon.ts';

export interface SetupConfig {
  /** Project root (holds node_modules). */
  root: string;
  wheel?: string;
  python?: string;
  gpu: boolean;
  /** Run by npm after install: never throws, prints a few lines at most. */
  postinstall: boolean;
  log: (line: string) => void;
}

export interface SetupResult { ok: boolean; summary: string }

const FALLBACK_HINT = "`--backend auto` will run on tfjs's cpu backend; to get TensorFlow run `npm run setup-tensorflow` (see README)";

export async function setupTensorflow(cfg: SetupConfig): Promise<SetupResult> {
  const pkg: AddonPackage = cfg.gpu ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  // Validate explicit inputs before touching anything.
  if (cfg.wheel) inspectWheel(cfg.wheel);
  const explicitPython = cfg.python ? findPythonTensorflow(cfg.python) : null;
  if (explicitPython && 'error' in explicitPython) throw new UserError(`--python ${cfg.python}: ${explicitPython.error}`);

  let pkgDir = packageDir(cfg.root, pkg);
  if (!pkgDir) {
    if (cfg.postinstall && /\boptional\b/.test(process.env.npm_config_omit ?? '')) {
      return { ok: false, summary: `optional dependencies omitted; ${FALLBACK_HINT}` };
    }
    // --gpu: tfjs-node-gpu is not a dependency (it would fight tfjs-node over the same backend name
    // on CPU-only machines). npm 10 also removes the optional tfjs-node when its own install script
    // fails (no route to Google's storage); bring it back without running that script.
    cfg.log(`installing ${pkg}@${TFJS_NODE_VERSION} (scripts disabled) ...`);
    pkgDir = npmInstallNoScripts(cfg.root, pkg);
    if (!pkgDir) return { ok: false, summary: `${pkg} could not be installed; ${FALLBACK_HINT}` };
  }

  const tried: string[] = [];
  const attempt = (lib: Libtensorflow): ProbeResult | null => {
    let built = linkAndBuild(pkgDir!, lib, cfg.log);
    if (!built.ok) { tried.push(`${lib.origin}: ${built.why}`); return null; }
    let probe = probeAddon(pkgDir!);
    if (!probe.ok && built.reused) {
      // A cached addon that does not load (e.g. a different toolchain's build): compile afresh.
      built = linkAndBuild(pkgDir!, lib, cfg.log, false);
      if (!built.ok) { tried.push(`${lib.origin}: ${built.why}`); return null; }
      probe = probeAddon(pkgDir!);
    }
    if (!probe.ok) { resetAddon(pkgDir!); tried.push(`${lib.origin}: the addon does not load (${probe.reason})`); return null; }
    return probe;
  };
  const done = (probe: ProbeResult, origin: string): SetupResult => {
    if (cfg.gpu && !probe.gpu) {
      resetAddon(pkgDir!);
      throw new UserError(`--gpu: TensorFlow ${probe.tfVersion} loaded but sees no GPU (check the CUDA 12 libraries of tensorflow[and-cuda] and the driver); removed the GPU addon`);
    }
    return {
      ok: true,
      summary: `tensorflow backend ready: ${pkg} on TF ${probe.tfVersion} from ${origin}; library ${probe.libPath ?? '(unknown)'}; devices: ${probe.gpu ? 'GPU:0' : 'CPU'}`,
    };
  };

  // Explicit sources: exactly what was asked, no fallbacks.
  if (cfg.wheel) {
    const lib = cacheFromWheel(cfg.wheel, cfg.gpu);
    const probe = attempt(lib);
    if (!probe) throw new UserError(`--wheel ${cfg.wheel}: ${tried.at(-1)}`);
    return done(probe, lib.origin);
  }
  if (explicitPython && !('error' in explicitPython)) {
    const lib = cfg.gpu ? libtensorflowInPlace(explicitPython) : (cachedLibtensorflow(explicitPython.version) ?? cacheFromInstalled(explicitPython));
    const probe = attempt(lib);
    if (!probe) throw new UserError(`--python ${cfg.python}: ${tried.at(-1)}${cfg.gpu ? cudaHint(explicitPython.dir) : ''}`);
    return done(probe, lib.origin);
  }

  // 0. Already working (a re-run, or npm 10 ran tfjs-node's own installer successfully).
  if (cfg.postinstall) {
    const probe = probeAddon(pkgDir);
    if (probe.ok) return done(probe, 'the existing install');
  }

  // 1. tfjs-node's own download of libtensorflow 2.9.1 (CPU only: its 2.9.1 GPU build needs CUDA 11).
  if (!cfg.gpu) {
    if (await googleStorageReachable()) {
      cfg.log("trying tfjs-node's own libtensorflow download ...");
      const own = runOwnInstaller(pkgDir, false, 10 * 60_000);
      const probe = own.ok ? probeAddon(pkgDir) : null;
      if (probe?.ok) return done(probe, "tfjs-node's own download");
      resetAddon(pkgDir);
      tried.push(`tfjs-node's own download: ${own.ok ? 'addon does not load' : own.why}`);
    } else {
      tried.push("tfjs-node's own download: storage.googleapis.com unreachable");
    }
  }

  // The wheel route links Linux shared objects (libtensorflow_cc.so.2) into the Linux addon layout.
  if (process.platform !== 'linux') {
    return { ok: false, summary: `TensorFlow not set up (${[...tried, `the wheel route is Linux-only (this is ${process.platform})`].join('; ')}); ${FALLBACK_HINT}` };
  }

  // 2a. The cache filled by an earlier install or clone.
  const cached = cachedLibtensorflow(TF_WHEEL_VERSION, cfg.gpu);
  if (cached) {
    const probe = attempt(cached);
    if (probe) return done(probe, cached.origin);
  }

  // 2b. A Python TensorFlow already installed.
  const python = process.env.PYTHON || 'python3';
  const installed = findPythonTensorflow(python);
  if (!('error' in installed)) {
    const lib = cfg.gpu ? libtensorflowInPlace(installed) : (cachedLibtensorflow(installed.version) ?? safely(() => cacheFromInstalled(installed), tried));
    const probe = lib ? attempt(lib) : null;
    if (probe && lib) return done(probe, lib.origin);
  } else {
    tried.push(installed.error);
  }

  // 2c. pip download of the wheel (CPU build; the GPU build's CUDA libraries come as separate wheels).
  if (cfg.gpu) {
    return { ok: false, summary: `no GPU TensorFlow found (${tried.join('; ')}); install it with \`${python} -m pip install 'tensorflow[and-cuda]==${TF_WHEEL_VERSION}'\` and rerun \`npm run setup-tensorflow -- --gpu --python ${python}\`` };
  }
  // The download would only refill the cache entry that already failed above.
  if (cached) return { ok: false, summary: `TensorFlow not set up (${tried.join('; ')}); ${FALLBACK_HINT}` };
  const dl = pipDownloadWheel(python, `tensorflow-cpu==${TF_WHEEL_VERSION}`, cfg.log);
  if ('error' in dl) {
    tried.push(dl.error);
  } else {
    try {
      cfg.log('unpacking libtensorflow from the wheel into the per-user cache (once) ...');
      const lib = safely(() => cacheFromWheel(dl.wheel), tried);
      const probe = lib ? attempt(lib) : null;
      if (probe && lib) return done(probe, lib.origin);
    } finally {
      dl.cleanup();
    }
  }
  return { ok: false, summary: `TensorFlow not set up (${tried.join('; ')}); ${FALLBACK_HINT}` };
}

function cudaHint(tfDir: string): string {
  const dirs = nvidiaLibDirs(tfDir);
  return dirs.length > 0 ? `; if CUDA libraries are not found, retry with LD_LIBRARY_PATH=${dirs.join(':')}` : '';
}

function safely<T>(fn: () => T, tried: string[]): T | null {
  try {
    return fn();
  } catch (err) {
    tried.push((err as Error).message.split('\n')[0]!);
    return null;
  }
}

// `npm install --no-save` keeps package.json and the lock as they are; --ignore-scripts keeps
// tfjs-node's installer (Google download) from running, since the route above decides what to link.
function npmInstallNoScripts(root: string, pkg: AddonPackage): string | null {
  const npm = process.env.npm_execpath ? [process.execPath, process.env.npm_execpath] : ['npm'];
  const r = spawnSync(npm[0]!, [...npm.slice(1), 'install', '--no-save', '--ignore-scripts', '--no-audit', '--no-fund', `${pkg}@${TFJS_NODE_VERSION}`], {
    cwd: root, encoding: 'utf8', timeout: 10 * 60_000,
  });
  if (r.error || r.status !== 0) {
    process.stderr.write(`npm install ${pkg} failed: ${lastLine(r.stderr) || r.error?.message}\n`);
    return null;
  }
  return packageDir(root, pkg);
}

export function projectRoot(): string {
  return path.resolve(import.meta.dirname, '..', '..');
}
