// npm runs this after installing the dependencies. It sets up the `tensorflow` backend
// (scripts/setup_tensorflow.ts --postinstall) and never fails the install: whatever happens, the
// worst outcome is the fallback backend and one line saying so.
import { spawnSync } from 'node:child_process';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
if (process.env.STYLEGAN_SKIP_TENSORFLOW === '1') {
  console.log('stylegan-ts: STYLEGAN_SKIP_TENSORFLOW=1, TensorFlow setup skipped (run `npm run setup-tensorflow` later)');
  process.exit(0);
}
const r = spawnSync(process.execPath, ['--import', 'tsx', path.join('scripts', 'setup_tensorflow.ts'), '--postinstall'], {
  cwd: root, stdio: 'inherit',
});
if (r.status !== 0) {
  console.log('stylegan-ts: TensorFlow setup did not complete; `--backend auto` will use the fallback backend; run `npm run setup-tensorflow` to retry');
}
process.exit(0);
