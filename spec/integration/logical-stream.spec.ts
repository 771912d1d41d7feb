import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { filter, firstValueFrom, map } from 'rxjs';
import {
  type InsertMessage,
  LsnFeedback,
  PgError,
  ReplicationClient,
  UNCHANGED_TOAST,
  type UpdateMessage,
  logicalReplication,
} from '../../src';
import { parsePgoutput } from '../../operators';
import { directLogicalSource } from '../../src/source/direct';
import { Row } from '../../src';
import type { PgoutputMessage } from '../../src';
import { allServers, sqlClient, uniqueName, untilCommits, waitFor, withoutEmptyTransactions } from '../support/server';

describe.each(allServers())('logical replication against $label', (server) => {
  let sql: Client;
  let table: string;
  let slot: string;
  let publication: string;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
  });
  afterAll(async () => {
    await sql.end();
  });

  beforeEach(async () => {
    table = uniqueName('t');
    slot = uniqueName('slot');
    publication = uniqueName('pub');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, big text)`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    await client.createReplicationSlot(slot);
    await client.close();
  });

  afterEach(async () => {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    await sql.query(`DROP PUBLICATION ${publication}`);
    await sql.query(`DROP TABLE ${table}`);
  });

  const stream = (feedback = new LsnFeedback(), extra = {}) =>
    logicalReplication({ connectionString: server.url, slot, publications: publication, feedback, statusInterval: 200, ...extra }).pipe(parsePgoutput());

  const collectUntilCommits = (commits: number, feedback?: LsnFeedback, extra = {}) =>
    firstValueFrom(stream(feedback, extra).pipe(untilCommits(commits)));

  it('streams insert, update, delete and truncate in commit order with their relation', async () => {
    await sql.query(`INSERT INTO ${table} VALUES (1, 'a', NULL), (2, 'b', NULL)`);
    await sql.query(`UPDATE ${table} SET name = 'c' WHERE id = 1`);
    await sql.query(`UPDATE ${table} SET id = 3 WHERE id = 2`);
    await sql.query(`DELETE FROM ${table} WHERE id = 1`);
    await sql.query(`TRUNCATE ${table}`);
    const msgs = withoutEmptyTransactions(await collectUntilCommits(5));
    const types = msgs.map((m) => m.type);
    expect(types).toEqual([
      'begin', 'relation', 'insert', 'insert', 'commit',
      'begin', 'update', 'commit',
      'begin', 'update', 'commit',
      'begin', 'delete', 'commit',
      // TRUNCATE invalidates the relation cache entry, so the walsender describes the table again.
      'begin', 'relation', 'truncate', 'commit',
    ]);
    const inserts = msgs.filter((m): m is InsertMessage => m.type === 'insert');
    expect(inserts.map((m) => m.new.rawObject())).toEqual([
      { id: '1', name: 'a', big: null },
      { id: '2', name: 'b', big: null },
    ]);
    expect(inserts[0].relation).toMatchObject({ schema: 'public', name: table, replicaIdentity: 'd', keyColumns: ['id'] });
    const updates = msgs.filter((m): m is UpdateMessage => m.type === 'update');
    expect(updates[0].key).toBeUndefined();
    expect(updates[0].new.raw('name')).toBe('c');
    expect(updates[1].key?.raw('id')).toBe('2'); // the key changed: the old key is sent
    const commits = msgs.filter((m) => m.type === 'commit');
    for (let i = 1; i < commits.length; i++) expect(commits[i].lsn > commits[i - 1].lsn).toBe(true);
  });

  it('decodes the same messages in place (parsePgoutput straight on the source) as from frames (an operator between)', async () => {
    const big = randomBytes(100_000).toString('base64'); // a message spanning socket reads
    await sql.query(`INSERT INTO ${table} VALUES (1, 'a', $1), (2, 'b', NULL)`, [big]);
    await sql.query(`UPDATE ${table} SET name = 'c', big = 'x' WHERE id = 1`);
    await sql.query(`SELECT pg_logical_emit_message(true, 'walstream', 'in a transaction')`);
    await sql.query(`BEGIN; DELETE FROM ${table} WHERE id = 2; SELECT pg_logical_emit_message(true, 'p', '\\x00ff'::bytea); COMMIT`);
    // Nothing is acknowledged, so the second stream reads the same WAL from the slot again.
    const options = { connectionString: server.url, slot, publications: publication, feedback: new LsnFeedback(), confirmIdle: false, messages: true };
    const source = logicalReplication(options);
    expect(directLogicalSource(source)).toBeDefined();
    expect(directLogicalSource(source.pipe(map((f) => f)))).toBeUndefined();
    const plain = (msgs: PgoutputMessage[]) =>
      JSON.parse(
        JSON.stringify(withoutEmptyTransactions(msgs), (_k, v: unknown) => {
          if (v instanceof Row) return v.rawObject();
          if (Buffer.isBuffer(v)) return v.toString('hex');
          if (typeof v === 'bigint') return `${v}n`;
          return v;
        }),
      );
    const inPlace = await firstValueFrom(source.pipe(parsePgoutput(), untilCommits(4)));
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
    const fromFrames = await firstValueFrom(logicalReplication({ ...options, feedback: new LsnFeedback() }).pipe(map((f) => f), parsePgoutput(), untilCommits(4)));
    expect(plain(inPlace)).toEqual(plain(fromFrames));
    const inserts = inPlace.filter((m): m is InsertMessage => m.type === 'insert');
    expect(inserts[0].new.raw('big')).toBe(big);
    expect(inPlace.filter((m) => m.type === 'message').map((m) => (m.type === 'message' ? m.content.toString('hex') : ''))).toEqual([Buffer.from('in a transaction').toString('hex'), '00ff']);
  });

  it('sends the whole old row under REPLICA IDENTITY FULL and marks unchanged TOAST values', async () => {
    const big = randomBytes(60_000).toString('base64'); // incompressible, so it is stored out of line
    await sql.query(`INSERT INTO ${table} VALUES (1, 'a', $1)`, [big]);
    await sql.query(`UPDATE ${table} SET name = 'b' WHERE id = 1`);
    await sql.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    await sql.query(`UPDATE ${table} SET name = 'c' WHERE id = 1`);
    const msgs = await collectUntilCommits(3);
    const updates = msgs.filter((m): m is UpdateMessage => m.type === 'update');
    expect(updates[0].new.isUnchangedToast('big')).toBe(true);
    expect(updates[0].new.raw('big')).toBe(UNCHANGED_TOAST);
    expect(updates[0].old).toBeUndefined();
    expect(updates[1].relation.replicaIdentity).toBe('f');
    expect(updates[1].old?.raw('name')).toBe('b');
    expect(updates[1].new.raw('name')).toBe('c');
  });

  it('delivers pg_logical_emit_message with the messages option', async () => {
    await sql.query(`SELECT pg_logical_emit_message(false, 'walstream', 'hello')`);
    const msg = await firstValueFrom(stream(undefined, { messages: true }).pipe(filter((m) => m.type === 'message')));
    expect(msg).toMatchObject({ type: 'message', transactional: false, prefix: 'walstream' });
    expect(msg.type === 'message' && msg.content.toString()).toBe('hello');
  });

  it('fails with SQLSTATE 42704 for a missing slot', async () => {
    const err = await firstValueFrom(logicalReplication({ connectionString: server.url, slot: 'no_such_slot', publications: publication })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgError);
    expect((err as PgError).code).toBe('42704');
  });

  it('fails with a typed PgError (28P01) for a wrong password', async () => {
    const url = new URL(server.url);
    url.password = 'wrong-password';
    const err = await firstValueFrom(logicalReplication({ connectionString: url.toString(), slot, publications: publication })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PgError);
    expect((err as PgError).code).toBe('28P01');
  });

  it('resumes after the acknowledged LSN when resubscribed', async () => {
    const feedback = new LsnFeedback();
    await sql.query(`INSERT INTO ${table} VALUES (1, 'a', NULL)`);
    await sql.query(`INSERT INTO ${table} VALUES (2, 'b', NULL)`);
    const first = await collectUntilCommits(1, feedback);
    // The last commit: on PostgreSQL 14 empty transactions of other sessions may come first.
    const commit = first.filter((m) => m.type === 'commit').at(-1);
    if (commit?.type !== 'commit') throw new Error('no commit');
    feedback.acknowledge(commit.endLsn);
    await sql.query(`INSERT INTO ${table} VALUES (3, 'c', NULL)`);
    const second = await collectUntilCommits(2, feedback);
    const ids = second.filter((m): m is InsertMessage => m.type === 'insert').map((m) => m.new.raw('id'));
    expect(ids).toEqual(['2', '3']);
    // The unsubscribe sent a final status update: the slot confirms at least the acknowledged
    // position, and never reaches the unacknowledged transaction's commit. (It may pass the
    // acknowledged position where a keepalive showed unrelated WAL with nothing in flight.)
    const begin = second.slice(0, second.findIndex((m) => m.type === 'insert' && m.new.raw('id') === '3')).filter((m) => m.type === 'begin').at(-1);
    if (begin?.type !== 'begin') throw new Error('no begin');
    await waitFor(async () => {
      const r = await sql.query(
        'SELECT confirmed_flush_lsn >= $2::pg_lsn AS reached, confirmed_flush_lsn < $3::pg_lsn AS safe FROM pg_replication_slots WHERE slot_name = $1',
        [slot, commit.endLsn.toString(), begin.finalLsn.toString()],
      );
      expect(r.rows[0].safe).toBe(true);
      return r.rows[0].reached === true;
    }, 10_000, 'confirmed_flush_lsn');
  });

  it('confirms an idle stream up to the server WAL end', async () => {
    await sql.query(`INSERT INTO ${table} VALUES (1, 'a', NULL)`);
    const feedback = new LsnFeedback();
    const sub = stream(feedback).subscribe((m) => {
      if (m.type === 'commit') feedback.acknowledge(m.endLsn);
    });
    try {
      // WAL written outside the publication: nothing for this slot, yet its position must advance.
      const other = uniqueName('other');
      await sql.query(`CREATE TABLE ${other} (id int); INSERT INTO ${other} VALUES (1); DROP TABLE ${other}`);
      const target = (await sql.query('SELECT pg_current_wal_lsn() AS l')).rows[0].l as string;
      await waitFor(async () => {
        const r = await sql.query('SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1', [slot, target]);
        return r.rows[0].ok === true;
      }, 30_000, 'idle confirmed_flush_lsn');
    } finally {
      sub.unsubscribe();
    }
  });
});
