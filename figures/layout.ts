// NVIDIA's figure layouts are written for 1024² FFHQ (18 style layers, 9 resolutions). On a network
// of another resolution the canvases scale with the image size, and the layer ranges keep their
// meaning: "coarse" = the first 2 of 9 resolutions (4²–8²), "middle" = the next 2 (16²–32²),
// "fine" = the rest (64²–1024²), as whole resolutions, each at least one (a 32² network has 4
// resolutions: coarse 4², middle 8², fine 16²–32²). At 1024² this is exactly NVIDIA's
// range(0,4) / range(4,8) / range(8,18).

export interface LayerSplit {
  num_layers: number;
  /** First layer after the coarse styles (4 at 1024²). */
  coarse_end: number;
  /** First fine layer (8 at 1024²). */
  middle_end: number;
}

export function layerSplit(num_layers: number): LayerSplit {
  const levels = num_layers / 2;
  let coarse = Math.max(1, Math.round((2 * levels) / 9));
  let middle = Math.max(coarse + 1, Math.round((4 * levels) / 9));
  middle = Math.min(middle, Math.max(levels - 1, 1));
  coarse = Math.min(coarse, middle);
  return { num_layers, coarse_end: 2 * coarse, middle_end: 2 * middle };
}

/** A half-open range of layer indices, like Python's range(a, b). */
export type LayerRange = readonly [number, number];

export const inRange = (i: number, [a, b]: LayerRange) => i >= a && i < b;

/** Scales a pixel coordinate of NVIDIA's 1024² layout to resolution R (rounded). */
export const scale1024 = (x: number, R: number) => Math.round((x * R) / 1024);
