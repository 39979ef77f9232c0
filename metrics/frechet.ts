// The Fréchet distance between two Gaussians fitted to feature sets (FID's last step,
// frechet_inception_distance.py). Everything is float64 JS: the features arrive in float32 from
// the network, but the statistics of 50k×2048 values and the matrix square root need doubles
// to match NumPy/SciPy.
//
//   FID = |μ1 − μ2|² + Tr(Σ1) + Tr(Σ2) − 2·Tr(sqrtm(Σ1·Σ2))
//
// NVIDIA (and pytorch-fid) call scipy.linalg.sqrtm on the non-symmetric product Σ1·Σ2 and take
// the real part. We need only its trace, and the eigenvalues of Σ1·Σ2 equal those of the
// symmetric PSD matrix Lᵀ·Σ2·L for any factor Σ1 = L·Lᵀ, so
//   Tr(sqrtm(Σ1·Σ2)) = Σ sqrt(max(λ_i, 0)),  λ = eig(Lᵀ·Σ2·L),
// with no complex numbers. L comes from a pivoted Cholesky (LAPACK dpstrf's idea), which stops at
// the numerical rank, so rank-deficient covariances (fewer images than feature dimensions) work
// and cost less. The symmetric eigenvalues come from Householder tridiagonalisation + implicit QL.
// All loops run along rows of row-major arrays so a 2048×2048 problem stays cache-friendly.

/** Feature rows accumulated per blocked product. */
const BLOCK = 64;

export interface GaussianStats {
  dim: number;
  /** Number of feature vectors the statistics were computed from. */
  count: number;
  mu: Float64Array;
  /** Unbiased covariance (np.cov(rowvar=False), divisor N − 1), dim×dim row-major. */
  sigma: Float64Array;
}

/**
 * Streaming mean and covariance of feature vectors: keeps a sum and a sum of outer products, so
 * 50,000×2048 features never need to be held. The data are shifted by the first row seen (the
 * "shifted data" algorithm) so that sum-of-squares does not cancel when the mean is large.
 */
export class FeatureStatistics {
  readonly dim: number;
  private n = 0;
  private shift: Float64Array | null = null;
  private readonly sum: Float64Array;
  /** Lower triangle (j ≤ i) of Σ (x − shift)(x − shift)ᵀ, row-major. */
  private readonly sumOuter: Float64Array;
  private readonly block: Float64Array;

  constructor(dim: number) {
    if (!Number.isInteger(dim) || dim <= 0) throw new RangeError(`feature dimension must be a positive integer, got ${dim}`);
    this.dim = dim;
    this.sum = new Float64Array(dim);
    this.sumOuter = new Float64Array(dim * dim);
    this.block = new Float64Array(dim * BLOCK);
  }

  get count(): number { return this.n; }

  /** Adds a minibatch of features, row-major [rows, dim]. */
  append(features: ArrayLike<number>): void {
    const d = this.dim;
    if (features.length % d !== 0) throw new RangeError(`features length ${features.length} is not a multiple of dim ${d}`);
    const rows = features.length / d;
    if (rows === 0) return;
    if (this.shift === null) this.shift = Float64Array.from({ length: d }, (_, j) => features[j]);
    const shift = this.shift, sum = this.sum, xt = this.block;
    // Rows go through in blocks of BLOCK, transposed, so Σ xxᵀ is one cache-friendly product per
    // block instead of one pass over the 32 MB matrix per row.
    for (let r0 = 0; r0 < rows; r0 += BLOCK) {
      const b = Math.min(BLOCK, rows - r0);
      for (let r = 0; r < b; r++) {
        const off = (r0 + r) * d;
        for (let j = 0; j < d; j++) {
          const v = features[off + j] - shift[j];
          xt[j * b + r] = v;
          sum[j] += v;
        }
      }
      gemmNT(xt, d, xt, d, b, this.sumOuter, d, 1, true);
    }
    this.n += rows;
  }

