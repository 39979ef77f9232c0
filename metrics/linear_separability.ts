// Linear separability (linear_separability.py): how well a linear SVM in z or w predicts each of
// the 40 CelebA-HQ attributes that the attribute classifiers see in generated images. This file
// holds the pure scoring (confidence pruning, the 2×2 joint, conditional entropy, 2^ΣH); the
// sampling loop over a generator and the classifiers, and the LinearSVC, come with run_metrics.

/**
 * The num_keep most confident samples: NVIDIA sorts indices by −max(p) with Python's stable
 * sort, so ties keep their original order. probs is [N, 2] row-major softmax([l, −l]).
 */
export function mostConfident(probs: ArrayLike<number>, numKeep: number): number[] {
  const n = probs.length / 2;
  const idx = Array.from({ length: n }, (_, i) => i);
  const conf = idx.map((i) => Math.max(probs[2 * i], probs[2 * i + 1]));
  idx.sort((a, b) => conf[b] - conf[a] || a - b);
  return idx.slice(0, numKeep);
}

/** argmax over [p0, p1] per row; 0 (l > 0) wins ties, as np.argmax returns the first maximum. */
export function argmaxTargets(probs: ArrayLike<number>, indices: number[]): Uint8Array {
  return Uint8Array.from(indices, (i) => (probs[2 * i + 1] > probs[2 * i] ? 1 : 0));
}

/** p[row = svm prediction][col = target] as frequencies (NVIDIA's list comprehension). */
export function jointFrequencies(predictions: ArrayLike<number>, targets: ArrayLike<number>): number[][] {
  const n = targets.length;
  const p = [[0, 0], [0, 0]];
  for (let i = 0; i < n; i++) p[predictions[i]][targets[i]] += 1;
  return p.map((row) => row.map((c) => c / n));
}

function probNormalize(p: number[][]): number[][] {
  const s = p.flat().reduce((a, b) => a + b, 0);
  return p.map((row) => row.map((v) => v / s));
}

/** H(p) in bits over all cells. */
export function entropy(p: number[][]): number {
  let r = 0;
  for (const v of probNormalize(p).flat()) if (v > 0) r -= v * Math.log2(v);
  return r;
}

/** I(X;Y) in bits, X along rows, Y along columns. */
export function mutualInformation(p: number[][]): number {
  const q = probNormalize(p);
  const px = q.map((row) => row.reduce((a, b) => a + b, 0));
  const py = q[0].map((_, y) => q.reduce((a, row) => a + row[y], 0));
  let r = 0;
  for (let x = 0; x < q.length; x++) for (let y = 0; y < q[x].length; y++) {
    const v = q[x][y];
    if (v > 0) r += v * Math.log2(v / (px[x] * py[y]));
  }
  return r;
}

/** H(Y|X) = max(0, H(Y) − I(X;Y)): bits still needed for the target given the SVM's answer. */
export function conditionalEntropy(p: number[][]): number {
  const q = probNormalize(p);
  const py = [q[0].map((_, y) => q.reduce((a, row) => a + row[y], 0))];
  return Math.max(0, entropy(py) - mutualInformation(q));
}

/** The reported score: 2^(Σ over attributes of H(Y|X)) — the paper's exp(Σ H) in nats. */
export function separabilityScore(conditionalEntropies: number[]): number {
  return 2 ** conditionalEntropies.reduce((a, b) => a + b, 0);
}
