import { dirname } from 'node:path';
import { Client } from 'pg';
import { filter, firstValueFrom, take, takeWhile, toArray } from 'rxjs';
import { AuthenticationError, ConfigurationError, ConnectionError, PgError, type ReplicationFrame, ReplicationClient, logicalReplication } from '../../src';
import { freePort } from '../../src/embedded';
import { allServers, sqlClient, uniqueName, waitFor } from '../support/server';

// Servers whose pg_hba.conf the harness wrote (spec/support/server-config.cjs): they have the
// md5, cleartext and trust roles. An external PG_TEST_URL server is left out of these cases.
const configured = allServers().filter((s) => s.dataDir !== undefined);

describe.each(configured)('authentication against $label', (server) => {
  let sql: Client;
  const password = 'pa ss\'"word';

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    for (const role of ['walstream_md5', 'walstream_cleartext', 'walstream_trust']) {
      await sql.query(`DROP ROLE IF EXISTS ${role}`);
    }
    await sql.query(`SET password_encryption = 'md5'`);
    await sql.query(`CREATE ROLE walstream_md5 LOGIN REPLICATION PASSWORD '${password.replace(/'/g, "''")}'`);
    await sql.query(`SET password_encryption = 'scram-sha-256'`);
    await sql.query(`CREATE ROLE walstream_cleartext LOGIN REPLICATION PASSWORD '${password.replace(/'/g, "''")}'`);
    await sql.query(`CREATE ROLE walstream_trust LOGIN REPLICATION`);
  });
  afterAll(async () => {
    await sql.end();
  });

  const urlFor = (user: string, pass?: string) => {
    const url = new URL(server.url);
    url.username = user;
    url.password = pass === undefined ? '' : encodeURIComponent(pass);
    return url.toString();
  };

  it.each([
    ['SCRAM-SHA-256', 'postgres', undefined],
    ['MD5', 'walstream_md5', password],
    ['cleartext password', 'walstream_cleartext', password],
    ['trust', 'walstream_trust', ''],
  ])('authenticates with %s and runs IDENTIFY_SYSTEM', async (_, user, pass) => {
    // A cleartext password over unencrypted TCP needs the user's consent (docs/security.md).
    const url = pass === undefined ? server.url : urlFor(user, pass) + (user === 'walstream_cleartext' ? '?require_auth=password' : '');
    const client = await ReplicationClient.connect(url);
    try {
      const id = await client.identifySystem();
      expect(id.systemId).toMatch(/^\d+$/);
      expect(id.timeline).toBeGreaterThanOrEqual(1);
      expect(id.xlogPos.isZero()).toBe(false);
      expect(id.dbName).toBe(new URL(server.url).pathname.slice(1));
    } finally {
      await client.close();
    }
  });

  it('takes the password from a function, as for rotating secrets', async () => {
    const client = await ReplicationClient.connect({ connectionString: urlFor('walstream_md5'), password: async () => password });
    await client.close();
  });

  it('reports a wrong MD5 password as PgError 28P01', async () => {
    await expect(ReplicationClient.connect(urlFor('walstream_md5', 'nope'))).rejects.toMatchObject({ name: 'PgError', code: '28P01' });
  });

  it('reports a missing password as an AuthenticationError before sending anything', async () => {
    const err = await ReplicationClient.connect({ connectionString: urlFor('walstream_cleartext'), password: undefined }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
  });
});

