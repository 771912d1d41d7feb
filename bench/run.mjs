#!/usr/bin/env node
// pg-walstream benchmark suite (issue 8). `npm run bench` builds the library, then runs this.
//
//   node bench/run.mjs [--runs 3] [--only baseline,wide] [--no-scenarios] [--no-parse] [--no-profile]
//                      [--no-latency] [--no-slow] [--clients pg_recvlogical,values,CLI]
//   (a client name matches a --clients entry that it contains, or equals one written =name)
//
// Starts embedded PostgreSQL 18, and for each scenario creates one slot per client and run
// *before* writing the workload, so every client decodes the same WAL. Each client runs in its own
// process under /usr/bin/time (wall, user + system CPU, peak RSS). Prints a table and writes JSON
// to bench/results/.
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { SCENARIOS, startServer, sql, tablesOf } from './lib/server.mjs';
import { measure, median, spreadPct } from './lib/measure.mjs';
import { recordPgoutput, runParseBench } from './parse.mjs';
import { runLatency } from './latency.mjs';
import { runProfile } from './profile.mjs';
import { runSlowConsumer } from './slow-consumer.mjs';
import { cliCommand } from './clients/cli.mjs';
import { busyBetween, postmasterPid, serverDecode, watchWalsender } from './lib/physical-limit.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const PG_RECVLOGICAL = '/usr/lib/postgresql/15/bin/pg_recvlogical';

const { values: args } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
    'no-parse': { type: 'boolean', default: false },
    'no-latency': { type: 'boolean', default: false },
    'no-profile': { type: 'boolean', default: false },
    'no-scenarios': { type: 'boolean', default: false },
    'no-slow': { type: 'boolean', default: false },
    clients: { type: 'string' },
  },
});
const runs = Number(args.runs);
const scenarioNames = args['no-scenarios'] ? [] : args.only ? args.only.split(',') : Object.keys(SCENARIOS);

/** The clients; `supports` says which scenarios a client can stream at all. */
const CLIENTS = [
  existsSync(PG_RECVLOGICAL) && {
    name: 'pg_recvlogical',
    supports: () => true,
    command(cfg) {
      const o = cfg.options;
      const opts = [`proto_version=${o.protoVersion}`, `publication_names=${cfg.publication}`];
      if (o.binary) opts.push('binary=true');
      if (o.streaming) opts.push(`streaming=${o.streaming}`);
      return [PG_RECVLOGICAL, ['-d', cfg.url, '-S', cfg.slot, '--start', '-E', cfg.endLsn, '-f', '/dev/null', '--no-loop', ...opts.flatMap((x) => ['-o', x])]];
    },
  },
  {
    name: 'pg-walstream',
    supports: () => true,
    command: (cfg) => [process.execPath, [join(here, 'clients/walstream.mjs'), JSON.stringify(cfg)]],
  },
  {
    // The reference of issue 15: the full pipeline, reading every value (what the CLI must do to print it).
    name: 'pg-walstream (values read)',
    supports: () => true,
    command: (cfg) => [process.execPath, [join(here, 'clients/walstream-values.mjs'), JSON.stringify(cfg)]],
  },
  {
    // `pg-walstream stream -f /dev/null -E end`: like pg_recvlogical, it prints no count; its exit
    // status says it reached the end position.
    name: 'pg-walstream stream (CLI)',
    supports: () => true,
    noReport: true,
    command: (cfg) => cliCommand(cfg, process.env.BENCH_CLI_ARGS ? process.env.BENCH_CLI_ARGS.split(' ') : []),
  },
  // BENCH_CLI_NODE_FLAGS="--max-semi-space-size=1" adds the CLI once more, run with those node flags.
  process.env.BENCH_CLI_NODE_FLAGS && {
    name: `pg-walstream stream (CLI, ${process.env.BENCH_CLI_NODE_FLAGS})`,
    supports: () => true,
    noReport: true,
    command: (cfg) => cliCommand(cfg, [], process.env.BENCH_CLI_NODE_FLAGS.split(' ')),
  },
  // BENCH_CLI_V8_FLAGS="" adds the CLI once more with PG_WALSTREAM_V8_FLAGS set to that value
  // ("" = without the V8 flags the CLI sets on itself, cli/v8-flags.ts): what those flags cost and save.
  process.env.BENCH_CLI_V8_FLAGS !== undefined && {
    name: `pg-walstream stream (CLI, PG_WALSTREAM_V8_FLAGS="${process.env.BENCH_CLI_V8_FLAGS}")`,
    supports: () => true,
    noReport: true,
    command: (cfg) => cliCommand(cfg),
    env: { ...process.env, PG_WALSTREAM_V8_FLAGS: process.env.BENCH_CLI_V8_FLAGS },
  },
  {
    name: 'pg-logical-replication',
    // Its PgoutputPlugin has no streaming option (protocol 1 or 2 without streaming) and no stream message parsing.
    supports: (s) => !s.options.streaming,
    command: (cfg) => [process.execPath, [join(here, 'clients/pglr.mjs'), JSON.stringify(cfg)]],
  },
  // BENCH_COMPARE_DIST=<another build's dist/> and/or BENCH_COMPARE_PIPELINE=parse (the client's
  // fallback without bufferTransaction/ackOnCommit) add one more pg-walstream client, measured in
  // the same run: another build (a branch not merged yet), or what the two operators cost.
  (process.env.BENCH_COMPARE_DIST || process.env.BENCH_COMPARE_PIPELINE) && {
    name: `pg-walstream (${process.env.BENCH_COMPARE_LABEL ?? 'compare'})`,
    supports: () => true,
    command: (cfg) => [process.execPath, [join(here, 'clients/walstream.mjs'), JSON.stringify(cfg)]],
    env: {
      ...process.env,
      ...(process.env.BENCH_COMPARE_DIST ? { WALSTREAM_DIST: resolve(process.env.BENCH_COMPARE_DIST) } : {}),
      ...(process.env.BENCH_COMPARE_PIPELINE ? { WALSTREAM_PIPELINE: process.env.BENCH_COMPARE_PIPELINE } : {}),
    },
  },
].filter((c) => c && (!args.clients || args.clients.split(',').some((n) => (n.startsWith('=') ? c.name === n.slice(1) : c.name.includes(n)))));

