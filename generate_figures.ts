// NVIDIA's generate_figures.py: the StyleGAN paper's figures 2, 3, 4, 5 and 8 for any network, plus
// the everyday commands `images` (one PNG per seed) and `morph` (a video between seeds).
// Parses flags only; the work is in figures/run.ts.
import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runMain } from './dnnlib/errors.ts';
import { finishCli } from './dnnlib/cli.ts';
import { backendOptions, backendOptionsFrom, initBackend } from './dnnlib/backend.ts';
import { ALL_FIGURE_NAMES, FIGURE_NAMES, FIGURES } from './figures/index.ts';
import { resolveNetworkArg } from './training/network_io.ts';
import {
  parseFigureList, parseNumber, parseSeed, parseSeeds, parseSize, prepareMorph, runFigures, runImages, runMorph,
} from './figures/run.ts';

const PROG = 'generate_figures.ts';

const networkOptions = {
  'network': { type: 'string', describe: 'network: a snapshot (.safetensors), an NVIDIA .pkl or an http(s) URL of either; default the bundled model' },
  'cache-dir': { type: 'string', default: 'cache', describe: 'where downloaded networks are cached' },
  'noise-seed': { type: 'string', describe: 'draw the random noise from RandomState(N): repeatable output' },
} as const;

const withCommon = <T>(y: Argv<T>) => y.options(networkOptions).options(backendOptions);

