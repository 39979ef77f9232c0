// Feature-network weights as a plain name → tensor map in the layout their publisher used
// (PyTorch state-dict names such as `Mixed_5b.branch1x1.conv.weight`, OIHW conv kernels), so any
// reader (torch zip, legacy .pth, safetensors, a test generator) can feed the same networks.

import { UserError } from '../dnnlib/errors.ts';
import { loadTorchStateDict } from '../dnnlib/torch_file.ts';

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

/**
 * The floating-point tensors of a torch.save'd state dict (zip or legacy format, via
 * dnnlib/torch_file.ts) as a WeightMap in float32; integer entries such as BatchNorm's
 * num_batches_tracked are skipped. Several files (torchvision VGG16 + lpips lin layers) can be
 * merged by passing them in turn with the same `into` map.
 */
export function weightMapFromTorchFile(file: string, into: WeightMap = new Map()): WeightMap {
  for (const [name, t] of loadTorchStateDict(file)) {
    if (t.dtype !== 'float32' && t.dtype !== 'float64' && t.dtype !== 'float16' && t.dtype !== 'bfloat16') continue;
    const data = t.data instanceof Float32Array ? t.data : Float32Array.from(t.data as ArrayLike<number>);
    into.set(name, { shape: [...t.shape], data });
  }
  return into;
}
