import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs';
import sharp from 'sharp';
import { useTestBackend } from './_backend.ts';
import {
  Gs_beta, adjust_dynamic_range, rint, convert_images_to_uint8, convertImagesToUint8Tensor, convert_to_pil_image,
  snapshotGridSize, setup_snapshot_image_grid, create_image_grid, saveImageGrid, pyFixed, formatTickLine, tickSummaries,
  locate_run_dir, list_network_pkls, locate_network_pkl,
} from '../training/misc.ts';
import { UserError } from '../dnnlib/errors.ts';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-misc-'));

test('Gs_beta: 0.5^(minibatch / (G_smoothing_kimg·1000)), the spec values, 0 without smoothing', () => {
  assert.ok(Math.abs(Gs_beta(32, 10) - 0.99778) < 5e-6, String(Gs_beta(32, 10)));
  assert.ok(Math.abs(Gs_beta(256, 10) - 0.98241) < 5e-6, String(Gs_beta(256, 10)));
  // Half-life: after 10 kimg of minibatches of 32 (312.5 steps) a G state's weight has halved.
  assert.ok(Math.abs(Gs_beta(32, 10) ** (10_000 / 32) - 0.5) < 1e-12);
  assert.equal(Gs_beta(32, 0), 0);
});

test('snapshotGridSize follows the 1080p / 4k / 8k clip rules', () => {
  assert.deepEqual(snapshotGridSize('4k', 1024, 1024), [7, 4]); // 7168×4096 px
  assert.deepEqual(snapshotGridSize('4k', 256, 256), [15, 8]);
  assert.deepEqual(snapshotGridSize('4k', 32, 32), [32, 32]); // 120×67 clipped to 32
  assert.deepEqual(snapshotGridSize('4k', 384, 512), [7, 5]); // LSUN car 512×384
  assert.deepEqual(snapshotGridSize('1080p', 1024, 1024), [3, 2]); // 1×1 clipped up to 3×2
  assert.deepEqual(snapshotGridSize('1080p', 128, 128), [15, 8]);
  // StyleGAN2's 8k: 7680//W and 4320//H with 4k's bounds.
  assert.deepEqual(snapshotGridSize('8k', 128, 128), [32, 32]); // 60×33 clipped to 32
  assert.deepEqual(snapshotGridSize('8k', 1024, 1024), [7, 4]);
  assert.deepEqual(snapshotGridSize('8k', 256, 256), [30, 16]);
});

test('convert_images_to_uint8 rounds half up, convert_to_pil_image half to even', () => {
  // drange [0,255]: y = x + 0.5 then truncation, so ties go up; np.rint sends them to the even neighbour.
  const x = [2.5, 3.5, -3, 300, 254.5, 0.49, 127.5];
  assert.deepEqual(Array.from(convert_images_to_uint8(x, [0, 255])), [3, 4, 0, 255, 255, 0, 128]);
  assert.deepEqual(Array.from(convert_to_pil_image(Float32Array.from(x), [1, 1, 7], [0, 255]).data), [2, 4, 0, 255, 254, 0, 128]);
  // drange [−1,1]: 127.5x + 128 vs rint(127.5x + 127.5).
  const y = [-1, 0, 1, 0.5, -0.5, 2, NaN];
  assert.deepEqual(Array.from(convert_images_to_uint8(y)), [0, 128, 255, 191, 64, 255, 0]);
  assert.deepEqual(Array.from(convert_to_pil_image(Float32Array.from(y), [1, 1, 7], [-1, 1]).data), [0, 128, 255, 191, 64, 255, 0]);
  // Images that came from uint8 k as x = 2k/255 − 1 (float32) land exactly on k + 0.5: half-up gives
  // k + 1 for every k, rint gives k + 1 for odd k and k for even k.
  const ks = Array.from({ length: 255 }, (_, k) => k);
  const xs = Float32Array.from(ks, (k) => (2 * (k - 127)) / 255);
  assert.deepEqual(Array.from(convert_images_to_uint8(xs)), ks.map((k) => k + 1));
  assert.deepEqual(Array.from(convert_to_pil_image(xs, [1, 1, 255], [-1, 1]).data), ks.map((k) => (k % 2 ? k + 1 : k)));
});

