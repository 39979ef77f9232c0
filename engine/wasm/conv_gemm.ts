// Conv gradients as XNNPACK matmuls on the wasm heap, in the orientation its fully-connected operator
// handles at full speed: out[M,N] = A[M,K]·B[K,N], A read in place, B repacked per call (cost ∝ K·N),
// no transposes. Filter-shaped outputs come out in TF's [kh, kw, Ci, Co] layout directly.
//
// filterGradGrid (stride 1): dW[a,b,ci,co] = Σ_{n,i,j} x[n, i+a-pt, j+b-pl, ci] · dy[n,i,j,co]. Lay x out
// channel-major on a zero-bordered grid (rows of W + z pixels, images of H + zr rows, z/zr the larger
// horizontal/vertical padding) and dy on the same grid (pixel-major); then tap (a,b) is a fixed
// offset a·Wg + b on the grid, so A_t is the *same buffer* seen from a shifted start: nine matmuls
// [Ci, K]·[K, Co] sharing one packed B, with no patch matrix at all. Reads that cross into a
// neighbouring channel's block land on that block's zero border (or are multiplied by dy's zero
// border), so they contribute nothing. Extra work: K = N·Hg·Wg instead of N·Ho·Wo (3% at 64², 6% at 32²).
//
// filterGradPatches (any stride): the same sum with an explicit patch matrix A = [(a,b,ci), (n,i,j)]
// and B = dy as it is; one matmul. For small images, where the grid's border would cost more than the
// copies (8²: 27%, 4²: 56%).
//
// inputGradPatches (stride 1): dx[n,r,c,ci] = Σ_{a,b,co} W[a,b,ci,co] · dy[n, r+pt-a, c+pl-b, co] as
// dxᵀ[Ci, P] = A[Ci, (a,b,co)] · B[(a,b,co), P]: A is W with its two outer axes swapped (runs of Co
// floats, memcpy), B dy's transposed-conv patches; XNNPACK repacks only B (9× dy), never the filter.
// For small images with wide filters (4², 8² at 512 channels), where a forward conv over a fresh
// rotated filter spends more on rotating and repacking 3·3·512·512 weights than on the products.
import * as tf from '@tensorflow/tfjs';
import { allocate, heapF32, indexOf, matmulIds, withAliases } from './heap.ts';
import { fromChannelMajor, patchRows, toChannelMajor } from './layout.ts';

export interface ConvGeometry {
  n: number; h: number; w: number; ci: number;   // x
  ho: number; wo: number; co: number;            // dy
  kh: number; kw: number; sh: number; sw: number;
  top: number; left: number; bottom: number; right: number;
}

export function geometryOf(xShape: number[], filterShape: number[], info: tf.backend_util.Conv2DInfo): ConvGeometry {
  const [n, h, w, ci] = xShape as [number, number, number, number];
  return {
    n, h, w, ci, ho: info.outHeight, wo: info.outWidth, co: filterShape[3]!,
    kh: info.filterHeight, kw: info.filterWidth, sh: info.strideHeight, sw: info.strideWidth,
    top: info.padInfo.top, left: info.padInfo.left, bottom: info.padInfo.bottom, right: info.padInfo.right,
  };
}

/** The zero-bordered grid filterGradGrid lays both tensors on, or null where it does not fit. */
export function gradGrid(g: ConvGeometry): { wg: number; hg: number; k: number; overhead: number } | null {
  if (g.sh !== 1 || g.sw !== 1) return null;
  const wg = g.w + Math.max(g.left, g.right, 0), hg = g.h + Math.max(g.top, g.bottom, 0);
  if (g.wo > wg || g.ho > hg) return null;
  const k = g.n * hg * wg;
  return { wg, hg, k, overhead: k / (g.n * g.ho * g.wo) };
}

