// dataset_tool against the independent Python reference (tests/fixtures/make_dataset_fixtures.py):
// records, level chain, shuffled order and labels must equal NVIDIA's layout byte for byte.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import sharp from 'sharp';
import { UserError } from '../dnnlib/errors.ts';
import { chooseShuffledOrder, imageLevels, rintClipUint8 } from '../training/tfrecord_exporter.ts';
import { createFromImages, type FromImagesOptions } from '../training/dataset_tool/create_from_images.ts';
import { createMnist } from '../training/dataset_tool/create_mnist.ts';
import { datasetInfo, formatInfo } from '../training/dataset_tool/info.ts';
import { extractDataset } from '../training/dataset_tool/extract.ts';
import { compareDatasets } from '../training/dataset_tool/compare.ts';
import { writeGrid } from '../training/dataset_tool/grid.ts';
import { readLevel, openDatasetDir } from '../training/dataset_tool/dataset_dir.ts';
import { readTFRecords } from '../dnnlib/tfrecord.ts';

const ROOT = path.join(import.meta.dirname, '..');
const FIX = path.join(import.meta.dirname, 'fixtures', 'dataset');
const META = JSON.parse(fs.readFileSync(path.join(FIX, 'fixtures.json'), 'utf8')) as { rgb_order: number[]; mnist_order: number[] };
const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-dataset-'));

/** Every file of `dir` (including hidden temp files), sorted. */
const listing = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir).sort() : []);

function assertSameLevels(outDir: string, expectedDir: string, levels: string[]) {
  const out = path.basename(outDir), exp = path.basename(expectedDir);
  assert.deepEqual(listing(outDir), listing(expectedDir).map((f) => f.replace(exp, out)));
  for (const r of levels) {
    const a = fs.readFileSync(path.join(outDir, `${out}-r${r}.tfrecords`));
    const b = fs.readFileSync(path.join(expectedDir, `${exp}-r${r}.tfrecords`));
    assert.ok(a.equals(b), `level r${r} differs from the Python reference`);
  }
}

test('RandomState(123) order equals numpy\'s (from the fixture script)', () => {
  assert.deepEqual(Array.from(chooseShuffledOrder(9)), META.rgb_order);
  assert.deepEqual(Array.from(chooseShuffledOrder(12)), META.mnist_order);
});

test('levels: float chain of 2x2 means, rounded half to even once per level', () => {
  assert.deepEqual([0.5, 1.5, 2.5, 2.4999, 254.5, 255.5, -3].map(rintClipUint8), [0, 2, 2, 2, 254, 255, 0]);
  // 16x16, one channel. The top-left 4x4 block gives level-1 means 0.5, 0.5 / 0.5, 1.5 (stored
  // 0, 0 / 0, 2); level 2 is their mean 0.75 -> 1, whereas averaging the stored bytes gives 0.5 -> 0.
  const img = new Uint8Array(256);
  const put = (y: number, x: number, v: number) => { img[y * 16 + x] = v; };
  put(0, 0, 1); put(0, 1, 1); put(0, 2, 1); put(0, 3, 1); put(2, 0, 1); put(2, 1, 1);
  put(2, 2, 1); put(2, 3, 1); put(3, 2, 2); put(3, 3, 2);
  const l2 = imageLevels(img, [1, 16, 16]);
  assert.deepEqual(l2.map((l) => l.shape), [[1, 16, 16], [1, 8, 8], [1, 4, 4]]);
  assert.deepEqual([l2[1]!.data[0], l2[1]!.data[1], l2[1]!.data[8], l2[1]!.data[9]], [0, 0, 0, 2]);
  assert.equal(l2[2]!.data[0], 1, 'level 2 from the unrounded chain');
});

test('create_from_images: RGB folder equals NVIDIA layout, level by level, shuffled', async () => {
  const out = path.join(tmp(), 'rgb');
  const res = await createFromImages(out, path.join(FIX, 'rgb_images'));
  assert.equal(res.numImages, 9);
  assertSameLevels(out, path.join(FIX, 'expected_rgb'), ['05', '04', '03', '02']);
});

