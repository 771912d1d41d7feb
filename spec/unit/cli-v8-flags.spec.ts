import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CLI_RECLAIM_CHECK_BYTES, CLI_RECLAIM_SLACK_BYTES, CLI_V8_FLAGS, CLI_YOUNG_GENERATION_MAX, socketMemoryReclaimer } from '../../cli/v8-flags';
import { cli } from '../support/cli';

const FLAGS_MODULE = join(__dirname, '../../dist/cjs/cli/v8-flags.js');

/**
 * In a fresh node process (V8 flags are process-wide): applies the CLI's flags as `PG_WALSTREAM_V8_FLAGS`
 * says, allocates some 100 MB of short-lived objects, and prints the young generation's capacity
 * (both semi-spaces) before and after, in bytes.
 */
function youngGeneration(env: NodeJS.ProcessEnv): { flags: string; before: number; after: number } {
  const script = `
    const v8 = require('node:v8');
    const flags = require(${JSON.stringify(FLAGS_MODULE)}).applyCliV8Flags();
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    const before = young();
    let keep = [];
    for (let i = 0; i < 2e6; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 5000) keep = []; }
    console.log(JSON.stringify({ flags, before, after: young() }));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, ...env }, encoding: 'utf8' })) as { flags: string; before: number; after: number };
}

describe('the V8 flags the CLI sets on itself when asked (PG_WALSTREAM_V8_FLAGS, cli/v8-flags.ts)', () => {
  it('PG_WALSTREAM_V8_FLAGS="--optimize-for-size --semi-space-growth-factor=1" keeps the young generation at 1 MB semi-spaces under a high allocation rate, although set after start-up', () => {
    const withFlags = youngGeneration({ PG_WALSTREAM_V8_FLAGS: CLI_V8_FLAGS });
    expect(withFlags.flags).toBe(CLI_V8_FLAGS);
    expect(withFlags.after).toBeLessThanOrEqual(2 << 20); // two semi-spaces of 1 MB
  });

  it('without PG_WALSTREAM_V8_FLAGS (or with "") the CLI sets none: the young generation grows as V8 sizes it by default', () => {
    for (const value of [undefined, '']) {
      const without = youngGeneration({ PG_WALSTREAM_V8_FLAGS: value });
      expect(without.flags).toBe('');
      expect(without.after).toBeGreaterThan(8 << 20);
    }
  });

  it('the pg-walstream command applies PG_WALSTREAM_V8_FLAGS first thing (V8 reports a flag it does not know)', async () => {
    const r = await cli(['--version'], { env: { ...process.env, PG_WALSTREAM_V8_FLAGS: '--no-such-v8-flag' } });
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('unrecognized flag --no-such-v8-flag');
    const plain = await cli(['--version'], { env: { ...process.env, PG_WALSTREAM_V8_FLAGS: undefined } });
    expect(plain.stderr).toBe('');
  });
});

/**
 * In a fresh node process: allocates some 150 MB of objects, a few of which survive a while (so
 * that V8 grows its young generation), yielding to the event loop between rounds, and prints the
 * young generation's capacity at the end; `cap` calls capYoungGeneration(cap) first.
 */
function youngAfterAsyncLoad(cap: number | undefined): number {
  const script = `
    const v8 = require('node:v8');
    const { capYoungGeneration } = require(${JSON.stringify(FLAGS_MODULE)});
    ${cap === undefined ? '' : `capYoungGeneration(${cap}, 5);`}
    const young = () => v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space').space_size;
    let keep = [];
    (async () => {
      for (let round = 0; round < 300; round++) {
        for (let i = 0; i < 10000; i++) { keep.push({ i, s: 'x' + i }); if (keep.length > 20000) keep = []; }
        await new Promise((r) => setTimeout(r, 1));
      }
      console.log(young());
    })();`;
  return Number(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, PG_WALSTREAM_V8_FLAGS: undefined }, encoding: 'utf8' }));
}

describe('capYoungGeneration (the stream command caps the young generation at CLI_YOUNG_GENERATION_MAX)', () => {
  it('keeps the young generation at 4 MB (2 MB semi-spaces) once it reaches it, where it otherwise grows past 8 MB', () => {
    expect(CLI_YOUNG_GENERATION_MAX).toBe(4 << 20);
    expect(youngAfterAsyncLoad(undefined)).toBeGreaterThan(8 << 20);
    expect(youngAfterAsyncLoad(CLI_YOUNG_GENERATION_MAX)).toBeLessThanOrEqual(CLI_YOUNG_GENERATION_MAX);
  });
});

/**
 * In a fresh node process: allocates `rounds` Buffers of 64 KiB, each with an ArrayBuffer of its
 * own (as a socket read), drops each at once, and tells `lineBytes` (socketMemoryReclaimer(), or
 * nothing) 64 KiB each time, as the stream command tells it each line's bytes; prints how far the
 * process's external memory rose above where it started, in bytes, and whether `gc` leaked into
 * contexts created afterwards.
 */
function externalGrowth(reclaim: boolean, rounds = 3000): { growth: number; gcLeaked: string } {
  const script = `
    const { socketMemoryReclaimer } = require(${JSON.stringify(FLAGS_MODULE)});
    const lineBytes = ${reclaim ? 'socketMemoryReclaimer()' : 'undefined'};
    const gcLeaked = require('node:vm').runInNewContext('typeof gc');
    const start = process.memoryUsage().external;
    let max = start, sink;
    for (let i = 0; i < ${rounds}; i++) {
      sink = Buffer.allocUnsafeSlow(65536);
      sink[0] = i;
      lineBytes?.(65536);
      if (i % 16 === 0) max = Math.max(max, process.memoryUsage().external);
    }
    console.log(JSON.stringify({ growth: max - start, gcLeaked }));`;
  return JSON.parse(execFileSync(process.execPath, ['-e', script], { env: { ...process.env, PG_WALSTREAM_V8_FLAGS: undefined }, encoding: 'utf8' })) as { growth: number; gcLeaked: string };
}

describe('socketMemoryReclaimer (the stream command frees dead socket chunks sooner)', () => {
  it('keeps dead ArrayBuffers to a few MB where they otherwise pile up for tens of MB, and leaves no gc global behind', () => {
    expect(CLI_RECLAIM_CHECK_BYTES).toBe(256 << 10);
    expect(CLI_RECLAIM_SLACK_BYTES).toBe(1 << 20);
    const without = externalGrowth(false);
    const withIt = externalGrowth(true);
    expect(without.growth).toBeGreaterThan(24 << 20);
    // CLI_RECLAIM_CHECK_BYTES + CLI_RECLAIM_SLACK_BYTES between looks, plus what V8's concurrent
    // sweeper has not freed yet when the process looks (each scavenge frees the buffers it found dead).
    expect(withIt.growth).toBeLessThan(6 << 20);
    expect(withIt.gcLeaked).toBe('undefined');
  });

  it('asks for no scavenge while external memory does not grow (narrow rows: V8 scavenges first), and one per slack of memory that stays live', () => {
    let calls = 0;
    const lineBytes = socketMemoryReclaimer(1024, 1 << 20, () => calls++)!;
    for (let i = 0; i < 100_000; i++) lineBytes(1024); // 100 MB of lines, no external memory kept
    expect(calls).toBeLessThanOrEqual(1); // at most one for whatever the test runner allocated meanwhile
    calls = 0;
    const live: Buffer[] = [];
    for (let i = 0; i < 64; i++) {
      live.push(Buffer.allocUnsafeSlow(256 << 10)); // 16 MB kept alive: a scavenge frees none of it
      lineBytes(1024);
    }
    expect(calls).toBeGreaterThan(0);
    expect(calls).toBeLessThanOrEqual(16);
    expect(live.length).toBe(64);
  });
});
