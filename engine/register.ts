// The one list of kernel and gradient registrations stylegan-ts adds to tfjs, applied once per process
// by dnnlib/backend.ts after the backend is chosen. Gradients are backend-independent (they are written
// with tf ops), so they are registered for every backend at once; kernels replace a backend's own
// where tfjs 4.22's is wrong, slow, or missing (wasm: engine/wasm/, one kernel a file).
import * as tf from '@tensorflow/tfjs';
import { comparisonGradConfigs } from './gradients/comparison_grads.ts';
import { conv2DBackpropFilterGradConfig } from './gradients/Conv2DBackpropFilter_grad.ts';
import { avgPoolGradGradConfig } from './gradients/AvgPoolGrad_grad.ts';
import { resizeNearestNeighborGradGradConfig } from './gradients/ResizeNearestNeighborGrad_grad.ts';
import { avgPoolGradCpu } from './kernels/cpu/AvgPoolGrad.ts';
import { resizeNearestNeighborGradCpu } from './kernels/cpu/ResizeNearestNeighborGrad.ts';
import { conv2DBackpropInputWasm } from './wasm/Conv2DBackpropInput.ts';
import { conv2DBackpropFilterWasm } from './wasm/Conv2DBackpropFilter.ts';
import { depthwiseConv2dNativeBackpropInputWasm } from './wasm/DepthwiseConv2dNativeBackpropInput.ts';
import { depthwiseConv2dNativeBackpropFilterWasm } from './wasm/DepthwiseConv2dNativeBackpropFilter.ts';
import { unsortedSegmentSumWasm } from './wasm/UnsortedSegmentSum.ts';
import { avgPoolGradWasm } from './wasm/AvgPoolGrad.ts';
import { resizeNearestNeighborGradWasm } from './wasm/ResizeNearestNeighborGrad.ts';

export const ENGINE_GRADIENTS: readonly tf.GradConfig[] = [
  ...comparisonGradConfigs,
  conv2DBackpropFilterGradConfig,
  avgPoolGradGradConfig,
  resizeNearestNeighborGradGradConfig,
];

export const ENGINE_KERNELS: readonly tf.KernelConfig[] = [
  avgPoolGradCpu,
  resizeNearestNeighborGradCpu,
  conv2DBackpropInputWasm,
  conv2DBackpropFilterWasm,
  depthwiseConv2dNativeBackpropInputWasm,
  depthwiseConv2dNativeBackpropFilterWasm,
  unsortedSegmentSumWasm,
  avgPoolGradWasm,
  resizeNearestNeighborGradWasm,
];

/**
 * Registers the gradients tfjs-core lacks (never replacing one it has) and our kernels (replacing the
 * backend's own); idempotent. Called again after a backend package is loaded: importing
 * @tensorflow/tfjs-backend-wasm registers its stock kernels over ours, so a kernel that is not ours is
 * replaced again.
 */
export function registerEngine(): void {
  for (const kernel of ENGINE_KERNELS) {
    const existing = tf.getKernel(kernel.kernelName, kernel.backendName);
    if (existing?.kernelFunc === kernel.kernelFunc) continue;
    if (existing) tf.unregisterKernel(kernel.kernelName, kernel.backendName);
    tf.registerKernel(kernel);
  }
  for (const config of ENGINE_GRADIENTS) {
    if (tf.getGradient(config.kernelName) == null) tf.registerGradient(config);
  }
}
