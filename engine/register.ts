// The one list of kernel and gradient registrations stylegan-ts adds to tfjs, applied once per process
// by dnnlib/backend.ts after the backend is chosen. Gradients are backend-independent (they are written
// with tf ops), so they are registered for every backend at once.
import * as tf from '@tensorflow/tfjs';
import { comparisonGradConfigs } from './gradients/comparison_grads.ts';
import { conv2DBackpropFilterGradConfig } from './gradients/Conv2DBackpropFilter_grad.ts';

export const ENGINE_GRADIENTS: readonly tf.GradConfig[] = [
  ...comparisonGradConfigs,
  conv2DBackpropFilterGradConfig,
];

let registered = false;

/** Registers the gradients tfjs-core lacks; idempotent, and never replaces one tfjs already has. */
export function registerEngine(): void {
  if (registered) return;
  for (const config of ENGINE_GRADIENTS) {
    if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config);
  }
  registered = true;
}
