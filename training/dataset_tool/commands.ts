// The registry of dataset_tool subcommands, in NVIDIA's --help order. One line per command.

import type { DatasetCommand } from './command.ts';
import { gridCommand } from './grid.ts';
import { extractCommand } from './extract.ts';
import { compareCommand } from './compare.ts';
import { infoCommand } from './info.ts';
import { createMnistCommand } from './create_mnist.ts';
import { createFromImagesCommand } from './create_from_images.ts';

export const DATASET_COMMANDS: readonly DatasetCommand[] = [
  gridCommand,
  extractCommand,
  compareCommand,
  infoCommand,
  createMnistCommand,
  createFromImagesCommand,
];
