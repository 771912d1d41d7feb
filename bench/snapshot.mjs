// Snapshot throughput: pg-walstream's initialSnapshot() against `psql -c "\copy t TO '/dev/null'"`
// on the same table, in the same run (issue 13). Each client runs in its own process under
// /usr/bin/time, alternating, BENCH_RUNS times (default 3); the medians are compared.
// Usage: npm run build && node bench/snapshot.mjs [rows]   (default 2,000,000 narrow rows)
// BENCH_BEFORE=<dir>: also runs the text COPY clients of an older build in <dir> (its dist/, with
// this bench/clients/snapshot.mjs copied into its bench/clients/), labelled "(before)", in the same run.
// Wall time is the whole process (Node start, slot creation with its exported snapshot, connections);
// the COPY phase runs from the snapshotStart event (snapshot imported) to the last row done.
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { measure, median } from './lib/measure.mjs';
import { sql, startServer } from './lib/server.mjs';

const ROWS = Number(process.argv[2] ?? 2_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 3);
const PSQL = ['/usr/lib/postgresql/15/bin/psql', '/usr/bin/psql'].find(existsSync);
if (PSQL === undefined) throw new Error('psql not found: install Debian postgresql-client-15');
const CLIENT = fileURLToPath(new URL('./clients/snapshot.mjs', import.meta.url));
const BEFORE = process.env.BENCH_BEFORE;

console.log(`load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const server = await startServer();
try {
  const db = await sql(server.url);
  await db.query('CREATE TABLE bench_snap (id bigserial PRIMARY KEY, n int NOT NULL, label text NOT NULL)');
  await db.query(`INSERT INTO bench_snap (n, label) SELECT g, 'row-' || g FROM generate_series(1, ${ROWS}) g`);
  await db.query('VACUUM ANALYZE bench_snap');
  await db.query('CREATE PUBLICATION bench_snap FOR TABLE bench_snap');
  const size = (await db.query("SELECT pg_size_pretty(pg_table_size('bench_snap')) AS s")).rows[0].s;
  const variants = [
    { name: 'psql \\copy (text)', run: () => measure(PSQL, ['-X', '-q', '-d', server.url, '-c', "\\copy bench_snap TO '/dev/null'"]) },
    ...[
      ['rows, text COPY', 'text', false],
      ['rows, binary COPY', 'binary', false],
      ['typed rows (toObject), text COPY', 'text', true],
      ['typed rows (toObject), binary COPY', 'binary', true],
      ...(BEFORE === undefined
        ? []
        : [
            ['rows, text COPY (before)', 'text', false, join(BEFORE, 'bench/clients/snapshot.mjs')],
            ['typed rows (toObject), text COPY (before)', 'text', true, join(BEFORE, 'bench/clients/snapshot.mjs')],
          ]),
    ].map(([name, copyFormat, typed, client = CLIENT], k) => ({
      name,
      run: async (i) => {
        const slot = `bench_snap_${i}_${k}`;
        const r = await measure(process.execPath, [client, JSON.stringify({ url: server.url, slot, publication: 'bench_snap', copyFormat, typed })]);
        await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
        return { ...r, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
      },
    })),
  ];
  const results = new Map(variants.map((v) => [v.name, []]));
  for (let i = 0; i < RUNS; i++) for (const v of variants) results.get(v.name).push(await v.run(i));
  const ref = median(results.get(variants[0].name).map((r) => r.wallS));
  console.log(`\n${ROWS.toLocaleString('en')} rows (${size}), ${RUNS} runs each, medians; throughput ratio = psql wall time / client wall time; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| client | wall s | COPY phase s | rows/s (COPY phase) | CPU s | CPU s in COPY phase | peak RSS MB | ratio vs psql (wall) | ratio vs psql (COPY phase) |');
  console.log('|---|---|---|---|---|---|---|---|---|');
  for (const v of variants) {
    const rs = results.get(v.name);
    const wall = median(rs.map((r) => r.wallS));
    const copy = rs[0].copyMs === undefined ? wall : median(rs.map((r) => r.copyMs)) / 1000;
    const copyCpu = rs[0].copyCpuMs === undefined ? '—' : (median(rs.map((r) => r.copyCpuMs)) / 1000).toFixed(2);
    console.log(`| ${v.name} | ${wall.toFixed(2)} | ${copy.toFixed(2)} | ${Math.round(ROWS / copy).toLocaleString('en')} | ${median(rs.map((r) => r.cpuS)).toFixed(2)} | ${copyCpu} | ${median(rs.map((r) => r.maxRssMB)).toFixed(0)} | ${(ref / wall).toFixed(2)}× | ${(ref / copy).toFixed(2)}× |`);
  }
  await db.end();
} finally {
  await server.destroy();
}
