// Backfill throughput: pg-walstream's backfill() (watermarked primary-key chunks on a running
// stream) against `psql -c "\copy t TO '/dev/null'"` on the same table, in the same run.
// Each client runs in its own process under /usr/bin/time, alternating, BENCH_RUNS times
// (default 2); the medians are compared. The backfill phase runs from backfillStart to backfillEnd.
// Usage: npm run build && node bench/backfill.mjs [rows]   (default 1,000,000 narrow rows)
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measure, median } from './lib/measure.mjs';
import { sql, startServer } from './lib/server.mjs';

const ROWS = Number(process.argv[2] ?? 1_000_000);
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const PSQL = ['/usr/lib/postgresql/15/bin/psql', '/usr/bin/psql'].find(existsSync);
if (PSQL === undefined) throw new Error('psql not found: install Debian postgresql-client-15');
const CLIENT = fileURLToPath(new URL('./clients/backfill.mjs', import.meta.url));

console.log(`load average at start ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
const server = await startServer();
try {
  const db = await sql(server.url);
  await db.query('CREATE TABLE bench_bf (id bigserial PRIMARY KEY, n int NOT NULL, label text NOT NULL)');
  await db.query(`INSERT INTO bench_bf (n, label) SELECT g, 'row-' || g FROM generate_series(1, ${ROWS}) g`);
  await db.query('VACUUM ANALYZE bench_bf');
  await db.query('CREATE PUBLICATION bench_bf FOR TABLE bench_bf');
  const size = (await db.query("SELECT pg_size_pretty(pg_table_size('bench_bf')) AS s")).rows[0].s;
  const variants = [
    { name: 'psql \\copy (text)', run: () => measure(PSQL, ['-X', '-q', '-d', server.url, '-c', "\\copy bench_bf TO '/dev/null'"]) },
    ...[
      ['backfill, chunks of 1,000', 1000, false],
      ['backfill, chunks of 10,000', 10_000, false],
      ['backfill, chunks of 10,000, typed rows (toObject)', 10_000, true],
    ].map(([name, chunkSize, typed]) => ({
      name,
      run: async (i) => {
        const slot = `bench_bf_${i}_${chunkSize}_${typed ? 't' : 'r'}`;
        await db.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
        const r = await measure(process.execPath, [CLIENT, JSON.stringify({ url: server.url, slot, publication: 'bench_bf', table: 'public.bench_bf', chunkSize, typed })]);
        await db.query('SELECT pg_drop_replication_slot($1)', [slot]);
        return { ...r, ...JSON.parse(r.stdout.trim().split('\n').pop()) };
      },
    })),
  ];
  const results = new Map(variants.map((v) => [v.name, []]));
  for (let i = 0; i < RUNS; i++) for (const v of variants) results.get(v.name).push(await v.run(i));
  const ref = median(results.get(variants[0].name).map((r) => r.wallS));
  console.log(`\n${ROWS.toLocaleString('en')} rows (${size}), ${RUNS} runs each, medians; ratio = psql wall time / client time; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
  console.log('| client | wall s | backfill phase s | rows/s (phase) | CPU s | peak RSS MB | ratio vs psql (wall) | ratio vs psql (phase) |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const v of variants) {
    const rs = results.get(v.name);
    const wall = median(rs.map((r) => r.wallS));
    const phase = rs[0].copyMs === undefined ? wall : median(rs.map((r) => r.copyMs)) / 1000;
    console.log(`| ${v.name} | ${wall.toFixed(2)} | ${phase.toFixed(2)} | ${Math.round(ROWS / phase).toLocaleString('en')} | ${median(rs.map((r) => r.cpuS)).toFixed(2)} | ${median(rs.map((r) => r.maxRssMB)).toFixed(0)} | ${(ref / wall).toFixed(2)}× | ${(ref / phase).toFixed(2)}× |`);
  }
  await db.end();
} finally {
  await server.destroy();
}
