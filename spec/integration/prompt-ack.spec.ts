// Acknowledgments reach the server promptly (a standby status update ~100 ms after the
// acknowledged LSN advances, not only on the 10 s timer), so a consumer SIGKILLed after finishing
// its work is not sent that work again. And a stream paused by flow control keeps its process alive.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { concatMap, take } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../../src';
import { ackOnCommit, bufferTransaction, parsePgoutput } from '../../operators';
import { confirmedFlush, createFixture, writeWorkload } from '../support/delivery';
import { appliedIds, exited, readJournal, startJournalConsumer } from '../support/journal';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('acknowledgments reach the server promptly', () => {
  const url = defaultServer().url;
  let sql: Client;
  let dir: string;
  const children: ChildProcess[] = [];
  let names: { table: string; publication: string; slot: string };

  beforeAll(async () => {
    sql = await sqlClient(url);
    dir = mkdtempSync(join(tmpdir(), 'walstream-prompt-'));
  });
  beforeEach(async () => {
    names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    await createFixture(sql, names);
  });
  afterEach(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
    await sql.query(`DROP PUBLICATION ${names.publication}`);
    await sql.query(`DROP TABLE ${names.table}`);
  });
  afterAll(async () => {
    await sql.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a restarted consumer receives again nothing it had acknowledged before being SIGKILLed (status interval 10 s, debounce 100 ms)', async () => {
    const journal = join(dir, `${names.slot}.journal`);
    // The default statusInterval (10 s): only the debounced update can carry the acknowledgment in time.
    const first = startJournalConsumer(url, names, journal, {});
    children.push(first);
    const mid = await writeWorkload(url, names.table, { firstId: 1, transactions: 200, rows: 2 });
    await waitFor(() => appliedIds(readJournal(journal)).length === mid - 1, 30_000, 'the first 200 transactions');
    const lastEnd = readJournal(journal).txs.reduce((m, t) => (t.endLsn > m ? t.endLsn : m), 0n);
    await sleep(300); // the debounce (100 ms) and a round trip
    // At least lastEnd: on PostgreSQL 14 other sessions' empty transactions arrive and are acknowledged too.
    const confirmed = await confirmedFlush(sql, names.slot);
    expect(confirmed >= lastEnd ? 'confirmed' : `confirmed ${confirmed} < ${lastEnd}`).toBe('confirmed');
    first.kill('SIGKILL');
    await exited(first);

    const next = await writeWorkload(url, names.table, { firstId: mid, transactions: 20, rows: 2 });
    const second = startJournalConsumer(url, names, journal, {});
    children.push(second);
    await waitFor(() => appliedIds(readJournal(journal)).length === next - 1, 30_000, 'the next 20 transactions');
    const j = readJournal(journal);
    expect(j.errors).toEqual([]);
    const again = j.txs.filter((t) => t.pid === second.pid && t.endLsn <= lastEnd);
    console.log(`received again after SIGKILL: ${again.length} of 200 acknowledged transactions`);
    expect(again.length).toBe(0);
  });

  it('sends a last status update when the stream is stopped', async () => {
    const feedback = new LsnFeedback();
    let end = 0n;
    await new Promise<void>((resolve, reject) => {
      // confirmIdle off: idle confirmation could otherwise move the slot past `end` (other tests write WAL).
      logicalReplication({ connectionString: url, slot: names.slot, publications: names.publication, feedback, statusDelay: 60_000, confirmIdle: false })
        .pipe(parsePgoutput(), bufferTransaction(), concatMap(async (e) => { if (e.type === 'transaction') end = e.endLsn.value; return e; }), ackOnCommit(feedback), take(1))
        .subscribe({ complete: resolve, error: reject });
      void writeWorkload(url, names.table, { firstId: 1, transactions: 1, rows: 1 });
    });
    // Neither the timer (10 s) nor the debounce (60 s here) ran: the update came with CopyDone.
    await waitFor(async () => (await confirmedFlush(sql, names.slot)) === end, 5_000, 'confirmed_flush_lsn at the acknowledged transaction');
  });

  it('statusInterval 0 sends no regular status updates (pg_recvlogical -s 0)', async () => {
    // Nothing is acknowledged here, so every update counted comes from the timer (or a keepalive
    // asking for a reply, which the test server sends only after half of wal_sender_timeout).
    const count = async (statusInterval: number) => {
      let sent = 0;
      const sub = logicalReplication({ connectionString: url, slot: names.slot, publications: names.publication, statusInterval, observer: { statusSent: () => void sent++ } }).subscribe();
      try {
        await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 1, 10_000, 'the stream to start');
        await sleep(300);
        const before = sent;
        await sleep(1000);
        return sent - before;
      } finally {
        sub.unsubscribe();
        await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
      }
    };
    expect(await count(100)).toBeGreaterThanOrEqual(5); // about ten in a second
    expect(await count(0)).toBe(0);
  });

  it('never reports a flushed position beyond what the stream received, whatever is acknowledged', async () => {
    const feedback = new LsnFeedback();
    let end = 0n;
    const sub = logicalReplication({ connectionString: url, slot: names.slot, publications: names.publication, feedback, confirmIdle: false })
      .pipe(parsePgoutput(), bufferTransaction(), concatMap(async (e) => { if (e.type === 'transaction') end = e.endLsn.value; return e; }), ackOnCommit(feedback))
      .subscribe();
    try {
      await writeWorkload(url, names.table, { firstId: 1, transactions: 1, rows: 1 });
      await waitFor(() => end > 0n, 10_000, 'the transaction');
      const acknowledgedEnd = end;
      feedback.acknowledge('FF/0'); // a buggy acknowledger, far past the server's WAL end
      await sleep(400);
      const confirmed = await confirmedFlush(sql, names.slot);
      // The last position received, not FF/0 (on PostgreSQL 14 other sessions' empty transactions may have arrived meanwhile).
      expect(confirmed >= acknowledgedEnd && confirmed <= end ? 'within what was received' : `confirmed ${confirmed}, received ${acknowledgedEnd}..${end}`).toBe('within what was received');
    } finally {
      sub.unsubscribe();
    }
  });
});

describe('flow control', () => {
  const url = defaultServer().url;

  it('a stream paused by flow control keeps its Node process alive (child process)', async () => {
    const sql = await sqlClient(url);
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    const dir = mkdtempSync(join(tmpdir(), 'walstream-paused-'));
    const journal = join(dir, 'journal');
    await createFixture(sql, names);
    // The work of the second transaction never finishes: two unacknowledged, the window (1) is full.
    const child = startJournalConsumer(url, names, journal, { flowControl: { maxPendingTransactions: 1 }, stallAfter: 1 });
    try {
      // About 1 MB behind the stall: the socket's buffer fills and Node stops reading it, so only
      // what the source holds keeps the process alive.
      await writeWorkload(url, names.table, { firstId: 1, transactions: 20, rows: 10, payload: 5000 });
      await waitFor(() => readJournal(journal).stalled, 20_000, 'the consumer to stall');
      await sleep(3000);
      expect(child.exitCode).toBeNull(); // nothing but the paused socket keeps it running
      expect(child.signalCode).toBeNull();
      expect(readJournal(journal).txs.length).toBe(1);
      const r = await sql.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
      expect(r.rows[0].active).toBe(true);
    } finally {
      child.kill('SIGKILL');
      await exited(child);
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
      await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
      await sql.query(`DROP PUBLICATION ${names.publication}`);
      await sql.query(`DROP TABLE ${names.table}`);
      await sql.end();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
