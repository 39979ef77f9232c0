// Where the metric networks' weights come from: the published URLs, a download cache
// (`--cache-dir`, default ~/.cache/stylegan-ts), a sha256 check, 10 attempts like NVIDIA's
// dnnlib.util.open_url, and an atomic download (temp file + rename, nothing left on failure).
// Offline machines pass the files directly: --inception FILE, --vgg16 FILE, --classifiers DIR.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { UserError } from '../dnnlib/errors.ts';
import { downloadFile, sha256File } from '../dnnlib/download.ts';

export interface WeightsFile {
  /** File name in the cache. */
  fileName: string;
  /** Tried in order on every attempt. */
  urls: string[];
  /**
   * Expected sha256 (hex), or a prefix of it as torch hub file names carry (`-6726825d.pth`);
   * null when no published hash is known: the computed one is then only recorded.
   */
  sha256: string | null;
  /** The flag that gives this file offline. */
  flag: '--inception' | '--vgg16' | '--classifiers';
  /** Layout the file stores, for messages and the JSON line. */
  format: string;
}

const NV_CDN = 'https://nvlabs-fi-cdn.nvidia.com';
const drive = (id: string) => `https://drive.google.com/uc?id=${id}`;

/** The metric networks of StyleGAN v1 (spec §6) and the PyTorch-era files with the same nets. */
export const WEIGHTS_FILES = {
  /** NVIDIA's FID network (TF pickle, tflib Network) — the one fid50k numbers were made with. */
  inception_v3_features: {
    fileName: 'inception_v3_features.pkl',
    urls: [`${NV_CDN}/stylegan/networks/metrics/inception_v3_features.pkl`, drive('1MzTY44rLToO5APn8TZmfR7_ENSe5aZUn')],
    sha256: null, flag: '--inception', format: 'NVIDIA TF network pickle',
  },
  /** The same 2015-12-05 graph ported to PyTorch by pytorch-fid: the layout metrics/inception_v3.ts reads. */
  pt_inception: {
    fileName: 'pt_inception-2015-12-05-6726825d.pth',
    urls: ['https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/pt_inception-2015-12-05-6726825d.pth'],
    sha256: '6726825d', flag: '--inception', format: 'torch state_dict (pytorch-fid names)',
  },
  /** stylegan2-ada-pytorch's TorchScript translation of the same graph (spec §B.6.4). */
  inception_2015_12_05_pt: {
    fileName: 'inception-2015-12-05.pt',
    urls: [`${NV_CDN}/stylegan2-ada-pytorch/pretrained/metrics/inception-2015-12-05.pt`],
    sha256: null, flag: '--inception', format: 'TorchScript archive',
  },
  /** NVIDIA's PPL distance network (LPIPS VGG16, TF pickle). */
  vgg16_zhang_perceptual: {
    fileName: 'vgg16_zhang_perceptual.pkl',
    urls: [`${NV_CDN}/stylegan/networks/metrics/vgg16_zhang_perceptual.pkl`, drive('1N2-m9qszOeVC9Tq77WxsLnuWwOedQiD2')],
    sha256: null, flag: '--vgg16', format: 'NVIDIA TF network pickle',
  },
  /** torchvision's VGG16 (features.N.* of metrics/lpips.ts). */
  torchvision_vgg16: {
    fileName: 'vgg16-397923af.pth',
    urls: ['https://download.pytorch.org/models/vgg16-397923af.pth'],
    sha256: '397923af', flag: '--vgg16', format: 'torch state_dict (torchvision names)',
  },
  /** lpips v0.1 linear layers (linK.model.1.weight of metrics/lpips.ts). */
  lpips_vgg_lin: {
    fileName: 'lpips-v0.1-vgg.pth',
    urls: ['https://github.com/richzhang/PerceptualSimilarity/raw/master/lpips/weights/v0.1/vgg.pth'],
    sha256: null, flag: '--vgg16', format: 'torch state_dict (legacy format)',
  },
  /** stylegan2-ada-pytorch's TorchScript VGG16/LPIPS (spec §B.6.4). */
  vgg16_pt: {
    fileName: 'vgg16.pt',
    urls: [`${NV_CDN}/stylegan2-ada-pytorch/pretrained/metrics/vgg16.pt`],
    sha256: null, flag: '--vgg16', format: 'TorchScript archive',
  },
} satisfies Record<string, WeightsFile>;

/**
 * The one line for a published metric file we do not read. NVIDIA's TF pickles hold tflib Networks
 * whose graph is Python code pickled inside the file, and the TorchScript archives keep their forward
 * pass in code/; we rebuild the networks ourselves from PyTorch state dicts, and the variable layout
 * of these files could not be checked here (they were not available offline), so they are refused
 * rather than guessed at.
 */
