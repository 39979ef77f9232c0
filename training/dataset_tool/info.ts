// info <tfrecord_dir>: image count, resolution, channels, levels and label size. Reads every
// record of every level, so it doubles as an integrity check (CRCs, shapes, equal counts).

import * as path from 'node:path';
import { UserError } from '../../dnnlib/errors.ts';
import { openDatasetDir, readLabels, readLevel } from './dataset_dir.ts';
import { str, type DatasetCommand } from './command.ts';

export interface DatasetInfo {
  numImages: number;
  resolution: number;
  channels: number;
  levels: { file: string; resolution: number; records: number }[];
  labelFile: string | null;
  labelSize: number;
}

export function datasetInfo(dir: string): DatasetInfo {
  const layout = openDatasetDir(dir);
  const levels = layout.levelFiles.map((file, lod) => {
    const res = layout.resolution >> lod;
    let records = 0;
    for (const img of readLevel(file)) {
      const [c, h, w] = img.shape;
      if (c !== layout.channels || h !== res || w !== res) {
        throw new UserError(`${file}: record ${img.index} has shape [${img.shape.join(', ')}], expected [${layout.channels}, ${res}, ${res}]`);
      }
      records++;
    }
    return { file, resolution: res, records };
  });
  const numImages = levels[0]!.records;
  for (const l of levels) {
    if (l.records !== numImages) throw new UserError(`${l.file}: ${l.records} records, but ${levels[0]!.file} has ${numImages}`);
  }
  const labels = readLabels(layout);
  if (labels && labels.count !== numImages) throw new UserError(`${layout.labelFile}: ${labels.count} label rows for ${numImages} images`);
  return { numImages, resolution: layout.resolution, channels: layout.channels, levels, labelFile: layout.labelFile, labelSize: labels?.size ?? 0 };
}

export function formatInfo(dir: string, info: DatasetInfo): string {
  const lines = [
    `Dataset "${dir}"`,
    `Images:      ${info.numImages}`,
    `Resolution:  ${info.resolution}`,
    `Channels:    ${info.channels}`,
    `Levels:      ${info.levels.length} (${info.levels.map((l) => `${path.basename(l.file)} ${l.resolution}x${l.resolution}`).join(', ')})`,
    `Label size:  ${info.labelSize}${info.labelFile ? ` (${path.basename(info.labelFile)})` : ' (no labels)'}`,
  ];
  return lines.join('\n') + '\n';
}

export const infoCommand: DatasetCommand = {
  command: 'info',
  describe: 'Print image count, resolution, channels, levels and label size (verifies every record).',
  example: 'info datasets/mnist',
  positionals: [{ name: 'tfrecord_dir', describe: 'Directory containing dataset' }],
  async run(args) {
    const dir = str(args, 'tfrecord_dir');
    process.stdout.write(formatInfo(dir, datasetInfo(dir)));
  },
};