test('create_from_images --shuffle 0: grayscale PNGs and a JPEG stay 1-channel, sorted order', async () => {
  const out = path.join(tmp(), 'gray');
  await createFromImages(out, path.join(FIX, 'gray_images'), { shuffle: false });
  assertSameLevels(out, path.join(FIX, 'expected_gray'), ['03', '02']);
});

test('create_from_images: colour JPEGs (4:4:4 and 4:2:0) decode exactly as PIL', async () => {
  const out = path.join(tmp(), 'jpeg');
  await createFromImages(out, path.join(FIX, 'jpeg_images'));
  assertSameLevels(out, path.join(FIX, 'expected_jpeg'), ['04', '03', '02']);
});

test('create_mnist: padded 32x32 digits and one-hot labels equal the reference', async () => {
  const out = path.join(tmp(), 'mnist');
  await createMnist(out, path.join(FIX, 'mnist'));
  assertSameLevels(out, path.join(FIX, 'expected_mnist'), ['05', '04', '03', '02']);
  assert.ok(fs.readFileSync(path.join(out, 'mnist-rxx.labels')).equals(fs.readFileSync(path.join(FIX, 'expected_mnist', 'expected_mnist-rxx.labels'))));
});

// ------------------------------------------------------------------ bad input

/** A folder of good 32x32 RGB images with `extra` files copied from fixtures/dataset/odd/ in between. */
function folderWith(extra: Record<string, string>, good = 4): string {
  const dir = path.join(tmp(), 'in');
  fs.mkdirSync(dir);
  for (let i = 0; i < good; i++) fs.copyFileSync(path.join(FIX, 'rgb_images', `img0${i}.png`), path.join(dir, `img${i * 2}.png`));
  for (const [name, src] of Object.entries(extra)) fs.copyFileSync(path.join(FIX, 'odd', src), path.join(dir, name));
  return dir;
}

async function expectFailure(imageDir: string, re: RegExp, opts: FromImagesOptions = {}, outDir?: string) {
  const out = outDir ?? path.join(tmp(), 'out');
  const before = listing(out);
  await assert.rejects(createFromImages(out, imageDir, opts), (err: unknown) => {
    assert.ok(err instanceof UserError, `UserError, got ${String(err)}`);
    assert.ok(!err.message.includes('\n'), 'one line');
    assert.match(err.message, re);
    return true;
  });
  assert.deepEqual(listing(out), before, 'no records, labels or temp files left behind');
}

test('bad input: missing, empty, file instead of dir', async () => {
  await expectFailure(path.join(tmp(), 'nope'), /nope: image directory does not exist/);
  await expectFailure(tmp(), /no input images found/);
  const f = path.join(tmp(), 'file.png');
  fs.copyFileSync(path.join(FIX, 'rgb_images', 'img00.png'), f);
  await expectFailure(f, /file\.png: is not a directory/);
});

test('bad input: non-image, corrupt PNG and corrupt JPEG in the middle of the folder name the file', async () => {
  await expectFailure(folderWith({ 'img3.txt': 'notes.txt' }), /img3\.txt: not a readable image/, { shuffle: false });
  await expectFailure(folderWith({ 'img3.png': 'truncated.png' }), /img3\.png: (cannot decode|not a readable)/, { shuffle: false });
  await expectFailure(folderWith({ 'img5.jpg': 'corrupt.jpg' }), /img5\.jpg: (cannot decode|not a readable)/, { shuffle: true });
});

test('bad input: mixed sizes, non-square, not a power of two', async () => {
  await expectFailure(folderWith({ 'img3.png': 'small_16x16.png' }), /img3\.png: 16x16 differs from 32x32 of .*img0\.png/);
  await expectFailure(folderWith({ 'a.png': 'nonsquare_16x32.png' }), /a\.png: 16x32 is not square; input images must have the same width and height/);
  await expectFailure(folderWith({ 'a.png': 'npot_24x24.png' }), /a\.png: resolution 24 is not a power of two/);
});