  /** μ and the unbiased Σ of everything appended so far. */
  finalize(): GaussianStats {
    const d = this.dim, n = this.n;
    if (n < 2) throw new RangeError(`need at least 2 feature vectors for a covariance, got ${n}`);
    const shift = this.shift!;
    const meanShifted = this.sum.map((s) => s / n);
    const mu = meanShifted.map((m, j) => m + shift[j]);
    const sigma = new Float64Array(d * d);
    for (let i = 0; i < d; i++) {
      for (let j = 0; j <= i; j++) {
        const c = (this.sumOuter[i * d + j] - n * meanShifted[i] * meanShifted[j]) / (n - 1);
        sigma[i * d + j] = c;
        sigma[j * d + i] = c;
      }
    }
    return { dim: d, count: n, mu, sigma };
  }
}

/** Convenience: statistics of a whole row-major [N, dim] feature array. */
export function featureStatistics(features: ArrayLike<number>, dim: number): GaussianStats {
  const acc = new FeatureStatistics(dim);
  acc.append(features);
  return acc.finalize();
}

export interface FrechetOptions {
  /** Called with a message when a covariance comes from fewer vectors than dimensions. */
  warn?: (message: string) => void;
}

export interface FrechetResult {
  distance: number;
  /** |μ1 − μ2|². */
  meanTerm: number;
  /** Tr(Σ1) + Tr(Σ2) − 2·Tr(sqrtm(Σ1Σ2)). */
  covTerm: number;
  traceSqrt: number;
  /** Numerical rank of Σ1 found by the pivoted Cholesky. */
  rank1: number;
}

/** FID between two Gaussians; see the file comment for the method. */
export function frechetDistance(a: GaussianStats, b: GaussianStats, opts: FrechetOptions = {}): FrechetResult {
  const d = a.dim;
  if (b.dim !== d) throw new RangeError(`feature dimensions differ: ${a.dim} vs ${b.dim}`);
  const warn = opts.warn ?? ((m: string) => process.stderr.write(`warning: ${m}\n`));
  for (const [label, s] of [['first', a], ['second', b]] as const) {
    if (s.count < d) {
      warn(`the ${label} feature set has ${s.count} vectors for ${d} dimensions: its covariance is rank-deficient and FID is biased (NVIDIA uses 50,000 images)`);
    }
  }
  let meanTerm = 0;
  for (let j = 0; j < d; j++) { const t = a.mu[j] - b.mu[j]; meanTerm += t * t; }
  let trace = 0;
  for (let j = 0; j < d; j++) trace += a.sigma[j * d + j] + b.sigma[j * d + j];
  const { value: traceSqrt, rank } = traceSqrtProduct(a.sigma, b.sigma, d);
  const covTerm = trace - 2 * traceSqrt;
  return { distance: meanTerm + covTerm, meanTerm, covTerm, traceSqrt, rank1: rank };
}

/** Tr(sqrtm(A·B)) for symmetric PSD A, B (n×n row-major). */
export function traceSqrtProduct(A: Float64Array, B: Float64Array, n: number): { value: number; rank: number } {
  const { lt, rank } = pivotedCholesky(A, n);
  const M = congruence(lt, rank, B, n);
  const eig = symmetricEigenvalues(M, rank);
  let s = 0;
  for (const l of eig) if (l > 0) s += Math.sqrt(l);
  return { value: s, rank };
}

/**
 * Pivoted Cholesky of a symmetric PSD matrix: returns Lᵀ as `rank` rows of length n (in the
 * original index order) with A ≈ L·Lᵀ. Stops when the largest remaining diagonal falls below
 * n·ε·max(diag(A)), LAPACK dpstrf's default tolerance, i.e. at the numerical rank. Blocked like
 * dpstrf: PANEL pivots are chosen from the running diagonal using only the panel's own rows, then
 * the trailing matrix (kept compacted to the not-yet-pivoted indices) gets one rank-PANEL update.
 */
