// Benchmark client: pg-walstream's backfill() of one table on a running stream, in its own process.
// Usage: node backfill.mjs '<json config>'; prints one JSON line with what it read.
// config: { url, slot, publication, table, chunkSize, typed }. typed: read every value (toObject).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const ws = require('../../dist/cjs/src/index.js');
const ops = require('../../dist/cjs/operators/index.js');
const { lastValueFrom, tap, takeWhile } = require('rxjs');

const cfg = JSON.parse(process.argv[2]);
const feedback = new ws.LsnFeedback();
const options = { connectionString: cfg.url, slot: cfg.slot, publications: cfg.publication };
let rows = 0;
let chunks = 0;
let first = 0;
const t0 = performance.now();
await lastValueFrom(
  ws.logicalReplication({ ...options, feedback, messages: true }).pipe(
    ops.parsePgoutput(),
    ops.bufferTransaction(),
    ops.backfill({ ...options, tables: [cfg.table], chunkSize: cfg.chunkSize, feedback, stateStore: new (require('../../dist/cjs/src/snapshot/index.js').MemoryStateStore)() }),
    tap((e) => {
      if (e.type === 'backfillStart') first = performance.now();
      if (e.type !== 'backfillRows') return;
      rows += e.rows.length;
      chunks++;
      if (cfg.typed) for (const r of e.rows) r.toObject();
    }),
    ops.ackOnCommit(feedback),
    takeWhile((e) => e.type !== 'backfillEnd'),
  ),
);
const end = performance.now();
console.log(JSON.stringify({ rows, chunks, totalMs: end - t0, copyMs: end - first }));
process.exit(0);
