// Changes per second into each sink, against the pipeline alone, in the same run on the same WAL.
// Each client reads its own slot, created before the workload, from the start to the workload's end:
//   pipeline    source → parsePgoutput → bufferTransaction → ackOnCommit (no sink), first and last
//   nats_loop   no PostgreSQL: a plain publish loop on the same nats-server, the same number of
//               messages of the same shape (payload, Nats-Msg-Id and the seven Walstream headers via
//               the client's headers()), 1024 PubAcks awaited at once on one reply subscription
//   js_publish  no PostgreSQL: the same messages through @nats-io/jetstream's js.publish() (one
//               request each), 1024 in flight
//   jetstream   … → jetstreamSink → …   (one nats-server, R1 file stream, on 127.0.0.1)
//   jetstream_tx  the same with mode: 'transaction' (one message per transaction)
//   jetstream3  … → jetstreamSink → …   (three clustered nats-servers, R3 file stream)
//   redis       … → redisSink → …       (redis-server, appendonly yes, appendfsync everysec)
//   postgres    … → postgresApply → …   (a second database of the same server)
// Usage: npm run bench:sinks [-- transactions rows-per-transaction]   (default 1000 × 100)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { type NatsConnection, connect, createInbox, headers as natsHeaders } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { Client } from 'pg';
import type { MonoTypeOperatorFunction } from 'rxjs';
import { type TransactionEvent, ackOnCommit, bufferTransaction, parsePgoutput } from '../operators';
import { jetstreamSink } from '../sinks/jetstream';
import { postgresApply } from '../sinks/postgres';
import { redisSink } from '../sinks/redis';
import { Lsn, LsnFeedback, logicalReplication } from '../src';
import { freePort, startEmbeddedPostgres } from '../src/embedded';
import { ServerProcess, serverBinary, sleep, startNatsCluster, startRedis } from '../spec/support/sink-servers';

const TXS = Number(process.argv[2] ?? 1000);
const ROWS = Number(process.argv[3] ?? 100);
/** `SINKS=jetstream,redis` runs only those (the pipeline alone always runs). */
const ONLY = process.env.SINKS?.split(',');
const wanted = (name: string) => ONLY === undefined || ONLY.includes(name);

interface Result {
  changes: number;
  seconds: number;
  perSecond: number;
  /** CPU seconds of this process (user + system) during the run: what the pipeline and the sink's client cost. */
  cpu: number;
  /** CPU seconds of the engine's server process during the run, when measured (nats-server R1). */
  serverCpu?: number;
}

/** user + system CPU seconds of a process, from /proc/<pid>/stat (Linux), or NaN. */
function processCpu(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return Number.NaN;
  }
}

/** The messages a reference loop publishes: as many as the workload has changes, shaped like the sink's. */
function loopMessages(count: number): { payload: string; header: [string, string][] }[] {
  const out = [];
  for (let i = 0; i < count; i++) {
    const lsn = `0/${(0x1a00000 + i * 120).toString(16).toUpperCase()}`;
    const n = (i % ROWS) + 1;
    out.push({
      payload: `{"type":"insert","lsn":"${lsn}","xid":${1000 + Math.floor(i / ROWS)},"schema":"public","table":"bench_sinks","new":{"id":"${i + 1}","n":"${n}","label":"row-${n}"}}`,
      header: [
        ['Walstream-Commit-Lsn', lsn],
        ['Walstream-End-Lsn', lsn],
        ['Walstream-Xid', String(1000 + Math.floor(i / ROWS))],
        ['Walstream-Commit-Time', '2026-11-30T18:00:00.123456Z'],
        ['Walstream-Op', 'insert'],
        ['Walstream-Table', 'public.bench_sinks'],
        ['Walstream-Index', String(n - 1)],
      ] as [string, string][],
    });
  }
  return out;
}

/** The plain client loop: nc.publish with a reply inbox and the client's headers(), `window` PubAcks outstanding. */
function natsLoop(nc: NatsConnection, subject: string, messages: ReturnType<typeof loopMessages>, window: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const inbox = createInbox();
    let scheduled = false;
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    let next = 0;
    let acked = 0;
    const pump = () => {
      while (next < messages.length && next - acked < window) {
        const m = messages[next];
        const h = natsHeaders();
        for (const [k, v] of m.header) h.set(k, v);
        h.set('Nats-Msg-Id', `loop:${next}`);
        nc.publish(subject, m.payload, { reply: `${inbox}.${next}`, headers: h });
        next++;
      }
    };
    const sub = nc.subscribe(`${inbox}.*`, {
      callback: (_err, msg) => {
        if (msg.string().includes('"error"')) return reject(new Error(msg.string()));
        if (++acked === messages.length) {
          const seconds = (performance.now() - started) / 1000;
          const used = process.cpuUsage(cpu0);
          sub.unsubscribe();
          resolve({ changes: acked, seconds, perSecond: acked / seconds, cpu: (used.user + used.system) / 1e6 });
        } else if (!scheduled) {
          // Refill once per burst of PubAcks, so the next messages leave in one socket write.
          scheduled = true;
          queueMicrotask(() => {
            scheduled = false;
            pump();
          });
        }
      },
    });
    pump();
  });
}

