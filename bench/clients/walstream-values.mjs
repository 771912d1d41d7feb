// Benchmark client: pg-walstream's full pipeline whose consumer reads every value
// (`Row#get` on every column of every tuple), in its own process. The reference the CLI is held
// to (issue 15): the CLI must read every value too, to print it.
// Usage: node walstream-values.mjs '<json config>'; prints one JSON line with what it received.
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const dist = process.env.WALSTREAM_DIST;
const ws = require(dist ? `${dist}/cjs/src/index.js` : 'pg-walstream');
const ops = require(dist ? `${dist}/cjs/operators/index.js` : 'pg-walstream/operators');
const { tap } = require('rxjs');

const cfg = JSON.parse(process.argv[2]);
const cpuMs = (u) => (u.user + u.system) / 1000;
const feedback = new ws.LsnFeedback();
let events = 0;
let transactions = 0;
let firstAt; // epoch ms of the first transaction, as in walstream.mjs
let values = 0;

const readRow = (row) => {
  if (row === undefined) return;
  for (let i = 0; i < row.length; i++) {
    row.get(i);
    values++;
  }
};

const t0 = performance.now();
const cpu0 = process.cpuUsage();
ws.logicalReplication({ connectionString: cfg.url, slot: cfg.slot, publications: [cfg.publication], feedback, endLsn: cfg.endLsn, ...cfg.options })
  // pg_recvlogical --endpos's rule (the source's endLsn), as in walstream.mjs.
  .pipe(
    ops.parsePgoutput(),
    ops.bufferTransaction(),
    tap((e) => {
      firstAt ??= performance.timeOrigin + performance.now();
      if (e.type !== 'transaction') return;
      transactions++;
      for (const c of e.changes) {
        if (c.type === 'truncate') continue;
        events++;
        readRow(c.new);
        readRow(c.old);
        readRow(c.key);
      }
    }),
    ops.ackOnCommit(feedback),
  )
  .subscribe({
    error(err) {
      console.error(err);
      process.exit(1);
    },
    complete() {
      const streamMs = performance.now() - t0;
      setTimeout(() => {
        console.log(JSON.stringify({ client: 'pg-walstream (values read)', pipeline: 'full+values', events, transactions, values, streamMs, firstAt, endAt: performance.timeOrigin + t0 + streamMs, streamCpuMs: cpuMs(process.cpuUsage(cpu0)) }));
        process.exit(0);
      }, 0);
    },
  });