test('bad input: unsupported channel layouts without conversion flags', async () => {
  await expectFailure(folderWith({ 'a.png': 'rgba.png' }), /a\.png: has an alpha channel .* --alpha drop/);
  await expectFailure(folderWith({ 'img3.png': 'rgba.png' }), /img3\.png: has an alpha channel/);
  await expectFailure(folderWith({ 'a.png': 'gray_alpha.png' }), /a\.png: has an alpha channel \(2 channels\)/);
  await expectFailure(folderWith({ 'a.png': 'palette.png' }), /a\.png: is a palette .* --channels 1 or 3/);
  await expectFailure(folderWith({ 'a.png': 'gray16.png' }), /a\.png: has 16-bit samples/);
  await expectFailure(folderWith({ 'a.jpg': 'cmyk.jpg' }), /a\.jpg: has 4 channels/);
  // A grayscale image among RGB ones: the shape differs from the first image.
  const dir = folderWith({});
  fs.copyFileSync(path.join(FIX, 'gray_images', 'g0.png'), path.join(dir, 'img3.png'));
  await sharp(path.join(FIX, 'odd', 'rgba.png')).extract({ left: 0, top: 0, width: 8, height: 8 }).removeAlpha().toColourspace('b-w').png().toFile(path.join(dir, 'img5.png'));
  await expectFailure(dir, /shape \[1, 8, 8\] \(CHW\) differs|8x8 differs from 32x32/, { shuffle: false });
});

test('bad output: dir holding records, unwritable path, invalid --resolution', async () => {
  const holder = tmp();
  fs.writeFileSync(path.join(holder, 'old-r05.tfrecords'), 'x');
  await expectFailure(folderWith({}), /already holds a dataset \(old-r05\.tfrecords\)/, {}, holder);
  const file = path.join(tmp(), 'plainfile');
  fs.writeFileSync(file, 'x');
  await expectFailure(folderWith({}), /plainfile\/sub: cannot create output directory/, {}, path.join(file, 'sub'));
  await expectFailure(folderWith({}), /--resolution 48: must be a power of two/, { resolution: 48 });
});

// ------------------------------------------------------------------ conversions beyond NVIDIA

async function onlyImage(opts: FromImagesOptions, src: string) {
  const dir = path.join(tmp(), 'in');
  fs.mkdirSync(dir);
  fs.copyFileSync(path.join(FIX, 'odd', src), path.join(dir, src));
  const out = path.join(tmp(), 'o');
  await createFromImages(out, dir, opts);
  const layout = openDatasetDir(out);
  return [...readLevel(layout.levelFiles[0]!)][0]!;
}

