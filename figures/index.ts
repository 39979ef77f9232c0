// The figures of generate_figures.ts by name: NVIDIA's figures 2, 3, 4, 5 and 8 with their file
// names, each laid out for the network's resolution (see each module and layout.ts).
import { generatorResolution, requireStyles, type AnyGenerator, type NoiseSpec } from './render.ts';
import { drawUncuratedFigure, figure02Config, nvidiaUncuratedConfig, uncuratedCanvasSize } from './uncurated.ts';
import { drawStyleMixingFigure, figure03Config, styleMixingCanvasSize } from './style_mixing.ts';
import { drawNoiseDetailFigure, figure04Config, noiseDetailCanvasSize } from './noise_detail.ts';
import { drawNoiseComponentsFigure, figure05Config, noiseComponentsCanvasSize } from './noise_components.ts';
import { drawTruncationFigure, figure08Config, truncationCanvasSize } from './truncation.ts';

/** The figures generate_figures.ts writes by default: NVIDIA's 2, 3, 4, 5 and 8 (all drawn from FFHQ). */
export const FIGURE_NAMES = ['uncurated', 'style-mixing', 'noise-detail', 'noise-components', 'truncation'] as const;
/** NVIDIA's other uncurated layouts (figures 10–12: bedrooms, cars, cats), on request. */
export const EXTRA_FIGURE_NAMES = ['uncurated-bedrooms', 'uncurated-cars', 'uncurated-cats'] as const;
export type FigureName = (typeof FIGURE_NAMES)[number] | (typeof EXTRA_FIGURE_NAMES)[number];
export const ALL_FIGURE_NAMES: readonly FigureName[] = [...FIGURE_NAMES, ...EXTRA_FIGURE_NAMES];

export interface FigureOptions {
  /**
   * Noise for the figures NVIDIA draws with random noise (uncurated, noise-detail): random by
   * default, seeded with `{ mode: 'random', seed }`. The other figures always use the stored noise.
   */
  noise: NoiseSpec;
  onProgress?: (done: number, total: number) => void;
}

export interface FigureSpec {
  file: string;
  describe: string;
  /** What the figure needs beyond z → image (styles, noise inputs, W); absent = any generator. */
  needs?: string;
  /** Canvas [width, height] for a network of resolution R with num_layers style layers. */
  canvas(R: number, num_layers: number): [number, number];
  draw(Gs: AnyGenerator, opts: FigureOptions): Promise<Buffer>;
}

const resOf = generatorResolution;
/** The style-based generator a style figure draws with (one refusal line for any other). */
const styled = (Gs: AnyGenerator, name: FigureName) => requireStyles(Gs, `figure ${name}`, FIGURES[name].needs!);

export const FIGURES: Record<FigureName, FigureSpec> = {
  'uncurated': {
    file: 'figure02-uncurated.png',
    describe: 'figure 2: uncurated multi-resolution grid, seed 5, Gs defaults (ψ 0.7, random noise)',
    canvas: (R) => uncuratedCanvasSize(figure02Config(R)),
    draw: (Gs, o) => drawUncuratedFigure(Gs, figure02Config(resOf(Gs)), o.noise, o.onProgress),
  },
  'style-mixing': {
    file: 'figure03-style-mixing.png',
    describe: 'figure 3: style mixing, 5 sources × 6 destinations, coarse/middle/fine styles, stored noise',
    needs: 'styles (a mapping network and per-layer dlatents) to mix',
    canvas: (R, L) => styleMixingCanvasSize(figure03Config(R, L)),
    draw: (G, o) => { const Gs = styled(G, 'style-mixing'); return drawStyleMixingFigure(Gs, figure03Config(resOf(Gs), Gs.num_layers), o.onProgress); },
  },
  'noise-detail': {
    file: 'figure04-noise-detail.png',
    describe: 'figure 4: noise detail, 100 noise samples of seeds 1157 and 1012, ψ 1, std-dev map',
    needs: 'per-layer noise inputs to resample',
    canvas: (R) => noiseDetailCanvasSize(figure04Config(R)),
    draw: (G, o) => drawNoiseDetailFigure(styled(G, 'noise-detail'), figure04Config(resOf(G)), o.noise.mode === 'stored' ? { mode: 'random' } : o.noise, o.onProgress),
  },
  'noise-components': {
    file: 'figure05-noise-components.png',
    describe: 'figure 5: noise on all / no / fine / coarse layers, seeds 1967 and 1555, ψ 1, stored noise',
    needs: 'per-layer noise inputs to switch on and off',
    canvas: (R, L) => noiseComponentsCanvasSize(figure05Config(R, L)),
    draw: (G, o) => { const Gs = styled(G, 'noise-components'); return drawNoiseComponentsFigure(Gs, figure05Config(resOf(Gs), Gs.num_layers), o.onProgress); },
  },
  'truncation': {
    file: 'figure08-truncation-trick.png',
    describe: 'figure 8: truncation trick, seeds 91 and 388, ψ = 1, 0.7, 0.5, 0, −0.5, −1 on all layers, stored noise',
    needs: 'a W space and its average (dlatent_avg) to truncate toward',
    canvas: (R) => truncationCanvasSize(figure08Config(R)),
    draw: (G, o) => drawTruncationFigure(styled(G, 'truncation'), figure08Config(resOf(G)), o.onProgress),
  },
  'uncurated-bedrooms': {
    file: 'figure10-uncurated-bedrooms.png',
    describe: 'figure 10 layout: 5 rows, lods 0,0,1,1,2,2,2, seed 0',
    canvas: (R) => uncuratedCanvasSize(nvidiaUncuratedConfig('bedrooms', R)),
    draw: (Gs, o) => drawUncuratedFigure(Gs, nvidiaUncuratedConfig('bedrooms', resOf(Gs)), o.noise, o.onProgress),
  },
  'uncurated-cars': {
    file: 'figure11-uncurated-cars.png',
    describe: 'figure 11 layout: letterbox crop (cy 64, 384 of 512 rows), 4 rows, lods 0,1,2,2,3,3, seed 2',
    canvas: (R) => uncuratedCanvasSize(nvidiaUncuratedConfig('cars', R)),
    draw: (Gs, o) => drawUncuratedFigure(Gs, nvidiaUncuratedConfig('cars', resOf(Gs)), o.noise, o.onProgress),
  },
  'uncurated-cats': {
    file: 'figure12-uncurated-cats.png',
    describe: 'figure 12 layout: 5 rows, lods 0,0,1,1,2,2,2, seed 1',
    canvas: (R) => uncuratedCanvasSize(nvidiaUncuratedConfig('cats', R)),
    draw: (Gs, o) => drawUncuratedFigure(Gs, nvidiaUncuratedConfig('cats', resOf(Gs)), o.noise, o.onProgress),
  },
};
