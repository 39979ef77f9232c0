// Main entry point for training StyleGAN and ProGAN networks (NVIDIA's train.py). For now only
// --dry-run: build G and D for one configuration of the paper's Table 1 and print their layer tables.

import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runMain, UserError } from './dnnlib/errors.ts';
import { backendOptions, backendOptionsFrom, initBackend } from './dnnlib/backend.ts';
import { CONFIG_NAMES, NETWORK_CONFIGS, buildNetworks, type ConfigName } from './training/network_configs.ts';

const PROG = 'train.ts';

function positiveInt(flag: string, v: unknown, min = 1): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UserError(`--${flag}: expected a whole number ≥ ${min}, got '${String(v)}'`, 2);
  return n;
}

runMain(async () => {
  const argv = await yargs(hideBin(process.argv))
    .scriptName(PROG)
    .usage('Train StyleGAN / ProGAN networks (NVIDIA train.py).\n\nUsage: $0 --dry-run [options]')
    .option('dry-run', { type: 'boolean', default: false, describe: 'build G and D without data, print their layer tables and exit' })
    .option('config', {
      type: 'string', default: 'f', choices: CONFIG_NAMES as unknown as string[],
      describe: 'network configuration: ' + CONFIG_NAMES.map((c) => `${c} = ${NETWORK_CONFIGS[c].describe}`).join('; '),
    })
    .option('resolution', { type: 'number', default: 1024, describe: 'image resolution (power of two ≥ 4)' })
    .option('num-channels', { type: 'number', default: 3, describe: 'image channels (dataset shape)' })
    .option('label-size', { type: 'number', default: 0, describe: 'label dimensionality, 0 = unconditional' })
    .option('fmap-base', { type: 'number', describe: 'overall multiplier for feature maps (G and D; default 8192)' })
    .option('fmap-max', { type: 'number', describe: 'maximum feature maps per layer (G and D; default 512)' })
    .option('mapping-layers', { type: 'number', describe: 'mapping network depth (G_style; default 8, 0 in configs a/b)' })
    .options(backendOptions)
    .example(`$0 --dry-run`, 'full StyleGAN (config F) at 1024²: prints G (26,219,627 params) and D (23,087,249)')
    .example(`$0 --dry-run --config b --resolution 256`, 'the tuned baseline at 256²')
    .example(`$0 --dry-run --config progan --resolution 128 --num-channels 1`, "ProGAN's G_paper / D_paper")
    .example(`$0 --dry-run --config f --resolution 32 --fmap-max 128 --mapping-layers 2`, 'a small network')
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(`${msg}\nType "${PROG} --help" for usage.`, 2);
    })
    .parseAsync();

  if (!argv['dry-run']) throw new UserError('training is not implemented yet; only --dry-run works for now', 2);

  const resolution = positiveInt('resolution', argv.resolution, 4)!;
  if (!Number.isInteger(Math.log2(resolution))) throw new UserError(`--resolution: expected a power of two, got ${resolution}`, 2);
  const num_channels = positiveInt('num-channels', argv['num-channels'])!;
  const label_size = positiveInt('label-size', argv['label-size'], 0)!;
  const both_args: Record<string, unknown> = {};
  const fmapBase = positiveInt('fmap-base', argv['fmap-base']);
  const fmapMax = positiveInt('fmap-max', argv['fmap-max']);
  if (fmapBase !== undefined) both_args.fmap_base = fmapBase;
  if (fmapMax !== undefined) both_args.fmap_max = fmapMax;
  const G_args: Record<string, unknown> = {};
  const mappingLayers = positiveInt('mapping-layers', argv['mapping-layers'], 0);
  const config = argv.config as ConfigName;
  if (mappingLayers !== undefined) {
    if (config === 'progan') throw new UserError('--mapping-layers: the ProGAN generator has no mapping network', 2);
    G_args.mapping_layers = mappingLayers;
  }

  await initBackend(backendOptionsFrom(argv));
  process.stdout.write('Constructing networks...\n');
  const { G, D } = buildNetworks({ config, num_channels, resolution, label_size, both_args, G_args });
  process.stdout.write(`\n${G.print_layers()}\n\n${D.print_layers()}\n\n`);
  G.dispose();
  D.dispose();
});