test('--alpha drop/flatten, --channels, 16-bit and palette conversion', async () => {
  const rgbaRaw = await sharp(path.join(FIX, 'odd', 'rgba.png')).raw().toBuffer();
  const dropped = await onlyImage({ alpha: 'drop' }, 'rgba.png');
  assert.deepEqual(dropped.shape, [3, 32, 32]);
  assert.deepEqual([dropped.data[0], dropped.data[1024], dropped.data[2048]], [rgbaRaw[0], rgbaRaw[1], rgbaRaw[2]], 'transparent pixel keeps its colour');
  const flat = await onlyImage({ alpha: 'flatten' }, 'rgba.png');
  assert.deepEqual([flat.data[0], flat.data[1024], flat.data[2048]], [255, 255, 255], 'transparent pixel composited onto white');
  const p = 20 * 32 + 20;
  assert.deepEqual([flat.data[p], flat.data[1024 + p], flat.data[2048 + p]], [rgbaRaw[p * 4], rgbaRaw[p * 4 + 1], rgbaRaw[p * 4 + 2]], 'opaque pixel unchanged');
  const gray = await onlyImage({ alpha: 'flatten', channels: 1 }, 'rgba.png');
  assert.deepEqual(gray.shape, [1, 32, 32]);
  const g16 = await onlyImage({ channels: 1 }, 'gray16.png');
  assert.deepEqual(g16.shape, [1, 32, 32]);
  const raw16 = await sharp(path.join(FIX, 'odd', 'gray16.png')).toColourspace('grey16').raw({ depth: 'ushort' }).toBuffer();
  const v16 = new Uint16Array(raw16.buffer, raw16.byteOffset, 1024);
  for (const k of [0, 77, 500]) assert.ok(Math.abs(g16.data[k]! - v16[k]! / 257) <= 1, `16-bit sample ${k} scaled to 8 bits`);
  const pal = await onlyImage({ channels: 3 }, 'palette.png');
  assert.deepEqual(pal.shape, [3, 32, 32]);
  const palRgb = await sharp(path.join(FIX, 'odd', 'palette.png')).toColourspace('srgb').raw().toBuffer();
  assert.deepEqual([pal.data[5], pal.data[1024 + 5], pal.data[2048 + 5]], [palRgb[15], palRgb[16], palRgb[17]]);
});

test('--resolution with center-crop, pad and resize handles non-square and odd sizes', async () => {
  for (const transform of ['center-crop', 'pad', 'resize'] as const) {
    const img = await onlyImage({ resolution: 8, transform }, 'nonsquare_16x32.png');
    assert.deepEqual(img.shape, [3, 8, 8], transform);
    if (transform === 'pad') assert.equal(img.data[0], 0, 'padding is black (left column)');
  }
  const up = await onlyImage({ resolution: 32 }, 'npot_24x24.png');
  assert.deepEqual(up.shape, [3, 32, 32]);
});

// ------------------------------------------------------------------ tools

