import { test } from 'node:test';
import assert from 'node:assert/strict';
import { training_schedule, simulateTraining, type TrainingScheduleArgs } from '../training/schedule.ts';

// train.py's default: FFHQ 1024², the -8gpu preset, lod_initial_resolution 8 and the lrate dicts (§3.1).
const lrates = { 128: 0.0015, 256: 0.002, 512: 0.003, 1024: 0.003 };
const FFHQ_8GPU: TrainingScheduleArgs = {
  training_set_resolution_log2: 10,
  num_gpus: 8,
  lod_initial_resolution: 8,
  minibatch_base: 32,
  minibatch_dict: { 4: 512, 8: 256, 16: 128, 32: 64, 64: 32 },
  G_lrate_dict: lrates,
  D_lrate_dict: lrates,
};

test('training_schedule defaults: 4x4 start, minibatch_base, NVIDIA tick_kimg', () => {
  const s = training_schedule(0, { training_set_resolution_log2: 10 });
  assert.deepEqual(s, { kimg: 0, lod: 8, resolution: 4, minibatch: 16, G_lrate: 0.001, D_lrate: 0.001, tick_kimg: 160 });
  // 1000 kimg = phase 0 (0-1200), 400 kimg into the 600 kimg fade: lod = 8 - 400/600.
  const f = training_schedule(1_000_000, { training_set_resolution_log2: 10 });
  assert.equal(f.lod, 8 - 400 / 600);
  assert.equal(f.resolution, 8);
  assert.equal(f.tick_kimg, 140);
});

test('training_schedule matches the FFHQ-1024 8-GPU table of §3.4 row by row', () => {
  // [kimg from, kimg to, lod at start, lod at end, res, minibatch, lrate, tick_kimg]
  const rows: [number, number, number, number, number, number, number, number][] = [
    [0, 600, 7, 7, 8, 256, 0.001, 140],
    [600, 1200, 7, 6, 16, 128, 0.001, 120],
    [1200, 1800, 6, 6, 16, 128, 0.001, 120],
    [1800, 2400, 6, 5, 32, 64, 0.001, 100],
    [2400, 3000, 5, 5, 32, 64, 0.001, 100],
    [3000, 3600, 5, 4, 64, 32, 0.001, 80],
    [3600, 4200, 4, 4, 64, 32, 0.001, 80],
    [4200, 4800, 4, 3, 128, 32, 0.0015, 60],
    [4800, 5400, 3, 3, 128, 32, 0.0015, 60],
    [5400, 6000, 3, 2, 256, 32, 0.002, 40],
    [6000, 6600, 2, 2, 256, 32, 0.002, 40],
    [6600, 7200, 2, 1, 512, 32, 0.003, 30],
    [7200, 7800, 1, 1, 512, 32, 0.003, 30],
    [7800, 8400, 1, 0, 1024, 32, 0.003, 20],
    [8400, 25000, 0, 0, 1024, 32, 0.003, 20],
  ];
  for (const [from, to, lod0, lod1, res, mb, lr, tick] of rows) {
    // Probe just after the start, the middle and just before the end of each row.
    for (const kimg of [from + 0.001, (from + to) / 2, to - 0.001]) {
      const s = training_schedule(Math.round(kimg * 1000), FFHQ_8GPU);
      const where = `kimg ${kimg}`;
      const frac = (kimg - from) / (to - from);
      const expectedLod = lod0 === lod1 ? lod0 : lod0 - frac; // linear fade over the 600 kimg
      assert.ok(Math.abs(s.lod - expectedLod) < 1e-9, `${where}: lod ${s.lod} != ${expectedLod}`);
      assert.equal(s.resolution, res, where);
      assert.equal(s.minibatch, mb, where);
      assert.equal(s.G_lrate, lr, where);
      assert.equal(s.D_lrate, lr, where);
      assert.equal(s.tick_kimg, tick, where);
    }
  }
  // Exactly at a fade's end the new lod is an integer and the resolution is already the new one.
  assert.deepEqual([training_schedule(1_200_000, FFHQ_8GPU).lod, training_schedule(1_200_000, FFHQ_8GPU).resolution], [6, 16]);
  assert.equal(training_schedule(900_000, FFHQ_8GPU).lod, 6.5);
});

