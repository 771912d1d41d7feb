/**
 * Row#get on the 20 columns of `npm run bench`'s wide and binary scenarios, in memory (issue 18):
 * what reading every value costs, per column type and per whole row, in text and binary format.
 *
 *   npx ts-node --transpile-only bench/row-get.ts [reps]
 *
 * Starts an embedded PostgreSQL, takes 2,000 rows of the scenario's expressions once in text and
 * once as their `*_send` bytes (the binary format's column values), and builds the TupleData the
 * walsender would send. Each figure is the median CPU ns over 4 rounds (after a warm-up).
 */
import { Client } from 'pg';
import { startEmbeddedPostgres } from '../src/embedded';
import { Row } from '../src/pgoutput/row';
import { TypeRegistry } from '../src/values/registry';

// The wide scenario's columns (bench/lib/server.mjs), each with its type's send function.
const COLUMNS: [expression: string, send: string][] = [
  ['g::int8', 'int8send'], ['(g % 1000)::int2', 'int2send'], ['g', 'int4send'], ['g * 1000003::int8', 'int8send'],
  ['(g / 3.0)::float4', 'float4send'], ['(g / 7.0)::float8', 'float8send'], ['(g * 1.000001)::numeric(18,6)', 'numeric_send'],
  ['g % 2 = 0', 'boolsend'], ["'text value ' || g", 'textsend'], ["('v' || g)::varchar(64)", 'varcharsend'],
  ["date '2024-01-01' + g % 365", 'date_send'], ["timestamp '2024-01-01' + g * interval '1 s'", 'timestamp_send'],
  ["timestamptz '2024-01-01 00:00:00+00' + g * interval '1 ms'", 'timestamptz_send'], ["time '00:00' + g * interval '1 s'", 'time_send'],
  ["g * interval '1 min'", 'interval_send'], ['md5(g::text)::uuid', 'uuid_send'], ["jsonb_build_object('id', g, 'tags', jsonb_build_array('a', 'b'))", 'jsonb_send'],
  ["decode(md5(g::text), 'hex')", 'byteasend'], ["('10.0.' || g % 256 || '.' || g % 200)::inet", 'inet_send'], ['ARRAY[g, g + 1, g + 2]', 'array_send'],
];

async function capture(): Promise<{ oids: number[]; text: string[][]; binary: string[][] }> {
  const server = await startEmbeddedPostgres();
  try {
    const c = new Client({ connectionString: server.url, types: { getTypeParser: () => (v: string) => v } });
    await c.connect();
    const t = await c.query({ text: `SELECT ${COLUMNS.map(([e]) => `(${e})`).join(', ')} FROM generate_series(1, 2000) g`, rowMode: 'array' });
    const b = await c.query({ text: `SELECT ${COLUMNS.map(([e, f]) => `encode(${f}(${e}), 'base64')`).join(', ')} FROM generate_series(1, 2000) g`, rowMode: 'array' });
    await c.end();
    return { oids: t.fields.map((f) => f.dataTypeID), text: t.rows as string[][], binary: (b.rows as string[][]).map((r) => r.map((x) => x.replace(/\n/g, ''))) };
  } finally {
    await server.stop();
  }
}

async function main(): Promise<void> {
const data = await capture();
const types = new TypeRegistry();
const columns = data.oids.map((typeOid, i) => ({ name: `c${i}`, typeOid, typeModifier: -1, isKey: i === 0 }));
const relation = { oid: 1, schema: 'public', name: 't', replicaIdentity: 'd' as const, columns, keyColumns: ['c0'] };

function tuple(values: Buffer[], kind: number): Buffer {
  const parts: Buffer[] = [];
  for (const v of values) {
    const h = Buffer.alloc(5);
    h[0] = kind;
    h.writeInt32BE(v.length, 1);
    parts.push(h, v);
  }
  return Buffer.concat(parts);
}
const textTuples = data.text.map((r) => tuple(r.map((x) => Buffer.from(String(x))), 0x74));
const binTuples = data.binary.map((r) => tuple(r.map((x) => Buffer.from(x, 'base64')), 0x62));
const rowsOf = (ts: Buffer[]) => ts.map((b) => new Row(relation, b, 0, columns.length, types));

function run(label: string, tuples: Buffer[], reps: number): void {
  const perCol: number[] = [];
  for (let c = 0; c < columns.length; c++) {
    const samples: number[] = [];
    for (let r = 0; r < 5; r++) {
      const rows = rowsOf(tuples);
      for (const row of rows) row.get(0); // offsets found outside the timing
      const t0 = process.cpuUsage();
      for (let k = 0; k < reps; k++) for (let j = 0; j < rows.length; j++) rows[j].get(c);
      const t = process.cpuUsage(t0);
      if (r > 0) samples.push(((t.user + t.system) * 1000) / (reps * rows.length));
    }
    samples.sort((a, b) => a - b);
    perCol.push(samples[samples.length >> 1]);
  }
  // Whole rows, as the values client does (fresh rows each pass: the scan included).
  const whole: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t0 = process.cpuUsage();
    for (let k = 0; k < reps; k++) {
      for (const row of rowsOf(tuples)) for (let i = 0; i < row.length; i++) row.get(i);
    }
    const t = process.cpuUsage(t0);
    if (r > 0) whole.push(((t.user + t.system) * 1000) / (reps * tuples.length));
  }
  whole.sort((a, b) => a - b);
  console.log(`${label}: whole row ${whole[whole.length >> 1].toFixed(0)} ns (${(whole[whole.length >> 1] / columns.length).toFixed(0)} ns/value)`);
  console.log('  ' + columns.map((c, i) => `${COLUMNS[i][1].replace(/_?send$/, "")}:${perCol[i].toFixed(0)}`).join(' '));
}
const reps = Number(process.argv[2] ?? 10);
run('text', textTuples, reps);
run('binary', binTuples, reps);
}

void main();