export function unsupportedWeightsMessage(flag: string, file: string, kind: 'tf-pickle' | 'torchscript'): string {
  const instead = flag === '--inception'
    ? `${WEIGHTS_FILES.pt_inception.fileName} (pytorch-fid's port of the same 2015-12-05 Inception)`
    : `${WEIGHTS_FILES.torchvision_vgg16.fileName} and ${WEIGHTS_FILES.lpips_vgg_lin.fileName} (torchvision VGG16 + LPIPS v0.1)`;
  const what = kind === 'tf-pickle'
    ? "an NVIDIA TensorFlow metric pickle (inception_v3_features.pkl, vgg16_zhang_perceptual.pkl): its network is TF code pickled in the file and its variable layout is not mapped"
    : 'a TorchScript archive (inception-2015-12-05.pt, vgg16.pt): its forward pass is TorchScript code and its parameter names are not mapped';
  return `${flag} ${file}: ${what}; pass ${instead}, or a .safetensors with the same tensor names`;
}

/** CelebA-HQ attribute names in NVIDIA's order 00–39 and their Google Drive ids (spec §6.4). */
export const CELEBAHQ_ATTRIBUTES: readonly [string, string][] = [
  ['male', '1Q5-AI6TwWhCVM7Muu4tBM7rp5nG_gmCX'], ['smiling', '1Q5c6HE__ReW2W8qYAXpao68V1ryuisGo'],
  ['attractive', '1Q7738mgWTljPOJQrZtSMLxzShEhrvVsU'], ['wavy-hair', '1QBv2Mxe7ZLvOv1YBTLq-T4DS3HjmXV0o'],
  ['young', '1QIvKTrkYpUrdA45nf7pspwAqXDwWOLhV'], ['5-o-clock-shadow', '1QJPH5rW7MbIjFUdZT7vRYfyUjNYDl4_L'],
  ['arched-eyebrows', '1QPZXSYf6cptQnApWS_T83sqFMun3rULY'], ['bags-under-eyes', '1QPgoAZRqINXk_PFoQ6NwMmiJfxc5d2Pg'],
  ['bald', '1QQPQgxgI6wrMWNyxFyTLSgMVZmRr1oO7'], ['bangs', '1QcSphAmV62UrCIqhMGgcIlZfoe8hfWaF'],
  ['big-lips', '1QdWTVwljClTFrrrcZnPuPOR4mEuz7jGh'], ['big-nose', '1QgvEWEtr2mS4yj1b_Y3WKe6cLWL3LYmK'],
  ['black-hair', '1QidfMk9FOKgmUUIziTCeo8t-kTGwcT18'], ['blond-hair', '1QthrJt-wY31GPtV8SbnZQZ0_UEdhasHO'],
  ['blurry', '1QvCAkXxdYT4sIwCzYDnCL9Nb5TDYUxGW'], ['brown-hair', '1QvLWuwSuWI9Ln8cpxSGHIciUsnmaw8L0'],
  ['bushy-eyebrows', '1QxW6THPI2fqDoiFEMaV6pWWHhKI_OoA7'], ['chubby', '1R71xKw8oTW2IHyqmRDChhTBkW9wq4N9v'],
  ['double-chin', '1RDn_fiLfEGbTc7JjazRXuAxJpr-4Pl67'], ['eyeglasses', '1RGBuwXbaz5052bM4VFvaSJaqNvVM4_cI'],
  ['goatee', '1RIxOiWxDpUwhB-9HzDkbkLegkd7euRU9'], ['gray-hair', '1RPaNiEnJODdr-fwXhUFdoSQLFFZC7rC-'],
  ['heavy-makeup', '1RQH8lPSwOI2K_9XQCZ2Ktz7xm46o80ep'], ['high-cheekbones', '1RXZM61xCzlwUZKq-X7QhxOg0D2telPow'],
  ['mouth-slightly-open', '1RgASVHW8EWMyOCiRb5fsUijFu-HfxONM'], ['mustache', '1RkC8JLqLosWMaRne3DARRgolhbtg_wnr'],
  ['narrow-eyes', '1RqtbtFT2EuwpGTqsTYJDyXdnDsFCPtLO'], ['no-beard', '1Rs7hU-re8bBMeRHR-fKgMbjPh-RIbrsh'],
  ['oval-face', '1RynDJQWdGOAGffmkPVCrLJqy_fciPF9E'], ['pale-skin', '1S0TZ_Hdv5cb06NDaCD8NqVfKy7MuXZsN'],
  ['pointy-nose', '1S3JPhZH2B4gVZZYCWkxoRP11q09PjCkA'], ['receding-hairline', '1S3pQuUz-Jiywq_euhsfezWfGkfzLZ87W'],
  ['rosy-cheeks', '1S6nyIl_SEI3M4l748xEdTV2vymB_-lrY'], ['sideburns', '1S9P5WCi3GYIBPVYiPTWygrYIUSIKGxbU'],
  ['straight-hair', '1SANviG-pp08n7AFpE9wrARzozPIlbfCH'], ['wearing-earrings', '1SArgyMl6_z7P7coAuArqUC2zbmckecEY'],
  ['wearing-hat', '1SC5JjS5J-J4zXFO9Vk2ZU2DT82TZUza_'], ['wearing-lipstick', '1SDAQWz03HGiu0MSOKyn7gvrp3wdIGoj-'],
  ['wearing-necklace', '1SEtrVK-TQUC0XeGkBE9y7L8VXfbchyKX'], ['wearing-necktie', '1SF_mJIdyGINXoV-I6IAxHB_k5dxiF6M-'],
];

