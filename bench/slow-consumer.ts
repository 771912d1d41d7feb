// Slow consumer memory: streams a large WAL volume into a consumer rate-limited far below the
// read speed, and samples the consumer process's heap and RSS. With flow control the source
// stops reading while finished transactions wait, so memory stays flat whatever the volume;
// without it, the backlog piles up in the heap.
//
// Run: npx ts-node --files bench/slow-consumer.ts [--mb 256] [--rate 10] [--modes on,off]
//   --mb     WAL to stream, in MB (about 1 MB per transaction of 1,000 rows × 1 KB)
//   --rate   transactions per second the consumer takes (rateLimit)
//   --modes  flow control on (the default: 1000 transactions / 64 MiB), off, or both
// Results are printed as a Markdown table row per mode; see docs/benchmarks-slow-consumer.md.
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { Client } from 'pg';
import { concatMap, takeWhile } from 'rxjs';
import { Lsn, LsnFeedback, logicalReplication } from '../src';
import { startEmbeddedPostgres } from '../src/embedded';
import { ackOnCommit, bufferTransaction, parsePgoutput, rateLimit } from '../operators';

const ROWS_PER_TX = 1000;
const ROW_BYTES = 1024; // 32 md5 hex digests
const RSS_LIMIT_MB = 3000; // stop a run that is clearly not flat before it hurts the machine

interface ChildResult {
  mode: string;
  transactions: number;
  seconds: number;
  rate: number;
  peakHeapMB: number;
  peakRssMB: number;
  peakBuffersMB: number;
  heapAfterWarmupMB: number;
  heapSamples: number[];
  aborted: boolean;
}

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
}

async function child(): Promise<void> {
  const { url, slot, endLsn, rate, mode } = JSON.parse(arg('child', '{}')) as { url: string; slot: string; endLsn: string; rate: number; mode: string };
  const end = Lsn.parse(endLsn).value;
  const feedback = new LsnFeedback();
  const heap: number[] = [];
  let peakRss = 0;
  let peakBuffers = 0;
  let transactions = 0;
  let aborted = false;
  const t0 = Date.now();
  const emitted: number[] = [];
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    heap.push(m.heapUsed / 2 ** 20);
    peakRss = Math.max(peakRss, m.rss / 2 ** 20);
    peakBuffers = Math.max(peakBuffers, m.arrayBuffers / 2 ** 20); // frames live in Buffers, outside the V8 heap
    if (m.rss / 2 ** 20 > RSS_LIMIT_MB) {
      aborted = true;
      finish();
    }
  }, 200);
  const finish = () => {
    clearInterval(sampler);
    sub.unsubscribe();
    const seconds = (Date.now() - t0) / 1000;
    const n = emitted.length;
    const warm = Math.floor(heap.length / 5);
    const result: ChildResult = {
      mode, transactions, seconds,
      rate: n > rate ? ((n - rate) * 1000) / (emitted[n - 1] - emitted[0]) : 0,
      peakHeapMB: Math.max(...heap), peakRssMB: peakRss, peakBuffersMB: peakBuffers, heapAfterWarmupMB: Math.max(...heap.slice(warm)), heapSamples: heap, aborted,
    };
    console.log(JSON.stringify(result));
    setTimeout(() => process.exit(0), 500);
  };
  const sub = logicalReplication({ connectionString: url, slot, publications: 'bench_pub', feedback, flowControl: mode === 'on' ? undefined : false })
    .pipe(
      parsePgoutput(),
      bufferTransaction(),
      rateLimit({ count: rate, per: 1000 }),
      concatMap(async (event) => {
        if (event.type === 'transaction') {
          emitted.push(Date.now());
          transactions++;
        }
        return event;
      }),
      ackOnCommit(feedback),
      takeWhile(() => feedback.acknowledged.value < end),
    )
    .subscribe({ complete: finish, error: (err) => { console.error(err); process.exit(1); } });
}

async function main(): Promise<void> {
  const mb = Number(arg('mb', '256'));
  const rate = Number(arg('rate', '10'));
  const modes = arg('modes', 'on,off').split(',');
  const server = await startEmbeddedPostgres({ settings: { fsync: 'off', synchronous_commit: 'off' } });
  try {
    const sql = new Client({ connectionString: server.url });
    sql.on('error', () => {}); // the server stops at the end, or after a failure reported below
    await sql.connect();
    await sql.query('CREATE TABLE bench_slow (id bigserial PRIMARY KEY, payload text NOT NULL)');
    await sql.query('CREATE PUBLICATION bench_pub FOR TABLE bench_slow');
    for (const mode of modes) await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [`bench_${mode}`]);
    const before = (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    const txs = Math.ceil(mb / ((ROWS_PER_TX * ROW_BYTES) / 2 ** 20));
    const t0 = Date.now();
    await sql.query(`DO $$ BEGIN FOR t IN 1..${txs} LOOP INSERT INTO bench_slow (payload) SELECT repeat(md5(g::text || t), ${ROW_BYTES / 32}) FROM generate_series(1, ${ROWS_PER_TX}) g; COMMIT; END LOOP; END $$`);
    const endLsn = (await sql.query('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
    const walMB = Number((await sql.query('SELECT pg_wal_lsn_diff($1, $2)::bigint AS d', [endLsn, before])).rows[0].d) / 2 ** 20;
    console.error(`wrote ${txs} transactions, ${walMB.toFixed(0)} MB of WAL, in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const node = process.version;
    const cpu = execFileSync('sh', ['-c', "grep -m1 'model name' /proc/cpuinfo | cut -d: -f2"]).toString().trim();
    console.log(`\n${walMB.toFixed(0)} MB of WAL, ${txs} transactions of ${ROWS_PER_TX} rows × ${ROW_BYTES} B, consumer rateLimit ${rate}/s; Node ${node}, ${cpu}\n`);
    console.log('| flow control | transactions | time (s) | consumer rate (tx/s) | peak heap (MB) | heap after warm-up (MB) | peak Buffers (MB) | peak RSS (MB) |');
    console.log('|---|---|---|---|---|---|---|---|');
    for (const mode of modes) {
      const proc = spawn(process.execPath, ['-r', 'ts-node/register/transpile-only', __filename, '--child', JSON.stringify({ url: server.url, slot: `bench_${mode}`, endLsn, rate, mode })], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>((resolve) => createInterface({ input: proc.stdout }).once('line', resolve));
      await new Promise((r) => proc.once('close', r));
      const r = JSON.parse(line) as ChildResult;
      const label = mode === 'on' ? 'on (default: 1000 tx / 64 MiB)' : 'off';
      console.log(`| ${label} | ${r.transactions}${r.aborted ? ` (stopped at ${RSS_LIMIT_MB} MB RSS)` : ''} | ${r.seconds.toFixed(1)} | ${r.rate.toFixed(2)} | ${r.peakHeapMB.toFixed(0)} | ${r.heapAfterWarmupMB.toFixed(0)} | ${r.peakBuffersMB.toFixed(0)} | ${r.peakRssMB.toFixed(0)} |`);
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
