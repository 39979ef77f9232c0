// One error type for user mistakes (bad flags, missing or corrupt files, wrong shapes).
// CLIs catch it at the top and print a single line instead of a stack trace; any other
// error is a bug in stylegan-ts and keeps its stack so it can be reported.

export class UserError extends Error {
  /** Process exit code used by runMain: 1 for bad input, 2 for bad usage/flags. */
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = 'UserError';
    this.exitCode = exitCode;
  }
}

/** Shorthand for a precondition on user input. */
export function check(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new UserError(typeof message === 'function' ? message() : message);
}

/** Formats any error as the one line a user sees. */
export function errorLine(err: unknown): string {
  if (err instanceof UserError) return `error: ${err.message}`;
  const e = err as NodeJS.ErrnoException;
  // Node's file errors are user errors in practice (missing input, unwritable output).
  if (e && typeof e.code === 'string' && typeof e.path === 'string') {
    const what: Record<string, string> = {
      ENOENT: 'no such file or directory',
      EACCES: 'permission denied',
      EISDIR: 'is a directory',
      ENOTDIR: 'not a directory',
      EROFS: 'read-only file system',
      ENOSPC: 'no space left on device',
      EEXIST: 'already exists',
    };
    return `error: ${e.path}: ${what[e.code] ?? e.message}`;
  }
  return `error: ${e?.stack ?? String(err)}`;
}

type Cleanup = () => void;
const cleanups = new Set<Cleanup>();

/** Registers work to undo if the process is interrupted (temp files, half-written outputs). */
export function onAbort(fn: Cleanup): () => void {
  cleanups.add(fn);
  return () => cleanups.delete(fn);
}

function runCleanups(): void {
  for (const fn of [...cleanups]) {
    try { fn(); } catch { /* best effort: we are already failing */ }
  }
  cleanups.clear();
}

/**
 * Runs a CLI's main function: a UserError (or a plain file-system error) becomes one line on
 * stderr and a non-zero exit; SIGINT/SIGTERM run the registered cleanups first.
 */
export function runMain(main: () => Promise<void> | void): void {
  const onSignal = (sig: NodeJS.Signals) => {
    runCleanups();
    process.stderr.write(`\ninterrupted (${sig})\n`);
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  Promise.resolve()
    .then(main)
    .then(() => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    })
    .catch((err: unknown) => {
      runCleanups();
      process.stderr.write(errorLine(err) + '\n');
      process.exitCode = err instanceof UserError ? err.exitCode : 1;
    });
}
