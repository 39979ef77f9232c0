// The CelebA-HQ attribute classifiers of the LS metric (celebahq-classifier-NN-<attr>.pkl):
// single NVIDIA TF Networks. Per the paper's appendix they are ProGAN discriminators without
// minibatch-stddev, trained on 256² CelebA-HQ with one output logit, so we rebuild them with
// training/networks_progan.ts's D_paper from the pickle's own build_func_name and static_kwargs
// and copy the variables by name. [uncertain: the pickles were not available offline; their
// build_func_name and kwargs (expected 'D_paper' or a module path ending in it, num_channels 3,
// resolution 256) are checked at load time and anything else is a clear UserError.]
// NVIDIA's loader rebuilds a network with the defaults of the module source pickled inside the
// file, which may be ProGAN's own (fused_scale False, mbstd_group_size 4) or StyleGAN's
// networks_progan.py (fused_scale True). So a kwarg the pickle does not state is read off its
// variables: `<r>/Conv1` layers mean fused_scale False, a 4x4/Conv taking nf(1) channels (not
// nf(1) + 1) means no minibatch-stddev.
// LS feeds them the generator's images box-downsampled to 256², in [−1, 1], NCHW, and reads the
// first output ([N, 1]) as the logit l; p = softmax([l, −l]).

import * as tf from '@tensorflow/tfjs';
import { UserError } from '../dnnlib/errors.ts';
import { loadNetworkPickle, type NetworkState } from '../dnnlib/pickle.ts';
import { D_paper } from '../training/networks_progan.ts';
import { loadVariables } from '../training/network_import.ts';
import type { AttributeClassifier } from './linear_separability.ts';

export interface LoadedClassifier {
  classify: AttributeClassifier;
  net: D_paper;
  dispose(): void;
}

/** Rebuilds one attribute classifier from its network state (a parsed single-Network pickle). */
export function classifierFromState(state: NetworkState, file = 'classifier.pkl'): LoadedClassifier {
  if (!/(^|\.)D_paper$/.test(state.build_func_name)) {
    throw new UserError(`${file}: built by '${state.build_func_name}'; attribute classifiers are expected to be ProGAN D_paper networks`);
  }
  const net = new D_paper(classifierKwargs(state), { name: state.name, initialize: false });
  try {
    loadVariables(net, state, { strict: true, file });
  } catch (err) {
    net.dispose();
    throw err;
  }
  return {
    net,
    classify: (images: tf.Tensor4D) => tf.tidy(() => {
      const scores = net.run(images, null);
      if (scores.shape[1] !== 1) throw new UserError(`${file}: expected one logit per image, got ${scores.shape[1]}`);
      return scores.dataSync() as Float32Array;
    }),
    dispose: () => net.dispose(),
  };
}

/** static_kwargs, plus fused_scale / mbstd_group_size as the variables show them when unstated. */
export function classifierKwargs(state: NetworkState): Record<string, unknown> {
  const kw: Record<string, unknown> = { ...state.static_kwargs };
  const shapes = new Map(state.variables.map((v) => [v.name, v.shape]));
  if (!('fused_scale' in kw) && [...shapes.keys()].some((n) => /^\d+x\d+\/Conv1\/weight$/.test(n))) kw.fused_scale = false;
  const conv = shapes.get('4x4/Conv/weight');
  if (!('mbstd_group_size' in kw) && conv?.length === 4 && conv[2] === conv[3]) kw.mbstd_group_size = 0;
  return kw;
}

/** Loads celebahq-classifier-NN-<attr>.pkl (a single Network pickle). */
export function loadAttributeClassifier(file: string): LoadedClassifier {
  const pkl = loadNetworkPickle(file);
  const states = [pkl.G, pkl.D, pkl.Gs].filter((s): s is NetworkState => s !== undefined);
  if (states.length !== 1) throw new UserError(`${file}: expected a single Network (an attribute classifier), found ${states.length}`);
  return classifierFromState(states[0], file.split(/[\\/]/).pop());
}
