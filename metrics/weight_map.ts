// Feature-network weights as a plain name → tensor map in the layout their publisher used
// (PyTorch state-dict names such as `Mixed_5b.branch1x1.conv.weight`, OIHW conv kernels), so any
// reader (torch zip, legacy .pth, safetensors, a test generator) can feed the same networks.

import { UserError } from '../dnnlib/errors.ts';

export interface WeightTensor {
  shape: number[];
  data: Float32Array;
}

export type WeightMap = Map<string, WeightTensor>;

/** One entry of a network's published layout: state-dict name and shape. */
export type LayoutEntry = [name: string, shape: number[]];

/** The tensor `name`, checked against the expected shape; a UserError names what is wrong. */
export function takeWeight(weights: WeightMap, name: string, shape: readonly number[], what: string): Float32Array {
  const t = weights.get(name);
  if (!t) throw new UserError(`${what}: weight '${name}' is missing (is this the right weights file?)`);
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new UserError(`${what}: weight '${name}' has shape [${t.shape}], expected [${shape}]`);
  }
  return t.data;
}

/** Names the layout needs that the map lacks (for one clear error listing all of them). */
export function missingWeights(weights: WeightMap, layout: readonly LayoutEntry[]): string[] {
  return layout.filter(([name]) => !weights.has(name)).map(([name]) => name);
}

/** OIHW (PyTorch) → HWIO (TensorFlow) kernel order. */
export function oihwToHwio(w: Float32Array, [o, i, kh, kw]: readonly number[]): Float32Array {
  const out = new Float32Array(w.length);
  for (let a = 0; a < o; a++) for (let b = 0; b < i; b++) for (let y = 0; y < kh; y++) for (let x = 0; x < kw; x++) {
    out[((y * kw + x) * i + b) * o + a] = w[((a * i + b) * kh + y) * kw + x];
  }
  return out;
}
