// Deterministic byte-level mutations of Python-made fixtures, for checking that readers of untrusted
// files fail only with UserError (never a TypeError/RangeError or a hang) whatever the corruption.
import assert from 'node:assert/strict';
import { UserError } from '../dnnlib/errors.ts';

/** Mutates `orig` `count` times (byte overwrites, truncations, deletions) and runs `load` on each. */
export function assertOnlyUserErrors(orig: Uint8Array, count: number, seed: number, load: (b: Uint8Array) => unknown): { ok: number; refused: number } {
  let s = seed >>> 0;
  const rnd = () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
  let ok = 0, refused = 0;
  for (let it = 0; it < count; it++) {
    let b = orig.slice();
    for (let j = 1 + Math.floor(rnd() * 4); j > 0; j--) {
      const r = rnd(), p = Math.floor(rnd() * b.length);
      if (r < 0.6) b[p] = Math.floor(rnd() * 256);
      else if (r < 0.8) b = b.slice(0, p);
      else {
        const rest = b.subarray(Math.min(b.length, p + 1 + Math.floor(rnd() * 8)));
        const out = new Uint8Array(p + rest.length);
        out.set(b.subarray(0, p));
        out.set(rest, p);
        b = out;
      }
    }
    try {
      load(b);
      ok++;
    } catch (err) {
      assert.ok(err instanceof UserError, `mutation ${it}: ${(err as Error)?.stack ?? String(err)}`);
      refused++;
    }
  }
  return { ok, refused };
}
