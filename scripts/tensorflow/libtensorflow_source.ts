// Where a libtensorflow for tfjs-node comes from: an installed Python TensorFlow, a TensorFlow wheel
// given by path, or one fetched with `pip download`. Wheels are unpacked once into a per-user cache
// (the two shared libraries and the C headers the addon compiles against), which later installs and
// clones re-use. TensorFlow's wheel carries a libtensorflow_cc.so.2 exporting the whole C and eager C
// API that tfjs-node's addon calls (spec/tensorflow-backend.md).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';

/** The TensorFlow release fetched when none is installed; the addon was verified against it. */
export const TF_WHEEL_VERSION = '2.21.0';

export interface Libtensorflow {
  version: string;
  /** Folder holding libtensorflow_cc.so.2 and libtensorflow_framework.so.2. */
  libDir: string;
  /** Folder holding tensorflow/c/c_api.h and the other headers. */
  includeDir: string;
  /** Human-readable origin, printed by setup-tensorflow. */
  origin: string;
  /** Extra links to create in tfjs-node's deps/ (name -> target), e.g. the CUDA wheels' folder. */
  depsLinks?: Record<string, string>;
  /** Where addons built against this library are kept, so a later install need not compile. */
  addonCacheDir?: string;
}

// Members of the wheel the addon needs: the libraries, and the C API headers with what they include.
const WHEEL_LIBS = ['tensorflow/libtensorflow_cc.so.2', 'tensorflow/libtensorflow_framework.so.2'];
const WHEEL_HEADER_PREFIXES = [
  'tensorflow/include/tensorflow/c/',
  'tensorflow/include/tensorflow/core/platform/ctstring',
  'tensorflow/include/tsl/platform/ctstring',
  'tensorflow/include/xla/tsl/c/',
];

export function cacheRoot(): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'stylegan-ts');
}

export function cachedLibtensorflow(version: string, gpu = false): Libtensorflow | null {
  const dir = path.join(cacheRoot(), `libtensorflow-${gpu ? 'gpu-' : ''}${version}`);
  // The folder only appears by an atomic rename once complete, so its presence means it is whole.
  if (!fs.existsSync(path.join(dir, 'lib', 'libtensorflow_cc.so.2'))) return null;
  let source = '';
  try { source = ` (from ${fs.readFileSync(path.join(dir, 'SOURCE'), 'utf8').trim()})`; } catch { /* older entry */ }
  return {
    version, libDir: path.join(dir, 'lib'), includeDir: path.join(dir, 'include'), origin: `cache ${dir}${source}`,
    addonCacheDir: path.join(dir, 'addons'),
  };
}

interface PythonTensorflow { python: string; version: string; dir: string }

/** Asks `python` where its TensorFlow is, without importing it (an import takes seconds and logs). */
export function findPythonTensorflow(python: string): PythonTensorflow | { error: string } {
  const code = [
    'import importlib.util, importlib.metadata as md, json, os',
    "s = importlib.util.find_spec('tensorflow')",
    "d = os.path.dirname(s.origin) if s and s.origin else None",
    'v = None',
    "for n in ('tensorflow', 'tensorflow-cpu', 'tensorflow-intel', 'tf-nightly', 'tf-nightly-cpu'):",
    '    try: v = md.version(n); break',
    '    except Exception: pass',
    "print(json.dumps({'dir': d, 'version': v}))",
  ].join('\n');
  const r = spawnSync(python, ['-c', code], { encoding: 'utf8', timeout: 60_000 });
  if (r.error) return { error: `cannot run ${python}: ${(r.error as NodeJS.ErrnoException).code ?? r.error.message}` };
  if (r.status !== 0) return { error: `${python} failed: ${lastLine(r.stderr)}` };
  const found = JSON.parse(r.stdout.trim().split('\n').pop()!) as { dir: string | null; version: string | null };
  if (!found.dir) return { error: `${python} has no TensorFlow installed` };
  if (!fs.existsSync(path.join(found.dir, 'libtensorflow_cc.so.2'))) {
    return { error: `${python}'s TensorFlow at ${found.dir} has no libtensorflow_cc.so.2` };
  }
  return { python, version: (found.version ?? 'unknown').replace(/\+.*$/, ''), dir: found.dir };
}

/**
 * An installed TensorFlow used in place (its folder has the same layout as the wheel's tensorflow/).
 * For the GPU build, tensorflow[and-cuda] puts CUDA 12 in site-packages/nvidia/*\/lib, which TF finds
 * relative to its own folder ($ORIGIN/../nvidia/...). $ORIGIN of a library opened through a symlink is
 * the symlink's folder, deps/lib, so deps/nvidia is linked to the same place. Untested: no GPU here.
 */
