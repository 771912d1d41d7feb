import type { Client } from 'pg';
import { cli } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

// The stream command's pgoutput flags, end to end: each reaches START_REPLICATION or
// CREATE_REPLICATION_SLOT, and an option the server or protocol lacks is a one-line error.

describe('pg-walstream stream: protocol flags', () => {
  const server = defaultServer();
  let sql: Client;
  let version: number;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    version = Number((await sql.query('SHOW server_version_num')).rows[0].server_version_num);
  });
  afterAll(async () => {
    await sql.end();
  });

  it('creates a two-phase slot and streams prepared, streamed, binary and message output with --proto-version auto', async () => {
    const table = uniqueName('clip');
    const slot = uniqueName('clip_slot');
    const gid = uniqueName('gid');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
    await sql.query(`CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
    try {
      // Create the slot (and nothing else) first, so the workload comes after its consistent point.
      // Two-phase needs PostgreSQL 15, origin 16 (on older servers the CLI refuses them, see below).
      const twoPhase = version >= 150000 ? ['--two-phase'] : [];
      const origin = version >= 160000 ? ['--origin', 'any'] : [];
      const created = await cli(['stream', '-d', server.url, '-S', slot, '-P', `${table}_pub`, '--create-slot', ...twoPhase, '--proto-version', 'auto', '--endpos', '0/1']);
      expect(created).toMatchObject({ code: 0, stderr: '' });
      expect((await sql.query('SELECT two_phase FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0].two_phase).toBe(version >= 150000);

      await sql.query(`SELECT pg_logical_emit_message(true, 'cli', 'hello')`);
      await sql.query('BEGIN');
      await sql.query(`INSERT INTO ${table} VALUES (1, 'prepared')`);
      await sql.query(`PREPARE TRANSACTION '${gid}'`);
      await sql.query(`COMMIT PREPARED '${gid}'`);
      await sql.query(`INSERT INTO ${table} SELECT g, repeat('x', 100) FROM generate_series(2, 1000) g`);
      // One byte before the write position: the next transaction may start exactly there, and a record
      // at --endpos itself is written (as pg_recvlogical -E does); the last commit still reaches it.
      const endpos = (await sql.query('SELECT (pg_current_wal_lsn() - 1)::text AS l')).rows[0].l as string;
      await sql.query(`INSERT INTO ${table} VALUES (5000, 'after endpos')`);

      const { code, stdout, stderr } = await cli([
        'stream', '-d', server.url, '-S', slot, '-P', `${table}_pub`, '--proto-version', 'auto',
        '--binary', '--messages', '--streaming', 'on', ...twoPhase, ...origin, '--raw', '--endpos', endpos,
      ]);
      expect(stderr).toBe('');
      expect(code).toBe(0);
      const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
      const types = new Set(lines.map((l) => l.type));
      expect(lines.some((l) => l.type === 'message' && l.prefix === 'cli' && l.content === 'hello')).toBe(true);
      expect(lines.filter((l) => l.gid === gid).map((l) => l.type)).toEqual(version >= 150000 ? ['beginPrepare', 'prepare', 'commitPrepared'] : []);
      expect([...types].filter((t) => String(t).startsWith('stream'))).toEqual(expect.arrayContaining(['streamStart', 'streamStop', 'streamCommit']));
      const streamed = lines.filter((l) => l.type === 'insert' && l.inStream === true);
      expect(streamed.length).toBeGreaterThan(0);
      expect(typeof streamed[0].topXid).toBe('number');
      // binary: with --raw, an int4 is printed as the 4 bytes that travelled
      const id = (streamed[0].new as { id: { base64: string } }).id;
      expect(Buffer.from(id.base64, 'base64')).toHaveLength(4);
      // The row after --endpos (its int4 id as the raw bytes of binary mode) is not written.
      const ids = lines.filter((l) => l.type === 'insert').map((l) => Buffer.from((l.new as { id: { base64: string } }).id.base64, 'base64').readInt32BE(0));
      expect(ids).toContain(1000);
      expect(ids).not.toContain(5000);
    } finally {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000);
      await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      await sql.query(`DROP PUBLICATION ${table}_pub; DROP TABLE ${table}`);
    }
  }, 120_000);

  it('acknowledges a prepared transaction at its prepare line, so a restart sends only its COMMIT PREPARED (PostgreSQL 15+)', async () => {
    if (version < 150000) return; // two-phase decoding needs PostgreSQL 15 (refused on 14: see below)
    const table = uniqueName('clip2');
    const slot = uniqueName('clip2_slot');
    const gid = uniqueName('gid');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await sql.query(`CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
    const stream = (endpos: string) => cli(['stream', '-d', server.url, '-S', slot, '-P', `${table}_pub`, '--proto-version', '3', '--two-phase', '--endpos', endpos]);
    const gidLines = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string; gid?: string }).filter((l) => l.gid === gid || l.type === 'insert').map((l) => l.type);
    try {
      expect(await cli(['stream', '-d', server.url, '-S', slot, '-P', `${table}_pub`, '--create-slot', '--two-phase', '--proto-version', '3', '--endpos', '0/1'])).toMatchObject({ code: 0, stderr: '' });
      await sql.query('BEGIN');
      await sql.query(`INSERT INTO ${table} VALUES (1)`);
      await sql.query(`PREPARE TRANSACTION '${gid}'`);
      const prepared = await stream((await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string);
      expect(prepared).toMatchObject({ code: 0, stderr: '' });
      expect(gidLines(prepared.stdout)).toEqual(['beginPrepare', 'insert', 'prepare']);

      await sql.query(`COMMIT PREPARED '${gid}'`);
      const committed = await stream((await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string);
      expect(committed).toMatchObject({ code: 0, stderr: '' });
      expect(gidLines(committed.stdout)).toEqual(['commitPrepared']);
    } finally {
      await sql.query(`ROLLBACK PREPARED '${gid}'`).catch(() => {});
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000);
      await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      await sql.query(`DROP PUBLICATION ${table}_pub; DROP TABLE ${table}`);
    }
  }, 120_000);

  it('refuses an option the protocol version cannot take, naming the version it needs', async () => {
    const { code, stdout, stderr } = await cli(['stream', '-d', server.url, '-S', 'never_created', '-P', 'p', '--streaming', 'on', '--proto-version', '1']);
    expect(code).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^pg-walstream: error: --streaming on needs --proto-version 2 or later/);
  });

  it('refuses --two-phase on PostgreSQL 14 and --origin before 16, before sending', async () => {
    const twoPhase = await cli(['stream', '-d', server.url, '-S', 'never_created', '-P', 'p', '--proto-version', '3', '--two-phase']);
    const origin = await cli(['stream', '-d', server.url, '-S', 'never_created', '-P', 'p', '--origin', 'none']);
    if (version < 150000) expect(twoPhase.stderr).toMatch(/--proto-version 3 needs PostgreSQL 15 or later; the server is PostgreSQL 14/);
    else expect(twoPhase.stderr).toMatch(/replication slot "never_created" does not exist/);
    if (version < 160000) expect(origin.stderr).toMatch(/--origin needs PostgreSQL 16 or later/);
    else expect(origin.stderr).toMatch(/replication slot "never_created" does not exist/);
    expect([twoPhase.code, origin.code]).toEqual([1, 1]);
  });

  it('refuses --failover without --create-slot, and a protocol version that does not exist', async () => {
    const failover = await cli(['stream', '-d', server.url, '-S', 's', '-P', 'p', '--failover']);
    expect(failover.code).not.toBe(0);
    expect(failover.stderr).toMatch(/--failover needs --create-slot/);
    const proto = await cli(['stream', '-d', server.url, '-S', 's', '-P', 'p', '--proto-version', '5']);
    expect(proto.code).not.toBe(0);
    expect(proto.stderr).toMatch(/expected 1, 2, 3, 4 or auto/);
  });
});
