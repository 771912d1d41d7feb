#!/usr/bin/env node
// Prints the Markdown tables of docs/benchmarks.md from a results file.
//   node bench/report.mjs [bench/results/latest.json]
import { readFileSync } from 'node:fs';
import { judge } from './slow-consumer.mjs';

const r = JSON.parse(readFileSync(process.argv[2] ?? new URL('./results/latest.json', import.meta.url), 'utf8'));
const f = (x, d = 2) => (x === undefined ? '–' : x.toFixed(d));
const range = (xs, d = 2) => `${f(Math.min(...xs), d)}–${f(Math.max(...xs), d)}`;
const k = (x) => `${Math.round(x / 1000)}k`;

console.log(`Machine: ${r.machine.nproc} × ${r.machine.cpu}, ${r.machine.memoryGB} GB, Node ${r.machine.node}, PostgreSQL ${r.server.version}; ${r.machine.date}; ${r.runs} runs per client (median, with the range of the runs).\n`);
console.log('| scenario | client | DML events/s | wall s | CPU s (user+sys) | peak RSS MB | throughput × recvlogical | CPU × recvlogical | streaming only: throughput × / CPU × |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const s of r.scenarios) {
  for (const [name, v] of Object.entries(s.clients)) {
    const w = v.samples.map((x) => x.wallS);
    const c = v.samples.map((x) => x.cpuS);
    const stream = v.streamThroughputVsRecvlogical !== undefined ? `${f(v.streamThroughputVsRecvlogical)} / ${f(v.streamCpuVsRecvlogical)}` : '';
    console.log(`| ${s.scenario} | ${name} | ${k(v.eventsPerS)} | ${f(v.wallS)} (${range(w)}) | ${f(v.cpuS)} (${range(c)}) | ${f(v.maxRssMB, 0)} | ${name === 'pg_recvlogical' ? '1' : f(v.throughputVsRecvlogical)} | ${name === 'pg_recvlogical' ? '1' : f(v.cpuVsRecvlogical)} | ${stream} |`);
  }
}
if (r.scenarios.some((s) => s.serverDecoding)) {
  // The physical limit (issue 18): the server's own decoding of the same WAL, and the walsender's CPU per client.
  console.log('\n| scenario | client | CPU s | stream CPU s | µs/event | walsender CPU s | cpu ×server | cpu ×walsender | walsender busy | busy from 1st tx | peak RSS MB | cpu ×recv |');
  console.log('|---|---|---|---|---|---|---|---|---|---|---|---|');
  for (const s of r.scenarios) {
    const d = s.serverDecoding;
    if (!d) continue;
    console.log(`| ${s.scenario} | server decoding | ${f(d.cpuS)} | | ${f((d.cpuS / s.events) * 1e6)} | | 1.00 | | | | | |`);
    for (const [name, v] of Object.entries(s.clients)) {
      console.log(`| ${s.scenario} | ${name} | ${f(v.cpuS)} | ${v.streamCpuS === undefined ? '' : f(v.streamCpuS)} | ${f((v.cpuS / s.events) * 1e6)} | ${f(v.walsenderCpuS)} | ${f(v.cpuVsServerDecoding)} | ${f(v.cpuVsWalsender)} | ${v.walsenderBusy === undefined ? '' : `${f(v.walsenderBusy * 100, 0)}%`} | ${v.walsenderBusyStreaming === undefined ? '' : `${f(v.walsenderBusyStreaming * 100, 0)}%`} | ${f(v.maxRssMB, 0)} | ${f(v.cpuVsRecvlogical)} |`);
    }
  }
}
if (r.parse) {
  console.log('\n| parse-only mode | inserts/s (best) | median |');
  console.log('|---|---|---|');
  for (const [m, v] of Object.entries(r.parse.modes)) console.log(`| ${m} | ${f(v.insertsPerS / 1e6)} M | ${f(v.medianInsertsPerS / 1e6)} M |`);
  console.log(`\nEvery value vs pg-logical-replication: ${f(r.parse.fullVsPglr)}×; lazy vs pg-logical-replication: ${f(r.parse.lazyVsPglr)}×.`);
}
if (r.latency) {
  const l = r.latency;
  console.log(`\nLatency at ${l.targetTxPerS} tx/s (achieved ${Math.round(l.achievedTxPerS)}), ${l.measured} transactions after warm-up: p50 ${f(l.p50Ms, 3)} ms, p90 ${f(l.p90Ms, 3)} ms, p99 ${f(l.p99Ms, 3)} ms, max ${f(l.maxMs, 1)} ms [${l.pipeline}].`);
}
if (r.slowConsumer) {
  const s = judge(r.slowConsumer); // the verdict of the current rule, also for older files
  console.log(`\nSlow consumer (${f(s.walBytes / 2 ** 30)} GB of WAL, ${s.delayMsPerTx} ms per transaction) [${s.pipeline}]: RSS ${Object.entries(s.rssAtMB).map(([t, mb]) => `${t} ${mb} MB`).join(', ')}; peak ${s.peakMB} MB; second half ${s.growthMB} MB above the first half's peak → ${s.flat ? 'flat' : 'grows with the backlog'}.`);
}
if (r.profile) {
  console.log('\n| self time | function |');
  console.log('|---|---|');
  for (const x of r.profile.top) console.log(`| ${f(x.pct, 1)}% (${f(x.ms, 0)} ms) | \`${x.fn}\` |`);
}
