import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * V8 flags that trade CPU for a smaller resident set, for `PG_WALSTREAM_V8_FLAGS`. Both are read by
 * V8's garbage collector each time it sizes the heap, so they act although the heap exists already
 * (unlike `--max-semi-space-size`, which V8 reads only at start-up):
 * - `--semi-space-growth-factor=1`: the young generation keeps its initial size (1 MB semi-spaces,
 *   2 MB in all) instead of growing to 8 MB semi-spaces under the stream's allocation rate;
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

/**
 * The most bytes of young generation (both semi-spaces) `pg-walstream stream` lets V8 grow to: 2 MB
 * semi-spaces instead of 8 MB. Under the stream's allocation rate V8 doubles them each time the
 * bytes surviving its scavenges add up to their size, to 8 MB semi-spaces (16 MB) within seconds:
 * up to 12 MB more resident memory, which buys few scavenges, since little survives each one. Measured in
 * docs/benchmarks.md (issue 15): 6–10 MB less peak RSS, within the noise in CPU.
 */
export const CLI_YOUNG_GENERATION_MAX = 4 << 20;

/**
 * Stops the young generation from growing past `maxBytes` (both semi-spaces), from now on: V8
 * starts it at 1 MB semi-spaces and doubles them, up to 8 MB each here, as objects survive its
 * collections; once the new space has reached `maxBytes` this sets `--semi-space-growth-factor=1`
 * (read by V8 each time it sizes the new space), so it grows no more. Checked on a timer (unref'd),
 * every `everyMs` ms, from the heap statistics; the timer stops once the cap is set, or when the
 * returned function is called. Process-wide: only the `pg-walstream stream` command calls it.
 * @example capYoungGeneration(4 << 20) // 2 MB semi-spaces at most
 */
export function capYoungGeneration(maxBytes: number, everyMs = 20): () => void {
  const check = () => {
    const young = getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    if (young === undefined || young.space_size < maxBytes) return false;
    setFlagsFromString('--semi-space-growth-factor=1');
    return true;
  };
  if (check()) return () => undefined;
  const timer = setInterval(() => {
    if (check()) clearInterval(timer);
  }, everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