test('info, extract, compare and grid on a created dataset', async () => {
  const out = path.join(tmp(), 'rgb');
  await createFromImages(out, path.join(FIX, 'rgb_images'));
  const info = datasetInfo(out);
  assert.equal(info.numImages, 9);
  assert.equal(info.resolution, 32);
  assert.equal(info.channels, 3);
  assert.deepEqual(info.levels.map((l) => l.resolution), [32, 16, 8, 4]);
  assert.match(formatInfo(out, info), /Images:      9\nResolution:  32\nChannels:    3\nLevels:      4 \(rgb-r05\.tfrecords 32x32/);
  const mnistInfo = datasetInfo(path.join(FIX, 'expected_mnist'));
  assert.equal(mnistInfo.labelSize, 10);

  // extract writes record i (= source image rgb_order[i]) as img%08d.png
  const ex = path.join(tmp(), 'ex');
  assert.equal(await extractDataset(out, ex), 9);
  assert.equal(fs.readdirSync(ex).length, 9);
  for (const i of [0, 4, 8]) {
    const a = await sharp(path.join(ex, `img0000000${i}.png`)).raw().toBuffer();
    const b = await sharp(path.join(FIX, 'rgb_images', `img0${META.rgb_order[i]}.png`)).raw().toBuffer();
    assert.ok(a.equals(b), `extracted image ${i}`);
  }

  const same = compareDatasets(out, path.join(FIX, 'expected_rgb'), false);
  assert.deepEqual(same.lines, ['Identical images: 9 / 9', 'Identical labels: 9 / 9']);
  const unshuffled = path.join(tmp(), 'u');
  await createFromImages(unshuffled, path.join(FIX, 'rgb_images'), { shuffle: false });
  const diff = compareDatasets(out, unshuffled, true);
  const differing = META.rgb_order.filter((src, i) => src !== i).length;
  assert.equal(diff.identicalImages, 9 - differing);
  assert.ok(diff.lines.includes(`Identical images: ${9 - differing} / 9`));
  assert.ok(!diff.lines.some((l) => l.startsWith('Identical labels')));
  const vsMnist = compareDatasets(path.join(FIX, 'expected_mnist'), out, false);
  assert.ok(vsMnist.lines.includes('Datasets contain different number of images'));
  assert.ok(vsMnist.lines.includes('Label 0 is different'));

  const png = path.join(tmp(), 'grid.png');
  assert.equal(await writeGrid(out, png, { count: 6, cols: 3 }), 6);
  const meta = await sharp(png).metadata();
  assert.deepEqual([meta.width, meta.height, meta.channels], [96, 64, 3]);
  const gridRaw = await sharp(png).raw().toBuffer();
  const first = await sharp(path.join(FIX, 'rgb_images', `img0${META.rgb_order[4]}.png`)).raw().toBuffer();
  // image 4 sits at column 1, row 1: its first row starts at (32, 32)
  assert.ok(gridRaw.subarray((32 * 96 + 32) * 3, (32 * 96 + 64) * 3).equals(first.subarray(0, 32 * 3)));
});

// ------------------------------------------------------------------ CLI end to end

function cli(...args: string[]) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(ROOT, 'dataset_tool.ts'), ...args], { encoding: 'utf8', cwd: ROOT });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('CLI: create, info, and one-line errors with non-zero exit', () => {
  const out = path.join(tmp(), 'mn');
  const ok = cli('create_mnist', out, path.join(FIX, 'mnist'));
  assert.equal(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /Added 12 images\./);
  const info = cli('info', out);
  assert.equal(info.status, 0);
  assert.match(info.stdout, /Images:      12\n.*\n.*Channels:    1\n.*\nLabel size:  10 \(mn-rxx\.labels\)/s);

  const empty = tmp();
  const r = cli('create_from_images', path.join(tmp(), 'x'), empty);
  assert.equal(r.status, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /^error: .*: no input images found$/m);

  const bad = folderWith({ 'img3.png': 'truncated.png' });
  const outBad = path.join(tmp(), 'b');
  const r2 = cli('create_from_images', outBad, bad, '--shuffle', '0');
  assert.equal(r2.status, 1);
  assert.match(r2.stderr.trim(), /^error: .*img3\.png: (cannot decode|not a readable)[^\n]*$/);
  assert.deepEqual(listing(outBad), []);

  const usage = cli('create_from_images', out);
  assert.equal(usage.status, 2);
  assert.match(usage.stderr, /^error: Not enough non-option arguments/);
  assert.equal(usage.stderr.trim().split('\n').length, 1, 'usage errors are one line too');
});

test('CLI: truncated and bit-flipped records given to info, extract and compare', () => {
  const src = path.join(FIX, 'expected_rgb');
  const mk = (mutate: (b: Buffer) => Buffer) => {
    const dir = path.join(tmp(), 'ds');
    fs.mkdirSync(dir);
    for (const f of fs.readdirSync(src)) fs.copyFileSync(path.join(src, f), path.join(dir, `ds${f.slice('expected_rgb'.length)}`));
    const f05 = path.join(dir, 'ds-r05.tfrecords');
    fs.writeFileSync(f05, mutate(fs.readFileSync(f05)));
    return dir;
  };
  const truncated = mk((b) => b.subarray(0, b.length - 1000));
  const rec1 = [...readTFRecords(path.join(src, 'expected_rgb-r05.tfrecords'))][1]!.offset;
  const flipped = mk((b) => { b[5000] ^= 1; return b; });
  for (const [args, re] of [
    [['info', truncated], /^error: .*ds-r05\.tfrecords: truncated at byte offset \d+ /],
    [['info', flipped], new RegExp(`^error: .*ds-r05\\.tfrecords: corrupt record 1 at byte offset ${rec1} \\(data CRC mismatch\\)$`)],
    [['extract', flipped, path.join(tmp(), 'e')], new RegExp(`^error: .*ds-r05\\.tfrecords: corrupt record 1 at byte offset ${rec1} `)],
    [['compare', truncated, src], /^error: .*ds-r05\.tfrecords: truncated at byte offset/],
  ] as [string[], RegExp][]) {
    const r = cli(...args);
    assert.equal(r.status, 1, `${args[0]}: ${r.stderr}`);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
    assert.match(r.stderr.trim(), re);
  }
});

