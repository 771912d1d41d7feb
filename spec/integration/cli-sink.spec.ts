import { Redis } from 'ioredis';
import type { Client } from 'pg';
import { cli } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';
import { type RedisServer, describeWith, startRedis } from '../support/sink-servers';

describeWith('redis-server', 'pg-walstream stream --to', (binary) => {
  const server = defaultServer();
  const table = uniqueName('clisink');
  const slot = uniqueName('slot');
  let redisServer: RedisServer;
  let sql: Client;

  beforeAll(async () => {
    redisServer = await startRedis(binary);
    sql = await sqlClient(server.url);
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text); CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  });

  afterAll(async () => {
    await redisServer?.stop();
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release').catch(() => undefined);
    await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    await sql.query(`DROP PUBLICATION ${table}_pub; DROP TABLE ${table}`);
    await sql.end();
  });

  it('writes the slot into a Redis stream up to --endpos and acknowledges it', async () => {
    await sql.query(`INSERT INTO ${table} SELECT g, 'v' || g FROM generate_series(1, 20) g`);
    await sql.query(`UPDATE ${table} SET v = 'x' WHERE id = 3`);
    const endpos = (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
    const key = `cli:${table}`;
    const { code, stderr } = await cli(['stream', '--dbname', server.url, '--slot', slot, '--publication', `${table}_pub`, '--endpos', endpos, '--to', `${redisServer.url}?stream=${key}`], { timeout: 30_000 });
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    const redis = new Redis(redisServer.url);
    try {
      const entries = await redis.xrange(key, '-', '+');
      expect(entries.map(([, f]) => f[f.indexOf('op') + 1])).toEqual([...Array(20).fill('insert'), 'update']);
    } finally {
      redis.disconnect();
    }
    const confirmed = (await sql.query('SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1', [slot, endpos])).rows[0].ok;
    expect(confirmed).toBe(true);
  });

  it('refuses an unknown scheme with one line and exit code 1', async () => {
    const { code, stderr } = await cli(['stream', '--dbname', server.url, '--slot', slot, '--publication', `${table}_pub`, '--to', 'kafka://127.0.0.1:9092?topic=x']);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('unsupported scheme kafka:');
  });
});
