// Benchmark client: pg-walstream's full pipeline with a no-op consumer, in its own process.
// Usage: node walstream.mjs '<json config>'; prints one JSON line with what it received.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
// WALSTREAM_DIST=<a copy of dist/> runs another build, for before/after comparisons of a change.
const dist = process.env.WALSTREAM_DIST;
const ws = require(dist ? `${dist}/cjs/src/index.js` : 'pg-walstream');
const ops = require(dist ? `${dist}/cjs/operators/index.js` : 'pg-walstream/operators');
const { takeWhile, tap } = require('rxjs');

const cfg = JSON.parse(process.argv[2]);
const cpuMs = (u) => (u.user + u.system) / 1000;
const endLsn = ws.Lsn.parse(cfg.endLsn).value;
const feedback = new ws.LsnFeedback();
let events = 0;
let transactions = 0;

const frames = ws
  .logicalReplication({ connectionString: cfg.url, slot: cfg.slot, publications: [cfg.publication], feedback, ...cfg.options })
  // The end rule of pg_recvlogical --endpos: the stream ends with the first frame at or past endLsn
  // (a Commit's XLogData carries its end LSN), which is still delivered; a keepalive reporting it also ends it.
  .pipe(takeWhile((f) => (f.type === 'keepalive' ? f.walEnd : f.walStart).value < endLsn, true));

const isDml = (t) => t === 'insert' || t === 'update' || t === 'delete';

// ---- pipeline switch: the full pipeline once the operators branch has landed, else the fallback ----
// WALSTREAM_PIPELINE=parse forces the fallback, to measure what the two operators cost.
const FULL_PIPELINE = process.env.WALSTREAM_PIPELINE !== 'parse' && typeof ops.bufferTransaction === 'function' && typeof ops.ackOnCommit === 'function';
const pipeline = FULL_PIPELINE
  ? frames.pipe(
      ops.parsePgoutput(),
      ops.bufferTransaction(),
      tap((e) => {
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
      console.log(JSON.stringify({ client: 'pg-walstream', pipeline: FULL_PIPELINE ? 'full' : 'parsePgoutput+ack', events, transactions, streamMs, streamCpuMs: cpuMs(process.cpuUsage(cpu0)) }));
      process.exit(0);
    }, 0);
  },
});
