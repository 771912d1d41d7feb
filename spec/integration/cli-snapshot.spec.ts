import type { Client } from 'pg';
import { cli } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

describe('pg-walstream stream --snapshot', () => {
  const url = defaultServer().url;
  let sql: Client;
  const names = { table: uniqueName('clisnap'), publication: uniqueName('pub'), slot: uniqueName('slot') };
  const values = `12.50, '2024-02-29 12:34:56.789012+00', '{"a": [1, null]}', E'tab\\there', 9007199254740993`;
  const lsn = async () => (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
  const lines = (stdout: string) => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    sql = await sqlClient(url);
    await sql.query(`CREATE TABLE ${names.table} (id int PRIMARY KEY, n numeric, at timestamptz, j jsonb, t text, big int8)`);
    await sql.query(`INSERT INTO ${names.table} SELECT g, ${values} FROM generate_series(1, 3000) g`);
    await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE ${names.table}`);
  });
  afterAll(async () => {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
    await sql.query(`DROP PUBLICATION ${names.publication}`);
    await sql.query(`DROP TABLE ${names.table}`);
    await sql.query('DELETE FROM walstream_state WHERE key = $1', [`snapshot:${names.slot}`]);
    await sql.end();
  });

  it('prints every existing row typed like the stream, then streams; a second run does not print the snapshot again', async () => {
    const args = ['stream', '-d', url, '-S', names.slot, '-P', names.publication, '--create-slot', '--snapshot'];
    const first = await cli([...args, '--endpos', await lsn()]);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const snap = lines(first.stdout);
    expect(snap).toHaveLength(3000);
    expect(snap.every((l) => l.type === 'snapshot' && l.schema === 'public' && l.table === names.table)).toBe(true);
    expect(new Set(snap.map((l) => (l.new as { id: number }).id)).size).toBe(3000);

    await sql.query(`INSERT INTO ${names.table} VALUES (0, ${values})`);
    const second = await cli([...args, '--endpos', await lsn()]);
    expect(second.code).toBe(0);
    const streamed = lines(second.stdout);
    expect(streamed.some((l) => l.type === 'snapshot')).toBe(false);
    const insert = streamed.find((l) => l.type === 'insert')!;
    expect(Object.keys(snap[0])).toEqual(['type', 'schema', 'table', 'new']);
    expect({ ...(snap[0].new as object), id: 0 }).toEqual(insert.new);
    expect(insert.new).toEqual({ id: 0, n: '12.50', at: expect.any(String), j: { a: [1, null] }, t: 'tab\there', big: '9007199254740993' });
  });

  it('refuses --snapshot without --create-slot, or with --temporary', async () => {
    const base = ['stream', '-d', url, '-S', uniqueName('slot'), '-P', names.publication, '--snapshot'];
    for (const args of [base, [...base, '--create-slot', '--temporary']]) {
      const r = await cli(args);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/--snapshot needs/);
    }
  });
});
