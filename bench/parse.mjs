// Parse-only micro-benchmark: pgoutput messages recorded from a real server, decoded in memory.
//
// recordPgoutput() streams a slot of the baseline scenario with pg-walstream's raw source and
// saves every XLogData (walStart + pgoutput bytes). Then a child process (`node bench/parse.mjs
// <file>`) decodes them again and again:
//  - lazy: PgoutputDecoder → typed messages, column values left undecoded (the library's default);
//  - every value: the same, plus every column of every row decoded to its JavaScript type;
//  - pg-logical-replication's parser (PgoutputPlugin.parse, which decodes eagerly) on the same bytes.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);

export async function recordPgoutput(cfg) {
  const ws = require('pg-walstream');
  const { takeWhile, lastValueFrom, toArray } = require('rxjs');
  const end = ws.Lsn.parse(cfg.endLsn).value;
    const frames = await lastValueFrom(
    ws.logicalReplication({ connectionString: cfg.url, slot: cfg.slot, publications: [cfg.publication], ...cfg.options }).pipe(
      takeWhile((f) => (f.type === 'keepalive' ? f.walEnd : f.walStart).value < end, true),
      toArray(),
    ),
  );
  const parts = [];
  for (const f of frames) {
    if (f.type !== 'xlogdata') continue;
    const h = Buffer.alloc(12);
    h.writeUInt32BE(f.data.length, 0);
    h.writeBigUInt64BE(f.walStart.value, 4);
    parts.push(h, f.data);
  }
  const file = join(mkdtempSync(join(tmpdir(), 'walstream-parse-')), 'pgoutput.bin');
  writeFileSync(file, Buffer.concat(parts));
  return file;
}

export async function runParseBench(file) {
  const r = spawnSync(process.execPath, ['--max-old-space-size=4096', fileURLToPath(import.meta.url), file], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`parse benchmark failed (${r.status})`);
  const result = { file, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
  console.log(`\n## parse-only (recorded baseline pgoutput, in memory, one core, per CPU second; recording: ${file})`);
  for (const [k, v] of Object.entries(result.modes)) console.log(`  ${k.padEnd(34)} ${(v.insertsPerS / 1e6).toFixed(2)} M inserts/s (best of ${v.passes}; median ${(v.medianInsertsPerS / 1e6).toFixed(2)} M)`);
  console.log(`  every value vs pg-logical-replication: ${result.fullVsPglr.toFixed(2)}×`);
  return result;
}

function load(file) {
  const ws = require('pg-walstream');
  const b = readFileSync(file);
  const msgs = [];
  for (let off = 0; off < b.length; ) {
    const len = b.readUInt32BE(off);
    const walStart = ws.Lsn.from(b.readBigUInt64BE(off + 4));
    msgs.push({ walStart, data: b.subarray(off + 12, off + 12 + len) });
    off += 12 + len;
  }
  return msgs;
}

function bench(name, msgs, passes, fn) {
  const inserts = msgs.filter((m) => m.data[0] === 0x49).length;
  fn(); // warm-up: JIT, and the relation cache of the first pass
  const rates = [];
  for (let i = 0; i < passes; i++) {
    // CPU time of this single-threaded loop, so that preemption on the shared machine does not count.
    const c0 = process.cpuUsage();
    const n = fn();
    const c = process.cpuUsage(c0);
    const s = (c.user + c.system) / 1e6;
    if (n !== inserts) throw new Error(`${name}: ${n} inserts decoded, expected ${inserts}`);
    rates.push(inserts / s);
  }
  rates.sort((a, b) => a - b);
  return { inserts, messages: msgs.length, passes, insertsPerS: rates[rates.length - 1], medianInsertsPerS: rates[rates.length >> 1] };
}

function child(file) {
  const ws = { ...require('pg-walstream'), ...require('pg-walstream/protocol') };
  const { PgoutputPlugin } = require('pg-logical-replication');
  const pgTypes = require('pg').types;
  const msgs = load(file);
  const modes = {};
  let sink = 0;

  modes['pg-walstream lazy'] = bench('lazy', msgs, 7, () => {
    const d = new ws.PgoutputDecoder();
    let n = 0;
    for (const m of msgs) if (d.decode(m.data, m.walStart).type === 'insert') n++;
    return n;
  });

  // ---- value-decoding switch: Row#toObject() (typed values, issue 5) once it exists, else pg-types on raw() ----
  const TYPED_ROWS = typeof ws.Row.prototype.toObject === 'function';
  const decodeAll = TYPED_ROWS
    ? (row) => row.toObject()
    : (row) => {
        // The parsers of a relation's columns, looked up once per relation as a decoder would.
        let parsers = parsersOf.get(row.relation);
        if (parsers === undefined) parsersOf.set(row.relation, (parsers = row.columns.map((c) => pgTypes.getTypeParser(c.typeOid, 'text'))));
        const cols = row.columns;
        const out = {};
        for (let i = 0; i < cols.length; i++) {
          const v = row.raw(i);
          out[cols[i].name] = typeof v === 'string' ? parsers[i](v) : v;
        }
        return out;
      };
  const parsersOf = new WeakMap();
  // ---- end of switch ----
  modes[TYPED_ROWS ? 'pg-walstream every value (toObject)' : 'pg-walstream every value (pg-types)'] = bench('full', msgs, 7, () => {
    const d = new ws.PgoutputDecoder();
    let n = 0;
    for (const m of msgs) {
      const msg = d.decode(m.data, m.walStart);
      if (msg.type === 'insert') {
        sink += Object.keys(decodeAll(msg.new)).length;
        n++;
      }
    }
    return n;
  });

  modes['pg-logical-replication'] = bench('pglr', msgs, 5, () => {
    const p = new PgoutputPlugin({ protoVersion: 1, publicationNames: ['x'] });
    let n = 0;
    for (const m of msgs) if (p.parse(m.data).tag === 'insert') n++;
    return n;
  });

  const full = Object.entries(modes).find(([k]) => k.includes('every value'))[1];
  console.log(JSON.stringify({ typedRows: TYPED_ROWS, modes, fullVsPglr: full.insertsPerS / modes['pg-logical-replication'].insertsPerS, lazyVsPglr: modes['pg-walstream lazy'].insertsPerS / modes['pg-logical-replication'].insertsPerS, sink: sink > 0 }));
}

if (process.argv[1] === fileURLToPath(import.meta.url)) child(process.argv[2]);