describe.each(allServers())('connections and the control plane against $label', (server) => {
  let sql: Client;
  beforeAll(async () => {
    sql = await sqlClient(server.url);
  });
  afterAll(async () => {
    await sql.end();
  });

  it('connects over a Unix-domain socket when the host is a directory', async () => {
    if (server.dataDir === undefined) return expect(server.dataDir).toBeUndefined(); // an external server: no known socket directory
    const url = new URL(server.url);
    const client = await ReplicationClient.connect({ connectionString: server.url, host: dirname(server.dataDir), port: Number(url.port) });
    try {
      expect((await client.identifySystem()).dbName).toBe(new URL(server.url).pathname.slice(1));
    } finally {
      await client.close();
    }
  });

  it('reports a refused connection as a ConnectionError', async () => {
    const err = await ReplicationClient.connect({ host: '127.0.0.1', port: await freePort(), user: 'x', connectTimeout: 5000 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).code).toBe('ECONNREFUSED');
  });

  it('reports an unknown database as PgError 3D000', async () => {
    const url = new URL(server.url);
    url.pathname = '/no_such_database';
    await expect(ReplicationClient.connect(url.toString())).rejects.toMatchObject({ code: '3D000' });
  });

  it('quotes publication names with quotes and spaces, and never injects SQL', async () => {
    const table = uniqueName('t');
    const slot = uniqueName('s');
    const publication = `pub "x", 'y' ${uniqueName('p')}`;
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await sql.query(`CREATE PUBLICATION "${publication.replace(/"/g, '""')}" FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    try {
      const created = await client.createReplicationSlot(slot);
      expect(created.slotName).toBe(slot);
      expect(created.outputPlugin).toBe('pgoutput');
      expect(await client.ensureReplicationSlot(slot)).toBeUndefined();
      await expect(client.createReplicationSlot(slot)).rejects.toMatchObject({ code: '42710' });
      await sql.query(`INSERT INTO ${table} VALUES (1)`);
      const msgs = await firstValueFrom(
        logicalReplication({ connectionString: server.url, slot, publications: [publication] }).pipe(
          filter((f) => f.type === 'xlogdata'),
          take(3),
          toArray(),
        ),
      );
      expect(msgs.map((f) => (f.type === 'xlogdata' ? String.fromCharCode(f.data[0]) : ''))).toEqual(['B', 'R', 'I']);
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', [slot])).rowCount === 1, 10_000, 'slot release');
      await client.dropReplicationSlot(slot, { wait: true });
      expect((await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount).toBe(0);
      // Slot names the server would refuse never reach it.
      await expect(client.dropReplicationSlot(`x"; DROP TABLE ${table}; --`)).rejects.toBeInstanceOf(ConfigurationError);
      await expect(client.createReplicationSlot('With Space')).rejects.toBeInstanceOf(ConfigurationError);
      expect((await sql.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(1);
    } finally {
      await client.close();
      await sql.query(`DROP PUBLICATION "${publication.replace(/"/g, '""')}"`);
      await sql.query(`DROP TABLE ${table}`);
    }
  });

  it('creates a temporary slot that disappears with its connection', async () => {
    const slot = uniqueName('tmp');
    const client = await ReplicationClient.connect(server.url);
    const created = await client.createReplicationSlot(slot, { temporary: true, snapshot: 'export' });
    expect(created.snapshotName).toMatch(/\S/);
    expect((await sql.query('SELECT temporary FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0].temporary).toBe(true);
    await client.close();
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1', [slot])).rowCount === 0, 10_000, 'temporary slot drop');
  });

  it('keeps the bytes of an early frame intact after thousands more have arrived', async () => {
    const table = uniqueName('t');
    const slot = uniqueName('slot');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, payload text)`);
    await sql.query(`CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    await client.createReplicationSlot(slot);
    await client.close();
    await sql.query(`INSERT INTO ${table} SELECT g, repeat(md5(g::text), 8) FROM generate_series(1, 5000) g`);
    try {
      let inserts = 0;
      const isInsert = (f: ReplicationFrame) => f.type === 'xlogdata' && f.data[0] === 0x49;
      const frames = await firstValueFrom(
        logicalReplication({ connectionString: server.url, slot, publications: `${table}_pub` }).pipe(
          filter((f) => f.type === 'xlogdata'),
          // Up to the 5000th insert (PostgreSQL 14 also sends other sessions' empty transactions).
          takeWhile((f) => !(isInsert(f) && ++inserts === 5000), true),
          toArray(),
        ),
      );
      const copies = frames.map((f) => (f.type === 'xlogdata' ? Buffer.from(f.data) : Buffer.alloc(0)));
      // Every view still equals the copy taken when it arrived: no buffer was reused underneath.
      frames.forEach((f, i) => expect(f.type === 'xlogdata' && f.data.equals(copies[i])).toBe(true));
      const firstInsert = frames.find(isInsert);
      expect(firstInsert?.type === 'xlogdata' && firstInsert.data.includes(Buffer.from('c4ca4238a0b923820dcc509a6f75849b'))).toBe(true);
      expect(frames.filter(isInsert)).toHaveLength(5000);
    } finally {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
      await sql.query(`DROP PUBLICATION ${table}_pub; DROP TABLE ${table}`);
    }
  });

  it('surfaces a server error during START_REPLICATION as PgError, never unhandled', async () => {
    const err = await firstValueFrom(logicalReplication({ connectionString: server.url, slot: uniqueName('missing'), publications: 'p' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgError);
    expect((err as PgError).code).toBe('42704');
  });
});