export function libtensorflowInPlace(tf: PythonTensorflow): Libtensorflow {
  const nvidia = path.join(tf.dir, '..', 'nvidia');
  return {
    version: tf.version, libDir: tf.dir, includeDir: path.join(tf.dir, 'include'), origin: `${tf.python}'s TensorFlow at ${tf.dir}`,
    depsLinks: fs.existsSync(nvidia) ? { nvidia: path.resolve(nvidia) } : undefined,
  };
}

/** The CUDA wheels' library folders beside an installed TensorFlow, for an LD_LIBRARY_PATH hint. */
export function nvidiaLibDirs(tfDir: string): string[] {
  const nvidia = path.join(tfDir, '..', 'nvidia');
  if (!fs.existsSync(nvidia)) return [];
  return fs.readdirSync(nvidia).map((d) => path.join(nvidia, d, 'lib')).filter((d) => fs.existsSync(d)).map((d) => path.resolve(d));
}

/** Copies an installed TensorFlow's libraries and headers into the cache, so the link survives pip. */
export function cacheFromInstalled(tf: PythonTensorflow): Libtensorflow {
  return intoCache(tf.version, false, `${tf.python}'s TensorFlow ${tf.version}`, (stage) => {
    for (const lib of WHEEL_LIBS) copyFile(path.join(tf.dir, path.basename(lib)), path.join(stage, 'lib', path.basename(lib)));
    for (const prefix of WHEEL_HEADER_PREFIXES) {
      const rel = prefix.replace(/^tensorflow\/include\//, '');
      if (rel.endsWith('/')) {
        const from = path.join(tf.dir, 'include', rel);
        if (fs.existsSync(from)) fs.cpSync(from, path.join(stage, 'include', rel), { recursive: true });
        continue;
      }
      const srcDir = path.join(tf.dir, 'include', path.dirname(rel));
      if (!fs.existsSync(srcDir)) continue;
      for (const name of fs.readdirSync(srcDir).filter((n) => n.startsWith(path.basename(rel)))) {
        copyFile(path.join(srcDir, name), path.join(stage, 'include', path.dirname(rel), name));
      }
    }
  });
}

/** Reads a wheel's version and checks that it is a TensorFlow wheel carrying libtensorflow. */
export function inspectWheel(wheel: string): { version: string; gpu: boolean } {
  if (!fs.existsSync(wheel) || !fs.statSync(wheel).isFile()) throw new UserError(`--wheel ${wheel}: no such file`);
  const names = listZip(wheel);
  if (names == null) throw new UserError(`--wheel ${wheel}: not a TensorFlow wheel (not a zip archive)`);
  if (!WHEEL_LIBS.every((m) => names.includes(m))) {
    throw new UserError(`--wheel ${wheel}: not a TensorFlow wheel (no tensorflow/libtensorflow_cc.so.2 inside)`);
  }
  const distInfo = names.find((n) => /^tensorflow[\w-]*-[^/]+\.dist-info\/METADATA$/.test(n));
  const m = distInfo?.match(/^(tensorflow[\w]*?)-([^/-]+)\.dist-info/);
  if (!m) throw new UserError(`--wheel ${wheel}: not a TensorFlow wheel (no tensorflow*.dist-info)`);
  // tensorflow-cpu is the CPU build; the plain `tensorflow` wheel on Linux x86-64 is the CUDA build.
  return { version: m[2]!, gpu: m[1] === 'tensorflow' };
}

/** Unpacks the libraries and headers of a TensorFlow wheel into the cache (once per version). */
export function cacheFromWheel(wheel: string, gpu = false): Libtensorflow {
  const { version } = inspectWheel(wheel);
  const cached = cachedLibtensorflow(version, gpu);
  if (cached) return cached;
  return intoCache(version, gpu, `wheel ${path.basename(wheel)}`, (stage) => {
    const tmp = path.join(stage, 'unzip');
    unzipMembers(wheel, [...WHEEL_LIBS, ...WHEEL_HEADER_PREFIXES], tmp);
    fs.mkdirSync(path.join(stage, 'lib'), { recursive: true });
    for (const lib of WHEEL_LIBS) fs.renameSync(path.join(tmp, lib), path.join(stage, 'lib', path.basename(lib)));
    fs.renameSync(path.join(tmp, 'tensorflow', 'include'), path.join(stage, 'include'));
    fs.rmSync(tmp, { recursive: true, force: true });
  });
}

/** `pip download --no-deps tensorflow-cpu==VERSION` into a temporary folder; returns the wheel path. */
export function pipDownloadWheel(python: string, spec: string, log: (s: string) => void): { wheel: string; cleanup: () => void } | { error: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stylegan-ts-wheel-'));
  const cleanup = () => fs.rmSync(dir, { recursive: true, force: true });
  log(`downloading ${spec} with ${python} -m pip download --no-deps ...`);
  const r = spawnSync(python, ['-m', 'pip', 'download', '--no-deps', '--only-binary=:all:', '-d', dir, spec], {
    encoding: 'utf8', timeout: 15 * 60_000,
  });
  const wheel = fs.readdirSync(dir).find((f) => f.endsWith('.whl'));
  if (r.error || r.status !== 0 || !wheel) {
    cleanup();
    const why = r.error ? String((r.error as NodeJS.ErrnoException).code ?? r.error.message) : lastLine(r.stderr || r.stdout);
    return { error: `pip download ${spec} failed: ${why}` };
  }
  return { wheel: path.join(dir, wheel), cleanup };
}

// Fills a staging folder beside the final one and renames it into place: a crash or a concurrent
// install never leaves a half-filled cache entry under the final name.
function intoCache(version: string, gpu: boolean, what: string, fill: (stage: string) => void): Libtensorflow {
  const root = cacheRoot();
  const name = `libtensorflow-${gpu ? 'gpu-' : ''}${version}`;
  const final = path.join(root, name);
  fs.mkdirSync(root, { recursive: true });
  removeStaleStages(root);
  const stage = fs.mkdtempSync(path.join(root, `.${name}.tmp-`));
  try {
    fill(stage);
    stripLibraries(path.join(stage, 'lib'));
    fs.writeFileSync(path.join(stage, 'SOURCE'), `${what}\n`);
    try {
      fs.renameSync(stage, final);
    } catch (err) {
      // Another install finished first; keep theirs.
      if (!cachedLibtensorflow(version, gpu)) throw err;
      fs.rmSync(stage, { recursive: true, force: true });
    }
  } catch (err) {
    fs.rmSync(stage, { recursive: true, force: true });
    throw err;
  }
  return cachedLibtensorflow(version, gpu)!;
}

// Staging folders of installs that were killed (SIGKILL skips every cleanup); an hour is far longer
// than any unpack, so a live concurrent install is never touched.
function removeStaleStages(root: string): void {
  for (const f of fs.readdirSync(root)) {
    const p = path.join(root, f);
    if (f.startsWith('.libtensorflow-') && f.includes('.tmp-') && Date.now() - fs.statSync(p).mtimeMs > 3600_000) {
      fs.rmSync(p, { recursive: true, force: true });
    }
  }
}

// The wheel's libraries keep their full symbol tables (853 MB); --strip-unneeded keeps every dynamic
// symbol the addon imports and brings them to ~634 MB. Skipped where `strip` is absent.
function stripLibraries(libDir: string): void {
  for (const f of fs.readdirSync(libDir)) {
    spawnSync('strip', ['--strip-unneeded', path.join(libDir, f)], { stdio: 'ignore', timeout: 5 * 60_000 });
  }
}

function copyFile(from: string, to: string): void {
  fs.mkdirSync(path.dirname(to), { recursive: true });
  fs.copyFileSync(from, to);
}

// Zip handling through `unzip` when present, else Python's zipfile (pip's machines have Python).
function listZip(zip: string): string[] | null {
  const u = spawnSync('unzip', ['-Z1', zip], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (!u.error) return u.status === 0 ? u.stdout.split('\n').filter(Boolean) : null;
  const p = spawnSync('python3', ['-c', 'import sys, zipfile\ntry: print("\\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))\nexcept zipfile.BadZipFile: sys.exit(3)', zip], { encoding: 'utf8', maxBuffer: 64 << 20 });
  if (p.error) throw new UserError('need `unzip` or `python3` to read a TensorFlow wheel');
  return p.status === 0 ? p.stdout.split('\n').filter(Boolean) : null;
}

function unzipMembers(zip: string, prefixes: string[], dest: string): void {
  const names = listZip(zip) ?? [];
  const members = names.filter((n) => !n.endsWith('/') && prefixes.some((p) => n.startsWith(p)));
  fs.mkdirSync(dest, { recursive: true });
  const listFile = path.join(dest, '.members');
  fs.writeFileSync(listFile, members.join('\n'));
  const code = 'import sys, zipfile\nz = zipfile.ZipFile(sys.argv[1])\nfor m in open(sys.argv[3]).read().split("\\n"): z.extract(m, sys.argv[2])';
  let r = spawnSync('python3', ['-c', code, zip, dest, listFile], { encoding: 'utf8', timeout: 10 * 60_000 });
  if (r.error) r = spawnSync('unzip', ['-q', '-o', zip, ...members, '-d', dest], { encoding: 'utf8', timeout: 10 * 60_000 });
  fs.rmSync(listFile, { force: true });
  if (r.error || r.status !== 0) throw new Error(`extracting ${zip} failed: ${lastLine(r.stderr) || r.error?.message}`);
}

export function lastLine(s: string | null | undefined): string {
  const lines = (s ?? '').trim().split('\n').filter((l) => l.trim() !== '');
  return (lines.pop() ?? '').trim().slice(0, 300);
}