/** The same messages through @nats-io/jetstream's js.publish(), `window` at once. */
function jsPublishLoop(nc: NatsConnection, subject: string, messages: ReturnType<typeof loopMessages>, window: number): Promise<Result> {
  return new Promise((resolve, reject) => {
    const js = jetstream(nc);
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    let next = 0;
    let acked = 0;
    const pump = () => {
      while (next < messages.length && next - acked < window) {
        const m = messages[next];
        const h = natsHeaders();
        for (const [k, v] of m.header) h.set(k, v);
        js.publish(subject, m.payload, { msgID: `jsp:${next}`, headers: h }).then(() => {
          if (++acked === messages.length) {
            const seconds = (performance.now() - started) / 1000;
            const used = process.cpuUsage(cpu0);
            resolve({ changes: acked, seconds, perSecond: acked / seconds, cpu: (used.user + used.system) / 1e6 });
          } else pump();
        }, reject);
        next++;
      }
    };
    pump();
  });
}

function drain(url: string, slot: string, end: Lsn, sink?: MonoTypeOperatorFunction<TransactionEvent>): Promise<Result> {
  return new Promise((resolve, reject) => {
    const feedback = new LsnFeedback();
    let changes = 0;
    const started = performance.now();
    const cpu0 = process.cpuUsage();
    const source = logicalReplication({ connectionString: url, slot, publications: 'bench_sinks', feedback }).pipe(parsePgoutput(), bufferTransaction());
    const sub = (sink ? source.pipe(sink) : source).pipe(ackOnCommit(feedback)).subscribe({
      next(e) {
        if (e.type !== 'transaction') return;
        changes += e.changes.length;
        if (e.endLsn.value >= end.value) {
          const seconds = (performance.now() - started) / 1000;
          const used = process.cpuUsage(cpu0);
          sub.unsubscribe();
          resolve({ changes, seconds, perSecond: changes / seconds, cpu: (used.user + used.system) / 1e6 });
        }
      },
      error: reject,
    });
  });
}

async function client(url: string): Promise<Client> {
  const c = new Client({ connectionString: url });
  await c.connect();
  return c;
}

