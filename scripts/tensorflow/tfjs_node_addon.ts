// tfjs-node's native addon: probe it, let its own installer try Google's libtensorflow, or link a
// libtensorflow from TensorFlow's wheel into its deps/ and compile the addon against it.
//
// This leans on @tensorflow/tfjs-node@4.22.0's internals, which is why package.json pins that exact
// version: binding.gyp reads headers from deps/include and links -ltensorflow -ltensorflow_framework
// from deps/lib with RUNPATH $ORIGIN/../../deps/lib; dist/index.js loads
// lib/napi-v<N>/tfjs_binding.node (N = highest of binary.napi_versions this Node supports); and
// scripts/install.js skips its download when deps/lib/libtensorflow.so.2.9.1 exists.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import type { Libtensorflow } from './libtensorflow_source.ts';
import { lastLine } from './libtensorflow_source.ts';

export const TFJS_NODE_VERSION = '4.22.0';
export type AddonPackage = '@tensorflow/tfjs-node' | '@tensorflow/tfjs-node-gpu';

export interface ProbeResult { ok: true; tfVersion: string; gpu: boolean; libPath: string | null }
export type Probe = ProbeResult | { ok: false; reason: string };

export function packageDir(root: string, pkg: AddonPackage): string | null {
  const dir = path.join(root, 'node_modules', pkg);
  return fs.existsSync(path.join(dir, 'package.json')) ? dir : null;
}

/**
 * Loads the addon in a child process (a failed dlopen must not take this process down) and reports
 * the TF version and device it found.
 */
export function probeAddon(pkgDir: string): Probe {
  const code = `
    const tf = require(${JSON.stringify(pkgDir)});
    const b = tf.backend().binding;
    let lib = null;
    try { lib = require('fs').realpathSync(require('path').join(${JSON.stringify(pkgDir)}, 'deps', 'lib', 'libtensorflow.so')); } catch {}
    process.stdout.write('\\nPROBE ' + JSON.stringify({ tfVersion: b.TF_Version, gpu: b.isUsingGpuDevice(), libPath: lib }) + '\\n');`;
  const r = spawnSync(process.execPath, ['-e', code], {
    encoding: 'utf8', timeout: 120_000, env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2' },
  });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('PROBE '));
  if (r.status === 0 && line) return { ok: true, ...(JSON.parse(line.slice(6)) as Omit<ProbeResult, 'ok'>) };
  const err = (r.stderr ?? '').split('\n').find((l) => /Error|error:/.test(l)) ?? lastLine(r.stderr);
  return { ok: false, reason: (err || r.error?.message || `exit ${r.status}`).trim().slice(0, 300) };
}

/** Removes everything an addon install adds to the package, leaving it as npm unpacked it. */
export function resetAddon(pkgDir: string): void {
  for (const d of ['deps', 'lib', 'build']) fs.rmSync(path.join(pkgDir, d), { recursive: true, force: true });
  for (const f of fs.readdirSync(pkgDir)) if (f.startsWith('deps.stylegan-tmp')) fs.rmSync(path.join(pkgDir, f), { recursive: true, force: true });
}

/** Whether Google's storage (where tfjs-node's installer downloads libtensorflow 2.9.1) answers. */
export async function googleStorageReachable(timeoutMs = 5000): Promise<boolean> {
  // Behind a proxy Node's https does not go through it, but tfjs-node's installer does: let it try.
  if (process.env.HTTPS_PROXY || process.env.https_proxy) return true;
  return new Promise((resolve) => {
    const req = https.request('https://storage.googleapis.com/tensorflow/libtensorflow/', { method: 'HEAD', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(true);
    });
    req.on('timeout', () => { req.destroy(); resolve(false); });
    req.on('error', () => resolve(false));
    req.end();
  });
}

/** Runs tfjs-node's own installer (download libtensorflow 2.9.1, fetch or build the addon). */
export function runOwnInstaller(pkgDir: string, gpu: boolean, timeoutMs: number): { ok: boolean; why: string } {
  const r = spawnSync(process.execPath, [path.join('scripts', 'install.js'), ...(gpu ? ['gpu', 'download'] : [])], {
    cwd: pkgDir, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL',
  });
  if (r.error) return { ok: false, why: (r.error as NodeJS.ErrnoException).code === 'ETIMEDOUT' ? 'timed out' : r.error.message };
  return { ok: r.status === 0, why: lastLine(r.stderr || r.stdout) };
}

/**
 * Links `lib` into the package's deps/ (built beside it, then renamed into place) and compiles the
 * addon with node-gyp. On failure the package is reset, so a later load fails cleanly instead of
 * half-working.
 */
