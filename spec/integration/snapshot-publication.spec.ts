import type { Client } from 'pg';
import { concat, concatMap, lastValueFrom, takeWhile, toArray } from 'rxjs';
import { LsnFeedback, initialSnapshot, logicalReplication, type PgoutputMessage, type SnapshotEvent, type CopyFormat } from '../../src';
import { MemoryStateStore } from '../../src/snapshot';
import { ackOnCommit, parsePgoutput } from '../../operators';
import { allServers, sqlClient, uniqueName, waitFor } from '../support/server';

/** Runs a snapshot of `publications` on a fresh slot; returns its events. */
async function snapshotOf(url: string, publications: string[], copyFormat: CopyFormat | 'auto' = 'auto'): Promise<SnapshotEvent[]> {
  const slot = uniqueName('slot');
  const sql = await sqlClient(url);
  try {
    return await lastValueFrom(initialSnapshot({ connectionString: url, slot, publications, copyFormat, stateStore: new MemoryStateStore() }).pipe(toArray()));
  } finally {
    await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    await sql.end();
  }
}

function rowsByTable(events: SnapshotEvent[]): Record<string, Record<string, unknown>[]> {
  const out: Record<string, Record<string, unknown>[]> = {};
  for (const e of events) if (e.type === 'snapshotRows') (out[`${e.schema}.${e.table}`] ??= []).push(...e.rows.map((r) => r.toObject()));
  for (const rows of Object.values(out)) rows.sort((a, b) => Number(a.id) - Number(b.id));
  return out;
}

