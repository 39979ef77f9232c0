// Tool for creating multi-resolution TFRecords datasets for StyleGAN and ProGAN
// (NVIDIA's dataset_tool.py): builds the yargs CLI from the command registry and runs one.

import yargs, { type Argv } from 'yargs';
import { hideBin } from 'yargs/helpers';
import { runMain, UserError } from './dnnlib/errors.ts';
import { DATASET_COMMANDS } from './training/dataset_tool/commands.ts';

const PROG = 'dataset_tool.ts';

function buildCli(argv: string[]): Argv {
  let cli = yargs(argv)
    .scriptName(PROG)
    .usage('Tool for creating multi-resolution TFRecords datasets for StyleGAN and ProGAN.\n\nUsage: $0 <command> [options]')
    .epilog(`Type "${PROG} <command> --help" for more information.`)
    .strict()
    .demandCommand(1, '')
    .help()
    .version(false)
    .wrap(Math.min(110, process.stdout.columns || 110))
    // Usage mistakes are one line and exit 2, like every error of ours (not yargs' help dump).
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(`${msg} (see ${PROG} --help)`, 2);
    });
  for (const cmd of DATASET_COMMANDS) {
    const positionals = cmd.positionals.map((p) => `<${p.name}>`).join(' ');
    cli = cli.command(`${cmd.command} ${positionals}`, cmd.describe, (y) => {
      let sub = y;
      for (const p of cmd.positionals) sub = sub.positional(p.name, { type: 'string', describe: p.describe });
      for (const [name, o] of Object.entries(cmd.options ?? {})) {
        sub = sub.option(name, { type: o.type, describe: o.describe, default: o.default, choices: o.choices as (string | number)[] | undefined });
      }
      return sub.epilog(`Example: ${PROG} ${cmd.example}`);
    }, async (args) => {
      await cmd.run(args as Record<string, unknown>);
    });
  }
  return cli;
}

runMain(async () => {
  const args = hideBin(process.argv);
  // NVIDIA's tool prints help when run with no arguments.
  await buildCli(args.length === 0 ? ['--help'] : args).parseAsync();
});
