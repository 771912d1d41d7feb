import { spawn } from 'node:child_process';
import type { Client } from 'pg';
import { BIN, cli } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

type Line = Record<string, unknown> & { type: string; new?: { id: number; v: string }; key?: { id: number }; old?: { id: number } };

describe('pg-walstream stream --backfill', () => {
  const url = defaultServer().url;
  let sql: Client;
  const names = { table: uniqueName('clibf'), publication: uniqueName('pub'), slot: uniqueName('slot') };
  const lines = (stdout: string) => stdout.split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Line);

  /** Runs the stream until `until(stdout)`, then stops it with SIGTERM (a clean stop). */
  async function streamUntil(args: string[], until: (stdout: string) => boolean, during?: () => Promise<void>): Promise<{ code: number | null; stdout: string; stderr: string }> {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child.once('exit', r));
    try {
      await during?.();
      await waitFor(() => until(stdout) || child.exitCode !== null, 60_000, 'the expected output');
    } finally {
      child.kill('SIGTERM');
    }
    return { code: await exited, stdout, stderr };
  }

  beforeAll(async () => {
    sql = await sqlClient(url);
    await sql.query(`CREATE TABLE ${names.table} (id int PRIMARY KEY, v text NOT NULL, at timestamptz)`);
    await sql.query(`INSERT INTO ${names.table} SELECT g, 'row ' || g, '2024-02-29 12:34:56.789012+00' FROM generate_series(1, 5000) g`);
    await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE ${names.table}`);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.slot]);
  });
  afterAll(async () => {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
    await sql.query(`DROP PUBLICATION ${names.publication}`);
    await sql.query(`DROP TABLE ${names.table}`);
    await sql.end();
  });

  it('prints the table as typed backfill lines among the streamed changes; replayed in order they equal the table; a second run does not repeat it', async () => {
    const args = ['stream', '-d', url, '-S', names.slot, '-P', names.publication, '--backfill', `public.${names.table}`];
    const writes = async () => {
      for (let i = 0; i < 30; i++) {
        await sql.query(`UPDATE ${names.table} SET v = 'updated ' || id WHERE id = $1`, [1 + ((i * 167) % 5000)]);
        await sql.query(`DELETE FROM ${names.table} WHERE id = $1`, [2 + ((i * 331) % 4998)]);
        await sql.query(`INSERT INTO ${names.table} VALUES ($1, 'new', now())`, [10_000 + i]);
      }
    };
    const first = await streamUntil(args, (out) => out.includes('"type":"backfillEnd"'), writes);
    expect(first.stderr).toBe('');
    expect(first.code).toBe(0);
    const out = lines(first.stdout);
    const backfilled = out.filter((l) => l.type === 'backfill');
    expect(out.find((l) => l.type === 'backfillStart')).toMatchObject({ schema: 'public', table: names.table, resumedAfterChunks: 0 });
    expect(out.find((l) => l.type === 'backfillEnd')).toMatchObject({ rows: backfilled.length });
    expect(Object.keys(backfilled[0])).toEqual(['type', 'schema', 'table', 'new']);
    // Typed as the stream's `new`: an original row's timestamp reads as an update of it prints it.
    const update = out.find((l) => l.type === 'update')!;
    expect(backfilled[0].new).toEqual({ id: expect.any(Number), v: expect.any(String), at: (update.new as unknown as { at: string }).at });
    const replica = new Map<number, string>();
    for (const l of out) {
      if (l.type === 'backfill' || l.type === 'insert' || l.type === 'update') replica.set(l.new!.id, l.new!.v);
      if (l.type === 'delete') replica.delete((l.key ?? l.old)!.id);
    }
    const source = (await sql.query(`SELECT id, v FROM ${names.table}`)).rows as { id: number; v: string }[];
    expect(replica.size).toBe(source.length);
    expect(source.filter((r) => replica.get(r.id) !== r.v)).toEqual([]);

    await sql.query(`SELECT pg_logical_emit_message(true, 'test.end', 'x')`);
    const second = await streamUntil(args, (o) => o.includes('test.end'));
    expect(second.code).toBe(0);
    expect(lines(second.stdout).some((l) => l.type.startsWith('backfill'))).toBe(false);
  }, 90_000);

  it('refuses --backfill with --to', async () => {
    const r = await cli(['stream', '-d', url, '-S', names.slot, '-P', names.publication, '--backfill', names.table, '--to', 'redis://127.0.0.1:1?stream=x']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/--backfill/);
  });
});
