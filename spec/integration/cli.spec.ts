import { spawn } from 'node:child_process';
import { Client } from 'pg';
import { ReplicationClient } from '../../src';
import { freePort } from '../../src/embedded';
import { BIN, cli } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

describe('pg-walstream stream', () => {
  const server = defaultServer();
  let sql: Client;
  let table: string;
  let slot: string;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    table = uniqueName('t');
    slot = uniqueName('slot');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`);
    await sql.query(`CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    await client.createReplicationSlot(slot);
    await client.close();
  });
  afterAll(async () => {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000);
    await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    await sql.query(`DROP PUBLICATION ${table}_pub; DROP TABLE ${table}`);
    await sql.end();
  });

  it('writes every committed change in commit order and stops at --endpos', async () => {
    const batches = 20;
    for (let b = 0; b < batches; b++) {
      await sql.query(`INSERT INTO ${table} SELECT g, 'row ' || g FROM generate_series(${b * 50 + 1}, ${b * 50 + 50}) g`);
    }
    await sql.query(`UPDATE ${table} SET note = NULL WHERE id % 10 = 0`);
    await sql.query(`DELETE FROM ${table} WHERE id > 900`);
    // One byte before the write position: the next transaction may start exactly there, and a record
    // at --endpos itself is written (as pg_recvlogical -E does); the last commit still reaches it.
    const endpos = (await sql.query('SELECT (pg_current_wal_lsn() - 1)::text AS l')).rows[0].l as string;
    await sql.query(`INSERT INTO ${table} VALUES (5000, 'after endpos')`);

    const { code, stdout, stderr } = await cli(['stream', '--dbname', server.url, '--slot', slot, '--publication', `${table}_pub`, '--endpos', endpos]);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const inserts = lines.filter((l) => l.type === 'insert');
    expect(inserts).toHaveLength(batches * 50);
    expect(inserts.map((l) => Number((l.new as { id: string }).id))).toEqual(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(lines.filter((l) => l.type === 'update')).toHaveLength(100);
    expect(lines.filter((l) => l.type === 'delete')).toHaveLength(100);
    // PostgreSQL 14 also sends other sessions' transactions, empty; count those that carried changes.
    let changed = false;
    let commits = 0;
    for (const l of lines) {
      if (l.type === 'begin') changed = false;
      else if (l.type !== 'commit') changed = true;
      else if (changed) commits++;
    }
    expect(commits).toBe(batches + 2);
    expect(lines.at(-1)?.type).toBe('commit');
    expect(stdout).not.toContain('after endpos');
    expect(lines[0]).toMatchObject({ type: 'begin' });
    expect(lines[0].commitTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(String(lines[0].lsn)).toMatch(/^[0-9A-F]+\/[0-9A-F]+$/);

    // The run acknowledged its last commit: the next run starts after it.
    const again = await cli(['stream', '--dbname', server.url, '--slot', slot, '--publication', `${table}_pub`, '--endpos', (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l]);
    expect(again.code).toBe(0);
    const next = again.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; new?: { note: string } });
    expect(next.filter((l) => l.type === 'insert').map((l) => l.new?.note)).toEqual(['after endpos']);
  });

  it('stops cleanly on SIGINT and confirms what it wrote', async () => {
    await sql.query(`INSERT INTO ${table} VALUES (6000, 'before sigint')`);
    const child = spawn(process.execPath, [BIN, 'stream', '--dbname', server.url, '--slot', slot, '--publication', `${table}_pub`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await waitFor(() => out.includes('"type":"commit"'), 20_000, 'first commit line');
    child.kill('SIGINT');
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    expect(code).toBe(0);
    const commitEnd = JSON.parse(out.trim().split('\n').filter((l) => l.includes('"type":"commit"')).at(-1)!).endLsn as string;
    // At least what it wrote; more only where keepalives showed unrelated WAL with nothing in flight.
    await waitFor(async () => {
      const r = await sql.query('SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok, confirmed_flush_lsn <= pg_current_wal_lsn() AS sane FROM pg_replication_slots WHERE slot_name = $1', [slot, commitEnd]);
      expect(r.rows[0].sane).toBe(true);
      return r.rows[0].ok === true;
    }, 10_000, 'confirmed_flush_lsn');
  });

  it.each([
    ['a wrong password', () => Object.assign(new URL(server.url), { password: 'wrong' }).toString(), 'SQLSTATE 28P01'],
    ['a missing slot', () => server.url, 'SQLSTATE 42704'],
  ])('prints one line and exits 1 for %s', async (_, url, expected) => {
    const { code, stdout, stderr } = await cli(['stream', '--dbname', url(), '--slot', 'no_such_slot', '--publication', 'p']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(expected);
    expect(stderr).not.toMatch(/\n\s+at /);
  });

  it('prints one line and exits 1 for a refused connection', async () => {
    const { code, stderr } = await cli(['stream', '--dbname', `postgres://x@127.0.0.1:${await freePort()}/x`, '--slot', 's', '--publication', 'p']);
    expect(code).toBe(1);
    expect(stderr.trim()).toMatch(/^pg-walstream: error: connection to 127\.0\.0\.1:\d+ failed: .*ECONNREFUSED/);
  });

  it('rejects a malformed --endpos before connecting', async () => {
    const { code, stderr } = await cli(['stream', '--dbname', server.url, '--slot', slot, '--publication', 'p', '--endpos', '12345']);
    expect(code).toBe(2);
    expect(stderr).toContain('expected an LSN');
  });
});

describe('pg-walstream demo', () => {
  it('streams the demo workload from an embedded server and exits 0', async () => {
    const { code, stdout, stderr } = await cli(['demo']);
    expect(code).toBe(0);
    const types = stdout.trim().split('\n').map((l) => (JSON.parse(l) as { type: string }).type);
    expect(types.filter((t) => t === 'insert')).toHaveLength(3);
    expect(types.filter((t) => t === 'update')).toHaveLength(2);
    expect(types.filter((t) => t === 'delete')).toHaveLength(1);
    expect(types.filter((t) => t === 'truncate')).toHaveLength(1);
    expect(stderr).toContain('server stopped and removed');
  });
});
