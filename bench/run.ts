// `npm run bench -- <name> [args...]` runs bench/<name>.ts: adding a benchmark is adding a file.
import fs from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { runMain, UserError } from '../dnnlib/errors.ts';

runMain(async () => {
  const here = import.meta.dirname;
  const available = fs.readdirSync(here).filter((f) => f.endsWith('.ts') && f !== 'run.ts' && !f.startsWith('_')).map((f) => f.slice(0, -3)).sort();
  const name = process.argv[2]?.replace(/-/g, '_'); // `train-baselines` runs bench/train_baselines.ts
  if (!name || process.argv[2] === '--help' || process.argv[2] === '-h') {
    process.stdout.write(`usage: npm run bench -- <name> [args]\nbenchmarks: ${available.join(', ')}\n`);
    if (!name) process.exitCode = 2;
    return;
  }
  if (!/^[\w-]+$/.test(name) || !available.includes(name)) {
    throw new UserError(`unknown benchmark '${name}' (available: ${available.join(', ') || 'none'})`, 2);
  }
  // The benchmark sees its own arguments as if it were run directly.
  process.argv.splice(2, 1);
  await import(pathToFileURL(path.join(here, `${name}.ts`)).href);
});
