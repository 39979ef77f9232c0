// Zero gradients for the comparison kernels. tfjs-core registers none, yet LeakyRelu's gradient
// (where(greater(x, 0), dy, alpha * dy)), Maximum's and Relu's put these kernels on the tape of
// the first backward pass; a second-order gradient (R1, WGAN-GP, path length) then stops with
// "gradient function not found for Greater". A comparison is piecewise constant in its inputs,
// so its gradient is zero almost everywhere — which is what TensorFlow and PyTorch use too.
import * as tf from '@tensorflow/tfjs';

export const COMPARISON_KERNELS = ['Greater', 'GreaterEqual', 'Less', 'LessEqual', 'Equal', 'NotEqual'] as const;

function zeroGradConfig(kernelName: string): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['a', 'b'],
    gradFunc: (_dy: tf.Tensor | tf.Tensor[], saved: tf.Tensor[]) => {
      const [a, b] = saved;
      return { a: () => tf.zerosLike(a!), b: () => tf.zerosLike(b!) };
    },
  };
}

export const comparisonGradConfigs: tf.GradConfig[] = COMPARISON_KERNELS.map(zeroGradConfig);