function machine() {
  return { nproc: cpus().length, cpu: cpus()[0]?.model, memoryGB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version, date: new Date().toISOString() };
}

async function runScenario(server, db, name) {
  const s = SCENARIOS[name];
  const pub = `pub_${name.toLowerCase().replace(/\W/g, '_')}`;
  for (const stmt of s.setup) await db.query(stmt);
  await db.query(`CREATE PUBLICATION ${pub} FOR TABLE ${tablesOf(s).join(', ')}`);
  const clients = CLIENTS.filter((c) => c.supports(s));
  const slots = [];
  for (let r = 0; r < runs; r++) clients.forEach((c, i) => slots.push({ run: r, client: c, slot: `bench_${name.toLowerCase().replace(/\W/g, '_')}_c${i}_${r}` }));
  const extra = name === 'baseline' ? ['bench_record', 'bench_profile'] : [];
  // The physical limit (issue 18): the server's own decoding of the same WAL, on a slot of its own per run.
  const serverSlots = Array.from({ length: runs }, (_, r) => `bench_${name.toLowerCase().replace(/\W/g, '_')}_server_${r}`);
  for (const x of [...slots.map((x) => x.slot), ...serverSlots, ...extra]) await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [x]);

  const before = (await db.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
  const tw = Date.now();
  for (const stmt of s.workload) await db.query(stmt);
  const workloadS = (Date.now() - tw) / 1000;
  // The insert position, not pg_current_wal_lsn(): with synchronous_commit=off the last commits may not be written yet.
  const endLsn = (await db.query('SELECT pg_current_wal_insert_lsn() AS l')).rows[0].l;
  // With synchronous_commit=off the last commits may not be flushed yet: the walsender waits for
  // them, the SQL decoding functions stop at the flushed end; wait, so that both read the same WAL.
  while (!(await db.query('SELECT pg_current_wal_flush_lsn() >= $1::pg_lsn AS ok', [endLsn])).rows[0].ok) await new Promise((r) => setTimeout(r, 50));
  const walBytes = Number((await db.query('SELECT pg_wal_lsn_diff($1, $2)::bigint AS d', [endLsn, before])).rows[0].d);
  for (const [k, v] of Object.entries(s.settings ?? {})) await db.query(`ALTER SYSTEM SET ${k} = '${v}'`);
  if (s.settings) await db.query('SELECT pg_reload_conf()');
  console.log(`\n## ${name}: ${s.description}; WAL ${(walBytes / 2 ** 20).toFixed(0)} MB, written in ${workloadS.toFixed(1)} s, end LSN ${endLsn}`);

  const samples = new Map(clients.map((c) => [c.name, []]));
  const serverSamples = [];
  const postmaster = await postmasterPid(db);
  for (let r = 0; r < runs; r++) {
    const d = await serverDecode(() => sql(server.url), { slot: serverSlots[r], endLsn, options: s.options, publication: pub });
    if (d.dml !== s.events) throw new Error(`the server's own decoding gave ${d.dml} DML messages in ${name}, expected ${s.events}`);
    serverSamples.push({ ...d, eventsPerS: s.events / d.wallS });
    console.log(`  run ${r + 1} ${'server decoding'.padEnd(22)} wall ${d.wallS.toFixed(2)} s  cpu ${d.cpuS.toFixed(2)} s  ${Math.round(s.events / d.wallS)} ev/s  (${d.messages} messages, ${(d.bytes / 2 ** 20).toFixed(0)} MB)`);
    // Rotate the order so that a noisy neighbour does not always hit the same client.
    const order = clients.map((_, i) => clients[(i + r) % clients.length]);
    for (const c of order) {
      const slot = slots.find((x) => x.run === r && x.client === c).slot;
      const cfg = { url: server.url, slot, publication: pub, endLsn, options: s.options };
      const [cmd, argv] = c.command(cfg);
      const watch = watchWalsender(db, slot, postmaster);
      let m;
      try {
        m = await measure(cmd, argv, { env: c.env });
      } finally {
        var ws = await watch.stop();
      }
      const report = c.name === 'pg_recvlogical' || c.noReport ? { events: s.events } : JSON.parse(m.stdout.trim().split('\n').pop());
      if (report.events !== s.events) throw new Error(`${c.name} received ${report.events} DML events in ${name}, expected ${s.events}`);
      const { samples: wsSamples, ...wsRest } = ws;
      const sample = { wallS: m.wallS, cpuS: m.cpuS, userS: m.userS, sysS: m.sysS, maxRssMB: m.maxRssMB, eventsPerS: s.events / m.wallS, walsenderCpuS: wsRest.cpuS, walsenderPolledCpuS: wsRest.polledCpuS, ...report };
      // How busy the walsender was while this client streamed: its CPU over the client's wall time.
      sample.walsenderBusy = ws.cpuS / (report.streamMs !== undefined ? report.streamMs / 1000 : m.wallS);
      // The same from the first transaction on: without connecting, SCRAM, START_REPLICATION and the
      // walsender's start, when it waits on the client's handshake rather than on the client's reading.
      if (report.firstAt !== undefined) sample.walsenderBusyStreaming = busyBetween(wsSamples, report.firstAt, report.endAt);
      samples.get(c.name).push(sample);
      console.log(
        `  run ${r + 1} ${c.name.padEnd(22)} wall ${m.wallS.toFixed(2)} s  cpu ${m.cpuS.toFixed(2)} s (user ${m.userS.toFixed(2)}, sys ${m.sysS.toFixed(2)})  rss ${m.maxRssMB.toFixed(0)} MB  ${Math.round(sample.eventsPerS)} ev/s` +
          (report.streamMs !== undefined ? `  (streaming ${(report.streamMs / 1000).toFixed(2)} s, cpu ${(report.streamCpuMs / 1000).toFixed(2)} s)` : '') +
          `  walsender cpu ${ws.cpuS?.toFixed(2)} s (busy ${(sample.walsenderBusy * 100).toFixed(0)}%` +
          (sample.walsenderBusyStreaming !== undefined ? `, ${(sample.walsenderBusyStreaming * 100).toFixed(0)}% from the first transaction, ${(report.firstAt - (report.endAt - report.streamMs)).toFixed(0)} ms in` : '') +
          ')' +
          (report.pipeline ? `  [${report.pipeline}]` : ''),
      );
    }
  }
  for (const x of [...slots.map((x) => x.slot), ...serverSlots]) await db.query('SELECT pg_drop_replication_slot($1)', [x]);
  if (s.settings) {
    for (const k of Object.keys(s.settings)) await db.query(`ALTER SYSTEM RESET ${k}`);
    await db.query('SELECT pg_reload_conf()');
  }
  const summary = {};
  for (const [client, xs] of samples) {
    summary[client] = {
      runs: xs.length,
      wallS: median(xs.map((x) => x.wallS)),
      cpuS: median(xs.map((x) => x.cpuS)),
      maxRssMB: median(xs.map((x) => x.maxRssMB)),
      eventsPerS: median(xs.map((x) => x.eventsPerS)),
      wallSpreadPct: spreadPct(xs.map((x) => x.wallS)),
      cpuSpreadPct: spreadPct(xs.map((x) => x.cpuS)),
      // Node clients also report their streaming alone (from subscribe to the end LSN, connection
      // and authentication included, process start and module loading excluded).
      streamWallS: xs[0]?.streamMs !== undefined ? median(xs.map((x) => x.streamMs / 1000)) : undefined,
      streamCpuS: xs[0]?.streamCpuMs !== undefined ? median(xs.map((x) => x.streamCpuMs / 1000)) : undefined,
      pipeline: xs[0]?.pipeline,
      walsenderCpuS: median(xs.map((x) => x.walsenderCpuS)),
      walsenderBusy: median(xs.map((x) => x.walsenderBusy)),
      walsenderBusyStreaming: xs.every((x) => x.walsenderBusyStreaming !== undefined) ? median(xs.map((x) => x.walsenderBusyStreaming)) : undefined,
      // Per run, the client's CPU over the CPU of the walsender that served it, then the median.
      cpuVsWalsender: median(xs.map((x) => x.cpuS / x.walsenderCpuS)),
      samples: xs,
    };
  }
  const serverDecoding = {
    runs: serverSamples.length,
    wallS: median(serverSamples.map((x) => x.wallS)),
    cpuS: median(serverSamples.map((x) => x.cpuS)),
    eventsPerS: median(serverSamples.map((x) => x.eventsPerS)),
    wallSpreadPct: spreadPct(serverSamples.map((x) => x.wallS)),
    cpuSpreadPct: spreadPct(serverSamples.map((x) => x.cpuS)),
    messages: serverSamples[0]?.messages,
    bytes: serverSamples[0]?.bytes,
    samples: serverSamples,
  };
  for (const v of Object.values(summary)) {
    v.cpuVsServerDecoding = v.cpuS / serverDecoding.cpuS;
    v.throughputVsServerDecoding = v.eventsPerS / serverDecoding.eventsPerS;
    if (v.streamCpuS !== undefined) v.streamCpuVsServerDecoding = v.streamCpuS / serverDecoding.cpuS;
    v.cpuPerEventUs = (v.cpuS / s.events) * 1e6;
    if (v.streamCpuS !== undefined) v.streamCpuPerEventUs = (v.streamCpuS / s.events) * 1e6;
  }
  const ref = summary.pg_recvlogical;
  if (ref) {
    for (const v of Object.values(summary)) {
      v.throughputVsRecvlogical = v.eventsPerS / ref.eventsPerS;
      v.cpuVsRecvlogical = v.cpuS / ref.cpuS;
      if (v.streamWallS !== undefined) v.streamThroughputVsRecvlogical = ref.wallS / v.streamWallS;
      if (v.streamCpuS !== undefined) v.streamCpuVsRecvlogical = v.streamCpuS / ref.cpuS;
    }
  }
  return { scenario: name, description: s.description, events: s.events, walBytes, endLsn, options: s.options, settings: s.settings, serverDecoding, clients: summary, recordSlot: extra.length ? { record: 'bench_record', profile: 'bench_profile', publication: pub } : undefined };
}

