// generate_figures.ts / pretrained_example.ts: NVIDIA's figures 2, 3, 4, 5, 8 at their scaled canvas
// sizes, their cells checked against images computed here through a separate path (Gs.run or the
// synthesis network + misc.convert_images_to_uint8), the layer ranges and canvases at 1024² against
// NVIDIA's numbers, determinism, the cpu/wasm/default backends within one uint8 level, and the
// one-line errors of the CLIs.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { useTestBackend } from './_backend.ts';
import { RandomState } from '../dnnlib/random.ts';
import { convert_images_to_uint8 } from '../training/misc.ts';
import type { G_style } from '../training/networks_stylegan.ts';
import { loadNetworks } from '../training/network_io.ts';
import { FIGURES, FIGURE_NAMES } from '../figures/index.ts';
import { layerSplit } from '../figures/layout.ts';
import { figure03Config } from '../figures/style_mixing.ts';
import { figure04Config, noiseStdMap } from '../figures/noise_detail.ts';
import { figure05Config } from '../figures/noise_components.ts';
import { latentsForSeeds, latentsFromOneSeed } from '../figures/render.ts';
import { runFigures, runImages } from '../figures/run.ts';
import { TINY_KWARGS, writeTinySnapshot } from './figures_net.ts';

const ROOT = path.join(import.meta.dirname, '..');
const PKL = path.join(import.meta.dirname, 'fixtures', 'pickles', 'tiny_v1_p4_np1_scalar.pkl');
const quiet = () => {};
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-figures-'));

let dir: string;
let snapshot: string;
let Gs: G_style;
let out: string;

interface Decoded { data: Buffer; width: number; height: number; channels: number }
async function decode(file: string): Promise<Decoded> {
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  return { data, width: info.width, height: info.height, channels: info.channels };
}
/** The w×h block at (x, y) of a decoded RGB image, HWC. */
function cell(img: Decoded, x: number, y: number, w: number, h: number): Uint8Array {
  const outb = new Uint8Array(w * h * img.channels);
  for (let r = 0; r < h; r++) outb.set(img.data.subarray(((y + r) * img.width + x) * img.channels, ((y + r) * img.width + x + w) * img.channels), r * w * img.channels);
  return outb;
}
/** NCHW float images → HWC uint8 of image i, through misc.convert_images_to_uint8 (host loop). */
function hwc(images: tf.Tensor4D, i: number): Uint8Array {
  const [, c, h, w] = images.shape;
  const u8 = convert_images_to_uint8(images.dataSync().subarray(i * c * h * w, (i + 1) * c * h * w));
  const outb = new Uint8Array(h * w * c);
  for (let ch = 0; ch < c; ch++) for (let p = 0; p < h * w; p++) outb[p * c + ch] = u8[ch * h * w + p]!;
  return outb;
}
const z1 = (seed: number, L = 32) => tf.tensor2d(Float32Array.from(new RandomState(seed).randn(1, L)), [1, L]);
function ref(seed: number, opts: { truncation_psi?: number; noise?: tf.Tensor[] } = {}): Uint8Array {
  const z = z1(seed);
  const img = Gs.run(z, null, { randomize_noise: false, ...opts });
  const r = hwc(img, 0);
  tf.dispose([z, img]);
  return r;
}
/**
 * Cells against the reference: within one uint8 level (TensorFlow's kernels round differently for
 * another minibatch size, and NVIDIA's (w − avg)·ψ + avg is not bit-exact w at ψ = 1).
 */
function assertClose(actual: Uint8Array, expected: Uint8Array, msg?: string): void {
  assert.equal(actual.length, expected.length, msg);
  let worst = 0;
  for (let i = 0; i < actual.length; i++) worst = Math.max(worst, Math.abs(actual[i]! - expected[i]!));
  assert.ok(worst <= 1, `${msg ?? ''} max |Δ| ${worst} > 1`);
}
function mirror(img: Uint8Array, w: number, h: number): Uint8Array {
  const outb = new Uint8Array(img.length);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) outb.set(img.subarray((y * w + x) * 3, (y * w + x) * 3 + 3), (y * w + (w - 1 - x)) * 3);
  return outb;
}
const halfOf = (img: Uint8Array, w: number, h: number, side: 'left' | 'right') =>
  cell({ data: Buffer.from(img), width: w, height: h, channels: 3 }, side === 'left' ? 0 : w / 2, 0, w / 2, h);

