// `npm run setup-tensorflow -- [--wheel PATH] [--python PYTHON] [--gpu]`: (re)links a libtensorflow
// into tfjs-node and builds its addon, then prints what it linked. `npm install` runs the same route
// through scripts/postinstall.mjs with --postinstall.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runMain, UserError } from '../dnnlib/errors.ts';
import { projectRoot, setupTensorflow } from './tensorflow/setup.ts';

runMain(async () => {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('npm run setup-tensorflow --')
    .usage('$0 [--wheel PATH] [--python PYTHON] [--gpu]\n\nLinks TensorFlow\'s libtensorflow into @tensorflow/tfjs-node and builds its addon.')
    .option('wheel', { type: 'string', describe: 'a TensorFlow wheel (.whl) to take libtensorflow from' })
    .option('python', { type: 'string', describe: 'a Python whose installed TensorFlow to use' })
    .option('gpu', { type: 'boolean', default: false, describe: 'set up @tensorflow/tfjs-node-gpu on a CUDA 12 TensorFlow (untested here)' })
    .option('postinstall', { type: 'boolean', default: false, hidden: true })
    .example('$0', 'tfjs-node\'s own download, else the cache, else python3\'s TensorFlow, else pip download tensorflow-cpu==2.21.0')
    .example('$0 --wheel ~/Downloads/tensorflow_cpu-2.21.0-cp311-cp311-manylinux_2_27_x86_64.whl', 'use this wheel')
    .example('$0 --gpu --python ~/venv/bin/python', 'GPU: link the TensorFlow of a Python with tensorflow[and-cuda] installed')
    .strict()
    .fail((msg, err) => { throw err ?? new UserError(msg, 2); })
    .help()
    .parse();
  if (argv.wheel != null && argv.python != null) throw new UserError('give --wheel or --python, not both', 2);
  const log = (line: string) => process.stdout.write(`stylegan-ts: ${line}\n`);
  const result = await setupTensorflow({
    root: projectRoot(), wheel: argv.wheel, python: argv.python, gpu: argv.gpu, postinstall: argv.postinstall, log,
  });
  log(result.summary);
  if (!result.ok && !argv.postinstall) process.exitCode = 1;
});