test('convertImagesToUint8Tensor matches the host conversion; nchw_to_nhwc and shrink', async () => {
  await useTestBackend();
  const ks = Array.from({ length: 256 }, (_, k) => k);
  const xs = Float32Array.from(ks, (k) => (2 * (k - 127)) / 255);
  const t = tf.tensor4d(xs, [1, 1, 16, 16]);
  const u = convertImagesToUint8Tensor(t);
  assert.equal(u.dtype, 'int32');
  assert.deepEqual(Array.from(u.dataSync()), ks.map((k) => Math.min(k + 1, 255)));
  // [1, 2 channels, 2, 2] → NHWC, and shrink 2 averages each 2×2 channel.
  const img = tf.tensor4d([-1, -1, 1, 1, /* ch1 */ 0, 0, 0, 0], [1, 2, 2, 2]);
  const nhwc = convertImagesToUint8Tensor(img, { nchw_to_nhwc: true });
  assert.deepEqual(nhwc.shape, [1, 2, 2, 2]);
  assert.deepEqual(Array.from(nhwc.dataSync()), [0, 128, 0, 128, 255, 128, 255, 128]);
  const small = convertImagesToUint8Tensor(img, { shrink: 2 });
  assert.deepEqual(small.shape, [1, 2, 1, 1]);
  assert.deepEqual(Array.from(small.dataSync()), [128, 128]);
  tf.dispose([t, u, img, nhwc, small]);
});

test('adjust_dynamic_range and rint', () => {
  assert.deepEqual(Array.from(adjust_dynamic_range([0, 255, 127.5], [0, 255], [-1, 1])), [-1, 1, 0]);
  assert.deepEqual(Array.from(adjust_dynamic_range([3, 4], [0, 255], [0, 255])), [3, 4]);
  assert.deepEqual([0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 2.4, 2.6].map(rint), [0, 2, 2, -0, -2, -2, 2, 3]);
});

test('convert_to_pil_image: CHW → HWC, one channel → HW', () => {
  // 3 channels of a 1×2 image: R = [0, 1], G = [0.5, 0.25], B = [1, 0] in [0,1].
  const p = convert_to_pil_image(Float32Array.from([0, 1, 0.5, 0.25, 1, 0]), [3, 1, 2]);
  assert.deepEqual([p.width, p.height, p.channels], [2, 1, 3]);
  assert.deepEqual(Array.from(p.data), [0, 128, 255, 255, 64, 0]); // 127.5 → 128 (even), 63.75 → 64
  const g = convert_to_pil_image(Float32Array.from([0, 1]), [1, 1, 2]);
  assert.equal(g.channels, 1);
  assert.deepEqual(Array.from(g.data), [0, 255]);
});

