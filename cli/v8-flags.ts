import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

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

/**
 * Output bytes (JSON lines) between two looks at the process's external memory, in
 * {@link socketMemoryReclaimer}: 256 KiB.
 */
export const CLI_RECLAIM_CHECK_BYTES = 256 << 10;

/**
 * External memory (socket chunks and other `ArrayBuffer` backing stores) that may build up after
 * the lowest level seen before {@link socketMemoryReclaimer} asks V8 for a scavenge: 1 MiB.
 */
export const CLI_RECLAIM_SLACK_BYTES = 1 << 20;

type MinorGc = (options: { type: 'minor' }) => void;

/**
 * V8's `gc` function, fetched from a new `vm` context with `--expose-gc` set only while it is
 * created (the flag is cleared again, so no later context gets a `gc` global); undefined when
 * V8 does not give it.
 */
function v8Gc(): MinorGc | undefined {
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    return typeof gc === 'function' ? (gc as MinorGc) : undefined;
  } catch {
    return undefined;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * Frees dead socket chunks sooner: asks V8 for a scavenge when they build up (sizes in bytes).
 *
 * Returns a function to call with the bytes of every line the stream command writes; every
 * `checkEvery` bytes it reads the process's external memory (`process.memoryUsage().external`),
 * and when that has grown by more than `slack` above the lowest level seen since the last
 * scavenge it asked for, it asks V8 for a scavenge (`gc({ type: 'minor' })`, the young generation
 * only). Why: each socket read is a new `ArrayBuffer` (64 KiB when the walsender sends faster
 * than the command reads), freed only by the scavenge that finds its `Buffer` dead; with large
 * values (2 KB text columns) a message allocates few heap bytes for many socket bytes, so V8's own
 * scavenges come seldom and 1–7 MB of dead socket chunks wait for them. With narrow rows V8's
 * scavenges come first and this asks for none. Process-wide: only `pg-walstream stream` calls
 * it. Measured in docs/benchmarks.md (issue 15, "Socket chunks"). Returns undefined (nothing to
 * call) when V8 does not give its `gc` function; `gc` is for tests. Throws nothing of its own.
 * Follows Node's `src/stream_base.cc` (`EmitToJSStreamListener::OnStreamRead`: one backing store
 * per socket read, cut to the bytes read) and V8's `ArrayBufferSweeper` (the backing stores of
 * young `ArrayBuffer`s are freed after the scavenge that finds them dead).
 * @example const lineBytes = socketMemoryReclaimer(); lineBytes?.(line.length)
 */
export function socketMemoryReclaimer(checkEvery = CLI_RECLAIM_CHECK_BYTES, slack = CLI_RECLAIM_SLACK_BYTES, gc: MinorGc | undefined = v8Gc()): ((bytes: number) => void) | undefined {
  if (gc === undefined) return undefined;
  let counted = 0;
  let floor = process.memoryUsage().external;
  return (bytes: number) => {
    counted += bytes;
    if (counted < checkEvery) return;
    counted = 0;
    const external = process.memoryUsage().external;
    if (external < floor) floor = external;
    else if (external - floor > slack) {
      gc({ type: 'minor' });
      floor = process.memoryUsage().external;
    }
  };
}