export function pivotedCholesky(A: Float64Array, n: number): { lt: Float64Array; rank: number } {
  let maxDiag = 0;
  for (let i = 0; i < n; i++) maxDiag = Math.max(maxDiag, A[i * n + i]);
  const tol = n * Number.EPSILON * maxDiag;
  const rows: Float64Array[] = [];
  let W = A.slice();               // trailing matrix, m×m over original indices idx
  let idx = Int32Array.from({ length: n }, (_, i) => i);
  let m = n;
  let stop = false;
  while (m > 0 && !stop) {
    const diag = new Float64Array(m);
    for (let i = 0; i < m; i++) diag[i] = W[i * m + i];
    const done = new Uint8Array(m);
    const panel: Float64Array[] = [];
    const pivs: number[] = [];
    for (let j = 0; j < PANEL && j < m; j++) {
      let piv = -1, best = -Infinity;
      for (let i = 0; i < m; i++) if (!done[i] && diag[i] > best) { best = diag[i]; piv = i; }
      if (piv < 0 || !(best > tol)) { stop = true; break; }
      const row = W.slice(piv * m, (piv + 1) * m);
      for (let k = 0; k < panel.length; k++) {
        const pk = panel[k], f = pk[piv];
        if (f !== 0) for (let i = 0; i < m; i++) row[i] -= f * pk[i];
      }
      done[piv] = 1;
      const ljj = Math.sqrt(best), inv = 1 / ljj;
      for (let i = 0; i < m; i++) {
        if (done[i]) { row[i] = 0; continue; }
        const v = row[i] * inv;
        row[i] = v;
        diag[i] -= v * v;
      }
      row[piv] = ljj;
      panel.push(row);
      pivs.push(piv);
    }
    for (const p of panel) {
      const full = new Float64Array(n);
      for (let i = 0; i < m; i++) full[idx[i]] = p[i];
      rows.push(full);
    }
    if (stop) break;
    // Trailing update W' = W[R,R] − Pᵀ·P over the remaining indices R, with P gathered transposed.
    const R: number[] = [];
    for (let i = 0; i < m; i++) if (!done[i]) R.push(i);
    const mr = R.length, pl = panel.length;
    const pt = new Float64Array(mr * pl);
    for (let a = 0; a < mr; a++) for (let k = 0; k < pl; k++) pt[a * pl + k] = panel[k][R[a]];
    const W2 = new Float64Array(mr * mr);
    for (let a = 0; a < mr; a++) {
      const src = R[a] * m, dst = a * mr;
      for (let b = 0; b <= a; b++) W2[dst + b] = W[src + R[b]];
    }
    gemmNT(pt, mr, pt, mr, pl, W2, mr, -1, true);
    for (let a = 0; a < mr; a++) for (let b = 0; b < a; b++) W2[b * mr + a] = W2[a * mr + b];
    W = W2;
    idx = Int32Array.from(R, (i) => idx[i]);
    m = mr;
  }
  const rank = rows.length;
  const lt = new Float64Array(rank * n);
  rows.forEach((r, k) => lt.set(r, k * n));
  return { lt, rank };
}

/** Pivots per Cholesky panel. */
const PANEL = 32;

/** M = Lᵀ·B·L (r×r, full symmetric storage) from Lᵀ given as r rows of length n. */
function congruence(lt: Float64Array, r: number, B: Float64Array, n: number): Float64Array {
  // Y = Lᵀ·B; B is symmetric, so Y[a][i] = Lᵀ[a]·B[i], a product of rows.
  const Y = new Float64Array(r * n);
  gemmNT(lt, r, B, n, n, Y, n, 1, false);
  const M = new Float64Array(r * r);
  gemmNT(Y, r, lt, r, n, M, r, 1, true);
  for (let a = 0; a < r; a++) for (let b = 0; b < a; b++) M[b * r + a] = M[a * r + b];
  return M;
}

/**
 * C[i·ldc + j] += alpha · P[i]·Q[j] (rows of length len) for i < m, j < nq, or only j ≤ i when
 * lowerOnly. The dot products go in 4×4 register tiles over blocks of QROWS rows of Q, so each
 * loaded value feeds four multiply-adds and the Q block stays in cache across all of P.
 */
export function gemmNT(P: Float64Array, m: number, Q: Float64Array, nq: number, len: number,
  C: Float64Array, ldc: number, alpha: number, lowerOnly: boolean): void {
  for (let j0 = 0; j0 < nq; j0 += QROWS) {
    const j1 = Math.min(nq, j0 + QROWS);
    for (let i = lowerOnly ? j0 : 0; i < m; i += 4) {
      const i4 = Math.min(4, m - i);
      const jEnd = lowerOnly ? Math.min(j1, i + i4) : j1;
      for (let j = j0; j < jEnd; j += 4) {
        const j4 = Math.min(4, jEnd - j);
        if (i4 === 4 && j4 === 4) tile4x4(P, i, Q, j, len, C, ldc, alpha, lowerOnly);
        else {
          for (let a = i; a < i + i4; a++) {
            for (let b = j; b < j + j4; b++) {
              if (lowerOnly && b > a) continue;
              let s = 0;
              const pa = a * len, qb = b * len;
              for (let k = 0; k < len; k++) s += P[pa + k] * Q[qb + k];
              C[a * ldc + b] += alpha * s;
            }
          }
        }
      }
    }
  }
}