/** The attribute classifier NN (0–39) as a downloadable file. */
export function classifierFile(index: number): WeightsFile {
  const entry = CELEBAHQ_ATTRIBUTES[index];
  if (!entry) throw new UserError(`no CelebA-HQ attribute classifier ${index} (there are 40, 0-39)`);
  const fileName = `celebahq-classifier-${String(index).padStart(2, '0')}-${entry[0]}.pkl`;
  return {
    fileName,
    urls: [`${NV_CDN}/stylegan/networks/metrics/${fileName}`, drive(entry[1])],
    sha256: null, flag: '--classifiers', format: 'NVIDIA TF network pickle',
  };
}

export function defaultCacheDir(): string {
  return path.join(os.homedir(), '.cache', 'stylegan-ts');
}

/** yargs options shared by the metric CLIs. */
export const weightsOptions = {
  'cache-dir': { type: 'string', describe: 'download cache for metric networks (default ~/.cache/stylegan-ts)' },
  inception: { type: 'string', describe: 'FID Inception weights file, instead of downloading it' },
  vgg16: { type: 'string', describe: 'PPL LPIPS/VGG16 weights file, instead of downloading it' },
  classifiers: { type: 'string', describe: 'directory holding celebahq-classifier-NN-<attr>.pkl for LS' },
} as const;

export interface ObtainOptions {
  cacheDir?: string;
  /** A file given by the user (--inception / --vgg16, or a file inside --classifiers DIR). */
  localFile?: string;
  attempts?: number;
  /** Milliseconds before retry k (k = 1, 2, ...); NVIDIA waits a little between attempts. */
  retryDelayMs?: (attempt: number) => number;
  /** Progress and warnings (stderr by default). */
  log?: (line: string) => void;
}

export interface ObtainedWeights {
  path: string;
  sha256: string;
  /** Whether the hash was checked against a published value. */
  verified: boolean;
}


function hashMatches(actual: string, expected: string | null): boolean {
  return expected === null || actual.startsWith(expected.toLowerCase());
}

/**
 * The local path of a weights file: the user's file if given (checked), else the cached copy
 * (checked), else a download into the cache. Failures are UserErrors that name the file and the
 * flag to pass it offline.
 */
export async function obtainWeights(spec: WeightsFile, opts: ObtainOptions = {}): Promise<ObtainedWeights> {
  const log = opts.log ?? ((l: string) => process.stderr.write(l + '\n'));
  if (opts.localFile !== undefined) {
    if (!fs.existsSync(opts.localFile)) throw new UserError(`${spec.flag} ${opts.localFile}: no such file`);
    const sha = sha256File(opts.localFile);
    if (!hashMatches(sha, spec.sha256)) {
      throw new UserError(`${spec.flag} ${opts.localFile}: sha256 ${sha} does not match the published ${spec.fileName} (${spec.sha256}…)`);
    }
    return { path: opts.localFile, sha256: sha, verified: spec.sha256 !== null };
  }
  const cacheDir = opts.cacheDir ?? defaultCacheDir();
  const target = path.join(cacheDir, spec.fileName);
  if (fs.existsSync(target)) {
    const sha = sha256File(target);
    if (hashMatches(sha, spec.sha256)) return { path: target, sha256: sha, verified: spec.sha256 !== null };
    log(`warning: cached ${target} has sha256 ${sha}, expected ${spec.sha256}…; downloading it again`);
    fs.rmSync(target, { force: true });
  }
  fs.mkdirSync(cacheDir, { recursive: true });
  const attempts = opts.attempts ?? 10;
  const delay = opts.retryDelayMs ?? ((k: number) => Math.min(1000 * k, 10000));
  let lastError = '';
  for (let attempt = 1; attempt <= attempts; attempt++) {
    for (const url of spec.urls) {
      try {
        const sha = await downloadAtomic(url, target, spec.sha256);
        log(`downloaded ${spec.fileName} from ${url}`);
        return { path: target, sha256: sha, verified: spec.sha256 !== null };
      } catch (err) {
        lastError = `${url}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    if (attempt < attempts) await new Promise((r) => setTimeout(r, delay(attempt)));
  }
  throw new UserError(
    `cannot obtain ${spec.fileName} after ${attempts} attempts (${lastError}); ` +
    `without network, download it elsewhere and pass ${spec.flag} ${spec.flag === '--classifiers' ? 'DIR' : 'FILE'}, or put it at ${target}`);
}

/** One download attempt through dnnlib/download.ts, refused unless its sha256 matches; returns the sha256. */
function downloadAtomic(url: string, target: string, expectedSha: string | null): Promise<string> {
  return downloadFile(url, target, expectedSha === null ? {} : { sha256: expectedSha });
}