function cli(script: string, args: string[], env: Record<string, string> = {}) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, ...args], {
    cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env }, timeout: 120_000,
  });
  const stderrLines = r.stderr.split('\n').filter((l) => l.trim() && !/^(WARNING: All log messages|I0000|W0000)/.test(l));
  return { status: r.status, stdout: r.stdout, stderr: stderrLines };
}

before(async () => {
  await useTestBackend();
  dir = tmp();
  snapshot = writeTinySnapshot(dir);
  Gs = (await loadNetworks(snapshot, { networks: ['Gs'] })).Gs as G_style;
  out = path.join(dir, 'figs');
  await runFigures({ network: snapshot, figures: [...FIGURE_NAMES], outdir: out, randomize_noise: true, noise_seed: 1 }, quiet);
});

after(() => Gs?.dispose());

test('latents are numpy RandomState(seed).randn: seed 5 and figure 2\'s 81×latent draw', () => {
  // np.random.RandomState(5).randn(1, 512)[0, :3] and RandomState(5).randn(81, 32)[80, -2:]
  const z = latentsForSeeds([5], 512);
  assert.deepEqual([...z.subarray(0, 3)], [0.44122748688504143, -0.33087015189408764, 2.43077118700778].map(Math.fround));
  const u = latentsFromOneSeed(5, 81, 32);
  assert.deepEqual([...u.subarray(81 * 32 - 2)], [1.2728217220184852, -0.7353656431301515].map(Math.fround));
});

test("at 1024² (18 layers) the layouts are NVIDIA's: canvases, style ranges, noise ranges, crop box", () => {
  const sizes = Object.fromEntries(FIGURE_NAMES.map((n) => [n, FIGURES[n].canvas(1024, 18)]));
  assert.deepEqual(sizes, {
    'uncurated': [2304, 3072], 'style-mixing': [6144, 7168], 'noise-detail': [3072, 2048],
    'noise-components': [2048, 2048], 'truncation': [6144, 2048],
  });
  // Figures 10–12 at their networks' own resolutions (bedrooms/cats 256², cars 512²).
  assert.deepEqual(FIGURES['uncurated-bedrooms'].canvas(256, 14), [960, 1280]);
  assert.deepEqual(FIGURES['uncurated-cars'].canvas(512, 16), [1152, 1536]);
  assert.deepEqual(FIGURES['uncurated-cats'].canvas(256, 14), [960, 1280]);
  assert.deepEqual(figure03Config(1024, 18).style_ranges, [[0, 4], [0, 4], [0, 4], [4, 8], [4, 8], [8, 18]]);
  assert.deepEqual(figure05Config(1024, 18).noise_ranges, [[0, 18], [0, 0], [8, 18], [0, 8]]);
  assert.deepEqual(figure04Config(1024).crop, [650, 180, 906, 436]);
  assert.deepEqual(FIGURES['uncurated'].file, 'figure02-uncurated.png');
  // Smaller networks keep coarse / middle / fine as whole resolutions.
  assert.deepEqual(layerSplit(8), { num_layers: 8, coarse_end: 2, middle_end: 4 }); // 32²: 4² | 8² | 16²–32²
  assert.deepEqual(layerSplit(14), { num_layers: 14, coarse_end: 4, middle_end: 6 }); // 256²
  assert.deepEqual(figure04Config(32).crop, [20, 6, 28, 14]);
});