test('create_image_grid places image idx at (idx % gw, idx // gw)', () => {
  // Five 1×2×2 images, image i filled with i + 1; the default grid is 3×2.
  const imgs = new Uint8Array(5 * 4).map((_, i) => Math.floor(i / 4) + 1);
  const g = create_image_grid(imgs, [5, 1, 2, 2]);
  assert.deepEqual(g.shape, [1, 4, 6]);
  assert.ok(g.data instanceof Uint8Array);
  assert.deepEqual(Array.from(g.data), [
    1, 1, 2, 2, 3, 3,
    1, 1, 2, 2, 3, 3,
    4, 4, 5, 5, 0, 0,
    4, 4, 5, 5, 0, 0,
  ]);
  // An explicit 2×3 grid, and a pixel layout inside one image (rows stay rows).
  const f = Float32Array.from({ length: 3 * 4 }, (_, i) => i);
  const g2 = create_image_grid(f, [3, 1, 2, 2], [2, 3]);
  assert.deepEqual(g2.shape, [1, 6, 4]);
  assert.deepEqual(Array.from(g2.data), [0, 1, 4, 5, 2, 3, 6, 7, 8, 9, 0, 0, 10, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  // Two channels stay separate planes.
  const c2 = create_image_grid(Float32Array.from([1, 2, 3, 4]), [2, 2, 1, 1], [2, 1]);
  assert.deepEqual(c2.shape, [2, 1, 2]);
  assert.deepEqual(Array.from(c2.data), [1, 3, 2, 4]);
  assert.throws(() => create_image_grid(imgs, [5, 1, 2, 2], [2, 2]), /do not fit/);
});

test('saveImageGrid writes the rint-converted grid as a PNG, atomically', async () => {
  await useTestBackend();
  const dir = tmp();
  // Two RGB 1×1 images in [−1,1] on a 2×1 grid.
  const rgb = tf.tensor4d([-1, 0, 1, /* img 1 */ 0.5, -0.5, 1], [2, 3, 1, 1]);
  const file = path.join(dir, 'fakes000000.png');
  await saveImageGrid(rgb, [-1, 1], [2, 1], file);
  const { data, info } = await sharp(file).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual([info.width, info.height, info.channels], [2, 1, 3]);
  assert.deepEqual(Array.from(data), [0, 128, 255, 191, 64, 255]);
  // Grayscale uint8 reals in [0,255] pass straight through.
  const gray = path.join(dir, 'reals.png');
  await saveImageGrid({ data: Uint8Array.from([10, 20, 30, 40]), shape: [4, 1, 1, 1] }, [0, 255], [2, 2], gray);
  // IHDR colour type (byte 25): 0 = grayscale as PIL's mode 'L', 2 = RGB.
  assert.equal(fs.readFileSync(gray)[25], 0);
  assert.equal(fs.readFileSync(file)[25], 2);
  const g = await sharp(gray).extractChannel(0).raw().toBuffer({ resolveWithObject: true });
  assert.deepEqual(Array.from(g.data), [10, 20, 30, 40]);
  assert.deepEqual(fs.readdirSync(dir).sort(), ['fakes000000.png', 'reals.png']); // no temp files left
  await assert.rejects(saveImageGrid({ data: new Uint8Array(2), shape: [1, 2, 1, 1] }, [0, 255], undefined, path.join(dir, 'x.png')), UserError);
  rgb.dispose();
  fs.rmSync(dir, { recursive: true });
});

test("pyFixed prints like Python's %.Nf (exact ties to even)", () => {
  // Expected strings from Python 3: '%.2f %.1f %.2f %.0f %.0f %.1f %.2f %.2f %.2f' % (...)
  const got = [pyFixed(6.125, 2), pyFixed(140.25, 1), pyFixed(0.125, 2), pyFixed(2.5, 0), pyFixed(3.5, 0), pyFixed(0.15, 1), pyFixed(1.005, 2), pyFixed(2.675, 2), pyFixed(-6.125, 2)];
  assert.deepEqual(got.join(' '), '6.12 140.2 0.12 2 4 0.1 1.00 2.67 -6.12');
  assert.equal(pyFixed(7, 2), '7.00');
  assert.equal(pyFixed(6.135, 2), (6.135).toFixed(2)); // not a tie in binary
});

test('formatTickLine reproduces NVIDIA printf widths', () => {
  // Expected strings printed by Python with the format of training_loop.py (§3.7).
  const r = {
    cur_tick: 1, kimg: 140.288, lod: 7.0, minibatch: 256, total_time: 3725, tick_time: 3725.25, tick_kimg: 140.288,
    maintenance_time: 12.25, peak_gpu_mem_bytes: 7.25 * 2 ** 30,
  };
  assert.equal(formatTickLine(r),
    'tick 1     kimg 140.3    lod 7.00  minibatch 256  time 1h 02m 05s   sec/tick 3725.2  sec/kimg 26.55   maintenance 12.2   gpumem 7.2 ');
  // Without a GPU figure: peak RSS under its own label; neither → the field is left out.
  const base = { cur_tick: 988, kimg: 25000.064, lod: 0, minibatch: 32, total_time: 5 * 86400 + 3 * 3600 + 10 * 60, tick_time: 312.5, tick_kimg: 20.032, maintenance_time: 0.05 };
  assert.equal(formatTickLine(base),
    'tick 988   kimg 25000.1  lod 0.00  minibatch 32   time 5d 03h 10m   sec/tick 312.5   sec/kimg 15.60   maintenance 0.1   ');
  assert.ok(formatTickLine({ ...base, peak_rss_bytes: 1.5 * 2 ** 30 }).endsWith(' maintenance 0.1    rssmem 1.5 '));
  const s = tickSummaries(r);
  assert.equal(s['Progress/kimg'], 140.288);
  assert.equal(s['Timing/sec_per_kimg'], 3725.25 / 140.288);
  assert.equal(s['Resources/peak_gpu_mem_gb'], 7.25);
  assert.equal(s['Timing/total_days'], 3725 / 86400);
});

test('locate_run_dir / list_network_pkls / locate_network_pkl', () => {
  const results = tmp();
  const run = path.join(results, '00003-sgan-ffhq-8gpu');
  fs.mkdirSync(run);
  fs.mkdirSync(path.join(results, '00030-other'));
  for (const f of ['network-snapshot-001283.pkl', 'network-final.pkl', 'network-snapshot-000140.pkl',
    'network-snapshot-000500.safetensors', 'fakes000140.png', 'network-snapshot-000600.pkl.tmp']) {
    fs.writeFileSync(path.join(run, f), '');
  }
  assert.equal(locate_run_dir(3, results), run);
  assert.equal(locate_run_dir(run), run);
  assert.throws(() => locate_run_dir(7, results), UserError);
  const names = (files: string[]) => files.map((f) => path.basename(f));
  assert.deepEqual(names(list_network_pkls(run)), [
    'network-snapshot-000140.pkl', 'network-snapshot-000500.safetensors', 'network-snapshot-001283.pkl', 'network-final.pkl',
  ]);
  assert.deepEqual(names(list_network_pkls(run, { include_final: false })).at(-1), 'network-snapshot-001283.pkl');
  assert.equal(path.basename(locate_network_pkl(3, null, { result_dir: results })), 'network-final.pkl');
  assert.equal(path.basename(locate_network_pkl(run, 500)), 'network-snapshot-000500.safetensors');
  assert.equal(path.basename(locate_network_pkl(run, 140)), 'network-snapshot-000140.pkl');
  const direct = path.join(run, 'network-snapshot-001283.pkl');
  assert.equal(locate_network_pkl(direct), direct);
  assert.equal(locate_network_pkl(run, direct), direct);
  assert.throws(() => locate_network_pkl(run, 999), UserError);
  // Without a final file the latest snapshot by name wins.
  fs.rmSync(path.join(run, 'network-final.pkl'));
  assert.equal(path.basename(locate_network_pkl(run)), 'network-snapshot-001283.pkl');
  fs.rmSync(results, { recursive: true });
});

test('setup_snapshot_image_grid: latents first, then the reals; class layouts fill rows per class', () => {
  const calls: string[] = [];
  const src = {
    output_shape: [1, 256, 256] as const, latent_size: 3, label_size: 0,
    get_minibatch_np: (n: number) => { calls.push(`mb${n}`); return { reals: new Uint8Array(n * 256 * 256).fill(7), labels: new Float32Array(0) }; },
    randn: (n: number, d: number) => { calls.push(`randn${n}x${d}`); return Float64Array.from({ length: n * d }, (_, i) => i); },
  };
  const g = setup_snapshot_image_grid(src, { size: '4k' });
  assert.deepEqual(g.grid_size, [15, 8]);
  assert.deepEqual(calls, ['randn120x3', 'mb120']);
  assert.equal(g.latents.length, 360);
  assert.equal(g.reals[0], 7);

  // row_per_class on a 1080p grid of 640×540 images (3×2): class 0 fills row 0, class 1 row 1,
  // class 2 has no row; sample k is an image filled with k.
  const classes = [0, 2, 1, 0, 0, 1, 0, 1, 1];
  let i = 0;
  const big = {
    output_shape: [1, 540, 640] as const, latent_size: 1, label_size: 3,
    get_minibatch_np: () => {
      const k = i++;
      const labels = new Float32Array(3);
      labels[classes[k]!] = 1;
      return { reals: new Uint8Array(540 * 640).fill(k), labels };
    },
    randn: (n: number) => new Float64Array(n),
  };
  const c = setup_snapshot_image_grid(big, { size: '1080p', layout: 'row_per_class' });
  assert.deepEqual(c.grid_size, [3, 2]);
  assert.equal(i, 8); // stops as soon as both rows are full
  const first = Array.from({ length: 6 }, (_, j) => c.reals[j * 540 * 640]);
  assert.deepEqual(first, [0, 3, 4, 2, 5, 7]);
  assert.deepEqual(Array.from(c.labels.subarray(9, 12)), [0, 1, 0]);
  assert.throws(() => setup_snapshot_image_grid(src, { layout: 'spiral' }), UserError);
});
