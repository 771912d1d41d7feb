// WAL receive throughput: our receiveWal against Debian's pg_receivewal 15, both catching up on
// the same backlog of WAL held by two physical slots on one PostgreSQL 15 server, with fsync.
// Run: npm run build && npx ts-node --transpile-only bench/receive-wal.ts [MB of WAL, default 512]
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { receiveWal } from '../src/physical';
import { startPostgresFromBinaries } from '../src/embedded';

const BIN = '/usr/lib/postgresql/15/bin';
const SEG = 16 * 1024 * 1024;

const complete = (dir: string) => readdirSync(dir).filter((n) => /^[0-9A-F]{24}$/.test(n)).length;

async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 20));
}

async function main(): Promise<void> {
  const mb = Number(process.argv[2] ?? 512);
  const server = await startPostgresFromBinaries(BIN, { settings: { wal_level: 'replica', max_wal_size: '4GB', wal_keep_size: '4GB', fsync: 'off' } });
  const dirs = [mkdtempSync(join(tmpdir(), 'bench-ours-')), mkdtempSync(join(tmpdir(), 'bench-theirs-'))];
  try {
    const sql = new Client({ connectionString: server.url });
    await sql.connect();
    await sql.query("SELECT pg_create_physical_replication_slot('ours', true), pg_create_physical_replication_slot('theirs', true)");
    const start = (await sql.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l;
    await sql.query('CREATE TABLE t (id int, payload text)');
    // Roughly 250 bytes of WAL per row.
    await sql.query(`INSERT INTO t SELECT g, repeat('x', 200) FROM generate_series(1, ${Math.round((mb * 1024 * 1024) / 250)}) g`);
    await sql.query('SELECT pg_switch_wal()');
    // Let the kernel write back the workload's dirty pages first, so neither receiver competes with it.
    await sql.query('CHECKPOINT');
    await new Promise<void>((resolve) => spawn('sync').on('exit', () => resolve()));
    const bytes = Number((await sql.query('SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), $1) AS d', [start])).rows[0].d);
    await sql.end();
    const segments = Math.floor(bytes / SEG);
    console.log(`backlog: ${(bytes / 1024 / 1024).toFixed(0)} MB of WAL, ${segments} complete segments to receive`);

    let t0 = process.hrtime.bigint();
    const tool = spawn(join(BIN, 'pg_receivewal'), ['-D', dirs[1], '-S', 'theirs', '--no-loop', '-d', `host=127.0.0.1 port=${server.port} user=postgres`], {
      env: { ...process.env, PGPASSWORD: server.password },
      stdio: 'ignore',
    });
    await until(() => complete(dirs[1]) >= segments);
    const theirs = Number(process.hrtime.bigint() - t0) / 1e9;
    tool.kill('SIGINT');
    let rss = process.memoryUsage().rss;
    const sampler = setInterval(() => (rss = Math.max(rss, process.memoryUsage().rss)), 50);
    t0 = process.hrtime.bigint();
    const sub = receiveWal({ connectionString: server.url, slot: 'ours', directory: dirs[0], sync: process.env.BENCH_SYNC !== 'off' }).subscribe({ error: (e) => console.error(e) });
    await until(() => complete(dirs[0]) >= segments);
    const ours = Number(process.hrtime.bigint() - t0) / 1e9;
    sub.unsubscribe();
    clearInterval(sampler);


    const rate = (s: number) => ((segments * SEG) / 1024 / 1024 / s).toFixed(0);
    console.log(`pg-walstream receiveWal: ${ours.toFixed(2)} s, ${rate(ours)} MB/s, peak RSS ${(rss / 1024 / 1024).toFixed(0)} MB`);
    console.log(`pg_receivewal 15:        ${theirs.toFixed(2)} s, ${rate(theirs)} MB/s`);
  } finally {
    await server.destroy();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