test('every figure is written at its scaled size (32²: 72×96, 192×224, 96×64, 64×64, 192×64), RGB', async () => {
  const expected: Record<string, [number, number]> = {
    'figure02-uncurated.png': [72, 96], 'figure03-style-mixing.png': [192, 224], 'figure04-noise-detail.png': [96, 64],
    'figure05-noise-components.png': [64, 64], 'figure08-truncation-trick.png': [192, 64],
  };
  assert.deepEqual(fs.readdirSync(out).sort(), Object.keys(expected).sort(), 'no temp files left');
  for (const [file, [w, h]] of Object.entries(expected)) {
    const m = await sharp(path.join(out, file)).metadata();
    assert.deepEqual([m.format, m.width, m.height, m.channels], ['png', w, h, 3], file);
  }
});

test("figure 11's letterbox layout at 32²: crop rows 4–27, canvas 72×96", async () => {
  const d = tmp();
  await runFigures({ network: snapshot, figures: ['uncurated-cars'], outdir: d, randomize_noise: false }, quiet);
  const img = await decode(path.join(d, 'figure11-uncurated-cars.png'));
  assert.deepEqual([img.width, img.height], [72, 96]);
  // The first cell is rows 4..27 of RandomState(2) image 0 (no resize at lod 0).
  const z = tf.tensor2d(latentsFromOneSeed(2, 108, 32).subarray(0, 32), [1, 32]);
  const first = Gs.run(z, null, { randomize_noise: false });
  const full = hwc(first, 0);
  assertClose(cell(img, 0, 0, 32, 24), full.subarray(4 * 32 * 3, 28 * 32 * 3));
  tf.dispose([z, first]);
});

test('the NVIDIA-layout pickle (16², lod 0.5) gives the same figures at 16²', async () => {
  const pout = path.join(tmp(), 'pkl');
  await runFigures({ network: PKL, figures: [...FIGURE_NAMES], outdir: pout, randomize_noise: true, noise_seed: 1 }, quiet);
  const sizes = await Promise.all(FIGURE_NAMES.map(async (n) => {
    const m = await sharp(path.join(pout, FIGURES[n].file)).metadata();
    return [m.width, m.height];
  }));
  assert.deepEqual(sizes, [[36, 48], [96, 112], [48, 32], [32, 32], [96, 32]]);
});

test('figure 3 (style mixing): white corner, sources, destinations and a coarse mix match an independent computation', async () => {
  const img = await decode(path.join(out, 'figure03-style-mixing.png'));
  const R = 32;
  assert.ok(cell(img, 0, 0, R, R).every((v) => v === 255), 'top-left cell white');
  const src = [639, 701, 687, 615, 2268];
  const dst = [888, 829, 1898, 1733, 1614, 845];
  // No truncation in this figure: ψ = 1.
  src.forEach((s, c) => assertClose(cell(img, (c + 1) * R, 0, R, R), ref(s, { truncation_psi: 1 }), `source ${s}`));
  dst.forEach((s, r) => assertClose(cell(img, 0, (r + 1) * R, R, R), ref(s, { truncation_psi: 1 }), `destination ${s}`));
  // Row 1, column 2: destination 888 with layers 0–1 (32²: coarse = 4²) from source 701.
  const { mapping, synthesis } = Gs.components;
  const mixed = tf.tidy(() => {
    const wd = mapping.run(z1(888)) as tf.Tensor3D;
    const ws = mapping.run(z1(701)) as tf.Tensor3D;
    const w = tf.concat([tf.slice(ws, [0, 0, 0], [1, 2, -1]), tf.slice(wd, [0, 2, 0], [1, -1, -1])], 1);
    return synthesis.run(w, { randomize_noise: false });
  });
  assertClose(cell(img, 2 * R, R, R, R), hwc(mixed, 0));
  mixed.dispose();
});

