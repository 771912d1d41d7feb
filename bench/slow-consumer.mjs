// Memory with a slow consumer: about 1 GB of WAL (500 transactions × 1,000 rows × 2 KB) streamed
// through the pipeline into a consumer that takes 40 ms per transaction, slower than the walsender.
// The client samples its RSS; memory is flat when nothing grows after warm-up, which takes flow
// control: the source must stop reading while the consumer is behind.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { sql } from './lib/server.mjs';

const require = createRequire(import.meta.url);
const TXS = 500;
const ROWS = 1000;
const DELAY_MS = 40;
const RSS_LIMIT_MB = 1536; // stop a client that is clearly not flat before it hurts the machine

export async function runSlowConsumer(server) {
  const db = await sql(server.url);
  await db.query('CREATE TABLE bench_slow (id bigserial PRIMARY KEY, payload text NOT NULL)');
  await db.query('CREATE PUBLICATION pub_slow FOR TABLE bench_slow');
  await db.query(`SELECT pg_create_logical_replication_slot('bench_slow', 'pgoutput')`);
  const before = (await db.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
  await db.query(
    `DO $$ BEGIN FOR t IN 1..${TXS} LOOP INSERT INTO bench_slow (payload) SELECT (SELECT string_agg(md5(g::text || ':' || j || ':' || t), '') FROM generate_series(1, 64) j) FROM generate_series(1, ${ROWS}) g; COMMIT; END LOOP; END $$`,
  );
  const endLsn = (await db.query('SELECT pg_current_wal_insert_lsn() AS l')).rows[0].l;
  const walBytes = Number((await db.query('SELECT pg_wal_lsn_diff($1, $2)::bigint AS d', [endLsn, before])).rows[0].d);
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), JSON.stringify({ url: server.url, slot: 'bench_slow', publication: 'pub_slow', endLsn })], { stdio: ['ignore', 'pipe', 'inherit'] });
  const line = await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  await new Promise((r) => child.once('close', r));
  await db.query(`SELECT pg_drop_replication_slot('bench_slow')`);
  await db.query('DROP TABLE bench_slow');
  await db.end();
  const r = { walBytes, delayMsPerTx: DELAY_MS, ...JSON.parse(line) };
  judge(r);
  console.log(`\n## slow consumer: ${(walBytes / 2 ** 30).toFixed(2)} GB of WAL, ${DELAY_MS} ms per transaction [${r.pipeline}]`);
  console.log(
    `  RSS ${Object.entries(r.rssAtMB).map(([k, v]) => `${k} ${v.toFixed(0)} MB`).join(', ')}; peak ${r.peakMB.toFixed(0)} MB; second half ${r.growthMB.toFixed(0)} MB above the first half's peak: ` +
      (r.flat ? 'flat' : r.aborted ? `stopped at ${RSS_LIMIT_MB} MB after ${r.transactions} of ${TXS} transactions, grows with the backlog` : 'grows with the backlog') +
      ` (${r.transactions} transactions in ${(r.ms / 1000).toFixed(1)} s)`,
  );
  return r;
}

/**
 * Flat: the second half of the run adds nothing (within 16 MB) above the first half's peak, and
 * the peak stays below half the WAL streamed. The second condition matters when the walsender is
 * fast: a client without flow control can hold the whole backlog before the first half ends and
 * then look "flat" while its memory is the size of the WAL. Samples: [ms, RSS MB].
 */
export function judge(r) {
  const half = r.ms / 2;
  const first = r.samples.filter(([t]) => t <= half).map(([, mb]) => mb);
  const second = r.samples.filter(([t]) => t > half).map(([, mb]) => mb);
  r.firstHalfPeakMB = Math.max(...first);
  r.peakMB = Math.max(...first, ...second);
  r.growthMB = Math.max(...second) - r.firstHalfPeakMB;
  r.flat = !r.aborted && r.growthMB <= 16 && r.peakMB * 2 ** 20 < r.walBytes / 2;
  const at = (ms) => r.samples.find(([t]) => t >= ms)?.[1] ?? r.samples.at(-1)[1];
  r.rssAtMB = Object.fromEntries([1, 2, 5, 10, 20].map((s) => [`${s}s`, at(s * 1000)]));
  return r;
}

function child(cfg) {
  const dist = process.env.WALSTREAM_DIST; // another build, for before/after comparisons
  const ws = require(dist ? `${dist}/cjs/src/index.js` : 'pg-walstream');
  const ops = require(dist ? `${dist}/cjs/operators/index.js` : 'pg-walstream/operators');
  const { Observable, concatMap, map, takeWhile, tap, timer } = require('rxjs');
  const end = ws.Lsn.parse(cfg.endLsn).value;
  const feedback = new ws.LsnFeedback();
  const samples = [];
  let transactions = 0;
  const t0 = Date.now();
  const report = (aborted) => {
    console.log(JSON.stringify({ pipeline: FULL_PIPELINE ? 'full' : 'parsePgoutput+ack', aborted, transactions, ms: Date.now() - t0, samples }));
    process.exit(0);
  };
  setInterval(() => {
    const mb = process.memoryUsage.rss() / 2 ** 20;
    samples.push([Date.now() - t0, Math.round(mb)]);
    if (mb > RSS_LIMIT_MB) report(true);
  }, 250);
  const slow = (x) => timer(DELAY_MS).pipe(map(() => x));
  const frames = ws
    .logicalReplication({ connectionString: cfg.url, slot: cfg.slot, publications: [cfg.publication], feedback, protoVersion: 1 })
    .pipe(takeWhile((f) => (f.type === 'keepalive' ? f.walEnd : f.walStart).value < end, true));
  // ---- pipeline switch: as in clients/walstream.mjs ----
  const FULL_PIPELINE = typeof ops.bufferTransaction === 'function' && typeof ops.ackOnCommit === 'function';
  const pipeline = FULL_PIPELINE
    ? frames.pipe(ops.parsePgoutput(), ops.bufferTransaction(), concatMap(slow), tap((e) => e.type === 'transaction' && transactions++), ops.ackOnCommit(feedback))
    : frames.pipe(
        ops.parsePgoutput(),
        // Until bufferTransaction() lands: the same job in a few lines, each transaction's changes in an array.
        (source) =>
          new Observable((sub) => {
            let changes = [];
            return source.subscribe({
              next(m) {
                if (m.type === 'insert' || m.type === 'update' || m.type === 'delete') changes.push(m);
                else if (m.type === 'commit') {
                  sub.next({ endLsn: m.endLsn, changes });
                  changes = [];
                }
              },
              error: (e) => sub.error(e),
              complete: () => sub.complete(),
            });
          }),
        concatMap(slow),
        tap((tx) => {
          transactions++;
          feedback.acknowledge(tx.endLsn);
        }),
      );
  // ---- end of switch ----
  pipeline.subscribe({ error: (err) => (console.error(err), process.exit(1)), complete: () => report(false) });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) child(JSON.parse(process.argv[2]));
