import { test } from 'node:test';
import assert from 'node:assert/strict';
import { LinearSVC } from '../metrics/linear_svc.ts';
import { detUniform, loadFixture } from './fixtures/metrics/det_random.ts';

// sklearn.svm.LinearSVC(dual=True) references from tests/fixtures/make_metrics_svc.py.
const ref = loadFixture<{ cases: { seed: number; n: number; d: number; targets: number[]; coef: number[]; intercept: number; predictions: number[] }[] }>('svc.json');

/** liblinear's primal objective: ½‖(w, b)‖² + C·Σ max(0, 1 − y(w·x + b))², bias regularised. */
function objective(coef: ArrayLike<number>, b: number, X: Float64Array, y: number[], d: number): number {
  let reg = b * b;
  for (let j = 0; j < d; j++) reg += coef[j] * coef[j];
  let loss = 0;
  for (let i = 0; i < y.length; i++) {
    let s = b;
    for (let j = 0; j < d; j++) s += coef[j] * X[i * d + j];
    const m = Math.max(0, 1 - (y[i] === 1 ? 1 : -1) * s);
    loss += m * m;
  }
  return 0.5 * reg + loss;
}

test('LinearSVC reaches sklearn\'s optimum (dual CD, squared hinge, C=1, tol 1e-4)', () => {
  for (const c of ref.cases) {
    const X = detUniform(c.seed, c.n * c.d).map((u) => u * 2);
    const svm = LinearSVC.fit(X, c.targets, c.d);
    const ours = objective(svm.coef, svm.intercept, X, c.targets, c.d);
    const theirs = objective(c.coef, c.intercept, X, c.targets, c.d);
    assert.ok(Math.abs(ours - theirs) / theirs < 1e-3, `objective ${ours} vs sklearn ${theirs}`);
    let diff = 0, norm = 0;
    for (let j = 0; j < c.d; j++) { diff = Math.max(diff, Math.abs(svm.coef[j] - c.coef[j])); norm = Math.max(norm, Math.abs(c.coef[j])); }
    assert.ok(diff / norm < 1e-4, `coef max rel diff ${diff / norm}`);
    const pred = svm.predict(X);
    const agree = c.predictions.filter((p, i) => p === pred[i]).length / c.n;
    assert.ok(agree >= 0.99, `prediction agreement ${agree}`);
  }
});

test('LinearSVC refuses a single class, as sklearn does (LS then assumes perfect prediction)', () => {
  assert.throws(() => LinearSVC.fit(new Float64Array(6), [1, 1, 1], 2), /both classes/);
});
