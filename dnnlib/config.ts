// Typed configuration objects: the role of NVIDIA's EasyDict, with types. Configs are plain
// objects (JSON-serialisable, so they land verbatim in config.json of a run) built from defaults
// plus user overrides; unknown keys are rejected instead of silently ignored.

import { UserError } from './errors.ts';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Returns `defaults` overridden by `overrides`, refusing keys that `defaults` does not declare
 * (a misspelt keyword must not silently do nothing). `what` names the config in the error.
 */
export function mergeConfig<T extends object>(what: string, defaults: T, overrides: Partial<T> | Record<string, unknown> = {}): T {
  const out = { ...defaults } as Record<string, unknown>;
  for (const [k, v] of Object.entries(overrides)) {
    if (!(k in defaults)) {
      const known = Object.keys(defaults).join(', ');
      throw new UserError(`${what}: unknown keyword '${k}' (known: ${known})`);
    }
    if (v !== undefined) out[k] = v;
  }
  return out as T;
}

/** Stable, pretty JSON for config.json files (keys in insertion order, 2-space indent). */
export function configToJson(config: unknown): string {
  return JSON.stringify(config, (_k, v) => (v instanceof Map ? Object.fromEntries(v) : v), 2) + '\n';
}