describe.each(allServers())('the snapshot honours the publication ($label)', (server) => {
  const url = server.url;
  let sql: Client;
  let version: number;
  const s = uniqueName('snapschema');
  const cleanup: string[] = [];

  beforeAll(async () => {
    sql = await sqlClient(url);
    version = Number((await sql.query('SHOW server_version_num')).rows[0].server_version_num);
    await sql.query(`CREATE SCHEMA ${s}`);
    cleanup.push(`DROP SCHEMA ${s} CASCADE`);
  });
  afterAll(async () => {
    for (const q of cleanup.reverse()) await sql.query(q);
    await sql.end();
  });

  it('partitioned tables: through the root with publish_via_partition_root, else the leaves', async () => {
    await sql.query(`CREATE TABLE ${s}.m (id int PRIMARY KEY, v int) PARTITION BY RANGE (id)`);
    await sql.query(`CREATE TABLE ${s}.m1 PARTITION OF ${s}.m FOR VALUES FROM (0) TO (100)`);
    await sql.query(`CREATE TABLE ${s}.m2 PARTITION OF ${s}.m FOR VALUES FROM (100) TO (200)`);
    await sql.query(`INSERT INTO ${s}.m SELECT g, g * 10 FROM generate_series(1, 199) g`);
    const viaRoot = uniqueName('pub');
    const leaves = uniqueName('pub');
    await sql.query(`CREATE PUBLICATION ${viaRoot} FOR TABLE ${s}.m WITH (publish_via_partition_root = true)`);
    await sql.query(`CREATE PUBLICATION ${leaves} FOR TABLE ${s}.m`);
    cleanup.push(`DROP PUBLICATION ${viaRoot}, ${leaves}`);
    const root = rowsByTable(await snapshotOf(url, [viaRoot]));
    expect(Object.keys(root)).toEqual([`${s}.m`]);
    expect(root[`${s}.m`]).toHaveLength(199);
    const leaf = rowsByTable(await snapshotOf(url, [leaves]));
    expect(Object.keys(leaf).sort()).toEqual([`${s}.m1`, `${s}.m2`]);
    expect(leaf[`${s}.m1`].length + leaf[`${s}.m2`].length).toBe(199);
    expect(leaf[`${s}.m2`][0]).toEqual({ id: 100, v: 1000 });
  });

  it('row filters and column lists (PostgreSQL 15+), FOR TABLES IN SCHEMA', async () => {
    if (version < 150000) return; // PostgreSQL 14 has neither; the matrix run covers the partition test there
    await sql.query(`CREATE TABLE ${s}.f (id int PRIMARY KEY, v int, secret text)`);
    await sql.query(`INSERT INTO ${s}.f SELECT g, g, 'x' || g FROM generate_series(1, 100) g`);
    const filtered = uniqueName('pub');
    const inSchema = uniqueName('pub');
    await sql.query(`CREATE PUBLICATION ${filtered} FOR TABLE ${s}.f (id, v) WHERE (v % 10 = 0)`);
    await sql.query(`CREATE PUBLICATION ${inSchema} FOR TABLES IN SCHEMA ${s}`);
    cleanup.push(`DROP PUBLICATION ${filtered}, ${inSchema}`);
    const rows = rowsByTable(await snapshotOf(url, [filtered]));
    expect(rows[`${s}.f`]).toEqual(Array.from({ length: 10 }, (_, i) => ({ id: (i + 1) * 10, v: (i + 1) * 10 })));
    const all = rowsByTable(await snapshotOf(url, [inSchema]));
    expect(Object.keys(all).sort()).toEqual([`${s}.f`, `${s}.m1`, `${s}.m2`]);
    expect(all[`${s}.f`][0]).toEqual({ id: 1, v: 1, secret: 'x1' });
  });

  it('a table in several publications: the union of their rows (OR of the row filters, PostgreSQL 15+)', async () => {
    if (version < 150000) return; // no row filters on PostgreSQL 14
    await sql.query(`CREATE TABLE ${s}.u (id int PRIMARY KEY, v int)`);
    await sql.query(`INSERT INTO ${s}.u SELECT g, g FROM generate_series(1, 100) g`);
    const tens = uniqueName('pub');
    const high = uniqueName('pub');
    await sql.query(`CREATE PUBLICATION ${tens} FOR TABLE ${s}.u WHERE (v % 10 = 0)`);
    await sql.query(`CREATE PUBLICATION ${high} FOR TABLE ${s}.u WHERE (v > 95)`);
    cleanup.push(`DROP PUBLICATION ${tens}, ${high}`);
    const rows = rowsByTable(await snapshotOf(url, [tens, high]));
    expect(rows[`${s}.u`].map((r) => r.id)).toEqual([10, 20, 30, 40, 50, 60, 70, 80, 90, 96, 97, 98, 99, 100]);
  });

  it('FOR ALL TABLES reads every table but the state table', async () => {
    const dbName = uniqueName('snapdb');
    await sql.query(`CREATE DATABASE ${dbName}`);
    const dbUrl = new URL(url);
    dbUrl.pathname = `/${dbName}`;
    const db = await sqlClient(dbUrl.toString());
    const slot = uniqueName('slot');
    try {
      await db.query('CREATE TABLE a (id int PRIMARY KEY); CREATE TABLE b (id int PRIMARY KEY); INSERT INTO a VALUES (1), (2); INSERT INTO b VALUES (3)');
      await db.query('CREATE PUBLICATION everything FOR ALL TABLES');
      const events = await lastValueFrom(initialSnapshot({ connectionString: dbUrl.toString(), slot, publications: 'everything' }).pipe(toArray()));
      const start = events[0] as Extract<SnapshotEvent, { type: 'snapshotStart' }>;
      expect([...start.tables].sort()).toEqual(['public.a', 'public.b']);
      expect(rowsByTable(events)).toEqual({ 'public.a': [{ id: 1 }, { id: 2 }], 'public.b': [{ id: 3 }] });
      expect((await db.query('SELECT value FROM walstream_state WHERE key = $1', [`snapshot:${slot}`])).rows[0].value).toMatchObject({ state: 'done' });
    } finally {
      await db.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      await db.end();
      await sql.query(`DROP DATABASE ${dbName}`);
    }
  });

  it.each(['text', 'binary'] as const)('snapshot rows decode like streamed rows, same relation (%s COPY)', async (format) => {
    const t = `${s}.typed_${format}`;
    await sql.query(`CREATE TABLE ${t} (id int PRIMARY KEY, n numeric, ts timestamptz, j jsonb, arr text[], b bytea, tricky text, nothing int, big int8, d date)`);
    const values = `(1, 12.50, '2024-02-29 12:34:56.789012+00', '{"a":[1,2]}', '{"x y","\\\\z"}', '\\x00ff', E'tab\\there\\nnew line \\\\ back\\rslash N', NULL, 9007199254740993, '2024-01-01')`;
    await sql.query(`INSERT INTO ${t} VALUES ${values}`);
    const pub = uniqueName('pub');
    await sql.query(`CREATE PUBLICATION ${pub} FOR TABLE ${t}`);
    cleanup.push(`DROP PUBLICATION ${pub}`);
    const slot = uniqueName('slot');
    const feedback = new LsnFeedback();
    const options = { connectionString: url, slot, publications: pub, feedback, copyFormat: format, stateStore: new MemoryStateStore() };
    let inserted = false;
    const events = await lastValueFrom(
      concat(initialSnapshot(options), logicalReplication(options).pipe(parsePgoutput())).pipe(
        concatMap(async (e: SnapshotEvent | PgoutputMessage) => {
          if (e.type === 'snapshotComplete' && !inserted) {
            inserted = true;
            await sql.query(`INSERT INTO ${t} VALUES ${values.replace('(1,', '(2,')}`);
          }
          return e;
        }),
        ackOnCommit(feedback, { arrivalOrder: true }),
        takeWhile((e) => e.type !== 'insert', true),
        toArray(),
      ),
    );
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    const snap = events.find((e) => e.type === 'snapshotRows') as Extract<SnapshotEvent, { type: 'snapshotRows' }>;
    const insert = events.find((e) => e.type === 'insert') as Extract<PgoutputMessage, { type: 'insert' }>;
    expect(snap.relation.columns).toEqual(insert.relation.columns);
    expect(snap.relation.keyColumns).toEqual(insert.relation.keyColumns);
    expect(snap.relation.oid).toBe(insert.relation.oid);
    expect({ ...snap.rows[0].toObject(), id: 2 }).toEqual(insert.new.toObject());
    expect(snap.rows[0].get('tricky')).toBe('tab\there\nnew line \\ back\rslash N');
    expect(snap.rows[0].isNull('nothing')).toBe(true);
  });
});