test('figure 8 (truncation): ψ = 1 is the plain image, ψ = 0 is the average w for both seeds', async () => {
  const img = await decode(path.join(out, 'figure08-truncation-trick.png'));
  const R = 32;
  assertClose(cell(img, 0, 0, R, R), ref(91, { truncation_psi: 1 }));
  assertClose(cell(img, 0, R, R, R), ref(388, { truncation_psi: 1 }));
  const avgImage = tf.tidy(() => Gs.components.synthesis.run(tf.tile(tf.reshape(Gs.dlatent_avg, [1, 1, -1]), [1, 8, 1]), { randomize_noise: false }));
  const a = hwc(avgImage, 0);
  avgImage.dispose();
  // ψ = 0 is column 3; (w − avg)·0 + avg may differ from avg in the last bit only through the lerp.
  for (const row of [0, 1]) {
    const c = cell(img, 3 * R, row * R, R, R);
    assert.ok(c.every((v, i) => Math.abs(v - a[i]!) <= 1), `row ${row}`);
  }
  assert.deepEqual(cell(img, 3 * R, 0, R, R), cell(img, 3 * R, R, R, R));
  assert.notDeepEqual(cell(img, 0, 0, R, R), cell(img, 0, R, R, R));
});

test('figure 5 (noise components): halves of all-noise / no-noise images, seed index 1 mirrored', async () => {
  const img = await decode(path.join(out, 'figure05-noise-components.png'));
  const R = 32;
  const zeros = Gs.components.synthesis.noiseVars.map((v) => tf.zerosLike(v));
  // Column 0 (seed 1967): top-left = left half with the stored noise, top-right = right half without noise.
  assertClose(cell(img, 0, 0, R / 2, R), halfOf(ref(1967, { truncation_psi: 1 }), R, R, 'left'));
  assertClose(cell(img, R / 2, 0, R / 2, R), halfOf(ref(1967, { truncation_psi: 1, noise: zeros }), R, R, 'right'));
  // (The noise matters in this network, so the comparisons above can tell the cases apart.)
  const withNoise = halfOf(ref(1967, { truncation_psi: 1 }), R, R, 'right');
  const withoutNoise = halfOf(ref(1967, { truncation_psi: 1, noise: zeros }), R, R, 'right');
  assert.ok(withNoise.some((v, i) => Math.abs(v - withoutNoise[i]!) > 8));
  // Column 1 (seed 1555) is mirrored.
  assertClose(cell(img, R, 0, R / 2, R), halfOf(mirror(ref(1555, { truncation_psi: 1 }), R, R), R, R, 'left'));
  // Bottom-right: coarse noise only (layers 0–3 at 32²).
  const coarse = Gs.components.synthesis.noiseVars.map((v, i) => (i < 4 ? v : zeros[i]!));
  assertClose(cell(img, R / 2, R, R / 2, R), halfOf(ref(1967, { truncation_psi: 1, noise: coarse }), R, R, 'right'));
  tf.dispose(zeros);
});

test("figure 4's std map is NVIDIA's formula: clip(std(mean(rgb)) × 4 + 0.5) truncated; gray in the figure", async () => {
  const px = (v: number[]) => ({ data: Uint8Array.from(v), width: 1, height: 1, channels: 3 as const });
  assert.deepEqual([...noiseStdMap([px([0, 0, 0]), px([10, 10, 10])]).data], [20]); // std 5 → 20.5
  assert.deepEqual([...noiseStdMap([px([0, 0, 0]), px([0, 0, 0]), px([3, 3, 3])]).data], [6]); // √2·4 + 0.5 = 6.16
  assert.deepEqual([...noiseStdMap([px([0, 3, 0]), px([0, 0, 0])]).data], [2]); // means 1, 0 → std 0.5 → 2.5
  assert.deepEqual([...noiseStdMap([px([0, 0, 0]), px([255, 255, 255])]).data], [255]);
  const img = await decode(path.join(out, 'figure04-noise-detail.png'));
  const std = cell(img, 64, 0, 32, 64);
  let nonzero = 0;
  for (let i = 0; i < std.length; i += 3) {
    assert.ok(std[i] === std[i + 1] && std[i] === std[i + 2], 'gray');
    if (std[i]! > 0) nonzero++;
  }
  assert.ok(nonzero > 100, `the noise varies the images (${nonzero} pixels)`);
  // Column 0 is the first of the 100 samples: with the seeded noise it is repeatable, not the stored-noise image.
  assert.notDeepEqual(cell(img, 0, 0, 32, 32), ref(1157, { truncation_psi: 1 }));
});