async function main(): Promise<void> {
  const server = await startEmbeddedPostgres({ settings: { wal_level: 'logical', max_wal_senders: '20', max_replication_slots: '20', synchronous_commit: 'off', fsync: 'off', autovacuum: 'off', max_wal_size: '4GB' } });
  const db = await client(server.url);
  const natsBin = serverBinary('nats-server');
  const redisBin = serverBinary('redis-server');
  try {
    const ddl = 'CREATE TABLE bench_sinks (id bigserial PRIMARY KEY, n int NOT NULL, label text NOT NULL)';
    await db.query(`${ddl}; CREATE PUBLICATION bench_sinks FOR TABLE bench_sinks`);
    await db.query("CREATE DATABASE bench_target");
    const target = new URL(server.url);
    target.pathname = '/bench_target';
    const t = await client(target.toString());
    await t.query(ddl);
    await t.end();
    for (const c of ['pipeline', 'jetstream', 'jetstream_tx', 'jetstream3', 'redis', 'postgres', 'pipeline_again']) await db.query(`SELECT pg_create_logical_replication_slot('bench_${c}', 'pgoutput')`);
    await db.query(`DO $$ BEGIN FOR t IN 1..${TXS} LOOP INSERT INTO bench_sinks (n, label) SELECT g, 'row-' || g FROM generate_series(1, ${ROWS}) g; COMMIT; END LOOP; END $$`);
    // The last commit ends at or below the insert position (not pg_current_wal_lsn(), which with
    // synchronous_commit=off can lie before the last commits): stop at the transaction that reaches it.
    const end = Lsn.from(Lsn.parse((await db.query('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l).value - 1n);
    const results: Record<string, Result> = {};
    results.pipeline = await drain(server.url, 'bench_pipeline', end);

    if (natsBin !== undefined && wanted('jetstream')) {
      const port = await freePort();
      const dir = mkdtempSync(join(tmpdir(), 'walstream-bench-nats-'));
      const one = new ServerProcess(natsBin, ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir]);
      one.start();
      await sleep(500);
      const nc = await connect({ servers: [`nats://127.0.0.1:${port}`], waitOnFirstConnect: true });
      const jsm = await jetstreamManager(nc);
      const messages = loopMessages(results.pipeline.changes);
      const serverCpu = async (run: () => Promise<Result>) => {
        const before = processCpu(one.pid);
        const r = await run();
        r.serverCpu = processCpu(one.pid) - before;
        return r;
      };
      await jsm.streams.add({ name: 'LOOP', subjects: ['loop.>'], num_replicas: 1 });
      results.nats_loop = await serverCpu(() => natsLoop(nc, 'loop.public.bench_sinks', messages, 1024));
      await jsm.streams.add({ name: 'JSPUB', subjects: ['jspub.>'], num_replicas: 1 });
      results.js_publish = await serverCpu(() => jsPublishLoop(nc, 'jspub.public.bench_sinks', messages, 1024));
      await jsm.streams.add({ name: 'BENCH', subjects: ['bench.>'], num_replicas: 1 });
      results.jetstream = await serverCpu(() => drain(server.url, 'bench_jetstream', end, jetstreamSink({ nc, subjectPrefix: 'bench', stream: 'BENCH' })));
      await jsm.streams.add({ name: 'BENCHTX', subjects: ['benchtx.>'], num_replicas: 1 });
      results.jetstream_tx = await serverCpu(() => drain(server.url, 'bench_jetstream_tx', end, jetstreamSink({ nc, subjectPrefix: 'benchtx', stream: 'BENCHTX', mode: 'transaction' })));
      const natsRef = results.nats_loop.perSecond;
      console.log(`jetstream per change: ${(results.jetstream.perSecond / natsRef).toFixed(2)} × the plain nats publish loop; js.publish(): ${(results.js_publish.perSecond / natsRef).toFixed(2)} ×`);
      await nc.close();
      await one.stop();
      rmSync(dir, { recursive: true, force: true });

    }
    if (natsBin !== undefined && wanted('jetstream3')) {
      const cluster = await startNatsCluster(natsBin);
      const nc3 = await connect({ servers: cluster.urls, waitOnFirstConnect: true });
      const jsm3 = await jetstreamManager(nc3, { checkAPI: false });
      for (;;) {
        try {
          await jsm3.streams.add({ name: 'BENCH3', subjects: ['bench3.>'], num_replicas: 3 });
          break;
        } catch {
          await sleep(200);
        }
      }
      results.jetstream3 = await drain(server.url, 'bench_jetstream3', end, jetstreamSink({ nc: nc3, subjectPrefix: 'bench3', stream: 'BENCH3' }));
      await nc3.close();
      await cluster.stop();
    }
    if (redisBin !== undefined && wanted('redis')) {
      const r = await startRedis(redisBin, 'everysec');
      const redis = new Redis(r.url, { maxRetriesPerRequest: null });
      await sleep(300);
      results.redis = await drain(server.url, 'bench_redis', end, redisSink({ redis, key: 'bench' }));
      redis.disconnect();
      await r.stop();
    }
    if (wanted('postgres')) results.postgres = await drain(server.url, 'bench_postgres', end, postgresApply({ connection: target.toString() }));
    results.pipeline_again = await drain(server.url, 'bench_pipeline_again', end);

    const reference = (results.pipeline.perSecond + results.pipeline_again.perSecond) / 2;
    console.log(`${TXS * ROWS} inserts in ${TXS} transactions of ${ROWS}; reference: the pipeline alone, mean of its first and last run = ${Math.round(reference)} changes/s`);
    const refCpu = (results.pipeline.cpu + results.pipeline_again.cpu) / 2 / results.pipeline.changes;
    console.log('| client | changes | seconds | changes/s | × pipeline alone | process CPU µs/change | changes per process CPU-second | server CPU µs/change |');
    console.log('|---|---:|---:|---:|---:|---:|---:|---:|');
    for (const [name, r] of Object.entries(results)) {
      const perChange = r.cpu / r.changes;
      console.log(
        `| ${name} | ${r.changes} | ${r.seconds.toFixed(2)} | ${Math.round(r.perSecond).toLocaleString('en-US')} | ${(r.perSecond / reference).toFixed(2)} | ${(perChange * 1e6).toFixed(1)} | ${Math.round(1 / perChange).toLocaleString('en-US')} | ${r.serverCpu === undefined ? '' : ((r.serverCpu / r.changes) * 1e6).toFixed(1)} |`,
      );
    }
    console.log(`pipeline alone: ${(refCpu * 1e6).toFixed(1)} µs of process CPU per change`);
  } finally {
    await db.end();
    await server.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