test('training_schedule: minibatch rounding to num_gpus, per-GPU cap, lrate ramp-up, no growing', () => {
  const base = { training_set_resolution_log2: 8, lod_initial_resolution: 256 };
  // 30 - 30 % 4 = 28; then the per-GPU cap 5*4 = 20 applies at the current resolution only.
  assert.equal(training_schedule(0, { ...base, num_gpus: 4, minibatch_base: 30 }).minibatch, 28);
  assert.equal(training_schedule(0, { ...base, num_gpus: 4, minibatch_base: 30, max_minibatch_per_gpu: { 256: 5 } }).minibatch, 20);
  assert.equal(training_schedule(0, { ...base, num_gpus: 4, minibatch_base: 30, max_minibatch_per_gpu: { 128: 5 } }).minibatch, 28);
  // Ramp-up multiplies both rates by min(kimg / rampup, 1).
  const r = training_schedule(250_000, { ...base, lrate_rampup_kimg: 1000, G_lrate_base: 0.002, D_lrate_base: 0.004 });
  assert.equal(r.G_lrate, 0.002 * 0.25);
  assert.equal(r.D_lrate, 0.004 * 0.25);
  assert.equal(training_schedule(2_000_000, { ...base, lrate_rampup_kimg: 1000 }).G_lrate, 0.001);
  // -nogrowing: lod_initial_resolution 1024, training/transition 0/0 (phase_dur 0) -> lod 0 throughout.
  const ng = training_schedule(5_000_000, { training_set_resolution_log2: 10, lod_initial_resolution: 1024, lod_training_kimg: 0, lod_transition_kimg: 0 });
  assert.equal(ng.lod, 0);
  assert.equal(ng.resolution, 1024);
  // tick_kimg falls back to tick_kimg_base for resolutions missing from the dict.
  assert.equal(training_schedule(0, { ...base, tick_kimg_dict: {}, tick_kimg_base: 7 }).tick_kimg, 7);
});

test('simulateTraining on a hand-counted toy run', () => {
  // lod stays 0; 4 minibatches of 16 per iteration = 64 images; a tick every 1 kimg; 2 kimg total.
  // Tick 1 ends at 16*64 = 1024 images, tick 2 (done) at 32*64 = 2048.
  const s = simulateTraining(2, { training_set_resolution_log2: 2, tick_kimg_dict: {}, tick_kimg_base: 1 });
  assert.equal(s.iterations, 32);
  assert.equal(s.D_steps, 128);
  assert.equal(s.G_steps, 128);
  assert.equal(s.optimizer_resets, 1); // only the initial one (prev_lod starts at -1)
  assert.deepEqual(s.ticks.map((t) => [t.tick, t.kimg, t.tick_kimg, t.done]), [[1, 1.024, 1.024, false], [2, 2.048, 1.024, true]]);
  assert.deepEqual(s.network_snapshot_kimg, [1, 2]);
  assert.deepEqual(s.image_snapshot_kimg, [1, 2]);
  // D_repeats multiplies D steps and images per iteration, not G steps.
  const d2 = simulateTraining(2, { training_set_resolution_log2: 2, tick_kimg_dict: {}, tick_kimg_base: 1 }, { D_repeats: 2 });
  assert.equal(d2.iterations, 16);
  assert.equal(d2.D_steps, 128);
  assert.equal(d2.G_steps, 64);
  // Resume: starts counting at resume_kimg, so only the 2nd kimg remains.
  const rs = simulateTraining(2, { training_set_resolution_log2: 2, tick_kimg_dict: {}, tick_kimg_base: 1 }, { resume_kimg: 1 });
  assert.equal(rs.iterations, 16);
  assert.equal(rs.ticks.length, 1);
});

test('simulateTraining reproduces the FFHQ-1024 8-GPU totals of §3.4', () => {
  const s = simulateTraining(25000, FFHQ_8GPU);
  assert.equal(s.ticks.length, 988);
  assert.equal(s.D_steps, 717_968);
  assert.equal(s.G_steps, 717_968);
  assert.equal(s.optimizer_resets, 15);
  // Resets: at the start, then at the first iteration of every fade and of every stable phase after it.
  assert.equal(s.reset_nimg[0], 0);
  assert.equal(s.reset_nimg[1], 600_064); // 600,000 is not a multiple of 4*256, so the fade starts at 600,064
  assert.equal(s.reset_nimg[14], 8_400_000);
  assert.equal(s.network_snapshot_kimg.length, 100);
  assert.deepEqual(s.network_snapshot_kimg.slice(0, 9), [140, 1283, 2364, 3285, 4085, 4705, 5306, 5726, 6127]);
  assert.deepEqual(s.network_snapshot_kimg.slice(-2), [24841, 25000]);
  assert.equal(s.image_snapshot_kimg.length, 988);
  // From 8,400,000 on, each iteration shows 4*32 = 128 images: 16,600,000 / 128 = 129,687.5, so it overshoots by 64.
  assert.equal(s.final_nimg, 25_000_064);
  assert.equal(s.ticks.at(-1)!.done, true);
  // Without reset_opt_for_new_lod (-noreset) there are none.
  assert.equal(simulateTraining(1300, FFHQ_8GPU, { reset_opt_for_new_lod: false }).optimizer_resets, 0);
});