test('figure 2 (uncurated): with the stored noise the first cell is RandomState(5) image 0 with Gs defaults (ψ 0.7)', async () => {
  const d = tmp();
  await runFigures({ network: snapshot, figures: ['uncurated'], outdir: d, randomize_noise: false }, quiet);
  const img = await decode(path.join(d, 'figure02-uncurated.png'));
  const z = tf.tensor2d(latentsFromOneSeed(5, 81, 32), [81, 32]);
  const first = Gs.run(tf.slice(z, [0, 0], [1, -1]), null, { randomize_noise: false }); // Gs defaults: ψ 0.7, cutoff 8
  const second = Gs.run(tf.slice(z, [1, 0], [1, -1]), null, { randomize_noise: false });
  assertClose(cell(img, 0, 0, 32, 32), hwc(first, 0));
  assertClose(cell(img, 0, 32, 32, 32), hwc(second, 0));
  tf.dispose([z, first, second]);
});

test('determinism: same seed + ψ + network → byte-identical PNGs (stored or seeded noise); random noise differs', async () => {
  const a = tmp(), b = tmp();
  for (const d of [a, b]) {
    await runFigures({ network: snapshot, figures: ['uncurated', 'truncation'], outdir: d, randomize_noise: true, noise_seed: 7 }, quiet);
    await runImages({ network: snapshot, seeds: [0, 1, 2, 7], truncation_psi: 0.7, outdir: d, randomize_noise: false }, quiet);
  }
  for (const f of ['figure02-uncurated.png', 'figure08-truncation-trick.png', 'seed0000.png', 'seed0007.png']) {
    assert.deepEqual(fs.readFileSync(path.join(a, f)), fs.readFileSync(path.join(b, f)), f);
  }
  const c = tmp(), e = tmp();
  for (const d of [c, e]) await runFigures({ network: snapshot, figures: ['uncurated'], outdir: d, randomize_noise: true }, quiet);
  assert.notDeepEqual(fs.readFileSync(path.join(c, 'figure02-uncurated.png')), fs.readFileSync(path.join(e, 'figure02-uncurated.png')), "NVIDIA's default: random noise");
  // images: seed 7 at ψ 0.7 is Gs.run(RandomState(7).randn(1, L)) with the stored noise.
  assert.deepEqual(fs.readdirSync(a).filter((f) => f.startsWith('seed')).sort(), ['seed0000.png', 'seed0001.png', 'seed0002.png', 'seed0007.png']);
  const s7 = await decode(path.join(a, 'seed0007.png'));
  assert.deepEqual([s7.width, s7.height, s7.channels], [32, 32, 3]);
  assertClose(new Uint8Array(s7.data), ref(7, { truncation_psi: 0.7 }));
});

