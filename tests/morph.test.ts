// `generate_figures.ts morph`: the interpolation and frame plan against hand-computed values, keyframe
// frames equal to the seeds' own images, the noise held fixed across frames, an mp4 that ffprobe
// reports as h264 / yuv420p with the right frame count, fps and size, and one-line errors for odd
// sizes and a missing ffmpeg.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { useTestBackend } from './_backend.ts';
import { UserError } from '../dnnlib/errors.ts';
import { RandomState } from '../dnnlib/random.ts';
import { convert_images_to_uint8 } from '../training/misc.ts';
import type { G_style } from '../training/networks_stylegan.ts';
import { loadNetworks } from '../training/network_io.ts';
import { framePlan, frameCount, lerp, slerp } from '../figures/morph.ts';
import { locateFfmpeg } from '../figures/ffmpeg.ts';
import { runMorph, type MorphRunConfig } from '../figures/run.ts';
import { writeTinySnapshot } from './figures_net.ts';

const ROOT = path.join(import.meta.dirname, '..');
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-morph-'));
const quiet = () => {};
let snapshot: string;
let Gs: G_style;

before(async () => {
  await useTestBackend();
  snapshot = writeTinySnapshot(tmp(), 2);
  Gs = (await loadNetworks(snapshot, { networks: ['Gs'] })).Gs as G_style;
});
after(() => Gs?.dispose());

const close = (a: ArrayLike<number>, b: number[], eps = 1e-12) =>
  assert.ok(Array.from(a).every((v, i) => Math.abs(v - b[i]!) <= eps), `${Array.from(a)} vs ${b}`);

test('lerp and slerp: hand-computed values, exact endpoints, lerp fallback for parallel vectors', () => {
  close(lerp([0, 2], [4, 6], 0.25), [1, 3]);
  close(slerp([1, 0], [0, 1], 0.5), [Math.SQRT1_2, Math.SQRT1_2]);
  close(slerp([2, 0], [0, 2], 1 / 3), [2 * Math.cos(Math.PI / 6), 2 * Math.sin(Math.PI / 6)]);
  close(slerp([1, 0, 0], [0, 0, 1], 0.25), [Math.cos(Math.PI / 8), 0, Math.sin(Math.PI / 8)]);
  const a = [0.3, -1.2, 2.5], b = [1.1, 0.4, -0.7];
  assert.deepEqual([...slerp(a, b, 0)], a);
  close(slerp(a, b, 1), b, 1e-15);
  close(slerp([1, 2], [2, 4], 0.5), [1.5, 3]); // parallel: the angle is 0
});

test('frame plan: `steps` frames per transition plus the closing keyframe; a loop returns to the first', () => {
  assert.deepEqual(framePlan(3, 4, false), [[0, 0], [0, 0.25], [0, 0.5], [0, 0.75], [1, 0], [1, 0.25], [1, 0.5], [1, 0.75], [2, 0]]);
  assert.equal(framePlan(3, 4, true).length, 12);
  assert.deepEqual(framePlan(3, 4, true).at(-1), [2, 0.75]);
  assert.equal(frameCount(3, 4, false), 9);
  assert.equal(frameCount(4, 300, false), 901);
  assert.equal(frameCount(2, 30, true), 60);
});