const QROWS = 64;

function tile4x4(P: Float64Array, i: number, Q: Float64Array, j: number, len: number,
  C: Float64Array, ldc: number, alpha: number, lowerOnly: boolean): void {
  const p0 = i * len, p1 = p0 + len, p2 = p1 + len, p3 = p2 + len;
  const q0 = j * len, q1 = q0 + len, q2 = q1 + len, q3 = q2 + len;
  let s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
  let s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;
  for (let k = 0; k < len; k++) {
    const a0 = P[p0 + k], a1 = P[p1 + k], a2 = P[p2 + k], a3 = P[p3 + k];
    const b0 = Q[q0 + k], b1 = Q[q1 + k], b2 = Q[q2 + k], b3 = Q[q3 + k];
    s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
    s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
    s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
    s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
  }
  const c0 = i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
  C[c0] += alpha * s00;
  if (!lowerOnly || j + 1 <= i) C[c0 + 1] += alpha * s01;
  if (!lowerOnly || j + 2 <= i) C[c0 + 2] += alpha * s02;
  if (!lowerOnly || j + 3 <= i) C[c0 + 3] += alpha * s03;
  C[c1] += alpha * s10; C[c1 + 1] += alpha * s11;
  if (!lowerOnly || j + 2 <= i + 1) C[c1 + 2] += alpha * s12;
  if (!lowerOnly || j + 3 <= i + 1) C[c1 + 3] += alpha * s13;
  C[c2] += alpha * s20; C[c2 + 1] += alpha * s21; C[c2 + 2] += alpha * s22;
  if (!lowerOnly || j + 3 <= i + 2) C[c2 + 3] += alpha * s23;
  C[c3] += alpha * s30; C[c3 + 1] += alpha * s31; C[c3 + 2] += alpha * s32; C[c3 + 3] += alpha * s33;
}

/**
 * Eigenvalues (ascending) of a symmetric n×n row-major matrix; only the lower triangle is read
 * and the input is overwritten. Householder reduction to tridiagonal form (Numerical Recipes'
 * tred2 ordering, with the symmetric matrix-vector product done row-wise on the lower triangle)
 * followed by the implicit QL iteration with Wilkinson-like shifts (tqli).
 */
export function symmetricEigenvalues(a: Float64Array, n: number): Float64Array {
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  if (n === 0) return d;
  tridiagonalize(a, n, d, e);
  tridiagonalQL(d, e, n);
  return d.sort();
}

/**
 * Reduces the lower triangle of `a` to tridiagonal (d diagonal, e[i] couples i−1 and i).
 * Householder steps from the last row up (tred2's order). Memory traffic dominates at n = 2048,
 * so each step's rank-2 update of rows 0..l−1 is fused with the next step's matrix-vector
 * product: one pass over the lower triangle per step instead of two.
 */
