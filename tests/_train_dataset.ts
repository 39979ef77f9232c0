// A small generated dataset for the training tests: N images of one bright axis-aligned rectangle on a
// dark background (random position and size from a seeded RandomState), written with dataset_tool's
// library API as NVIDIA's multi-resolution TFRecords.
import { RandomState } from '../dnnlib/random.ts';
import { exportDataset } from '../training/dataset_tool/export.ts';

export async function makeRectDataset(dir: string, opts: { count?: number; resolution?: number; channels?: 1 | 3; seed?: number } = {}): Promise<void> {
  const { count = 256, resolution: R = 16, channels: C = 1, seed = 7 } = opts;
  const rs = new RandomState(seed);
  const images = Array.from({ length: count }, () => {
    const img = new Uint8Array(C * R * R).fill(20);
    const w = rs.randint(R / 4, R / 2 + 1), h = rs.randint(R / 4, R / 2 + 1);
    const x0 = rs.randint(0, R - w + 1), y0 = rs.randint(0, R - h + 1);
    for (let c = 0; c < C; c++) {
      for (let y = y0; y < y0 + h; y++) img.fill(200 + 20 * c, c * R * R + y * R + x0, c * R * R + y * R + x0 + w);
    }
    return img;
  });
  await exportDataset(dir, {
    numImages: count,
    describe: (i) => `rect ${i}`,
    load: (i) => ({ data: images[i]!, shape: [C, R, R] }),
  }, { shuffle: false });
}
