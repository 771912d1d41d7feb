import type { Client } from 'pg';
import { lastValueFrom, tap, toArray } from 'rxjs';
import { Lsn, LsnFeedback, ReplicationClient, logicalReplication, type PgoutputMessage, type ReplicationFrame } from '../../src';
import { parsePgoutput } from '../../operators';
import { defaultServer, sqlClient, uniqueName, waitFor, withoutEmptyTransactions } from '../support/server';

// logicalReplication({ endLsn }): bounded replay, as pg_recvlogical --endpos (docs in src/source/logical.ts).
describe('logicalReplication with endLsn', () => {
  const server = defaultServer();
  let sql: Client;
  let table: string;
  let slot: string;
  let publication: string;
  let major: number;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    major = Math.floor(Number((await sql.query('SHOW server_version_num')).rows[0].server_version_num) / 10000);
  });
  afterAll(async () => {
    await sql.end();
  });

  beforeEach(async () => {
    table = uniqueName('t');
    slot = uniqueName('slot');
    publication = uniqueName('pub');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY)`);
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

  const currentLsn = async (plus = 0) => Lsn.parse((await sql.query(`SELECT (pg_current_wal_lsn() + ${plus})::text AS l`)).rows[0].l as string);
  const insertedIds = (msgs: PgoutputMessage[]) => msgs.flatMap((m) => (m.type === 'insert' ? [m.new.get('id')] : []));

  /** Streams with endLsn until the source completes; the raw frames and the decoded messages. */
  const replay = async (endLsn: Lsn | string, feedback?: LsnFeedback) => {
    const frames: ReplicationFrame[] = [];
    const msgs = await lastValueFrom(
      logicalReplication({ connectionString: server.url, slot, publications: publication, feedback, statusInterval: 200, endLsn }).pipe(
        tap((f) => frames.push(f)),
        parsePgoutput(),
        tap((m) => m.type === 'commit' && feedback?.acknowledge(m.endLsn)),
        toArray(),
      ),
      { defaultValue: [] as PgoutputMessage[] },
    );
    return { frames, msgs: withoutEmptyTransactions(msgs) };
  };

  it('completes after the transaction that reaches endLsn, and the final status update confirms it', async () => {
    await sql.query(`INSERT INTO ${table} VALUES (1)`);
    await sql.query(`INSERT INTO ${table} VALUES (2)`);
    // One byte before the write position, which is at or past the second transaction's commit end: the
    // third may start exactly at that position, and a record starting at endLsn itself is emitted (as
    // pg_recvlogical --endpos does), so it must start past endLsn.
    const endLsn = Lsn.from((await currentLsn()).value - 1n);
    await sql.query(`INSERT INTO ${table} VALUES (3)`);
    const feedback = new LsnFeedback();
    const { msgs } = await replay(endLsn.toString(), feedback);
    expect(insertedIds(msgs)).toEqual([1, 2]);
    const lastCommit = msgs.filter((m) => m.type === 'commit').pop()!;
    // The second transaction's commit record starts before endLsn: it is the one that reaches it (or ends before it).
    expect(lastCommit.type === 'commit' && lastCommit.commitLsn.value <= endLsn.value).toBe(true);
    // The source completed only after the acknowledgment, and its last status update reported it.
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
    const confirmed = Lsn.parse((await sql.query('SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0].l as string);
    expect(confirmed.value).toBeGreaterThanOrEqual(feedback.acknowledged.value);
    expect(feedback.acknowledged.value).toBe(lastCommit.type === 'commit' ? lastCommit.endLsn.value : -1n);

    // The third transaction is still in the slot for the next stream.
    const { msgs: rest } = await replay(await currentLsn(), new LsnFeedback());
    expect(insertedIds(rest)).toEqual([3]);
  });

  it('a transaction open across endLsn is emitted whole or not at all, never cut', async () => {
    await sql.query('BEGIN');
    await sql.query(`INSERT INTO ${table} VALUES (1)`);
    const endLsn = await currentLsn(); // inside the transaction: before its commit
    await sql.query(`INSERT INTO ${table} VALUES (2)`);
    await sql.query('COMMIT');
    await sql.query(`INSERT INTO ${table} VALUES (3)`);
    const { msgs } = await replay(endLsn);
    // Emitted whole when its commit arrives first; left in the slot when a keepalive reports a WAL end
    // past endLsn first (pg_recvlogical --endpos and the CLI stop there too).
    const ids = insertedIds(msgs);
    expect([[], [1, 2]]).toContainEqual(ids);
    if (ids.length > 0) expect(msgs[msgs.length - 1]!.type).toBe('commit');
    const { msgs: rest } = await replay(await currentLsn(), new LsnFeedback());
    expect(insertedIds(rest)).toEqual([1, 2, 3]); // nothing was acknowledged: the slot sends it all again
  });

  it('completes at once, emitting no change, when the slot is already past endLsn', async () => {
    const before = await currentLsn();
    await sql.query(`INSERT INTO ${table} VALUES (1)`);
    const feedback = new LsnFeedback();
    await replay(await currentLsn(), feedback); // consumes and confirms the insert
    expect(feedback.acknowledged.value).toBeGreaterThan(before.value);
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
    const { frames, msgs } = await replay(before, new LsnFeedback());
    expect(insertedIds(msgs)).toEqual([]);
    expect(frames.filter((f) => f.type === 'xlogdata' && f.data[0] !== 0x42 && f.data[0] !== 0x43)).toEqual([]);
  });

  it('completes on a keepalive whose WAL end passes endLsn when no transaction reaches it', async () => {
    await sql.query(`INSERT INTO ${table} VALUES (1)`);
    const endLsn = await currentLsn(1); // one byte past the insert's commit: no transaction of ours reaches it
    // WAL past endLsn that pgoutput does not send (messages are off): only a keepalive can tell the end.
    await sql.query(`SELECT pg_logical_emit_message(false, 'end-lsn-spec', 'x')`);
    const { frames, msgs } = await replay(endLsn);
    expect(insertedIds(msgs)).toEqual([1]);
    const last = frames[frames.length - 1]!;
    // PostgreSQL 14 also sends other databases' empty transactions, one of which may start past endLsn first.
    if (major >= 15 || last.type === 'keepalive') {
      expect(last.type).toBe('keepalive');
      expect(last.walEnd.value).toBeGreaterThanOrEqual(endLsn.value);
    }
  });

  it('rejects a malformed endLsn with LsnFormatError', async () => {
    await expect(lastValueFrom(logicalReplication({ connectionString: server.url, slot, publications: publication, endLsn: 'nope' }))).rejects.toMatchObject({
      name: 'LsnFormatError',
    });
  });
});
