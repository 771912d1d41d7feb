import { Redis } from 'ioredis';
import type { Client } from 'pg';
import { Lsn } from '../../src';
import { firstValueFrom, toArray } from 'rxjs';
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
});
