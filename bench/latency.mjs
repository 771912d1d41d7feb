// Live latency: a writer commits one-row transactions at a steady 5,000 per second (paced on the
// server, synchronous_commit=on so the walsender sees each commit at once), while the pipeline
// streams them. Latency = delivery to the consumer (client clock) − commit time from the Commit
// message (server clock; same machine, same clock).
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from './lib/server.mjs';

const require = createRequire(import.meta.url);
const RATE = 5000;
const SECONDS = 12;
const WARMUP_S = 2;
const PG_EPOCH_US = 946_684_800_000_000;

export async function runLatency(server) {
  const db = await sql(server.url);
  await db.query('CREATE TABLE bench_latency (id bigserial PRIMARY KEY, n int NOT NULL, label text NOT NULL)');
  await db.query('CREATE PUBLICATION pub_latency FOR TABLE bench_latency');
  await db.query(`SELECT pg_create_logical_replication_slot('bench_latency', 'pgoutput')`);
  const child = spawn(process.execPath, [...(process.env.LATENCY_NODE_OPTIONS ?? '').split(' ').filter(Boolean), fileURLToPath(import.meta.url), JSON.stringify({ url: server.url, slot: 'bench_latency', publication: 'pub_latency' })], { stdio: ['pipe', 'pipe', 'inherit'] });
  const lines = createInterface({ input: child.stdout });
  const next = () => new Promise((resolve) => lines.once('line', resolve));
  await next(); // "streaming"
  const total = RATE * SECONDS;
  const t0 = Date.now();
  await db.query('SET synchronous_commit = on');
  await db.query(`DO $$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
    FOR i IN 1..${total} LOOP
      INSERT INTO bench_latency (n, label) VALUES (i, 'row-' || i);
      COMMIT;
      IF i % 10 = 0 THEN PERFORM pg_sleep(GREATEST(0, extract(epoch FROM t0 + i * interval '${1e6 / RATE} microseconds' - clock_timestamp()))); END IF;
    END LOOP; END $$`);
  const writeS = (Date.now() - t0) / 1000;
  // The insert position, not pg_current_wal_lsn(): with synchronous_commit=off the last commits may not be written yet.
  const endLsn = (await db.query('SELECT pg_current_wal_insert_lsn() AS l')).rows[0].l;
  child.stdin.write(endLsn + '\n');
  const result = JSON.parse(await next());
  await new Promise((r) => child.once('close', r));
  await db.query(`SELECT pg_drop_replication_slot('bench_latency')`);
  await db.end();
  result.targetTxPerS = RATE;
  result.achievedTxPerS = total / writeS;
  console.log(`\n## live latency at ${RATE} tx/s (achieved ${result.achievedTxPerS.toFixed(0)} tx/s, ${result.measured} transactions after ${WARMUP_S} s warm-up) [${result.pipeline}]`);
  console.log(`  p50 ${result.p50Ms.toFixed(3)} ms  p90 ${result.p90Ms.toFixed(3)} ms  p99 ${result.p99Ms.toFixed(3)} ms  max ${result.maxMs.toFixed(3)} ms`);
  return result;
}

function child(cfg) {
  const dist = process.env.WALSTREAM_DIST; // another build, for before/after comparisons
  const ws = require(dist ? `${dist}/cjs/src/index.js` : 'pg-walstream');
  const ops = require(dist ? `${dist}/cjs/operators/index.js` : 'pg-walstream/operators');
  const { takeWhile, tap } = require('rxjs');
  const feedback = new ws.LsnFeedback();
    let end = -1n;
  const lat = [];
  const now = () => (performance.timeOrigin + performance.now()) * 1000; // µs since 1970
  const record = (commitTime) => lat.push(now() - (Number(commitTime) + PG_EPOCH_US));
  const frames = ws
    .logicalReplication({ connectionString: cfg.url, slot: cfg.slot, publications: [cfg.publication], feedback, protoVersion: 1 })
    .pipe(takeWhile((f) => end < 0n || (f.type === 'keepalive' ? f.walEnd : f.walStart).value < end, true));
  // ---- pipeline switch: as in clients/walstream.mjs ----
  const FULL_PIPELINE = typeof ops.bufferTransaction === 'function' && typeof ops.ackOnCommit === 'function';
  const pipeline = FULL_PIPELINE
    ? frames.pipe(ops.parsePgoutput(), ops.bufferTransaction(), tap((e) => e.type === 'transaction' && record(e.commitTime)), ops.ackOnCommit(feedback))
    : frames.pipe(
        ops.parsePgoutput(),
        tap((m) => {
          if (m.type === 'commit') {
            record(m.commitTime);
            feedback.acknowledge(m.endLsn);
          }
        }),
      );
  // ---- end of switch ----
  pipeline.subscribe({
    error(err) {
      console.error(err);
      process.exit(1);
    },
    complete() {
      const warm = Math.round(WARMUP_S * RATE);
      const xs = lat.slice(warm).sort((a, b) => a - b);
      const q = (p) => xs[Math.min(xs.length - 1, Math.floor(p * xs.length))] / 1000;
      console.log(JSON.stringify({ pipeline: FULL_PIPELINE ? 'full' : 'parsePgoutput+ack', received: lat.length, measured: xs.length, p50Ms: q(0.5), p90Ms: q(0.9), p99Ms: q(0.99), maxMs: xs[xs.length - 1] / 1000 }));
      setTimeout(() => process.exit(0), 0);
    },
  });
  setTimeout(() => console.log('streaming'), 1000);
  createInterface({ input: process.stdin }).once('line', (l) => (end = ws.Lsn.parse(l.trim()).value));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) child(JSON.parse(process.argv[2]));
