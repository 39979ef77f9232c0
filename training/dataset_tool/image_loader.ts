// Decodes one image file into NVIDIA's uint8 CHW layout with sharp (libvips decodes on its own
// threads, so several loads in flight use several cores).
//
// Without conversion flags it applies NVIDIA's strict rules, which take the pixels as stored
// (`np.asarray(PIL.Image.open(f))`): 8-bit grayscale or RGB only. Everything else gets a clear
// message naming the file and the flag that would convert it. With --channels / --alpha /
// --resolution it converts: colour space, alpha, 16-bit depth, palette, and size (converted
// images are colour-managed to sRGB through any embedded ICC profile).

import sharp from 'sharp';
import { UserError } from '../../dnnlib/errors.ts';
import type { LoadedImage } from './export.ts';

// libvips' operation cache would keep decoded images alive across files; we read each once.
sharp.cache(false);

export type Transform = 'center-crop' | 'pad' | 'resize';
export type AlphaMode = 'drop' | 'flatten';

export interface ConvertOptions {
  /** Output side; images of any size are brought to resolution² with `transform`. */
  resolution?: number;
  transform?: Transform;
  /** Output channels; converts grayscale/RGB/palette/16-bit images to 8-bit 1 or 3 channels. */
  channels?: 1 | 3;
  /** What to do with an alpha channel: drop it, or composite onto white. */
  alpha?: AlphaMode;
}

export interface ImageInfo {
  width: number;
  height: number;
  channels: number;
  hasAlpha: boolean;
  isPalette: boolean;
  depth: string;
}

/** Reads header information, naming the file when it is not an image sharp can decode. */
export async function probeImage(file: string): Promise<ImageInfo> {
  try {
    const m = await sharp(file).metadata();
    if (!m.width || !m.height || !m.channels) throw new Error('no image dimensions');
    return {
      width: m.width,
      height: m.height,
      channels: m.channels,
      hasAlpha: m.hasAlpha ?? false,
      isPalette: Boolean((m as { isPalette?: boolean }).isPalette),
      depth: m.depth ?? 'uchar',
    };
  } catch (err) {
    throw new UserError(`${file}: not a readable image (${firstLine(err)})`);
  }
}

function firstLine(err: unknown): string {
  return String((err as Error)?.message ?? err).split('\n')[0]!.trim();
}

function converting(opts: ConvertOptions): boolean {
  return opts.channels !== undefined || opts.alpha !== undefined || opts.resolution !== undefined;
}

/** The strict checks: the stored pixels must already be 8-bit grayscale or RGB. */
export function strictChannelProblem(info: ImageInfo): string | null {
  if (info.isPalette) return 'is a palette (indexed-colour) image; pass --channels 1 or 3 to convert it';
  if (info.depth !== 'uchar') return `has ${info.depth === 'ushort' ? '16' : info.depth}-bit samples; pass --channels 1 or 3 to convert to 8 bits`;
  if (info.hasAlpha) return `has an alpha channel (${info.channels} channels); images must be stored as RGB or grayscale: pass --alpha drop or --alpha flatten`;
  if (info.channels !== 1 && info.channels !== 3) return `has ${info.channels} channels; images must be stored as RGB or grayscale: pass --channels 1 or 3`;
  return null;
}

/** HWC interleaved → CHW planar. */
export function hwcToChw(hwc: Uint8Array, h: number, w: number, c: number): Uint8Array {
  if (c === 1) return hwc;
  const out = new Uint8Array(hwc.length);
  const plane = h * w;
  if (c === 3) {
    for (let p = 0, q = 0; p < plane; p++, q += 3) {
      out[p] = hwc[q]!;
      out[plane + p] = hwc[q + 1]!;
      out[2 * plane + p] = hwc[q + 2]!;
    }
    return out;
  }
  for (let p = 0; p < plane; p++) {
    for (let ch = 0; ch < c; ch++) out[ch * plane + p] = hwc[p * c + ch]!;
  }
  return out;
}

/**
 * Decodes `file` to uint8 CHW. `info` is the probe of this file (pass it to avoid a second
 * header read). Corrupt data anywhere in the file is an error, not a silently grey image.
 */
export async function loadImage(file: string, opts: ConvertOptions = {}, info?: ImageInfo): Promise<LoadedImage> {
  const meta = info ?? await probeImage(file);
  let pipeline = sharp(file, { failOn: 'warning' });
  if (!converting(opts)) {
    const problem = strictChannelProblem(meta);
    if (problem) throw new UserError(`${file}: ${problem}`);
    // The stored numbers, as PIL gives them to NVIDIA's tool: no colour management through an
    // embedded ICC profile (e.g. Display P3 photos), which sharp would otherwise apply.
    pipeline = pipeline.keepIccProfile();
    // sharp converts everything to sRGB on output unless told; keep grayscale as stored.
    if (meta.channels === 1) pipeline = pipeline.toColourspace('b-w');
  } else {
    if (meta.hasAlpha) {
      if (opts.alpha === undefined) throw new UserError(`${file}: has an alpha channel; pass --alpha drop or --alpha flatten`);
      pipeline = opts.alpha === 'drop' ? pipeline.removeAlpha() : pipeline.flatten({ background: '#ffffff' });
    }
    const channels = opts.channels ?? (meta.isPalette || meta.channels >= 3 ? 3 : 1);
    pipeline = pipeline.toColourspace(channels === 1 ? 'b-w' : 'srgb');
    if (opts.resolution !== undefined && (meta.width !== opts.resolution || meta.height !== opts.resolution)) {
      const fit = opts.transform === 'pad' ? 'contain' : opts.transform === 'resize' ? 'fill' : 'cover';
      pipeline = pipeline.resize(opts.resolution, opts.resolution, {
        fit, position: 'centre', kernel: 'lanczos3', background: { r: 0, g: 0, b: 0, alpha: 1 },
      });
    }
  }
  let out: { data: Buffer; info: { width: number; height: number; channels: number } };
  try {
    out = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new UserError(`${file}: cannot decode image (${firstLine(err)})`);
  }
  const { width: w, height: h, channels: c } = out.info;
  // sharp keeps the alpha band through colour-space changes unless asked; drop any extras.
  let hwc: Uint8Array = out.data;
  let cc = c;
  const want = converting(opts) ? (opts.channels ?? (c >= 3 ? 3 : 1)) : c;
  if (c !== want) {
    const picked = new Uint8Array(w * h * want);
    for (let p = 0; p < w * h; p++) for (let k = 0; k < want; k++) picked[p * want + k] = hwc[p * c + k]!;
    hwc = picked;
    cc = want;
  }
  return { data: hwcToChw(hwc, h, w, cc), shape: [cc, h, w] };
}