function printTable(results) {
  const rows = [['scenario', 'client', 'events/s', 'wall s', 'cpu s', 'µs/event', 'rss MB', 'thru ×recv', 'cpu ×recv', 'thru ×server', 'cpu ×server', 'cpu ×walsender', 'walsender busy', 'busy from 1st tx', 'wall spread', 'cpu spread', 'stream thru ×recv', 'stream cpu ×recv']];
  for (const r of results) {
    const d = r.serverDecoding;
    rows.push([r.scenario, 'server decoding', String(Math.round(d.eventsPerS)), d.wallS.toFixed(2), d.cpuS.toFixed(2), ((d.cpuS / r.events) * 1e6).toFixed(2), '', '', '', '1.00', '1.00', '', '', '', `${d.wallSpreadPct.toFixed(0)}%`, `${d.cpuSpreadPct.toFixed(0)}%`, '', '']);
    for (const [client, v] of Object.entries(r.clients)) {
      rows.push([
        r.scenario,
        client,
        String(Math.round(v.eventsPerS)),
        v.wallS.toFixed(2),
        v.cpuS.toFixed(2),
        v.cpuPerEventUs.toFixed(2),
        v.maxRssMB.toFixed(0),
        v.throughputVsRecvlogical?.toFixed(2) ?? '',
        v.cpuVsRecvlogical?.toFixed(2) ?? '',
        v.throughputVsServerDecoding.toFixed(2),
        v.cpuVsServerDecoding.toFixed(2),
        v.cpuVsWalsender?.toFixed(2) ?? '',
        v.walsenderBusy === undefined ? '' : `${(v.walsenderBusy * 100).toFixed(0)}%`,
        v.walsenderBusyStreaming === undefined ? '' : `${(v.walsenderBusyStreaming * 100).toFixed(0)}%`,
        `${v.wallSpreadPct.toFixed(0)}%`,
        `${v.cpuSpreadPct.toFixed(0)}%`,
        v.streamThroughputVsRecvlogical?.toFixed(2) ?? '',
        v.streamCpuVsRecvlogical?.toFixed(2) ?? '',
      ]);
    }
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  console.log('\n' + rows.map((r) => r.map((c, i) => (i < 2 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ')).join('\n'));
}

async function main() {
  const server = await startServer();
  const db = await sql(server.url);
  const out = { machine: machine(), server: { major: server.major, version: (await db.query('SHOW server_version')).rows[0].server_version }, runs, scenarios: [] };
  console.log(`pg-walstream benchmarks: ${out.machine.nproc} × ${out.machine.cpu}, ${out.machine.memoryGB} GB, PostgreSQL ${out.server.version}, ${runs} run(s) per client`);
  try {
    for (const name of scenarioNames) {
      if (!SCENARIOS[name]) throw new Error(`unknown scenario ${name}; known: ${Object.keys(SCENARIOS).join(', ')}`);
      const r = await runScenario(server, db, name);
      out.scenarios.push(r);
      if (r.recordSlot) {
        const cfg = { url: server.url, publication: r.recordSlot.publication, endLsn: r.endLsn, options: r.options };
        if (!args['no-parse']) {
          const file = await recordPgoutput({ ...cfg, slot: r.recordSlot.record });
          out.parse = await runParseBench(file);
        }
        if (!args['no-profile']) out.profile = await runProfile({ ...cfg, slot: r.recordSlot.profile });
        for (const slot of [r.recordSlot.record, r.recordSlot.profile]) await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
      }
      await db.query('CHECKPOINT');
    }
    if (scenarioNames.length) printTable(out.scenarios);
    if (!args['no-latency']) out.latency = await runLatency(server);
    if (!args['no-slow']) out.slowConsumer = await runSlowConsumer(server);
  } finally {
    await db.end();
    await server.destroy();
  }
  mkdirSync(join(here, 'results'), { recursive: true });
  const file = join(here, 'results', `bench-${out.machine.date.replace(/[:.]/g, '-')}.json`);
  writeFileSync(file, JSON.stringify(out, null, 2) + '\n');
  writeFileSync(join(here, 'results', 'latest.json'), JSON.stringify(out, null, 2) + '\n');
  console.log(`\nresults: ${file}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
