import { Redis } from 'ioredis';
import type { Client } from 'pg';
import { Lsn } from '../../src';
import { type Subscription, firstValueFrom, toArray } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../../src';
import { ackOnCommit, bufferTransaction, parsePgoutput } from '../../operators';
import { SinkError, entryId, redisSink } from '../../sinks/redis';
import { type LogWorkload, type StoredRecord, checkExactlyOnceInOrder, logWorkload } from '../support/log-workload';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';
import { KeptConsumer, type RedisServer, describeWith, sleep, startRedis } from '../support/sink-servers';

/**
 * The Redis Streams sink: redis-server (AOF, fsync always) is SIGKILLed and restarted mid-stream,
 * and so is the consumer. Every change must be in the stream exactly once, in commit order.
 */
describeWith('redis-server', 'redis sink', (binary) => {
  const server = defaultServer();
  const suffix = uniqueName('rd').slice(3);
  const slot = `rd_${suffix}`;
  const publication = `rd_${suffix}`;
  const key = `cdc:${suffix}`;
  let redisServer: RedisServer;
  let redis: Redis;
  let sql: Client;
  let consumer: KeptConsumer | undefined;
  let workload: LogWorkload;

  beforeAll(async () => {
    redisServer = await startRedis(binary);
    redis = new Redis(redisServer.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000, 'redis-server');
    sql = await sqlClient(server.url);
    const [a, b] = [`rd_a_${suffix}`, `rd_b_${suffix}`];
    await sql.query(`CREATE TABLE ${a} (id int PRIMARY KEY, v int); CREATE TABLE ${b} (id int PRIMARY KEY, v int)`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${a}, ${b}`);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
    workload = logWorkload(sql, a, b);
  });

  afterAll(async () => {
    await consumer?.stop();
    redis?.disconnect();
    await redisServer?.stop();
    if (sql !== undefined) {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release').catch(() => undefined);
      await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      await sql.query(`DROP PUBLICATION IF EXISTS ${publication}`);
      await sql.query(`DROP TABLE IF EXISTS ${workload.tables.join(', ')}`);
      await sql.end();
    }
  });

  it('holds every change exactly once, in commit order, through a kill and restart of Redis and of the consumer', async () => {
    consumer = new KeptConsumer({ kind: 'redis', url: server.url, slot, publication, redisUrl: redisServer.url, key });
    let redisKilled = false;
    let consumerKilled = false;
    await workload.run(async (done) => {
      if (!redisKilled && done === Math.floor(workload.transactions * 0.3)) {
        redisKilled = true;
        await waitFor(async () => (await redis.xlen(key)) > 50, 20_000, 'writing to start');
        await redisServer.server.kill();
        setTimeout(() => redisServer.server.start(), 1000);
      }
      if (!consumerKilled && done === Math.floor(workload.transactions * 0.7)) {
        consumerKilled = true;
        await consumer!.kill();
      }
    });
    const end = (await sql.query('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0].lsn as string;
    await waitFor(
      async () => (await sql.query('SELECT confirmed_flush_lsn >= $2::pg_lsn AS done FROM pg_replication_slots WHERE slot_name = $1', [slot, end])).rows[0]?.done === true,
      30_000,
      'the sink to catch up',
    );
    await consumer.stop();
    expect(consumer.starts).toBeGreaterThanOrEqual(2);
    await sleep(200);

    const entries = await redis.xrange(key, '-', '+');
    const records: StoredRecord[] = entries.map(([id, fields]) => {
      const f = new Map<string, string>();
      for (let i = 0; i < fields.length; i += 2) f.set(fields[i], fields[i + 1]);
      expect(id).toBe(entryId(Lsn.parse(f.get('commit-lsn')!), Number(f.get('index'))));
      return { id, table: f.get('table')!, commitLsn: f.get('commit-lsn')!, index: Number(f.get('index')), change: JSON.parse(f.get('data')!) };
    });
    checkExactlyOnceInOrder(records, workload);
  }, 55_000);

  it('takes a refused ID as written only when the entry is there: a missing one is a SinkError, and nothing is acknowledged', async () => {
    const gapSlot = uniqueName('slot');
    const gapKey = `gap:${suffix}`;
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [gapSlot]);
    try {
      await sql.query(`INSERT INTO ${workload.tables[0]} VALUES (100000, 1)`);
      // Another producer wrote an ID above anything the sink will write.
      await redis.xadd(gapKey, '18446744073709551615-0', 'other', 'producer');
      const feedback = new LsnFeedback();
      const err = await firstValueFrom(
        logicalReplication({ connectionString: server.url, slot: gapSlot, publications: publication, feedback }).pipe(
          parsePgoutput(),
          bufferTransaction(),
          redisSink({ redis, key: gapKey }),
          ackOnCommit(feedback),
          toArray(),
        ),
      ).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(SinkError);
      expect((err as Error).message).toContain('missing below the stream');
      expect(feedback.acknowledged.value).toBe(0n);
    } finally {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [gapSlot])).rowCount === 0, 10_000, 'slot release').catch(() => undefined);
      await sql.query('SELECT pg_drop_replication_slot($1)', [gapSlot]);
    }
  });

  /** Streams `slot` into `sink` until `transactions` transactions with changes are acknowledged. */
  async function drainInto(slotName: string, sink: ReturnType<typeof redisSink>, transactions: number): Promise<LsnFeedback> {
    const feedback = new LsnFeedback();
    let seen = 0;
    await new Promise<void>((resolve, reject) => {
      const sub: Subscription = logicalReplication({ connectionString: server.url, slot: slotName, publications: publication, feedback })
        .pipe(parsePgoutput(), bufferTransaction(), sink, ackOnCommit(feedback))
        .subscribe({
          next: (e) => {
            if (e.type === 'transaction' && e.changes.length > 0 && ++seen === transactions) {
              sub.unsubscribe();
              resolve();
            }
          },
          error: reject,
        });
    });
    return feedback;
  }

  it('trims with MAXLEN = n exactly, MAXLEN ~ n by whole nodes, MINID below an LSN; a replay of trimmed entries is taken as written', async () => {
    const [a] = workload.tables;
    const slots = [uniqueName('slot'), uniqueName('slot'), uniqueName('slot'), uniqueName('slot')];
    for (const s of slots) await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [s]);
    const keys = { exact: `trim-exact:${suffix}`, approx: `trim-approx:${suffix}`, minid: `trim-minid:${suffix}` };
    // Approximate trimming drops whole radix-tree nodes only: small nodes make it visible.
    const nodeEntries = await redis.config('GET', 'stream-node-max-entries');
    await redis.config('SET', 'stream-node-max-entries', '4');
    try {
      for (let i = 0; i < 6; i++) await sql.query(`INSERT INTO ${a} VALUES (${400000 + i}, ${i})`);
      const middle = (await sql.query('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
      for (let i = 6; i < 12; i++) await sql.query(`INSERT INTO ${a} VALUES (${400000 + i}, ${i})`);
      const end = 12; // transactions, one entry each

      await drainInto(slots[0], redisSink({ redis, key: keys.exact, trim: { maxLen: 5, exact: true } }), end);
      const exact = await redis.xrange(keys.exact, '-', '+');
      expect(exact.map(([, f]) => JSON.parse(f[f.indexOf('data') + 1]).new.v)).toEqual(['7', '8', '9', '10', '11']);

      await drainInto(slots[1], redisSink({ redis, key: keys.approx, trim: { maxLen: 5 } }), end);
      // 12 entries in nodes of 4: the first node goes (8 left ≥ 5), the second would leave 4 < 5.
      expect(await redis.xlen(keys.approx)).toBe(8);

      const minId = `${Lsn.parse(middle).value}-0`;
      await drainInto(slots[2], redisSink({ redis, key: keys.minid, trim: { minId, exact: true } }), end);
      const kept = await redis.xrange(keys.minid, '-', '+');
      expect(kept.map(([, f]) => JSON.parse(f[f.indexOf('data') + 1]).new.v)).toEqual(['6', '7', '8', '9', '10', '11']);

      // Another slot from the same start replays all 12 into the exact key: 7 are trimmed away,
      // yet with trim set a refused ID counts as written; nothing is added, nothing fails.
      let duplicates = 0;
      const feedback = await drainInto(slots[3], redisSink({ redis, key: keys.exact, trim: { maxLen: 5, exact: true }, onDuplicate: () => duplicates++ }), end);
      expect(duplicates).toBe(12);
      expect(await redis.xrange(keys.exact, '-', '+')).toEqual(exact);
      expect(feedback.acknowledged.value).toBeGreaterThanOrEqual(Lsn.parse(middle).value);
    } finally {
      await redis.config('SET', 'stream-node-max-entries', (nodeEntries as string[])[1] ?? '100');
      for (const s of slots) {
        await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [s])).rowCount === 0, 10_000, 'slot release').catch(() => undefined);
        await sql.query('SELECT pg_drop_replication_slot($1)', [s]);
      }
    }
  }, 40_000);

  it('gives up after retryFor while Redis is down, with a SinkError naming the transaction, having acknowledged nothing unwritten', async () => {
    const own = await startRedis(binary);
    const downRedis = new Redis(own.url, { maxRetriesPerRequest: null, retryStrategy: () => 100 });
    const giveUpSlot = uniqueName('slot');
    const giveUpKey = `giveup:${suffix}`;
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [giveUpSlot]);
    const feedback = new LsnFeedback();
    const events: { type: string; endLsn?: Lsn; changes?: unknown[] }[] = [];
    let failure: unknown;
    let subscription: Subscription | undefined;
    try {
      await waitFor(async () => (await downRedis.ping().catch(() => '')) === 'PONG', 10_000, 'redis-server');
      const [a] = workload.tables;
      await sql.query(`INSERT INTO ${a} VALUES (500000, 1)`);
      subscription = logicalReplication({ connectionString: server.url, slot: giveUpSlot, publications: publication, feedback })
        .pipe(parsePgoutput(), bufferTransaction(), redisSink({ redis: downRedis, key: giveUpKey, retryFor: 1500 }), ackOnCommit(feedback))
        .subscribe({ next: (e) => void events.push(e as (typeof events)[number]), error: (err) => (failure = err) });
      await waitFor(() => events.some((e) => e.type === 'transaction' && e.changes!.length > 0), 20_000, 'the first transaction to be written');
      const first = events.find((e) => e.type === 'transaction' && e.changes!.length > 0)!;
      await waitFor(() => feedback.acknowledged.value >= first.endLsn!.value, 5000, 'the first transaction to be acknowledged');
      await own.server.kill(); // and it stays down
      await sql.query(`INSERT INTO ${a} VALUES (500001, 2)`);
      const startedAt = Date.now();
      await waitFor(() => failure !== undefined, 20_000, 'the sink to give up');
      expect(failure).toBeInstanceOf(SinkError);
      expect((failure as SinkError).sink).toBe('redis');
      expect((failure as Error).message).toContain('within 1500 ms');
      expect((failure as SinkError).lsn!.value).toBeGreaterThan(first.endLsn!.value);
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(1000);
      // (PostgreSQL 14 also sends other sessions' empty transactions: only those with changes count.)
      expect(events.filter((e) => e.type === 'transaction' && e.changes!.length > 0)).toHaveLength(1);
      // Acknowledged: the stored transaction; nothing at or past the one that failed.
      expect(feedback.acknowledged.value).toBeGreaterThanOrEqual(first.endLsn!.value);
      expect(feedback.acknowledged.value).toBeLessThan((failure as SinkError).lsn!.value);
    } finally {
      subscription?.unsubscribe();
      downRedis.disconnect();
      await own.stop();
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [giveUpSlot])).rowCount === 0, 10_000, 'slot release').catch(() => undefined);
      await sql.query('SELECT pg_drop_replication_slot($1)', [giveUpSlot]);
    }
  }, 40_000);
});