runMain(async () => {
  let command: 'figures' | 'images' | 'morph' = 'figures';
  const argv = await finishCli(yargs(hideBin(process.argv))
    .scriptName(PROG)
    .usage('Figures of the StyleGAN paper, images per seed and morph videos (NVIDIA generate_figures.py).')
    .command('$0', `write NVIDIA's figures (${FIGURE_NAMES.join(', ')}) into --outdir`, (y) => withCommon(y)
      .option('figures', { type: 'string', describe: `comma-separated (default ${FIGURE_NAMES.join(',')}; uncurated only for a network without styles): ` + ALL_FIGURE_NAMES.map((n) => `${n} (${FIGURES[n].describe})`).join('; ') })
      .option('outdir', { type: 'string', default: 'results', describe: 'output directory' })
      .option('randomize-noise', { type: 'boolean', describe: 'random noise for uncurated (NVIDIA, the default); --no-randomize-noise uses the stored noise. noise-detail always draws random noise; the other figures always use the stored noise' })
      .example(`$0 --network network-final.safetensors`, 'all five figures into results/')
      .example(`$0 --network karras2019stylegan-ffhq-1024x1024.pkl --figures truncation,style-mixing`, "the paper's figures 8 and 3 from NVIDIA's FFHQ network")
      .example(`$0 --figures uncurated --noise-seed 1`, 'figure 2 of the bundled model, repeatable'), () => { command = 'figures'; })
    .command('images', 'one PNG per seed: <outdir>/seedNNNN.png', (y) => withCommon(y)
      .option('seeds', { type: 'string', demandOption: true, describe: 'seeds and ranges, e.g. 0-99,120' })
      .option('psi', { type: 'string', describe: 'truncation ψ (on the network\'s truncation_cutoff layers, 8 by default); default 0.7, none for a network without styles' })
      .option('outdir', { type: 'string', default: 'results/images', describe: 'output directory' })
      .option('randomize-noise', { type: 'boolean', describe: 'random noise instead of the stored noise (the default; then pass --noise-seed to repeat a run)' })
      .example(`$0 images --seeds 0-99,120 --psi 0.7 --outdir results/images`, '101 images')
      .example(`$0 images --network ffhq.pkl --seeds 5 --psi 1`, 'seed 5 without truncation'), () => { command = 'images'; })
    .command('morph', 'a video morphing through two or more seeds', (y) => withCommon(y)
      .option('seeds', { type: 'string', demandOption: true, describe: 'keyframe seeds in order, e.g. 100,860,1200' })
      .option('steps', { type: 'string', default: '60', describe: 'frames per transition between consecutive keyframes' })
      .option('fps', { type: 'string', default: '30', describe: 'frames per second' })
      .option('space', { type: 'string', choices: ['z', 'w'], default: 'z', describe: 'interpolate latents z (then map and truncate) or dlatents w' })
      .option('interp', { type: 'string', choices: ['lerp', 'slerp'], describe: 'interpolation (default slerp in z, lerp in w)' })
      .option('psi', { type: 'string', describe: 'truncation ψ (default 0.5; none for a network without styles)' })
      .option('loop', { type: 'boolean', default: false, describe: 'return to the first seed at the end (a seamless loop)' })
      .option('out', { type: 'string', default: 'results/morph.mp4', describe: 'video file (H.264, yuv420p, mp4)' })
      .option('crf', { type: 'string', default: '18', describe: 'x264 constant rate factor 0–51 (lower = better, bigger)' })
      .option('size', { type: 'string', describe: 'frame size WIDTHxHEIGHT (default the network resolution)' })
      .option('pad-even', { type: 'boolean', default: false, describe: 'pad odd sizes with one black row/column (yuv420p needs even sizes)' })
      .option('frames-dir', { type: 'string', describe: 'write PNG frames into this directory instead of a video (no ffmpeg needed)' })
      .option('ffmpeg', { type: 'string', describe: 'ffmpeg binary (default: FFMPEG_PATH, the system ffmpeg, then @ffmpeg-installer/ffmpeg)' })
      .example(`$0 morph --seeds 100,860,1200 --steps 90 --fps 30 --out results/morph.mp4`, '3 keyframes, 181 frames')
      .example(`$0 morph --seeds 100,860 --space w --loop --frames-dir results/frames`, 'PNG frames of a w-space loop'), () => { command = 'morph'; }), PROG, 110).parseAsync();

  const a = argv as Record<string, unknown>;
  const common = {
    network: a.network as string | undefined,
    cacheDir: a['cache-dir'] as string,
    noise_seed: parseSeed(a['noise-seed'], '--noise-seed'),
  };
  // Everything is checked before the backend starts, so a bad flag or path is the only line printed.
  // Defaults of ψ and noise depend on the network (none apply to one without styles): resolved after loading.
  const randomize_noise = a['randomize-noise'] as boolean | undefined;
  const psi = (flag: string) => (a.psi === undefined ? undefined : parseNumber(a.psi, flag));
  if (command === 'figures') {
    const figures = a.figures === undefined ? undefined : parseFigureList(a.figures);
    const network = resolveNetworkArg(common.network);
    await initBackend(backendOptionsFrom(a));
    await runFigures({ ...common, network, figures, outdir: a.outdir as string, randomize_noise });
  } else if (command === 'images') {
    const seeds = parseSeeds(a.seeds);
    const truncation_psi = psi('--psi');
    const network = resolveNetworkArg(common.network);
    await initBackend(backendOptionsFrom(a));
    await runImages({ ...common, network, seeds, truncation_psi, outdir: a.outdir as string, randomize_noise });
  } else {
    const space = a.space as 'z' | 'w';
    const config = {
      ...common,
      seeds: parseSeeds(a.seeds),
      steps: parseNumber(a.steps, '--steps', { integer: true, min: 1 }),
      fps: parseNumber(a.fps, '--fps', { min: 1, max: 1000 }),
      crf: parseNumber(a.crf, '--crf', { integer: true, min: 0, max: 51 }),
      space,
      interp: (a.interp as 'lerp' | 'slerp' | undefined) ?? (space === 'z' ? 'slerp' : 'lerp'),
      truncation_psi: psi('--psi'),
      loop: a.loop as boolean,
      size: parseSize(a.size),
      pad_even: a['pad-even'] as boolean,
      out: a.out as string,
      framesDir: a['frames-dir'] as string | undefined,
      ffmpeg: a.ffmpeg as string | undefined,
    };
    const ffmpeg = prepareMorph(config);
    const network = resolveNetworkArg(common.network);
    await initBackend(backendOptionsFrom(a));
    const r = await runMorph({ ...config, network }, undefined, ffmpeg);
    process.stdout.write(`wrote ${r.file}: ${r.frames} frames ${r.width}x${r.height}\n`);
  }
});
