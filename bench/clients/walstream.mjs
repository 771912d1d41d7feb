// Benchmark client: pg-walstream's full pipeline with a no-op consumer, in its own process.
// Usage: node walstream.mjs '<json config>'; prints one JSON line with what it received.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
// WALSTREAM_DIST=<a copy of dist/> runs another build, for before/after comparisons of a change.
const dist = process.env.WALSTREAM_DIST;
const ws = require(dist ? `${dist}/cjs/src/index.js` : 'pg-walstream');
const ops = require(dist ? `${dist}/cjs/operators/index.js` : 'pg-walstream/operators');
const { tap } = require('rxjs');

const cfg = JSON.parse(process.argv[2]);
const cpuMs = (u) => (u.user + u.system) / 1000;
const feedback = new ws.LsnFeedback();
let events = 0;
let transactions = 0;
// When the first transaction arrived (after connecting, SCRAM, START_REPLICATION and the walsender's
// start) and when the stream ended, as epoch ms: run.mjs measures the walsender's busy share between them.
let firstAt;

// The source's endLsn is pg_recvlogical --endpos's rule: it completes after the transaction that
// reaches the end (a Commit's XLogData carries its end LSN), or at a keepalive reporting it. Nothing
// sits between the source and parsePgoutput(), as in the README's pipeline, so the two fuse.
const frames = ws.logicalReplication({ connectionString: cfg.url, slot: cfg.slot, publications: [cfg.publication], feedback, endLsn: cfg.endLsn, ...cfg.options });

const isDml = (t) => t === 'insert' || t === 'update' || t === 'delete';

// ---- pipeline switch: the full pipeline once the operators branch has landed, else the fallback ----
// WALSTREAM_PIPELINE=parse forces the fallback, to measure what the two operators cost.
const FULL_PIPELINE = process.env.WALSTREAM_PIPELINE !== 'parse' && typeof ops.bufferTransaction === 'function' && typeof ops.ackOnCommit === 'function';
const pipeline = FULL_PIPELINE
  ? frames.pipe(
      ops.parsePgoutput(),
      ops.bufferTransaction(),
      tap((e) => {
        firstAt ??= performance.timeOrigin + performance.now();
        if (e.type !== 'transaction') return;
        transactions++;
        for (const c of e.changes) if (isDml(c.type)) events++;
      }),
      ops.ackOnCommit(feedback),
    )
  : frames.pipe(
      ops.parsePgoutput(),
      tap((m) => {
        if (isDml(m.type)) events++;
        else if (m.type === 'commit' || m.type === 'streamCommit') {
          transactions++;
          feedback.acknowledge(m.endLsn);
        }
      }),
    );
// ---- end of pipeline switch ----

const t0 = performance.now();
const cpu0 = process.cpuUsage(); // CPU of the streaming alone, without process start and module loading
pipeline.subscribe({
  error(err) {
    console.error(err);
    process.exit(1);
  },
  complete() {
    const streamMs = performance.now() - t0;
    // Unsubscribing sent CopyDone; give the teardown a moment, then report and leave.
    setTimeout(() => {
      console.log(JSON.stringify({ client: 'pg-walstream', pipeline: FULL_PIPELINE ? 'full' : 'parsePgoutput+ack', events, transactions, streamMs, firstAt, endAt: performance.timeOrigin + t0 + streamMs, streamCpuMs: cpuMs(process.cpuUsage(cpu0)) }));
      process.exit(0);
    }, 0);
  },
});
