// The shared tail of every CLI's yargs chain: strict flags, --help, no --version, wrapping to the
// terminal, and a usage error turned into one `error:` line with exit code 2 (via UserError/runMain).

import type { Argv } from 'yargs';
import { UserError } from './errors.ts';

export function finishCli<T>(y: Argv<T>, prog: string, maxWidth = 120): Argv<T> {
  return y
    .strict()
    .help()
    .version(false)
    .wrap(Math.min(maxWidth, process.stdout.columns || maxWidth))
    .fail((msg, err) => {
      if (err) throw err;
      throw new UserError(`${msg}\nType "${prog} --help" for usage.`, 2);
    });
}
