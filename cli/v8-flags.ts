import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags that trade CPU for a smaller resident set, for `PG_WALSTREAM_V8_FLAGS`. Both are read by
 * V8's garbage collector each time it sizes the heap, so they act although the heap exists already
 * (unlike `--max-semi-space-size`, which V8 reads only at start-up):
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial size (1 MB semi-spaces,
 *   2 MB in all) instead of growing to 16 MB semi-spaces under the stream's allocation rate;
 * - `--optimize-for-size`: the old generation grows in small steps between major GCs, so the
 *   objects promoted by the more frequent scavenges (and the socket chunks they hold) are collected
 *   sooner.
 * Measured in docs/benchmarks.md (issue 15): 4–11 MB less peak RSS, for 4–22 % more CPU (the
 * most on small transactions); the CLI does not set them unless asked.
 */
export const CLI_V8_FLAGS = '--optimize-for-size --semi-space-growth-factor=1';

/**
 * Applies the V8 flags in `PG_WALSTREAM_V8_FLAGS` (space-separated; unset or empty: none) with
 * `v8.setFlagsFromString`, e.g. {@link CLI_V8_FLAGS}. Only the `pg-walstream` command calls it,
 * first thing (cli/main.ts); the library never changes V8's flags. V8 prints an unknown flag on
 * stderr and ignores it. Returns the flags applied.
 * @example applyCliV8Flags({ PG_WALSTREAM_V8_FLAGS: CLI_V8_FLAGS }) // '--optimize-for-size --semi-space-growth-factor=1'
 */
export function applyCliV8Flags(env: NodeJS.ProcessEnv = process.env): string {
  const flags = (env.PG_WALSTREAM_V8_FLAGS ?? '').trim();
  for (const flag of flags.split(/\s+/)) if (flag !== '') setFlagsFromString(flag);
  return flags;
}
