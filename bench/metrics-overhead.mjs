// Cost of ReplicationMetrics on the hot path: decodeReplicationFrame for every frame of a
// synthetic logical stream (Begin, 5 Inserts, Commit per transaction), alone and followed by
// metrics.frame(), as src/source/logical.ts calls it with `observer`. CPU time, passes alternated
// in one process so that the load of a shared machine hits both alike.
//   node bench/metrics-overhead.mjs [transactions] [passes]
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Lsn, LsnFeedback } = require('../dist/cjs/src/index.js');
const { decodeReplicationFrame, encodePgoutput, encodeXLogData, dateToPgTimestamp } = require('../dist/cjs/src/protocol/index.js');
const { ReplicationMetrics } = require('../dist/cjs/src/metrics/index.js');

const transactions = Number(process.argv[2] ?? 100_000);
const passes = Number(process.argv[3] ?? 7);
const frames = [];
const time = dateToPgTimestamp(Date.now());
let lsn = 0x1000000n;
for (let t = 0; t < transactions; t++) {
  const begin = encodePgoutput({ type: 'begin', lsn: Lsn.ZERO, finalLsn: Lsn.from(lsn + 600n), commitTime: time, xid: t });
  frames.push(encodeXLogData(Lsn.from(lsn), Lsn.from(lsn), time, begin));
  for (let i = 0; i < 5; i++) {
    lsn += 100n;
    // An Insert: tag, relation OID, 'N', one text column of 40 bytes.
    const insert = Buffer.concat([Buffer.from([0x49, 0, 0, 0x40, 0, 0x4e, 0, 1, 0x74, 0, 0, 0, 40]), Buffer.alloc(40, 0x61)]);
    frames.push(encodeXLogData(Lsn.from(lsn), Lsn.from(lsn), time, insert));
  }
  lsn += 100n;
  const commit = encodePgoutput({ type: 'commit', lsn: Lsn.ZERO, flags: 0, commitLsn: Lsn.from(lsn), endLsn: Lsn.from(lsn + 8n), commitTime: time });
  frames.push(encodeXLogData(Lsn.from(lsn + 8n), Lsn.from(lsn + 8n), time, commit));
  lsn += 100n;
}

function run(withMetrics) {
  const metrics = new ReplicationMetrics();
  const feedback = new LsnFeedback();
  metrics.connected({ kind: 'logical', slot: 'bench', target: 'bench', serverVersion: 180000, feedback });
  const start = process.cpuUsage();
  let n = 0;
  for (const f of frames) {
    const frame = decodeReplicationFrame(f, 0, f.length);
    if (withMetrics) metrics.frame(frame, f.length);
    n += frame.type === 'xlogdata' ? 1 : 0;
  }
  // Acknowledge everything and read once, as a scrape would.
  feedback.acknowledge(Lsn.from(lsn));
  if (withMetrics && metrics.snapshot().transactions !== transactions) throw new Error('miscounted');
  const used = process.cpuUsage(start);
  if (n !== frames.length) throw new Error("lost frames");
  return (used.user + used.system) / 1000;
}

const results = { decode: [], metrics: [] };
run(false), run(true); // warm up
for (let p = 0; p < passes; p++) {
  results.decode.push(run(false));
  results.metrics.push(run(true));
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const d = median(results.decode);
const m = median(results.metrics);
console.log(JSON.stringify({ frames: frames.length, transactions, passes, decodeMs: d, decodePlusMetricsMs: m, ratio: Number((m / d).toFixed(3)), metricsNsPerFrame: Number((((m - d) * 1e6) / frames.length).toFixed(1)) }));
