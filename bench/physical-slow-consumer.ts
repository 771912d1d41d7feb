// Physical replication under a slow consumer: streams a few hundred MB of WAL into a consumer that
// takes them at a fixed byte rate far below the read speed, and samples the consumer process's
// heap, Buffers and RSS. With flow control (the default whenever `feedback` is passed) the source
// stops reading while `maxPendingBytes` wait for acknowledgment, so memory stays bounded by the
// window; without it the backlog piles up in Buffers.
//
// Run: npx ts-node --files bench/physical-slow-consumer.ts [--segments 24] [--rate 40] [--modes on,off]
//   --segments  WAL segments (16 MB each) to stream: a row, then pg_switch_wal(), per segment
//   --rate      MB/s the consumer takes (it acknowledges each frame once "processed")
//   --modes     flow control on (default window: 64 MiB), off, or both
// Results print as a Markdown table row per mode; see docs/benchmarks.md.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { concatMap, takeWhile } from 'rxjs';
import { Lsn, LsnFeedback, physicalReplication } from '../src';
import { startEmbeddedPostgres } from '../src/embedded';

const RSS_LIMIT_MB = 2000; // stop a run that is clearly not bounded before it hurts the machine

interface ChildResult {
  mode: string;
  mb: number;
  seconds: number;
  peakHeapMB: number;
  peakBuffersMB: number;
  peakRssMB: number;
  aborted: boolean;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function child(): Promise<void> {
  const { url, startLsn, endLsn, rate, mode } = JSON.parse(arg('child', '{}')) as { url: string; startLsn: string; endLsn: string; rate: number; mode: string };
  const end = Lsn.parse(endLsn).value;
  const feedback = new LsnFeedback();
  let peakHeap = 0;
  let peakBuffers = 0;
  let peakRss = 0;
  let bytes = 0;
  let aborted = false;
  const t0 = Date.now();
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    peakHeap = Math.max(peakHeap, m.heapUsed / 2 ** 20);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers / 2 ** 20);
    peakRss = Math.max(peakRss, m.rss / 2 ** 20);
    if (m.rss / 2 ** 20 > RSS_LIMIT_MB) {
      aborted = true;
      finish();
    }
  }, 100);
  const finish = () => {
    clearInterval(sampler);
    sub.unsubscribe();
    const result: ChildResult = { mode, mb: bytes / 2 ** 20, seconds: (Date.now() - t0) / 1000, peakHeapMB: peakHeap, peakBuffersMB: peakBuffers, peakRssMB: peakRss, aborted };
    console.log(JSON.stringify(result));
    setTimeout(() => process.exit(0), 300);
  };
  const sub = physicalReplication({ connectionString: url, startLsn, feedback, flowControl: mode === 'on' ? undefined : false })
    .pipe(
      concatMap(async (frame) => {
        if (frame.type !== 'xlogdata') return frame;
        // The slow consumer: `rate` MB/s, then the frame is done and acknowledged.
        await new Promise((r) => setTimeout(r, (frame.data.length / (rate * 2 ** 20)) * 1000));
        bytes += frame.data.length;
        feedback.acknowledge(frame.walStart.add(frame.data.length));
        return frame;
      }),
      takeWhile(() => feedback.acknowledged.value < end),
    )
    .subscribe({ complete: finish, error: (err) => { console.error(err); process.exit(1); } });
}

async function main(): Promise<void> {
  const segments = Number(arg('segments', '24'));
  const rate = Number(arg('rate', '40'));
  const modes = arg('modes', 'on,off').split(',');
  const server = await startEmbeddedPostgres({ settings: { fsync: 'off', synchronous_commit: 'off', max_wal_size: '4GB' } });
  try {
    const sql = new Client({ connectionString: server.url });
    sql.on('error', () => {});
    await sql.connect();
    await sql.query('CREATE TABLE bench_phys (id int)');
    const startLsn = (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    for (let i = 0; i < segments; i++) {
      await sql.query('INSERT INTO bench_phys VALUES (1)');
      await sql.query('SELECT pg_switch_wal()');
    }
    const endLsn = (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    const walMB = Number((await sql.query('SELECT pg_wal_lsn_diff($1, $2)::bigint AS d', [endLsn, startLsn])).rows[0].d) / 2 ** 20;
    console.log(`\n${walMB.toFixed(0)} MB of WAL (${segments} segments), consumer ${rate} MB/s; Node ${process.version}\n`);
    console.log('| flow control | MB consumed | time (s) | peak heap (MB) | peak Buffers (MB) | peak RSS (MB) |');
    console.log('|---|---|---|---|---|---|');
    for (const mode of modes) {
      const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, '--child', JSON.stringify({ url: server.url, startLsn, endLsn, rate, mode })], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>((resolve) => createInterface({ input: proc.stdout }).once('line', resolve));
      await new Promise((r) => proc.once('close', r));
      const r = JSON.parse(line) as ChildResult;
      const label = mode === 'on' ? 'on (default: 64 MiB)' : 'off';
      console.log(`| ${label} | ${r.mb.toFixed(0)}${r.aborted ? ` (stopped at ${RSS_LIMIT_MB} MB RSS)` : ''} | ${r.seconds.toFixed(1)} | ${r.peakHeapMB.toFixed(0)} | ${r.peakBuffersMB.toFixed(0)} | ${r.peakRssMB.toFixed(0)} |`);
    }
    await sql.end();
  } finally {
    await server.destroy();
  }
}

if (process.argv.includes('--child')) void child();
else main().catch((err) => {
  console.error(err);
  process.exit(1);
});
