// train.ts --dry-run: the CLI builds G and D for a Table-1 configuration and prints their tables;
// usage mistakes are one line and a non-zero exit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function train(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'train.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, STYLEGAN_BACKEND: 'cpu' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('train.ts --dry-run prints G and D tables with their totals (config b and progan)', () => {
  const r = train('--dry-run', '--config', 'b', '--resolution', '32', '--fmap-max', '64');
  assert.equal(r.code, 0, r.stderr);
  const totals = [...r.stdout.matchAll(/^Total\s+(\d+)$/gm)].map((m) => Number(m[1]));
  assert.equal(totals.length, 2);
  assert.match(r.stdout, /^G\s+Params\s+OutputShape\s+WeightShape$/m);
  assert.match(r.stdout, /^G_synthesis\/4x4\/Dense\s+\d+\s+\(\?, 64, 4, 4\)\s+\(512, 1024\)$/m);
  assert.match(r.stdout, /^D\s+Params/m);
  // ProGAN at fmap_max 32: latent_size = nf(0) = 32, 4x4/Dense = 32·(32·16) + 32 bias = 16,416 params.
  const p = train('--dry-run', '--config', 'progan', '--resolution', '8', '--num-channels', '1', '--fmap-max', '32');
  assert.equal(p.code, 0, p.stderr);
  assert.match(p.stdout, /^4x4\/Dense\s+16416\s+\(\?, 32, 4, 4\)\s+\(32, 512\)$/m);
  assert.match(p.stdout, /^ToRGB_lod1\s+33\s+/m);
});

test('train.ts: --help has examples; bad flags and a missing --dry-run are one-line errors', () => {
  const h = train('--help');
  assert.equal(h.code, 0);
  assert.match(h.stdout, /Examples:/);
  assert.match(h.stdout, /--config/);
  const bad = train('--dry-run', '--bogus');
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /^error: Unknown argument: bogus/);
  const res = train('--dry-run', '--resolution', '48');
  assert.equal(res.code, 2);
  assert.match(res.stderr, /^error: --resolution: expected a power of two/);
  const noDry = train();
  assert.equal(noDry.code, 2);
  assert.equal(noDry.stderr.trim().split('\n').length, 1);
  assert.match(noDry.stderr, /--dataset is required/); // training landed (issue 5): no dataset is the usage error now
});
