// Benchmark of the dataset path: converting a folder of 256² PNGs with create_from_images, and
// reading minibatches back with training/dataset.ts. Each phase runs in its own process so
// its peak RSS is its own (generating the PNGs is not timed and not counted).
//
//   npm run bench -- dataset [--images 2000] [--resolution 256] [--minibatch 32] [--dir DIR]

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { formatBytes, peakRssBytes } from '../dnnlib/util.ts';

const SELF = fileURLToPath(import.meta.url);

const { values } = parseArgs({
  args: process.argv.slice(2),
  options: {
    images: { type: 'string', default: '2000' },
    resolution: { type: 'string', default: '256' },
    minibatch: { type: 'string', default: '32' },
    dir: { type: 'string' },
    phase: { type: 'string' },
  },
});
const numImages = Number(values.images);
const res = Number(values.resolution);
const minibatch = Number(values.minibatch);

/** Synthetic photos: smooth colour gradients plus noise, so PNGs compress like real images. */
async function generate(dir: string): Promise<void> {
  const { default: sharp } = await import('sharp');
  fs.mkdirSync(dir, { recursive: true });
  let seed = 12345;
  const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 255;
  const one = async (i: number) => {
    const px = Buffer.alloc(res * res * 3);
    const a = i % 97, b = (i * 7) % 89;
    for (let y = 0; y < res; y++) for (let x = 0; x < res; x++) {
      const o = (y * res + x) * 3;
      px[o] = (x + a + (rand() & 31)) & 255;
      px[o + 1] = (y + b + (rand() & 31)) & 255;
      px[o + 2] = ((x + y) / 2 + (rand() & 31)) & 255;
    }
    await sharp(px, { raw: { width: res, height: res, channels: 3 } }).png().toFile(path.join(dir, `img${String(i).padStart(6, '0')}.png`));
  };
  for (let i = 0; i < numImages; i += 2) await Promise.all([one(i), i + 1 < numImages ? one(i + 1) : null]);
}

async function convert(imageDir: string, outDir: string) {
  const { createFromImages } = await import('../training/dataset_tool/create_from_images.ts');
  const t0 = performance.now();
  const r = await createFromImages(outDir, imageDir, { shuffle: true });
  const seconds = (performance.now() - t0) / 1000;
  return { images: r.numImages, seconds, peakRss: peakRssBytes() };
}

async function read(outDir: string) {
  const { TFRecordDataset } = await import('../training/dataset.ts');
  // The backend training would use (tensorflow when linked), quietly: this bench prints its own lines.
  const { initBackend } = await import('../dnnlib/backend.ts');
  const info = await initBackend({ print: false });
  const backend = info.fallbackReason ? `${info.backend} (${info.fallbackReason.slice(0, 120)})` : info.backend;
  const d = new TFRecordDataset(outDir, { seed: 1, mirrorAugment: true, shuffleMb: 256 });
  d.configure(minibatch, 0);
  const batches = Math.max(1, Math.floor(numImages / minibatch));
  // uint8 minibatches (the metrics path)
  let t0 = performance.now();
  for (let i = 0; i < batches; i++) await d.getMinibatchNp();
  const npSeconds = (performance.now() - t0) / 1000;
  // float32 [-1,1] tensors with mirror augment (the training path)
  t0 = performance.now();
  for (let i = 0; i < batches; i++) {
    const mb = (await d.getMinibatch())!;
    mb.images.dispose(); mb.labels.dispose();
  }
  const tfSeconds = (performance.now() - t0) / 1000;
  await d.close();
  return { images: batches * minibatch, npSeconds, tfSeconds, peakRss: peakRssBytes(), backend };
}

function child(phase: string, dir: string): Record<string, number> {
  // The work dir goes by environment, not argv: tfjs-node's binary lookup (node-pre-gyp) parses
  // process.argv and takes a `--dir` flag as its own module root, so the addon would not load.
  const r = spawnSync(process.execPath, ['--import', 'tsx', SELF, '--phase', phase,
    '--images', String(numImages), '--resolution', String(res), '--minibatch', String(minibatch)],
  { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, STYLEGAN_BENCH_DIR: dir } });
  if (r.status !== 0) throw new Error(`bench phase ${phase} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!);
}

if (values.phase) {
  const dir = process.env.STYLEGAN_BENCH_DIR ?? values.dir!;
  const imageDir = path.join(dir, 'images'), outDir = path.join(dir, 'bench');
  let result: unknown = {};
  if (values.phase === 'generate') await generate(imageDir);
  else if (values.phase === 'convert') result = await convert(imageDir, outDir);
  else if (values.phase === 'read') result = await read(outDir);
  process.stdout.write(JSON.stringify(result) + '\n');
} else {
  const dir = values.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sgts-bench-dataset-'));
  try {
    process.stdout.write(`dataset bench: ${numImages} PNGs of ${res}x${res} RGB, ${os.cpus().length} cores, in ${dir}\n`);
    const g0 = performance.now();
    if (!fs.existsSync(path.join(dir, 'images'))) child('generate', dir);
    process.stdout.write(`  generated inputs in ${((performance.now() - g0) / 1000).toFixed(1)} s (not timed below)\n`);
    fs.rmSync(path.join(dir, 'bench'), { recursive: true, force: true });
    const c = child('convert', dir);
    process.stdout.write(`  create_from_images: ${(c.images! / c.seconds!).toFixed(1)} images/s (${c.images} images in ${c.seconds!.toFixed(1)} s), peak RSS ${formatBytes(c.peakRss!)}\n`);
    const r = child('read', dir);
    process.stdout.write(`  TFRecordDataset lod 0, minibatch ${minibatch}: getMinibatchNp ${(r.images! / r.npSeconds!).toFixed(0)} images/s, ` +
      `getMinibatch (float32 [-1,1] + mirror, ${r.backend} backend) ${(r.images! / r.tfSeconds!).toFixed(0)} images/s, peak RSS ${formatBytes(r.peakRss!)}\n`);
  } finally {
    if (!values.dir) fs.rmSync(dir, { recursive: true, force: true });
  }
}