test('CLI: --help of the tool and of each subcommand carries an example', () => {
  const top = cli('--help');
  assert.equal(top.status, 0);
  for (const c of ['create_from_images', 'create_mnist', 'extract', 'compare', 'info', 'grid']) assert.match(top.stdout, new RegExp(`dataset_tool\\.ts ${c} `));
  assert.match(top.stdout, /Type "dataset_tool\.ts <command> --help" for more information\./);
  const sub = cli('create_from_images', '--help');
  assert.match(sub.stdout, /Example: dataset_tool\.ts create_from_images datasets\/mydataset myimagedir/);
  assert.match(sub.stdout, /--transform/);
  assert.equal(cli().status, 0, 'no arguments prints help like NVIDIA');
});

test('CLI: Ctrl-C mid-conversion removes every partial output', async () => {
  // 400 copies of one 256² PNG: several seconds of work, so the signal lands mid-run once the
  // first temp files appear.
  const dir = path.join(tmp(), 'in');
  fs.mkdirSync(dir);
  const noise = Buffer.alloc(256 * 256 * 3);
  for (let i = 0; i < noise.length; i++) noise[i] = (i * 2654435761) >>> 24;
  const png = await sharp(noise, { raw: { width: 256, height: 256, channels: 3 } }).png().toBuffer();
  for (let i = 0; i < 400; i++) fs.writeFileSync(path.join(dir, `img${String(i).padStart(3, '0')}.png`), png);
  const out = path.join(tmp(), 'out');
  const { spawn } = await import('node:child_process');
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'dataset_tool.ts'), 'create_from_images', out, dir], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => { stderr += d; });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let sawTemp = false;
  for (let i = 0; i < 3000 && !sawTemp && child.exitCode === null; i++) {
    await new Promise((r) => setTimeout(r, 20));
    sawTemp = listing(out).some((f) => f.includes('.tfrecords.tmp-'));
  }
  child.kill('SIGINT');
  assert.ok(sawTemp, 'partial record files were being written');
  // Never hang the suite: a child that ignores the signal is killed and the test fails.
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  const code = await exited;
  clearTimeout(timer);
  assert.equal(code, 130, stderr);
  assert.match(stderr, /interrupted \(SIGINT\)/);
  assert.deepEqual(listing(out), [], 'no records or temp files left');
});

test('strict mode takes the stored pixel values, ignoring an embedded ICC profile (as PIL does)', async () => {
  // A PNG tagged Display P3: colour management would change its numbers, NVIDIA's PIL does not.
  const px = Buffer.alloc(4 * 4 * 3);
  for (let i = 0; i < px.length; i += 3) { px[i] = 200; px[i + 1] = 100; px[i + 2] = 50; }
  const dir = path.join(tmp(), 'in');
  fs.mkdirSync(dir);
  const file = path.join(dir, 'p3.png');
  await sharp(px, { raw: { width: 4, height: 4, channels: 3 } }).withIccProfile('p3', { attach: true }).png().toFile(file);
  const stored = await sharp(file).keepIccProfile().raw().toBuffer();
  const managed = await sharp(file).raw().toBuffer();
  assert.notDeepEqual([...stored.subarray(0, 3)], [...managed.subarray(0, 3)], 'the profile matters for this file');
  const out = path.join(tmp(), 'o');
  await createFromImages(out, dir);
  const img = [...readLevel(openDatasetDir(out).levelFiles[0]!)][0]!;
  assert.deepEqual([img.data[0], img.data[16], img.data[32]], [...stored.subarray(0, 3)]);
});
