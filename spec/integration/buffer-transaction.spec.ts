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
});
