import type { Client } from 'pg';
import { concatMap, filter, firstValueFrom, take, toArray } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../../src';
import { type Transaction, ackOnCommit, bufferTransaction, parsePgoutput } from '../../operators';
import { confirmedFlush, createFixture, idsOf } from '../support/delivery';
import { allServers, sqlClient, uniqueName, waitFor } from '../support/server';

describe.each(allServers())('bufferTransaction against $label', (server) => {
  let sql: Client;
  let a: Client;
  let b: Client;
  const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };

  beforeAll(async () => {
    [sql, a, b] = await Promise.all([sqlClient(server.url), sqlClient(server.url), sqlClient(server.url)]);
    await createFixture(sql, names);
  });
  afterAll(async () => {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
    await sql.query(`DROP PUBLICATION ${names.publication}`);
    await sql.query(`DROP TABLE ${names.table}`);
    await Promise.all([sql.end(), a.end(), b.end()]);
  });

  const insert = (c: Client, from: number, to: number) => c.query(`INSERT INTO ${names.table} SELECT g, repeat('v', 100) FROM generate_series(${from}, ${to}) g`);

  it('rebuilds interleaved streamed transactions, drops an aborted one and a rolled-back subtransaction, and acknowledges them', async () => {
    // Two large transactions written in alternation, so their streamed blocks interleave
    // (logical_decoding_work_mem is 64kB on the test servers).
    await a.query('BEGIN');
    await b.query('BEGIN');
    await insert(a, 1, 1000);
    await insert(b, 10_001, 11_000);
    await a.query('SAVEPOINT s');
    await insert(a, 1001, 2000); // rolled back below: must not arrive
    await a.query('ROLLBACK TO SAVEPOINT s');
    await insert(b, 11_001, 12_000);
    await insert(a, 2001, 3000);
    await b.query('COMMIT');
    await a.query('COMMIT');
    // A large transaction that aborts, then a small one.
    await a.query('BEGIN');
    await insert(a, 20_001, 22_000);
    await a.query('ROLLBACK');
    await insert(sql, 30_001, 30_001);

    const feedback = new LsnFeedback();
    const txs = await firstValueFrom(
      logicalReplication({ connectionString: server.url, slot: names.slot, publications: names.publication, protoVersion: 2, streaming: 'on', feedback, statusInterval: 100 }).pipe(
        parsePgoutput(),
        bufferTransaction(),
        concatMap(async (e) => e),
        ackOnCommit(feedback),
        filter((e): e is Transaction => e.type === 'transaction'),
        take(3),
        toArray(),
      ),
    );
    expect(txs.map((t) => t.streamed)).toEqual([true, true, false]);
    const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => from + i);
    expect(idsOf(txs[0])).toEqual(range(10_001, 12_000)); // b committed first
    expect(idsOf(txs[1])).toEqual([...range(1, 1000), ...range(2001, 3000)]);
    expect(idsOf(txs[2])).toEqual([30_001]);
    expect(txs[0].commitLsn < txs[1].commitLsn && txs[1].commitLsn < txs[2].commitLsn).toBe(true);
    await waitFor(async () => (await confirmedFlush(sql, names.slot)) >= txs[2].endLsn.value, 10_000, 'confirmed_flush_lsn');
  });

  it('holds a prepared transaction until COMMIT PREPARED by default, or emits it at PREPARE with prepared: emit; all acknowledged', async () => {
    const version = Number((await sql.query('SHOW server_version_num')).rows[0].server_version_num);
    if (version < 150000) {
      // pgoutput's two-phase decoding needs PostgreSQL 15; the source refuses before sending.
      const err = await firstValueFrom(logicalReplication({ connectionString: server.url, slot: names.slot, publications: names.publication, protoVersion: 3, twoPhase: true })).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'UnsupportedOptionError', requiredServerVersion: 150000 });
      return;
    }
    const slot = uniqueName('slot2pc');
    const held = `${slot}_hold`; // a second slot, read with bufferTransaction's default
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, true)`, [slot]);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, true)`, [held]);
    try {
      await a.query('BEGIN');
      await insert(a, 40_001, 40_002);
      await a.query(`PREPARE TRANSACTION '${slot}_1'`);
      await a.query(`COMMIT PREPARED '${slot}_1'`);
      await a.query('BEGIN');
      await insert(a, 40_003, 40_003);
      await a.query(`PREPARE TRANSACTION '${slot}_2'`);
      await a.query(`ROLLBACK PREPARED '${slot}_2'`);
      const read = async (slotName: string, prepared: 'hold' | 'emit') => {
        const feedback = new LsnFeedback();
        const events = await firstValueFrom(
          logicalReplication({ connectionString: server.url, slot: slotName, publications: names.publication, protoVersion: 3, twoPhase: true, feedback, statusInterval: 100 }).pipe(
            parsePgoutput(),
            bufferTransaction({ prepared }),
            concatMap(async (e) => e),
            ackOnCommit(feedback),
            take(4),
            toArray(),
          ),
        );
        const last = events[3];
        if (last.type !== 'rollbackPrepared') throw new Error('expected rollbackPrepared');
        expect(feedback.acknowledged.equals(last.rollbackEndLsn)).toBe(true);
        await waitFor(async () => (await confirmedFlush(sql, slotName)) >= last.rollbackEndLsn.value, 10_000, 'confirmed_flush_lsn');
        return events.map((e) => (e.type === 'transaction' ? `${e.state} ${e.gid} ${idsOf(e).join()}` : `${e.type} ${'gid' in e ? e.gid : ''}`));
      };
      // prepared: 'emit': the transaction at PREPARE, its outcome as an event of its own.
      expect(await read(slot, 'emit')).toEqual([
        `prepared ${slot}_1 40001,40002`,
        `commitPrepared ${slot}_1`,
        `prepared ${slot}_2 40003`,
        `rollbackPrepared ${slot}_2`,
      ]);
      // The default: held, emitted as committed at COMMIT PREPARED, dropped at ROLLBACK PREPARED.
      expect(await read(held, 'hold')).toEqual([
        `prepare ${slot}_1`,
        `committed ${slot}_1 40001,40002`,
        `prepare ${slot}_2`,
        `rollbackPrepared ${slot}_2`,
      ]);
    } finally {
      for (const s of [slot, held]) {
        await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [s])).rowCount === 0, 10_000, 'slot release');
        await sql.query('SELECT pg_drop_replication_slot($1)', [s]);
      }
    }
  });

  it('does not deadlock flow control on a transaction larger than its window', async () => {
    const slot = uniqueName('slotbig');
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    try {
      await insert(sql, 50_001, 80_000); // one transaction of about 4 MB
      await insert(sql, 80_001, 80_001);
      const feedback = new LsnFeedback();
      const txs = await firstValueFrom(
        logicalReplication({ connectionString: server.url, slot, publications: names.publication, feedback, flowControl: { maxPendingTransactions: 1, maxPendingBytes: 64 * 1024 } }).pipe(
          parsePgoutput(),
          bufferTransaction(),
          concatMap(async (e) => e),
          ackOnCommit(feedback),
          // PostgreSQL 14 also sends other sessions' transactions, empty.
          filter((e): e is Transaction => e.type === 'transaction' && e.changes.length > 0),
          take(2),
          toArray(),
        ),
      );
      expect(txs.map((t) => t.changes.length)).toEqual([30_000, 1]);
    } finally {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
  });
});
