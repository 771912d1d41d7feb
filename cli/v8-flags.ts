import { setFlagsFromString } from 'node:v8';

/**
 * The V8 flags `pg-walstream` sets on itself, first thing, unless `PG_WALSTREAM_V8_FLAGS` says
 * otherwise. Both are read by V8's garbage collector each time it sizes the heap, so they act
 * although the heap exists already (unlike `--max-semi-space-size`, which V8 reads only at start-up):
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial size (1 MB semi-spaces, 2 MB in all)
 *   instead of growing to 8 MB under the stream's allocation rate;
 * - `--optimize-for-size`: the old generation grows in small steps between major GCs, so the
 *   objects promoted by the more frequent scavenges (and the socket chunks they hold) are collected
 *   sooner.
 * Together they keep the command's peak RSS under 64 MB (docs/benchmarks.md, issue 15).
 */
export const CLI_V8_FLAGS = '--optimize-for-size --semi-space-growth-factor=1';

/**
 * Applies `PG_WALSTREAM_V8_FLAGS` if set (space-separated V8 flags; empty for none), else
 * {@link CLI_V8_FLAGS}, with `v8.setFlagsFromString`. Only the `pg-walstream` command calls it
 * (cli/main.ts); the library never changes V8's flags. Returns the flags applied.
 * @example applyCliV8Flags({}) // '--optimize-for-size --semi-space-growth-factor=1'
 */
export function applyCliV8Flags(env: NodeJS.ProcessEnv = process.env): string {
  const flags = (env.PG_WALSTREAM_V8_FLAGS ?? CLI_V8_FLAGS).trim();
  for (const flag of flags.split(/\s+/)) if (flag !== '') setFlagsFromString(flag);
  return flags;
}
