// Finding an ffmpeg for the morph videos: --ffmpeg / FFMPEG_PATH if given, else the system binary on
// PATH, else the one the optional npm package @ffmpeg-installer/ffmpeg ships, else a one-line error.
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from '../dnnlib/errors.ts';

export interface FfmpegBinary {
  path: string;
  source: 'flag' | 'env' | 'system' | 'npm';
  /** First line of `ffmpeg -version`. */
  version: string;
}

export interface LocateOptions {
  /** --ffmpeg. */
  explicit?: string;
  env?: NodeJS.ProcessEnv;
  /** Look at @ffmpeg-installer/ffmpeg (default true). */
  npm?: boolean;
}

/** `ffmpeg -version`'s first line, or null if the binary does not run. */
function probe(bin: string): string | null {
  const r = spawnSync(bin, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  if (r.error || r.status !== 0) return null;
  return r.stdout.split('\n')[0]!.trim();
}

function onPath(name: string, envPath: string): string | null {
  for (const dir of envPath.split(path.delimiter)) {
    if (!dir) continue;
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch { /* next */ }
  }
  return null;
}

export function locateFfmpeg(opts: LocateOptions = {}): FfmpegBinary {
  const env = opts.env ?? process.env;
  const given = opts.explicit ? { bin: opts.explicit, source: 'flag' as const, what: `--ffmpeg ${opts.explicit}` }
    : env.FFMPEG_PATH ? { bin: env.FFMPEG_PATH, source: 'env' as const, what: `FFMPEG_PATH=${env.FFMPEG_PATH}` } : null;
  if (given) {
    const version = probe(given.bin);
    if (!version) throw new UserError(`${given.what}: not a working ffmpeg (it does not run '-version')`);
    return { path: given.bin, source: given.source, version };
  }
  const system = onPath('ffmpeg', env.PATH ?? '');
  if (system) {
    const version = probe(system);
    if (version) return { path: system, source: 'system', version };
  }
  if (opts.npm !== false) {
    try {
      const require = createRequire(import.meta.url);
      const bin = (require('@ffmpeg-installer/ffmpeg') as { path: string }).path;
      const version = probe(bin);
      if (version) return { path: bin, source: 'npm', version };
    } catch { /* not installed for this platform */ }
  }
  throw new UserError('ffmpeg not found: install it (e.g. apt-get install ffmpeg), run npm install @ffmpeg-installer/ffmpeg, or set FFMPEG_PATH; --frames-dir writes PNG frames without ffmpeg');
}