function tridiagonalize(a: Float64Array, n: number, d: Float64Array, e: Float64Array): void {
  let p = new Float64Array(n), pNext = new Float64Array(n);

  /** Householder vector of row i in place (u = a[i][0..i−1]); returns h = uᵀu/2·… or 0 if none. */
  const prepare = (i: number): number => {
    const l = i - 1, ri = i * n;
    if (l === 0) { e[i] = a[ri]; return 0; }
    let scale = 0;
    for (let k = 0; k <= l; k++) scale += Math.abs(a[ri + k]);
    if (scale === 0) { e[i] = a[ri + l]; return 0; }
    // Scaling avoids under/overflow in |u|²; H = I − u·uᵀ/h is unchanged by it.
    let h = 0;
    for (let k = 0; k <= l; k++) { const v = a[ri + k] / scale; a[ri + k] = v; h += v * v; }
    const f = a[ri + l];
    const g = f >= 0 ? -Math.sqrt(h) : Math.sqrt(h);
    e[i] = scale * g;
    h -= f * g;
    a[ri + l] = f - g;
    return h;
  };

  /** out = A_l·u over rows 0..l (lower triangle read by rows), u = row i. */
  const matvec = (i: number, out: Float64Array): void => {
    const l = i - 1, ri = i * n;
    out.fill(0, 0, l + 1);
    for (let j = 0; j <= l; j++) {
      const rj = j * n, uj = a[ri + j];
      let s = a[rj + j] * uj;
      for (let k = 0; k < j; k++) { const v = a[rj + k]; s += v * a[ri + k]; out[k] += v * uj; }
      out[j] += s;
    }
  };

  let i = n - 1;
  let h = i >= 1 ? prepare(i) : 0;
  if (h !== 0) matvec(i, p);
  while (i >= 1) {
    const l = i - 1, ri = i * n;
    let hNext = 0;
    if (h !== 0) {
      // q = p/h − (uᵀp/(2h²))·u, then A_l −= u·qᵀ + q·uᵀ.
      let fu = 0;
      for (let j = 0; j <= l; j++) { p[j] /= h; fu += p[j] * a[ri + j]; }
      const hh = fu / (h + h);
      for (let j = 0; j <= l; j++) p[j] -= hh * a[ri + j];
      // Row l first: the next step's Householder vector comes from it.
      const rl = l * n, ul = a[ri + l], ql = p[l];
      for (let k = 0; k <= l; k++) a[rl + k] -= ul * p[k] + ql * a[ri + k];
      hNext = l >= 1 ? prepare(l) : 0;
      if (hNext !== 0) {
        // Fused: update rows 0..l−1 and accumulate pNext = A_{l−1}·u' with u' = row l.
        pNext.fill(0, 0, l);
        for (let j = 0; j < l; j++) {
          const rj = j * n, uj = a[ri + j], qj = p[j], vj = a[rl + j];
          let s = 0;
          for (let k = 0; k < j; k++) {
            const v = a[rj + k] - (uj * p[k] + qj * a[ri + k]);
            a[rj + k] = v;
            s += v * a[rl + k];
            pNext[k] += v * vj;
          }
          const djj = a[rj + j] - (uj * p[j] + qj * a[ri + j]);
          a[rj + j] = djj;
          pNext[j] += s + djj * vj;
        }
      } else {
        for (let j = 0; j < l; j++) {
          const rj = j * n, uj = a[ri + j], qj = p[j];
          for (let k = 0; k <= j; k++) a[rj + k] -= uj * p[k] + qj * a[ri + k];
        }
      }
    } else {
      hNext = l >= 1 ? prepare(l) : 0;
      if (hNext !== 0) matvec(l, pNext);
    }
    [p, pNext] = [pNext, p];
    h = hNext;
    i = l;
  }
  e[0] = 0;
  for (let k = 0; k < n; k++) d[k] = a[k * n + k];
}

/** Implicit QL on a symmetric tridiagonal matrix; d receives the eigenvalues (unsorted). */
function tridiagonalQL(d: Float64Array, e: Float64Array, n: number): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  for (let l = 0; l < n; l++) {
    let iter = 0;
    let m: number;
    do {
      for (m = l; m < n - 1; m++) {
        const dd = Math.abs(d[m]) + Math.abs(d[m + 1]);
        if (Math.abs(e[m]) <= Number.EPSILON * dd) break;
      }
      if (m !== l) {
        if (iter++ >= 100) throw new Error('symmetricEigenvalues: QL iteration did not converge');
        let g = (d[l + 1] - d[l]) / (2 * e[l]);
        let r = Math.hypot(g, 1);
        g = d[m] - d[l] + e[l] / (g + (g >= 0 ? Math.abs(r) : -Math.abs(r)));
        let s = 1, c = 1, p = 0;
        let i: number;
        for (i = m - 1; i >= l; i--) {
          const f = s * e[i];
          const b = c * e[i];
          r = Math.hypot(f, g);
          e[i + 1] = r;
          if (r === 0) { d[i + 1] -= p; e[m] = 0; break; }
          s = f / r;
          c = g / r;
          g = d[i + 1] - p;
          r = (d[i] - g) * s + 2 * c * b;
          p = s * r;
          d[i + 1] = g + p;
          g = c * r - b;
        }
        if (r === 0 && i >= l) continue;
        d[l] -= p;
        e[l] = g;
        e[m] = 0;
      }
    } while (m !== l);
  }
}