/** Seed's image as the morph renders a keyframe: Gs.run(z, ψ, cutoff 8) with the stored noise. */
function seedImage(seed: number, psi: number): Uint8Array {
  const z = tf.tensor2d(Float32Array.from(new RandomState(seed).randn(1, 32)), [1, 32]);
  const img = Gs.run(z, null, { truncation_psi: psi, randomize_noise: false });
  const [, c, h, w] = img.shape;
  const u8 = convert_images_to_uint8(img.dataSync());
  tf.dispose([z, img]);
  const out = new Uint8Array(h * w * c);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) out[p * c + ch] = u8[ch * h * w + p]!;
  return out;
}
const png = async (file: string) => new Uint8Array(await sharp(file).raw().toBuffer());
const maxDiff = (a: Uint8Array, b: Uint8Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

const base = (over: Partial<MorphRunConfig>): MorphRunConfig => ({
  network: snapshot, seeds: [100, 860, 1200], steps: 4, loop: false, space: 'z', interp: 'slerp', truncation_psi: 0.5,
  pad_even: false, fps: 24, crf: 23, out: '', ...over,
});

test('PNG frames: keyframes are the seeds\' images (z and w space), three keyframes, fixed noise', async () => {
  for (const space of ['z', 'w'] as const) {
    const d = path.join(tmp(), 'frames');
    const r = await runMorph(base({ space, interp: space === 'z' ? 'slerp' : 'lerp', framesDir: d }), quiet);
    assert.deepEqual([r.frames, r.width, r.height], [9, 32, 32]);
    const files = fs.readdirSync(d).sort();
    assert.deepEqual(files, Array.from({ length: 9 }, (_, i) => `frame${String(i).padStart(6, '0')}.png`));
    for (const [frame, seed] of [[0, 100], [4, 860], [8, 1200]] as const) {
      const diff = maxDiff(await png(path.join(d, files[frame]!)), seedImage(seed, 0.5));
      assert.ok(diff <= 1, `${space}: frame ${frame} vs seed ${seed}: max |Δ| ${diff}`);
    }
    // In-between frames are neither keyframe.
    assert.ok(maxDiff(await png(path.join(d, files[2]!)), seedImage(100, 0.5)) > 8);
  }
  // Noise held fixed: a "morph" from a seed to itself is one image repeated, with the stored noise or a noise seed.
  for (const noise_seed of [undefined, 9]) {
    const d = path.join(tmp(), 'same');
    await runMorph(base({ seeds: [42, 42], steps: 3, noise_seed, framesDir: d }), quiet);
    const frames = await Promise.all(fs.readdirSync(d).sort().map((f) => png(path.join(d, f))));
    assert.equal(frames.length, 4);
    for (const f of frames.slice(1)) assert.deepEqual(f, frames[0], `noise_seed ${noise_seed}`);
    if (noise_seed !== undefined) assert.ok(maxDiff(frames[0]!, seedImage(42, 0.5)) > 1, 'the noise seed replaces the stored noise');
  }
});

function ffprobe(file: string): Record<string, string> {
  const r = spawnSync('ffprobe', ['-v', 'error', '-select_streams', 'v:0', '-count_frames', '-show_entries',
    'stream=codec_name,pix_fmt,width,height,r_frame_rate,nb_read_frames', '-of', 'default=noprint_wrappers=1', file], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return Object.fromEntries(r.stdout.trim().split('\n').map((l) => l.split('=') as [string, string]));
}

test('mp4 through ffmpeg: h264, yuv420p, 9 frames at 24 fps, 32×32; --size/--pad-even; temp file renamed', async (t) => {
  if (spawnSync('ffprobe', ['-version']).status !== 0) return t.skip('ffprobe is not installed');
  const d = tmp();
  const out = path.join(d, 'morph.mp4');
  const r = await runMorph(base({ out }), quiet);
  assert.equal(r.frames, 9);
  assert.deepEqual(ffprobe(out), { codec_name: 'h264', width: '32', height: '32', pix_fmt: 'yuv420p', r_frame_rate: '24/1', nb_read_frames: '9' });
  assert.deepEqual(fs.readdirSync(d), ['morph.mp4'], 'no temp file left');
  // An odd --size is padded to even with --pad-even.
  const padded = path.join(d, 'padded.mp4');
  await runMorph(base({ out: padded, size: [45, 30], pad_even: true, loop: true, steps: 2, fps: 12.5 }), quiet);
  assert.deepEqual(ffprobe(padded), { codec_name: 'h264', width: '46', height: '30', pix_fmt: 'yuv420p', r_frame_rate: '25/2', nb_read_frames: '6' });
});

test('odd sizes without --pad-even and a missing ffmpeg are one-line errors', async () => {
  const d = tmp();
  await assert.rejects(runMorph(base({ out: path.join(d, 'x.mp4'), size: [33, 32] }), quiet),
    (err: unknown) => err instanceof UserError && /^yuv420p video needs even width and height, got 33x32: pass an even --size or --pad-even/.test(err.message));
  await assert.rejects(runMorph(base({ seeds: [5], out: path.join(d, 'x.mp4') }), quiet), /at least two keyframe seeds/);
  assert.throws(() => locateFfmpeg({ env: { PATH: '' }, npm: false }), (err: unknown) => err instanceof UserError && /^ffmpeg not found: install it/.test(err.message));
  assert.throws(() => locateFfmpeg({ explicit: path.join(d, 'nope') }), /--ffmpeg .*nope: not a working ffmpeg/);
  assert.deepEqual(fs.readdirSync(d), []);
  // The CLI: exactly one stderr line and exit codes 2 (usage) / 1 (environment).
  const cli = (args: string[], env: Record<string, string> = {}) => spawnSync(process.execPath, ['--import', 'tsx', 'generate_figures.ts', 'morph', '--network', snapshot, '--backend', 'cpu', ...args],
    { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
  const odd = cli(['--seeds', '1,2', '--size', '33x33', '--out', path.join(d, 'o.mp4')]);
  assert.equal(odd.status, 2);
  assert.deepEqual(odd.stderr.trim().split('\n'), ['error: yuv420p video needs even width and height, got 33x33: pass an even --size or --pad-even (or --frames-dir for PNGs)']);
  const none = cli(['--seeds', '1,2', '--out', path.join(d, 'o.mp4')], { FFMPEG_PATH: path.join(d, 'no-ffmpeg') });
  assert.equal(none.status, 1);
  assert.deepEqual(none.stderr.trim().split('\n'), [`error: FFMPEG_PATH=${path.join(d, 'no-ffmpeg')}: not a working ffmpeg (it does not run '-version')`]);
  assert.deepEqual(fs.readdirSync(d), []);
});

test('the npm ffmpeg (@ffmpeg-installer/ffmpeg) is the fallback when no system ffmpeg is on PATH, and it encodes', async (t) => {
  let bin;
  try {
    bin = locateFfmpeg({ env: { PATH: '' } });
  } catch {
    return t.skip('@ffmpeg-installer/ffmpeg is not installed for this platform');
  }
  assert.equal(bin.source, 'npm');
  if (spawnSync('ffprobe', ['-version']).status !== 0) return t.skip('ffprobe is not installed');
  const out = path.join(tmp(), 'npm.mp4');
  await runMorph(base({ out, steps: 2, seeds: [1, 2, 3, 4], ffmpeg: bin.path }), quiet);
  assert.deepEqual(ffprobe(out), { codec_name: 'h264', width: '32', height: '32', pix_fmt: 'yuv420p', r_frame_rate: '24/1', nb_read_frames: '7' });
});

test('ffmpeg failing mid-stream: one-line error naming the video, and no file or temp file left behind', async (t) => {
  let real;
  try {
    real = locateFfmpeg();
  } catch {
    return t.skip('no ffmpeg');
  }
  const d = tmp();
  // Answers fluent-ffmpeg's capability queries with the real ffmpeg, then dies after 5000 bytes of frames.
  const fake = path.join(d, 'fake-ffmpeg.sh');
  fs.writeFileSync(fake, `#!/bin/sh\ncase "$*" in\n  *rawvideo*) head -c 5000 >/dev/null; echo "fake encoder failure" >&2; exit 1;;\n  *) exec '${real.path}' "$@";;\nesac\n`, { mode: 0o755 });
  const outDir = path.join(d, 'out');
  await assert.rejects(runMorph(base({ out: path.join(outDir, 'm.mp4'), steps: 20, ffmpeg: fake }), quiet),
    (err: unknown) => err instanceof UserError && err.message === `ffmpeg failed writing ${path.join(outDir, 'm.mp4')}: fake encoder failure`);
  assert.deepEqual(fs.readdirSync(outDir), []);
});