export function linkAndBuild(
  pkgDir: string, lib: Libtensorflow, log: (s: string) => void, reuse = true,
): { ok: true; reused: boolean } | { ok: false; why: string } {
  resetAddon(pkgDir);
  const stage = path.join(pkgDir, `deps.stylegan-tmp-${process.pid}`);
  try {
    fs.mkdirSync(path.join(stage, 'lib'), { recursive: true });
    const libDir = path.join(stage, 'lib');
    const cc = path.join(lib.libDir, 'libtensorflow_cc.so.2');
    const fw = path.join(lib.libDir, 'libtensorflow_framework.so.2');
    fs.symlinkSync(cc, path.join(libDir, 'libtensorflow_cc.so.2'));
    fs.symlinkSync(fw, path.join(libDir, 'libtensorflow_framework.so.2'));
    // Names binding.gyp links (-ltensorflow -ltensorflow_framework) and the marker that makes
    // tfjs-node's install.js skip its download on a later `npm rebuild`.
    fs.symlinkSync('libtensorflow_cc.so.2', path.join(libDir, 'libtensorflow.so'));
    fs.symlinkSync('libtensorflow_framework.so.2', path.join(libDir, 'libtensorflow_framework.so'));
    fs.symlinkSync('libtensorflow_cc.so.2', path.join(libDir, 'libtensorflow.so.2.9.1'));
    fs.symlinkSync(lib.includeDir, path.join(stage, 'include'));
    for (const [name, target] of Object.entries(lib.depsLinks ?? {})) fs.symlinkSync(target, path.join(stage, name));
    fs.writeFileSync(path.join(stage, 'STYLEGAN_TS_LIBTENSORFLOW'), JSON.stringify({ version: lib.version, origin: lib.origin }) + '\n');
    fs.renameSync(stage, path.join(pkgDir, 'deps'));
  } catch (err) {
    fs.rmSync(stage, { recursive: true, force: true });
    resetAddon(pkgDir);
    return { ok: false, why: `linking failed: ${(err as Error).message}` };
  }
  const { file, key } = addonLocation(pkgDir);
  const cached = lib.addonCacheDir ? path.join(lib.addonCacheDir, key, path.basename(file)) : null;
  if (reuse && cached && fs.existsSync(cached)) {
    // The addon finds libtensorflow through RUNPATH $ORIGIN/../../deps/lib, so a copy built for the
    // same tfjs-node version, N-API version and library works in any clone.
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.copyFileSync(cached, file);
    log(`reusing the ${path.basename(pkgDir)} addon built earlier against TensorFlow ${lib.version}`);
    return { ok: true, reused: true };
  }
  log(`building the ${path.basename(pkgDir)} addon against TensorFlow ${lib.version} (node-gyp, ~15 s) ...`);
  const built = buildAddon(pkgDir, file);
  if (!built.ok) {
    resetAddon(pkgDir);
    return built;
  }
  if (cached) {
    try {
      fs.mkdirSync(path.dirname(cached), { recursive: true });
      const tmp = `${cached}.tmp-${process.pid}`;
      fs.copyFileSync(file, tmp);
      fs.renameSync(tmp, cached);
    } catch { /* a read-only cache only costs the next install a rebuild */ }
  }
  return { ok: true, reused: false };
}

/** Where dist/index.js looks for the addon, and the cache key of a build of it. */
function addonLocation(pkgDir: string): { file: string; key: string } {
  const pkg = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as {
    name: string; version: string; binary: { module_name: string; napi_versions: number[] };
  };
  // node-pre-gyp's rule: the highest N-API version listed that this Node supports.
  const napi = Math.max(...pkg.binary.napi_versions.filter((v) => v <= Number(process.versions.napi)));
  const file = path.join(pkgDir, 'lib', `napi-v${napi}`, `${pkg.binary.module_name}.node`);
  return { file, key: `${pkg.name.replace('/', '+')}@${pkg.version}-napi-v${napi}-${process.platform}-${process.arch}` };
}

function buildAddon(pkgDir: string, file: string): { ok: true } | { ok: false; why: string } {
  const nodeGyp = findNodeGyp();
  if (!nodeGyp) return { ok: false, why: 'node-gyp not found (it comes with npm; run this through `npm run setup-tensorflow`)' };
  const napi = /napi-v(\d+)/.exec(file)![1];
  const args = [
    ...nodeGyp, 'rebuild', `--jobs=${Math.max(1, Math.min(4, os.availableParallelism()))}`,
    `--module_name=${path.basename(file, '.node')}`, `--module_path=${path.dirname(file)}`, `--napi_build_version=${napi}`,
  ];
  // node-gyp needs Node's headers; npm passes its `nodedir` config. Outside npm, use the headers
  // installed beside this node binary when they exist, instead of downloading them.
  const env = { ...process.env };
  if (!env.npm_config_nodedir) {
    const prefix = path.resolve(path.dirname(process.execPath), '..');
    if (fs.existsSync(path.join(prefix, 'include', 'node', 'node_api.h'))) env.npm_config_nodedir = prefix;
  }
  const r = spawnSync(args[0]!, args.slice(1), { cwd: pkgDir, encoding: 'utf8', env, timeout: 10 * 60_000, maxBuffer: 64 << 20 });
  if (r.error || r.status !== 0) {
    const err = (r.stderr ?? '').split('\n').filter((l) => /error/i.test(l)).slice(0, 2).join(' | ');
    return { ok: false, why: `addon build failed: ${err || lastLine(r.stderr) || r.error?.message}` };
  }
  return { ok: true };
}

// npm ships node-gyp and tells lifecycle scripts where (npm_config_node_gyp); otherwise look beside
// npm, then on PATH.
function findNodeGyp(): string[] | null {
  const candidates: string[] = [];
  if (process.env.npm_config_node_gyp) candidates.push(process.env.npm_config_node_gyp);
  if (process.env.npm_execpath) candidates.push(path.join(path.dirname(process.env.npm_execpath), '..', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  candidates.push(path.join(path.dirname(process.execPath), '..', 'lib', 'node_modules', 'npm', 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'));
  try {
    candidates.push(createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js'));
  } catch { /* not a dependency */ }
  for (const c of candidates) if (fs.existsSync(c)) return [process.execPath, c];
  const which = spawnSync('node-gyp', ['--version'], { stdio: 'ignore' });
  return which.error ? null : ['node-gyp'];
}
