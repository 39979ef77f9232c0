// The registry of dataset_tool subcommands, in NVIDIA's --help order. One line per command.

import type { DatasetCommand } from './command.ts';
import { gridCommand } from './grid.ts';
import { extractCommand } from './extract.ts';
import { compareCommand } from './compare.ts';
import { infoCommand } from './info.ts';
import { createMnistCommand } from './create_mnist.ts';
import { createMnistRgbCommand } from './create_mnistrgb.ts';
import { createCifar10Command } from './create_cifar10.ts';
import { createCifar100Command } from './create_cifar100.ts';
import { createSvhnCommand } from './create_svhn.ts';
import { createLsunCommand } from './create_lsun.ts';
import { createLsunWideCommand } from './create_lsun_wide.ts';
import { createCelebaCommand } from './create_celeba.ts';
import { createFromImagesCommand } from './create_from_images.ts';
import { createFromHdf5Command } from './create_from_hdf5.ts';

export const DATASET_COMMANDS: readonly DatasetCommand[] = [
  gridCommand,
  extractCommand,
  compareCommand,
  infoCommand,
  createMnistCommand,
  createMnistRgbCommand,
  createCifar10Command,
  createCifar100Command,
  createSvhnCommand,
  createLsunCommand,
  createLsunWideCommand,
  createCelebaCommand,
  createFromImagesCommand,
  createFromHdf5Command,
];