test('CLI: the same image on cpu, wasm and the default backend within 1 uint8 level; the bundled model when --network is omitted', async () => {
  const d = tmp();
  const runs: Record<string, Decoded> = {};
  for (const backend of ['cpu', 'wasm', 'auto']) {
    const o = path.join(d, backend);
    const r = cli('generate_figures.ts', ['images', '--seeds', '3', '--psi', '0.5', '--outdir', o, '--network', snapshot, '--backend', backend]);
    assert.equal(r.status, 0, r.stderr.join('\n'));
    runs[backend] = await decode(path.join(o, 'seed0003.png'));
  }
  const maxDiff = (x: Decoded, y: Decoded) => x.data.reduce((m, v, i) => Math.max(m, Math.abs(v - y.data[i]!)), 0);
  assert.ok(maxDiff(runs.cpu!, runs.wasm!) <= 1, `cpu vs wasm ${maxDiff(runs.cpu!, runs.wasm!)}`);
  assert.ok(maxDiff(runs.cpu!, runs.auto!) <= 1, `cpu vs default ${maxDiff(runs.cpu!, runs.auto!)}`);

  // pretrained_example.ts with no --network takes the bundled model (here pointed at the tiny snapshot).
  const ex = path.join(d, 'example.png');
  const r = cli('pretrained_example.ts', ['--out', ex, '--noise-seed', '0', '--backend', 'cpu'], { STYLEGAN_BUNDLED_MODEL: snapshot });
  assert.equal(r.status, 0, r.stderr.join('\n'));
  assert.match(r.stdout, new RegExp(`Loading network ${snapshot.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.stdout, /^Total\s+\d+/m, 'prints the layer table');
  const m = await sharp(ex).metadata();
  assert.deepEqual([m.width, m.height], [32, 32]);
});

test('CLI: bad input is one line on stderr and a non-zero exit', () => {
  const d = tmp();
  const junk = path.join(d, 'junk.safetensors');
  fs.writeFileSync(junk, 'not a network');
  const cases: [string, string[], Record<string, string>, number, RegExp][] = [
    ['generate_figures.ts', ['images', '--seeds', '1-x', '--network', snapshot], {}, 2, /^error: --seeds: cannot parse '1-x'/],
    ['generate_figures.ts', ['images', '--seeds', '5', '--network', path.join(d, 'none.pkl')], {}, 1, /^error: .*none\.pkl: no such network file$/],
    ['generate_figures.ts', ['--figures', 'uncurated'], { STYLEGAN_BUNDLED_MODEL: path.join(d, 'absent.safetensors') }, 2, /^error: no bundled model is installed yet .*pass --network/],
    ['pretrained_example.ts', ['--seed', 'five'], {}, 2, /^error: --seed: expected an integer/],
    ['generate_figures.ts', ['--figures', 'uncurated,figure9', '--network', snapshot], {}, 2, /^error: --figures: unknown figure 'figure9'/],
  ];
  for (const [script, args, env, status, re] of cases) {
    const r = cli(script, [...args, '--backend', 'cpu'], env);
    assert.equal(r.status, status, `${args.join(' ')}: ${r.stderr.join(' | ')}`);
    assert.equal(r.stderr.length, 1, `${args.join(' ')}: exactly one line, got ${JSON.stringify(r.stderr)}`);
    assert.match(r.stderr[0]!, re);
  }
  // A corrupt file is found while loading, after the backend's start line: still one error line, no stack.
  const r = cli('pretrained_example.ts', ['--network', junk, '--backend', 'cpu']);
  assert.equal(r.status, 1);
  assert.deepEqual(r.stderr.filter((l) => l.startsWith('error:')), [r.stderr.at(-1)]);
  assert.match(r.stderr.at(-1)!, /^error: junk\.safetensors: /);
  assert.ok(!r.stderr.some((l) => /^\s+at /.test(l)), 'no stack trace');
});

test('a one-channel network (like the Fashion-MNIST model): gray PNGs per seed, figures on RGB canvases with R = G = B', async () => {
  const d = tmp();
  const gray = writeTinySnapshot(d, 5, { ...TINY_KWARGS, num_channels: 1 });
  await runImages({ network: gray, seeds: [3], truncation_psi: 0.7, outdir: d, randomize_noise: false }, quiet);
  const m = await sharp(path.join(d, 'seed0003.png')).metadata();
  assert.deepEqual([m.width, m.height, m.channels], [32, 32, 1]);
  await runFigures({ network: gray, figures: ['truncation'], outdir: d, randomize_noise: false }, quiet);
  const img = await decode(path.join(d, 'figure08-truncation-trick.png'));
  assert.deepEqual([img.width, img.height, img.channels], [192, 64, 3]);
  for (let i = 0; i < img.data.length; i += 3) assert.ok(img.data[i] === img.data[i + 1] && img.data[i] === img.data[i + 2]);
  const seed = { data: await sharp(path.join(d, 'seed0003.png')).toColourspace('b-w').raw().toBuffer() };
  const z = z1(3);
  const G1 = (await loadNetworks(gray, { networks: ['Gs'] })).Gs as G_style;
  const r = G1.run(z, null, { truncation_psi: 0.7, randomize_noise: false });
  assertClose(new Uint8Array(seed.data), hwc(r, 0));
  tf.dispose([z, r]);
  G1.dispose();
});
