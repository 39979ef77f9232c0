// The linear SVM of the LS metric: sklearn.svm.LinearSVC() with NVIDIA-era defaults (C = 1,
// squared hinge loss, L2 penalty, dual = True, tol = 1e-4, max_iter = 1000, intercept through a
// constant feature of 1 that is regularised like the weights, intercept_scaling = 1) — i.e.
// liblinear's solver 1, dual coordinate descent (Hsieh et al. 2008) with random permutations and
// shrinking. No well-kept npm package implements liblinear's linear SVM, hence this file.
// liblinear shuffles with C's rand(); we use a seeded xorshift, so the iterates differ from
// sklearn's but converge to the same optimum (to the tolerance).

export interface LinearSVCOptions {
  C?: number;
  tol?: number;
  maxIter?: number;
  interceptScaling?: number;
  seed?: number;
}

export class LinearSVC {
  private constructor(
    /** Weights per feature; positive decision → class 1. */
    readonly coef: Float64Array,
    readonly intercept: number,
    readonly iterations: number,
    readonly converged: boolean,
  ) {}

  /**
   * Fits X (row-major [n, d]) to binary targets y ∈ {0, 1}. Throws when only one class is
   * present, as sklearn does (NVIDIA's LS then assumes perfect prediction).
   */
  static fit(X: Float32Array | Float64Array, y: ArrayLike<number>, d: number, opts: LinearSVCOptions = {}): LinearSVC {
    const C = opts.C ?? 1, eps = opts.tol ?? 1e-4, maxIter = opts.maxIter ?? 1000, bias = opts.interceptScaling ?? 1;
    const n = y.length;
    if (X.length !== n * d) throw new RangeError(`X has ${X.length} values, expected ${n}×${d}`);
    const sign = new Int8Array(n);
    let pos = 0;
    for (let i = 0; i < n; i++) { sign[i] = y[i] === 1 ? 1 : -1; if (sign[i] === 1) pos++; }
    if (pos === 0 || pos === n) throw new Error('LinearSVC needs samples of both classes');

    const diag = 0.5 / C; // squared hinge: D_ii = 1/(2C), no upper bound on alpha
    const w = new Float64Array(d + 1); // last entry: the bias feature's weight
    const alpha = new Float64Array(n);
    const QD = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = diag + bias * bias;
      for (let j = 0, o = i * d; j < d; j++) s += X[o + j] * X[o + j];
      QD[i] = s;
    }
    const index = Int32Array.from({ length: n }, (_, i) => i);
    let rng = (opts.seed ?? 0) ^ 0x2545f491 | 1;
    const rand = (m: number) => { rng ^= rng << 13; rng ^= rng >>> 17; rng ^= rng << 5; return (rng >>> 0) % m; };
    let activeSize = n, iter = 0, converged = false;
    let PGmaxOld = Infinity, PGminOld = -Infinity;
    while (iter < maxIter) {
      let PGmaxNew = -Infinity, PGminNew = Infinity;
      for (let i = 0; i < activeSize; i++) {
        const j = i + rand(activeSize - i);
        const t = index[i]; index[i] = index[j]; index[j] = t;
      }
      for (let s = 0; s < activeSize; s++) {
        const i = index[s], yi = sign[i], o = i * d;
        let wx = w[d] * bias;
        for (let j = 0; j < d; j++) wx += w[j] * X[o + j];
        const G = yi * wx - 1 + alpha[i] * diag;
        let PG = 0;
        if (alpha[i] === 0) {
          if (G > PGmaxOld) { // shrink: this alpha is likely to stay at its bound
            activeSize--;
            index[s] = index[activeSize]; index[activeSize] = i;
            s--;
            continue;
          } else if (G < 0) PG = G;
        } else PG = G;
        PGmaxNew = Math.max(PGmaxNew, PG);
        PGminNew = Math.min(PGminNew, PG);
        if (Math.abs(PG) > 1e-12) {
          const old = alpha[i];
          alpha[i] = Math.max(old - G / QD[i], 0);
          const step = (alpha[i] - old) * yi;
          for (let j = 0; j < d; j++) w[j] += step * X[o + j];
          w[d] += step * bias;
        }
      }
      iter++;
      if (PGmaxNew - PGminNew <= eps) {
        if (activeSize === n) { converged = true; break; }
        activeSize = n; PGmaxOld = Infinity; PGminOld = -Infinity;
        continue;
      }
      PGmaxOld = PGmaxNew <= 0 ? Infinity : PGmaxNew;
      PGminOld = PGminNew >= 0 ? -Infinity : PGminNew;
    }
    void PGminOld; // liblinear keeps it for the L1-loss bound test; the squared hinge has none
    return new LinearSVC(w.slice(0, d), w[d] * bias, iter, converged);
  }

  decisionFunction(X: Float32Array | Float64Array): Float64Array {
    const d = this.coef.length, n = X.length / d;
    const out = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      let s = this.intercept;
      for (let j = 0; j < d; j++) s += this.coef[j] * X[i * d + j];
      out[i] = s;
    }
    return out;
  }

  /** Class 1 where the decision is positive, else 0 (sklearn: classes_[1] iff decision > 0). */
  predict(X: Float32Array | Float64Array): Uint8Array {
    return Uint8Array.from(this.decisionFunction(X), (v) => (v > 0 ? 1 : 0));
  }
}
