// Probe: `npx tsx scripts/backend_info.ts [--backend B] [--threads N] [--verbose]` initialises the backend
// the way every CLI does, prints the start line, then runs one conv to show the backend computes.
import yargs from 'yargs';
import { hideBin } from 'yargs/helpers';
import * as tf from '@tensorflow/tfjs';
import { runMain, UserError } from '../dnnlib/errors.ts';
import { backendOptions, backendOptionsFrom, initBackend } from '../dnnlib/backend.ts';

runMain(async () => {
  const argv = await yargs(hideBin(process.argv))
    .scriptName('tsx scripts/backend_info.ts')
    .options(backendOptions)
    .example('$0 --backend tensorflow --threads 2', 'fail with one line unless TensorFlow loads')
    .strict()
    .fail((msg, err) => { throw err ?? new UserError(msg, 2); })
    .parse();
  const info = await initBackend(backendOptionsFrom(argv));
  const sum = tf.tidy(() => tf.sum(tf.conv2d(tf.ones([1, 8, 8, 4]) as tf.Tensor4D, tf.ones([3, 3, 4, 2]) as tf.Tensor4D, 1, 'same')).dataSync()[0]);
  // 8x8 'same' 3x3 conv of ones, 4 channels into 2: each output is 4 × (pixels under the kernel):
  // 36 interior pixels see 9, 24 edge pixels 6, 4 corners 4.
  const expected = 2 * 4 * (36 * 9 + 24 * 6 + 4 * 4);
  process.stdout.write(JSON.stringify({ ...info, line: undefined, check: sum === expected ? 'ok' : `conv sum ${sum} != ${expected}` }) + '\n');
});
