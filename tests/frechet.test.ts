import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FeatureStatistics, featureStatistics, frechetDistance, symmetricEigenvalues } from '../metrics/frechet.ts';
import { detUniform, testFeatures, loadFixture } from './fixtures/metrics/det_random.ts';

interface FrechetCase {
  name: string; dim: number; fid: number; fid_scipy: number;
  a: { seed: number; n: number }; b: { seed: number; n: number };
  mu_a_first: number[]; sigma_a_first_row: number[]; sigma_a_trace: number;
}
const ref = loadFixture<{
  det_uniform_check: { seed: number; first: number[] };
  frechet: FrechetCase[];
  eigen: { seed: number; n: number; zero?: number[]; eigenvalues: number[] }[];
}>('reference.json');

const relErr = (a: number, b: number) => Math.abs(a - b) / Math.max(Math.abs(b), 1e-300);

test('det_uniform matches the Python fixture generator bit for bit', () => {
  assert.deepEqual([...detUniform(ref.det_uniform_check.seed, 5)], ref.det_uniform_check.first);
});

test('streaming mean and unbiased covariance match np.mean / np.cov(rowvar=False)', () => {
  const c = ref.frechet[0];
  const x = testFeatures(c.a.seed, c.a.n, c.dim);
  // Appending in uneven minibatches must not change the result.
  const acc = new FeatureStatistics(c.dim);
  let r = 0;
  for (const rows of [1, 7, 100, c.a.n - 108]) { acc.append(x.subarray(r * c.dim, (r + rows) * c.dim)); r += rows; }
  const s = acc.finalize();
  assert.equal(s.count, c.a.n);
  for (let j = 0; j < 4; j++) {
    assert.ok(relErr(s.mu[j], c.mu_a_first[j]) < 1e-13, `mu[${j}]`);
    assert.ok(relErr(s.sigma[j], c.sigma_a_first_row[j]) < 1e-10, `sigma[0,${j}]`);
  }
  let tr = 0;
  for (let j = 0; j < c.dim; j++) tr += s.sigma[j * c.dim + j];
  assert.ok(relErr(tr, c.sigma_a_trace) < 1e-12);
});

test('symmetric eigenvalues match numpy.linalg.eigvalsh', () => {
  for (const c of ref.eigen) {
    const u = detUniform(c.seed, c.n * c.n);
    const a = new Float64Array(c.n * c.n);
    for (let i = 0; i < c.n; i++) for (let j = 0; j < c.n; j++) a[i * c.n + j] = (u[i * c.n + j] + u[j * c.n + i]) * 0.5;
    for (const z of c.zero ?? []) for (let k = 0; k < c.n; k++) { a[z * c.n + k] = 0; a[k * c.n + z] = 0; }
    const ev = symmetricEigenvalues(a, c.n);
    const scale = Math.max(...c.eigenvalues.map(Math.abs));
    for (let i = 0; i < c.n; i++) assert.ok(Math.abs(ev[i] - c.eigenvalues[i]) < 1e-12 * scale, `n=${c.n} λ${i}: ${ev[i]} vs ${c.eigenvalues[i]}`);
  }
});

test('FID matches float64 eigh and scipy.linalg.sqrtm references, including rank-deficient covariances', () => {
  for (const c of ref.frechet) {
    const warnings: string[] = [];
    const a = featureStatistics(testFeatures(c.a.seed, c.a.n, c.dim), c.dim);
    const b = featureStatistics(testFeatures(c.b.seed, c.b.n, c.dim), c.dim);
    const r = frechetDistance(a, b, { warn: (m) => warnings.push(m) });
    if (c.fid === 0) {
      assert.ok(Math.abs(r.distance) < 1e-9, `${c.name}: ${r.distance}`);
    } else {
      assert.ok(relErr(r.distance, c.fid) < 1e-6, `${c.name}: ${r.distance} vs eigh ${c.fid}`);
      assert.ok(relErr(r.distance, c.fid_scipy) < 1e-6, `${c.name}: ${r.distance} vs sqrtm ${c.fid_scipy}`);
    }
    const deficient = c.a.n < c.dim || c.b.n < c.dim;
    assert.equal(warnings.length > 0, deficient, `${c.name}: warnings ${JSON.stringify(warnings)}`);
    if (c.a.n <= c.dim) assert.equal(r.rank1, c.a.n - 1, `${c.name}: numerical rank`);
  }
});

test('FID is symmetric in its arguments and zero for identical statistics', () => {
  const c = ref.frechet[1];
  const a = featureStatistics(testFeatures(c.a.seed, c.a.n, c.dim), c.dim);
  const b = featureStatistics(testFeatures(c.b.seed, c.b.n, c.dim), c.dim);
  const quiet = { warn: () => {} };
  // Rank-deficient: the product has zero eigenvalues that come out as ±1e-16 noise, whose square
  // roots (~1e-8) differ between the two factorings; SciPy's sqrtm shows the same floor.
  assert.ok(relErr(frechetDistance(a, b, quiet).distance, frechetDistance(b, a, quiet).distance) < 1e-7);
  assert.ok(Math.abs(frechetDistance(a, a, quiet).distance) < 1e-9);
});
