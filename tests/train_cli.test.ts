// train.ts flag parsing: NVIDIA-style --no-<feature> switches reach the networks (yargs would otherwise
// read them as negations), and flags that would do nothing are one-line usage errors.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

function train(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'train.ts', ...args], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, STYLEGAN_BACKEND: 'cpu' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('--no-noise, --no-const-input and --no-blur change the built networks', () => {
  const base = train('--dry-run', '--resolution', '16', '--fmap-max', '16');
  assert.equal(base.code, 0, base.stderr);
  assert.match(base.stdout, /^G_synthesis\/noise0 /m);
  assert.match(base.stdout, /^G_synthesis\/4x4\/Const /m);
  const off = train('--dry-run', '--resolution', '16', '--fmap-max', '16', '--no-noise', '--no-const-input', '--no-blur');
  assert.equal(off.code, 0, off.stderr);
  assert.doesNotMatch(off.stdout, /noise0/);
  assert.match(off.stdout, /^G_synthesis\/4x4\/Dense /m);
});

test('flags that would do nothing are refused with one line and exit code 2', () => {
  const cases: [string[], RegExp][] = [
    [['--dry-run', '--config', 'd', '--no-noise'], /^error: --no-noise: config d has no noise inputs to switch off$/],
    [['--dataset', 'x', '--metrics', 'fid99k'], /^error: --metrics: unknown metric 'fid99k' \(known: /],
    [['--dataset', 'x', '--loss', 'wgan-gp', '--r1-gamma', '1'], /^error: --r1-gamma: the D loss D_wgan_gp takes no r1_gamma/],
    [['--dataset', 'x', '--num-channels', '3'], /^error: --num-channels: only for --dry-run/],
    [['--dataset', 'x', '--minibatch-dict', '5:32'], /^error: --minibatch-dict: expected resolution:value pairs/],
    // StyleGAN2 has no growing, one loss pair and no D repeats; the StyleGAN2 flags mean nothing to a–f.
    [['--dataset', 'x', '--config', 'sg2-f', '--lod-training-kimg', '60'], /^error: --lod-training-kimg: StyleGAN2 \(config sg2-f\) has no progressive growing$/],
    [['--dataset', 'x', '--config', 'sg2-e', '--loss', 'wgan-gp'], /^error: --loss: StyleGAN2 \(config sg2-e\) has one loss pair/],
    [['--dataset', 'x', '--config', 'sg2-f', '--reset-opt-for-new-lod', 'false'], /^error: --reset-opt-for-new-lod: StyleGAN2/],
    [['--dataset', 'x', '--config', 'sg2-f', '--fp16'], /^error: --fp16: StyleGAN2/],
    [['--dataset', 'x', '--config', 'sg2-f', '--lazy-regularization', 'false', '--D-reg-interval', '8'], /^error: --D-reg-interval: has no effect with --lazy-regularization false/],
    [['--dataset', 'x', '--config', 'f', '--pl-weight', '0'], /^error: --pl-weight: only for the StyleGAN2 configs sg2-e and sg2-f/],
    [['--dataset', 'x', '--config', 'e', '--lazy-regularization', 'false'], /^error: --lazy-regularization: only for the StyleGAN2 configs/],
  ];
  for (const [args, re] of cases) {
    const r = train(...args);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), re);
  }
});