export function filterGradGrid(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const grid = gradGrid(g);
  if (grid == null) throw new Error('filterGradGrid: stride 1 and outputs within the padded grid only');
  const { wg, hg, k } = grid;
  const front = g.top * wg + g.left;                                   // grid index of output (0,0)'s tap (0,0), negated
  const back = Math.max(0, (g.kh - 1 - g.top) * wg + (g.kw - 1 - g.left));
  const xg = allocate([front + g.ci * k + back]);
  const dyg = allocate([k, g.co]);
  const out = allocate([g.kh, g.kw, g.ci, g.co]);
  const heap = heapF32();
  const x0 = indexOf(x), dy0 = indexOf(dy), xg0 = indexOf(xg), dyg0 = indexOf(dyg), out0 = indexOf(out);
  // Only the borders are zeroed: every other slot is written by the copies (a full fill first would
  // be two more passes over dy-sized buffers on the one JS thread, while XNNPACK's threads wait).
  heap.fill(0, xg0, xg0 + front);
  heap.fill(0, xg0 + front + g.ci * k, xg0 + xg.size);
  for (let ci = 0; ci < g.ci; ci++) {
    for (let ni = 0; ni < g.n; ni++) {
      const img = xg0 + front + ci * k + ni * hg * wg;
      if (wg > g.w) for (let r = 0; r < g.h; r++) heap.fill(0, img + r * wg + g.w, img + (r + 1) * wg);
      heap.fill(0, img + g.h * wg, img + hg * wg);
    }
  }
  for (let ni = 0; ni < g.n; ni++) {
    toChannelMajor(heap, x0 + ni * g.h * g.w * g.ci, g.h, g.w, g.ci, xg0 + front + ni * hg * wg, k, wg);
  }
  const rowLen = g.wo * g.co;
  for (let ni = 0; ni < g.n; ni++) {
    for (let i = 0; i < hg; i++) {
      const d = dyg0 + (ni * hg + i) * wg * g.co;
      if (i >= g.ho) { heap.fill(0, d, d + wg * g.co); continue; }
      const s = dy0 + (ni * g.ho + i) * rowLen;
      heap.copyWithin(d, s, s + rowLen);
      heap.fill(0, d + rowLen, d + wg * g.co);
    }
  }
  const taps = g.kh * g.kw;
  const ranges = [{ index: dyg0, size: k * g.co }];
  for (let a = 0; a < g.kh; a++) {
    for (let b = 0; b < g.kw; b++) ranges.push({ index: xg0 + a * wg + b, size: g.ci * k });
  }
  for (let t = 0; t < taps; t++) ranges.push({ index: out0 + t * g.ci * g.co, size: g.ci * g.co });
  withAliases(ranges, (ids) => {
    for (let t = 0; t < taps; t++) matmulIds(ids[1 + t]!, ids[0]!, ids[1 + taps + t]!, g.ci, k, g.co);
  });
  tf.dispose([xg, dyg]);
  return out as tf.Tensor4D;
}

/** Channel-major copy [C, N, H, W] of an NHWC tensor. */
function channelMajor(t: tf.Tensor4D): tf.Tensor {
  const [n, h, w, c] = t.shape;
  const out = allocate([c, n, h, w]);
  toChannelMajor(heapF32(), indexOf(t), n * h, w, c, indexOf(out), n * h * w, w);
  return out;
}

export function filterGradPatches(x: tf.Tensor4D, dy: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  const p = g.n * g.ho * g.wo, m = g.kh * g.kw * g.ci;
  const xT = channelMajor(x);
  const patches = allocate([m, p]);
  const out = allocate([g.kh, g.kw, g.ci, g.co]);
  const heap = heapF32();
  patchRows(heap, indexOf(xT), {
    n: g.n, h: g.h, w: g.w, channels: g.ci, kh: g.kh, kw: g.kw, sh: g.sh, sw: g.sw,
    top: -g.top, left: -g.left, dirH: 1, dirW: 1, outH: g.ho, outW: g.wo,
  }, indexOf(patches));
  withAliases([{ index: indexOf(patches), size: m * p }, { index: indexOf(dy), size: p * g.co }, { index: indexOf(out), size: m * g.co }],
    ([a, b, o]) => matmulIds(a!, b!, o!, m, p, g.co));
  tf.dispose([xT, patches]);
  return out as tf.Tensor4D;
}

export function inputGradPatches(dy: tf.Tensor4D, filter: tf.Tensor4D, g: ConvGeometry): tf.Tensor4D {
  if (g.sh !== 1 || g.sw !== 1) throw new Error('inputGradPatches: stride 1 only');
  const p = g.n * g.h * g.w, taps = g.kh * g.kw, kdim = taps * g.co;
  const dyT = channelMajor(dy);
  const wT = allocate([g.ci, kdim]);
  const patches = allocate([kdim, p]);
  const dxT = allocate([g.ci, p]);
  const dx = allocate([g.n, g.h, g.w, g.ci]);
  const heap = heapF32();
  // wT[ci, (t, co)] = W[t, ci, co]
  const w0 = indexOf(filter), wT0 = indexOf(wT);
  for (let ci = 0; ci < g.ci; ci++) {
    for (let t = 0; t < taps; t++) {
      const s = w0 + (t * g.ci + ci) * g.co;
      heap.copyWithin(wT0 + (ci * taps + t) * g.co, s, s + g.co);
    }
  }
  patchRows(heap, indexOf(dyT), {
    n: g.n, h: g.ho, w: g.wo, channels: g.co, kh: g.kh, kw: g.kw, sh: 1, sw: 1,
    top: g.top, left: g.left, dirH: -1, dirW: -1, outH: g.h, outW: g.w,
  }, indexOf(patches));
  withAliases([{ index: wT0, size: g.ci * kdim }, { index: indexOf(patches), size: kdim * p }, { index: indexOf(dxT), size: g.ci * p }],
    ([a, b, o]) => matmulIds(a!, b!, o!, g.ci, kdim, p));
  // The matmul allocates (packed weights): take the heap view again in case that grew the memory.
  fromChannelMajor(heapF32(), indexOf(dxT), p, g.w, g.n * g.h, g.w, g.ci, indexOf(dx));
  tf.dispose([dyT, wT, patches, dxT]);
  return dx as tf.Tensor4D;
}
