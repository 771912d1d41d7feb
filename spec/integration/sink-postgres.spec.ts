import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import type { Client } from 'pg';
import { firstValueFrom, toArray } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../../src';
import { ackOnCommit, bufferTransaction, parsePgoutput } from '../../operators';
import { ApplyConflictError, SchemaDriftError, UnsupportedEventError, postgresApply, readApplyProgress } from '../../sinks/postgres';
import { KeptConsumer, sleep } from '../support/sink-servers';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';
import { TYPE_CASES, createUserTypesSql } from '../support/type-cases';

const execFileAsync = promisify(execFile);
const PGBENCH = ['/usr/lib/postgresql/15/bin/pgbench', '/usr/bin/pgbench'].find((p) => existsSync(p));

function withDatabase(url: string, db: string): string {
  const u = new URL(url);
  u.pathname = `/${db}`;
  return u.toString();
}

/**
 * The apply sink against real servers: pgbench plus the hard cases, while the applier is
 * SIGKILLed and its target connection terminated mid-way. Source and target are two databases of
 * the test server; the target must equal the source table by table, with nothing applied twice
 * (pgbench_history has no key, so a second apply would show as extra rows).
 */
describe('postgres apply sink', () => {
  const server = defaultServer();
  const suffix = uniqueName('ap').slice(3);
  const targetDb = `target_${suffix}`;
  const targetUrl = withDatabase(server.url, targetDb);
  const schema = `Other Schema ${suffix}`;
  const q = (name: string) => `"${schema}".${name}`;
  const slot = `apply_${suffix}`;
  const publication = `apply_${suffix}`;
  const types = createUserTypesSql(suffix);
  let source: Client;
  let target: Client;
  let consumer: KeptConsumer | undefined;

  const tables = [
    'pgbench_accounts',
    'pgbench_branches',
    'pgbench_tellers',
    'pgbench_history',
    q('"Tab ""Quoted"""'),
    q('toasty'),
    q('full_dups'),
    q('types'),
    q('idx_ident'),
    q('truncated'),
  ];

  const ddl = [
    types.sql,
    `CREATE SCHEMA "${schema}"`,
    `CREATE TABLE ${q('"Tab ""Quoted"""')} (id int PRIMARY KEY, "Value Col" text)`,
    `CREATE TABLE ${q('toasty')} (id int PRIMARY KEY, big text, n int)`,
    `CREATE TABLE ${q('full_dups')} (a int, b text, c float8, j json)`,
    `ALTER TABLE ${q('full_dups')} REPLICA IDENTITY FULL`,
    `CREATE TABLE ${q('types')} (id int PRIMARY KEY, ${TYPE_CASES.map((c) => `${c.column} ${types.rename(c.type)}`).join(', ')})`,
    `CREATE TABLE ${q('idx_ident')} (a int NOT NULL, b int NOT NULL, v text)`,
    `CREATE UNIQUE INDEX idx_ident_ab ON ${q('idx_ident')} (a, b)`,
    `ALTER TABLE ${q('idx_ident')} REPLICA IDENTITY USING INDEX idx_ident_ab`,
    `CREATE TABLE ${q('truncated')} (id int PRIMARY KEY)`,
  ].join(';\n');

  const rows = Math.max(...TYPE_CASES.map((c) => c.values.length));
  const hardCases = [
    `INSERT INTO ${q('"Tab ""Quoted"""')} VALUES (1, 'one'), (2, 'two'), (3, 'three')`,
    `UPDATE ${q('"Tab ""Quoted"""')} SET "Value Col" = 'uno' WHERE id = 1`,
    `UPDATE ${q('"Tab ""Quoted"""')} SET id = 30 WHERE id = 3`,
    `DELETE FROM ${q('"Tab ""Quoted"""')} WHERE id = 2`,
    `INSERT INTO ${q('toasty')} SELECT 1, string_agg(md5(random()::text), '') || repeat('z', 10), 0 FROM generate_series(1, 6000)`,
    `UPDATE ${q('toasty')} SET n = n + 1 WHERE id = 1`,
    `INSERT INTO ${q('toasty')} VALUES (2, 'small', 0)`,
    `UPDATE ${q('toasty')} SET big = big || 'tail', n = 5 WHERE id = 1`,
    `UPDATE ${q('toasty')} SET n = 7 WHERE id = 1`,
    `INSERT INTO ${q('full_dups')} VALUES (1, 'x', '-0', '{"n": 123456789012345678901234567890}'), (1, 'x', '-0', '{"n": 123456789012345678901234567890}'), (1, 'x', '-0', '{"n": 123456789012345678901234567890}'), (1, 'x', 0, '{"n": 1}'), (2, NULL, 'NaN', NULL)`,
    `UPDATE ${q('full_dups')} SET b = 'changed' WHERE ctid = (SELECT ctid FROM ${q('full_dups')} WHERE a = 1 AND c::text = '-0' LIMIT 1)`,
    `DELETE FROM ${q('full_dups')} WHERE ctid = (SELECT ctid FROM ${q('full_dups')} WHERE b = 'x' AND c::text = '-0' LIMIT 1)`,
    `UPDATE ${q('full_dups')} SET b = 'nan' WHERE a = 2`,
    ...Array.from({ length: rows }, (_, k) => `INSERT INTO ${q('types')} (id, ${TYPE_CASES.map((c) => c.column).join(', ')}) VALUES (${k}, ${TYPE_CASES.map((c) => c.values[k] ?? 'NULL').join(', ')})`),
    `INSERT INTO ${q('types')} (id) VALUES (${rows})`,
    `UPDATE ${q('types')} SET c_text = 'changed', c_int4 = 42 WHERE id = 1`,
    `DELETE FROM ${q('types')} WHERE id = 2`,
    `INSERT INTO ${q('idx_ident')} VALUES (1, 1, 'a'), (1, 2, 'b'), (2, 1, 'c')`,
    `UPDATE ${q('idx_ident')} SET v = 'aa' WHERE a = 1 AND b = 1`,
    `UPDATE ${q('idx_ident')} SET b = 3 WHERE a = 1 AND b = 2`,
    `DELETE FROM ${q('idx_ident')} WHERE a = 2`,
    `INSERT INTO ${q('truncated')} SELECT generate_series(1, 5)`,
    `TRUNCATE ${q('truncated')}`,
    `INSERT INTO ${q('truncated')} VALUES (100), (101)`,
  ];

  const pgbench = (url: string, args: string[]) => execFileAsync(PGBENCH!, [...args, url], { env: { ...process.env, PGOPTIONS: '' } });

  beforeAll(async () => {
    source = await sqlClient(server.url);
    await source.query(`CREATE DATABASE ${targetDb}`);
    target = await sqlClient(targetUrl);
  });

  afterAll(async () => {
    await consumer?.stop();
    await target?.end();
    if (source !== undefined) {
      await waitFor(async () => (await source.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release').catch(() => undefined);
      await source.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      await source.query(`DROP DATABASE IF EXISTS ${targetDb} WITH (FORCE)`);
      await source.query(`DROP PUBLICATION IF EXISTS ${publication}`);
      await source.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
      await source.end();
    }
  });

  const pgbenchTest = PGBENCH === undefined && process.env.CI !== 'true' ? it.skip : it;
  pgbenchTest('applies pgbench and the hard cases exactly once through kills, so the target equals the source (needs pgbench)', async () => {
    if (PGBENCH === undefined) throw new Error('pgbench is not installed (apt-get install postgresql-15)');
    // No other suite uses pgbench_* tables, so this one owns them in the test database.
    for (const url of [server.url, targetUrl]) {
      await pgbench(url, ['-i', '-I', 'dtp', '-s', '1']);
      const c = url === server.url ? source : target;
      await c.query(ddl);
    }
    await source.query(`CREATE PUBLICATION ${publication} FOR TABLE ${tables.join(', ')}`);
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);

    consumer = new KeptConsumer({ kind: 'postgres', url: server.url, slot, publication, target: targetUrl, name: suffix });
    const workload = (async () => {
      // pgbench -i's data, smaller (20 000 accounts rather than 100 000), after a TRUNCATE of all four.
      await source.query(
        'TRUNCATE pgbench_accounts, pgbench_branches, pgbench_tellers, pgbench_history; ' +
          "INSERT INTO pgbench_branches VALUES (1, 0, ''); INSERT INTO pgbench_tellers SELECT t, 1, 0, '' FROM generate_series(1, 10) t; " +
          "INSERT INTO pgbench_accounts SELECT a, 1, 0, '' FROM generate_series(1, 20000) a",
      );
      for (const stmt of hardCases) await source.query(stmt);
      await pgbench(server.url, ['-n', '-c', '2', '-T', '4', '-R', '300']);
    })();
    // Faults while the workload runs: SIGKILL the applier twice, and cut its target connection once.
    await sleep(1500);
    await consumer.kill();
    await sleep(1500);
    await target.query(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()`, [targetDb]);
    await sleep(1000);
    await consumer.kill();
    await workload;
    const end = (await source.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
    await waitFor(
      async () => (await source.query('SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1', [slot, end])).rows[0]?.done === true,
      40_000,
      'the applier to catch up',
    );
    await consumer.stop();
    expect(consumer.starts).toBeGreaterThanOrEqual(3);

    for (const table of tables) {
      const query = `SELECT t::text AS r FROM ${table} t ORDER BY 1`;
      const [want, got] = await Promise.all([source.query(query), target.query(query)]);
      expect({ table, rows: got.rows.map((r) => r.r) }).toEqual({ table, rows: want.rows.map((r) => r.r) });
    }
    expect((await source.query('SELECT count(*)::int AS n FROM pgbench_history')).rows[0].n).toBeGreaterThan(100);
    const progress = await readApplyProgress({ connection: targetUrl, name: suffix });
    expect(progress).toBeDefined();
  }, 55_000);

  it('reports a column the target lacks as SchemaDriftError, applying nothing of the transaction', async () => {
    const table = uniqueName('drift');
    const pub = uniqueName('pub');
    const driftSlot = uniqueName('slot');
    await source.query(`CREATE TABLE ${table} (id int PRIMARY KEY, extra text)`);
    await target.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
    await source.query(`CREATE PUBLICATION ${pub} FOR TABLE ${table}`);
    await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [driftSlot]);
    try {
      await source.query(`INSERT INTO ${table} VALUES (1, 'a')`);
      const feedback = new LsnFeedback();
      const err = await firstValueFrom(
        logicalReplication({ connectionString: server.url, slot: driftSlot, publications: pub, feedback }).pipe(
          parsePgoutput(),
          bufferTransaction(),
          postgresApply({ connection: targetUrl, name: 'drift' }),
          ackOnCommit(feedback),
          toArray(),
        ),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SchemaDriftError);
      expect(err).toMatchObject({ schema: 'public', table, column: 'extra' });
      expect((err as Error).message).toContain('"extra"');
      expect((await target.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0);
      expect(feedback.acknowledged.value).toBe(0n);
    } finally {
      await waitFor(async () => (await source.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [driftSlot])).rowCount === 0, 10_000, 'slot release');
      await source.query('SELECT pg_drop_replication_slot($1)', [driftSlot]);
      await source.query(`DROP PUBLICATION ${pub}`);
      await source.query(`DROP TABLE ${table}`);
    }
  });

  it('rolls back a transaction whose UPDATE finds no row (ApplyConflictError), and refuses binary values (UnsupportedEventError)', async () => {
    const table = uniqueName('conflict');
    const pub = uniqueName('pub');
    const [textSlot, binarySlot] = [uniqueName('slot'), uniqueName('slot')];
    await source.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text); INSERT INTO ${table} VALUES (1, 'a')`);
    await target.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`); // row 1 is missing on the target
    await source.query(`CREATE PUBLICATION ${pub} FOR TABLE ${table}`);
    for (const s of [textSlot, binarySlot]) await source.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [s]);
    const apply = (slot: string, binary: boolean) => {
      const feedback = new LsnFeedback();
      return firstValueFrom(
        logicalReplication({ connectionString: server.url, slot, publications: pub, feedback, binary }).pipe(
          parsePgoutput(),
          bufferTransaction(),
          postgresApply({ connection: targetUrl, name: `${slot}` }),
          ackOnCommit(feedback),
          toArray(),
        ),
      ).then(
        () => ({ err: undefined as unknown, feedback }),
        (err: unknown) => ({ err, feedback }),
      );
    };
    try {
      await source.query(`BEGIN; INSERT INTO ${table} VALUES (2, 'b'); UPDATE ${table} SET v = 'changed' WHERE id = 1; COMMIT`);
      const conflict = await apply(textSlot, false);
      expect(conflict.err).toBeInstanceOf(ApplyConflictError);
      expect(conflict.err).toMatchObject({ schema: 'public', table });
      expect(conflict.feedback.acknowledged.value).toBe(0n);
      // Rolled back whole: the INSERT of the same transaction is not there.
      expect((await target.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n).toBe(0);

      const binary = await apply(binarySlot, true);
      expect(binary.err).toBeInstanceOf(UnsupportedEventError);
      expect((binary.err as Error).message).toContain('text-mode');
    } finally {
      for (const s of [textSlot, binarySlot]) {
        await waitFor(async () => (await source.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [s])).rowCount === 0, 10_000, 'slot release').catch(() => undefined);
      }
      await source.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = ANY($1)', [[textSlot, binarySlot]]);
      await source.query(`DROP PUBLICATION ${pub}`);
      await source.query(`DROP TABLE ${table}`);
    }
  });
});
