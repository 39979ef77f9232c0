// Layout changes on the wasm heap for the conv-gradient matmuls (engine/wasm/conv_gemm.ts), written
// as plain JS loops over heapF32() (engine/wasm/heap.ts): wasm's Transpose kernel is a scalar loop at
// ~9 ns/element, these run at ~1–3 ns/element and write straight into the layout the matmul reads.

/**
 * Transposes `rows` rows of `width` pixels × `channels` (NHWC order, row ρ at src + ρ·width·channels)
 * to channel-major: pixel (ρ, c), channel ci goes to dst + ci·chanStride + ρ·rowStride + c.
 */
export function toChannelMajor(heap: Float32Array, src: number, rows: number, width: number, channels: number, dst: number, chanStride: number, rowStride: number): void {
  const B = 16;
  for (let r = 0; r < rows; r++) {
    const srow = src + r * width * channels, drow = dst + r * rowStride;
    for (let c0 = 0; c0 < channels; c0 += B) {
      const c1 = Math.min(c0 + B, channels);
      for (let p = 0; p < width; p++) {
        let s = srow + p * channels + c0, d = drow + c0 * chanStride + p;
        for (let ci = c0; ci < c1; ci++, s++, d += chanStride) heap[d] = heap[s]!;
      }
    }
  }
}

/**
 * Channel-major [channels, rows, width] (row ρ of channel ci at src + ci·chanStride + ρ·rowStride) back
 * to NHWC-ordered pixels at dst: the inverse of toChannelMajor.
 */
export function fromChannelMajor(heap: Float32Array, src: number, chanStride: number, rowStride: number, rows: number, width: number, channels: number, dst: number): void {
  const B = 16;
  for (let r = 0; r < rows; r++) {
    const drow = dst + r * width * channels, srow = src + r * rowStride;
    for (let c0 = 0; c0 < channels; c0 += B) {
      const c1 = Math.min(c0 + B, channels);
      for (let p = 0; p < width; p++) {
        let d = drow + p * channels + c0, s = srow + c0 * chanStride + p;
        for (let ci = c0; ci < c1; ci++, d++, s += chanStride) heap[d] = heap[s]!;
      }
    }
  }
}

/** Geometry of one correlation window pass (stride, padding, sizes) for patchRows. */
export interface PatchGeometry {
  n: number; h: number; w: number; channels: number; // the channel-major source [channels, n, h, w]
  kh: number; kw: number; sh: number; sw: number;
  /** Offsets such that output (i, j), tap (a, b) reads source row i·sh + a·dirH + top, col j·sw + b·dirW + left. */
  top: number; left: number; dirH: 1 | -1; dirW: 1 | -1;
  outH: number; outW: number;
}

/**
 * Patch matrix [(a, b, ci), (n, i, j)] = src[ci, n, row, col] with row = top + i·sh + dirH·a and
 * col = left + j·sw + dirW·b, zero outside the source. With dir = +1 these are im2col's patches of a
 * correlation (the filter gradient); with dir = -1, the transposed conv's (the input gradient).
 * Written contiguously from dst.
 */
export function patchRows(heap: Float32Array, src: number, g: PatchGeometry, dst: number): void {
  // Rows of 4 pixels are copied faster one by one than as blocks with their edges zeroed after.
  if (g.sh === 1 && g.sw === 1 && g.outW === g.w && g.w >= 8) { patchBlocks(heap, src, g, dst); return; }
  const { n, h, w, channels, kh, kw, sh, sw, top, left, dirH, dirW, outH, outW } = g;
  let o = dst;
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const c0 = left + dirW * b;
      // Output columns whose source column lies inside [0, w).
      const jLo = c0 >= 0 ? 0 : Math.ceil(-c0 / sw);
      const jHi = Math.min(outW, c0 >= w ? 0 : Math.floor((w - 1 - c0) / sw) + 1);
      for (let ci = 0; ci < channels; ci++) {
        for (let ni = 0; ni < n; ni++) {
          const plane = src + (ci * n + ni) * h * w;
          for (let i = 0; i < outH; i++) {
            const r = top + i * sh + dirH * a;
            if (r < 0 || r >= h || jHi <= jLo) { heap.fill(0, o, o + outW); o += outW; continue; }
            const row = plane + r * w + c0;
            let j = 0;
            for (; j < jLo; j++) heap[o++] = 0;
            if (sw === 1) for (; j < jHi; j++) heap[o++] = heap[row + j]!;
            else for (; j < jHi; j++) heap[o++] = heap[row + j * sw]!;
            for (; j < outW; j++) heap[o++] = 0;
          }
        }
      }
    }
  }
}

/**
 * patchRows for stride 1 when output rows are as wide as source rows ('same' convs): each (tap,
 * channel, image) block of rows is one memmove of the source plane shifted by the tap's offset, then
 * the columns that wrapped around a row edge and the rows outside the plane are zeroed: ~3× faster
 * than copying row by row at 8- and 16-pixel rows (3.5 vs 9.5 ms for 3x3x512 taps of 8x8x8 images).
 */
function patchBlocks(heap: Float32Array, src: number, g: PatchGeometry, dst: number): void {
  const { n, h, w, channels, kh, kw, top, left, dirH, dirW, outH } = g;
  const block = outH * w;
  let o = dst;
  for (let a = 0; a < kh; a++) {
    const rOff = top + dirH * a;                                  // source row of output row i: i + rOff
    const iLo = Math.max(0, -rOff), iHi = Math.max(iLo, Math.min(outH, h - rOff));
    for (let b = 0; b < kw; b++) {
      const c0 = left + dirW * b;                                 // source col of output col j: j + c0
      const zLo = Math.min(w, Math.max(0, -c0)), zHi = Math.max(0, Math.min(w, w - c0));
      for (let ci = 0; ci < channels; ci++) {
        for (let ni = 0; ni < n; ni++, o += block) {
          const plane = src + (ci * n + ni) * h * w;
          if (iLo > 0) heap.fill(0, o, o + iLo * w);
          if (iHi < outH) heap.fill(0, o + iHi * w, o + block);
          if (iHi === iLo) continue;
          // Rows iLo..iHi-1 in one move, clamped to this plane; what fell outside it is zeroed below.
          let s0 = plane + (iLo + rOff) * w + c0, d0 = o + iLo * w, len = (iHi - iLo) * w;
          if (s0 < plane) { heap.fill(0, d0, d0 + plane - s0); len -= plane - s0; d0 += plane - s0; s0 = plane; }
          const over = s0 + len - (plane + h * w);
          if (over > 0) { heap.fill(0, d0 + len - over, d0 + len); len -= over; }
          if (len > 0) heap.copyWithin(d0, s0, s0 + len);
          if (zLo > 0 || zHi < w) {
            for (let i = iLo; i < iHi; i++) {
              const row = o + i * w;
              for (let j = 0; j < zLo; j++) heap[row + j] = 0;
              for (let j = zHi; j < w; j++) heap[row + j] = 0;
            }
          }
        }
      }
    }
  }
}
