// NVIDIA's pretrained_example.py: load a generator, print its layers, write one image. With no
// --network it uses the model bundled in models/ (see models/README.md). `npm start` runs it.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runMain } from './dnnlib/errors.ts';
import { finishCli } from './dnnlib/cli.ts';
import { backendOptions, backendOptionsFrom, initBackend } from './dnnlib/backend.ts';
import { parseNumber, parseSeed, runPretrainedExample } from './figures/run.ts';
import { resolveNetworkArg } from './training/network_io.ts';

const PROG = 'pretrained_example.ts';

runMain(async () => {
  const argv = await finishCli(yargs(hideBin(process.argv))
    .scriptName(PROG)
    .usage('Generate one image with a pretrained StyleGAN generator (NVIDIA pretrained_example.py).\n\nUsage: $0 [options]')
    .option('network', { type: 'string', describe: 'a snapshot (.safetensors), an NVIDIA .pkl or an http(s) URL of either; default the bundled model' })
    .option('cache-dir', { type: 'string', default: 'cache', describe: 'where downloaded networks are cached' })
    .option('seed', { type: 'string', default: '5', describe: 'z = RandomState(seed).randn(1, latent_size)' })
    .option('psi', { type: 'string', describe: 'truncation ψ (default 0.7; none for a generator without styles such as gan-mlp or dcgan)' })
    .option('out', { type: 'string', default: 'results/example.png', describe: 'output PNG' })
    .option('randomize-noise', { type: 'boolean', describe: 'random noise like NVIDIA (the default: fine details change per run); --no-randomize-noise uses the stored noise' })
    .option('noise-seed', { type: 'string', describe: 'draw the random noise from RandomState(N): the same image every run' })
    .options(backendOptions)
    .example('$0', 'the bundled model, seed 5, ψ 0.7 → results/example.png')
    .example('$0 --network https://example.org/karras2019stylegan-ffhq-1024x1024.pkl', "NVIDIA's FFHQ face of seed 5 (downloaded once into cache/)")
    .example('$0 --network network-final.safetensors --seed 42 --psi 0.5 --no-randomize-noise', 'a snapshot of yours, repeatable'), PROG, 110).parseAsync();

  // Checked before the backend starts, so a bad flag or path is the only line printed.
  const seed = parseSeed(argv.seed, '--seed')!;
  const noise_seed = parseSeed(argv['noise-seed'], '--noise-seed');
  const truncation_psi = argv.psi === undefined ? undefined : parseNumber(argv.psi, '--psi');
  const network = resolveNetworkArg(argv.network);
  await initBackend(backendOptionsFrom(argv));
  await runPretrainedExample({
    network, cacheDir: argv['cache-dir'], seed, truncation_psi, out: argv.out,
    randomize_noise: argv['randomize-noise'], noise_seed,
  });
});
