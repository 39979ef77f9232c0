// The one list of metric modules: importing this registers every metric by NVIDIA's name
// (fid50k, ppl_zfull, ppl_wfull, ppl_zend, ppl_wend, ls, dummy; StyleGAN2's ppl2_wend) plus
// fid_proxy_fmnist.
// Adding a metric is one file and one line here.
import './metric_base.ts';
import './frechet_inception_distance.ts';
import './perceptual_path_length.ts';
import './linear_separability.ts';
import './proxy_features.ts';

export { calcMetric, listMetrics, isValidMetric, resultLine, jsonLine, appendJsonLine } from './metric_base.ts';
