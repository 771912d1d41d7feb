// Benchmark client: pg-walstream's initialSnapshot() of one table, in its own process.
// Usage: node snapshot.mjs '<json config>'; prints one JSON line with what it read.
// config: { url, slot, publication, copyFormat, typed, parallel }. typed: read every value (toObject).
import { createRequire } from 'node:module';
import { performance } from 'node:perf_hooks';

const require = createRequire(import.meta.url);
const ws = require('../../dist/cjs/src/index.js');
const ops = require('../../dist/cjs/operators/index.js');
const { lastValueFrom, tap } = require('rxjs');

const cfg = JSON.parse(process.argv[2]);
const feedback = new ws.LsnFeedback();
let rows = 0;
let bytes = 0;
let peakRss = 0;
const sample = setInterval(() => (peakRss = Math.max(peakRss, process.memoryUsage().rss)), 20);
const t0 = performance.now();
let first = 0;
let cpuAtStart;
await lastValueFrom(
  ws
    .initialSnapshot({
      connectionString: cfg.url,
      slot: cfg.slot,
      publications: cfg.publication,
      copyFormat: cfg.copyFormat,
      parallel: cfg.parallel ?? 1,
      feedback,
      stateStore: new (require('../../dist/cjs/src/snapshot/index.js').MemoryStateStore)(),
    })
    .pipe(
      tap((e) => {
        if (e.type === 'snapshotStart') {
          first = performance.now();
          cpuAtStart = process.cpuUsage();
        }
        if (e.type !== 'snapshotRows') return;
        rows += e.rows.length;
        if (cfg.typed) for (const r of e.rows) r.toObject();
      }),
      ops.ackOnCommit(feedback),
      tap((e) => {
        if (e.type === 'snapshotTableEnd') bytes += e.progress.bytes;
      }),
    ),
);
clearInterval(sample);
const end = performance.now();
const cpu = process.cpuUsage(cpuAtStart);
console.log(JSON.stringify({ rows, bytes, totalMs: end - t0, copyMs: end - first, copyCpuMs: (cpu.user + cpu.system) / 1000, peakRssMB: peakRss / 1048576 }));
