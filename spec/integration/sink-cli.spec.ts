import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { Redis } from 'ioredis';
import { join } from 'node:path';
import type { Client } from 'pg';
import { JETSTREAM_HEADERS } from '../../sinks/jetstream';
import { cli } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';
import { describeWith, startNatsServer, startRedis } from '../support/sink-servers';

/**
 * `pg-walstream stream … --to URL` end to end, one form per sink, against real servers: the
 * nats:// form into JetStream, the redis:// form with &maxlen= trimming, and the postgres:// form
 * applying into another database. (The plain redis:// form is in cli-sink.spec.ts.)
 */
const server = defaultServer();

async function withSlot(sql: Client, table: string, body: (slot: string, publication: string) => Promise<void>): Promise<void> {
  const slot = uniqueName('slot');
  const publication = `${table}_pub`;
  await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text); CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
  await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [slot]);
  try {
    await body(slot, publication);
  } finally {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release').catch(() => undefined);
    await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    await sql.query(`DROP PUBLICATION ${publication}; DROP TABLE ${table}`);
  }
}

/** Inserts 20 rows in one transaction and updates one in another; returns the WAL position after them. */
async function changes(sql: Client, table: string): Promise<string> {
  await sql.query(`INSERT INTO ${table} SELECT g, 'v' || g FROM generate_series(1, 20) g`);
  await sql.query(`UPDATE ${table} SET v = 'x' WHERE id = 3`);
  return (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
}

async function confirmedPast(sql: Client, slot: string, lsn: string): Promise<boolean> {
  return (await sql.query('SELECT confirmed_flush_lsn >= $2::pg_lsn AS ok FROM pg_replication_slots WHERE slot_name = $1', [slot, lsn])).rows[0].ok;
}

let sql: Client;
beforeAll(async () => {
  sql = await sqlClient(server.url);
});
afterAll(async () => {
  await sql.end();
});

describeWith('nats-server', 'pg-walstream stream --to nats://', (binary) => {
  it('publishes the slot into a JetStream stream, one subject per table, up to --endpos, and acknowledges it', async () => {
    const nats = await startNatsServer(binary);
    const nc = await connect({ servers: [nats.url], waitOnFirstConnect: true });
    try {
      const jsm = await jetstreamManager(nc);
      const stream = `CLI_${uniqueName('s').slice(2)}`;
      await jsm.streams.add({ name: stream, subjects: ['clicdc.>'], num_replicas: 1 });
      const table = uniqueName('clinats');
      await withSlot(sql, table, async (slot, publication) => {
        const endpos = await changes(sql, table);
        const { code, stderr } = await cli(['stream', '--dbname', server.url, '--slot', slot, '--publication', publication, '--endpos', endpos, '--to', `${nats.url}?stream=${stream}&subject=clicdc`], {
          timeout: 30_000,
        });
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        const info = await jsm.streams.info(stream);
        expect(info.state.messages).toBe(21);
        const ops: string[] = [];
        for (let seq = 1; seq <= 21; seq++) {
          const m = (await jsm.streams.getMessage(stream, { seq }))!;
          expect(m.subject).toBe(`clicdc.public.${table}`);
          ops.push(m.header.get(JETSTREAM_HEADERS.op));
        }
        expect(ops).toEqual([...Array(20).fill('insert'), 'update']);
        expect(await confirmedPast(sql, slot, endpos)).toBe(true);
      });
    } finally {
      await nc.close();
      await nats.stop();
    }
  });

  it('refuses a nats:// URL without subject= with one line and exit code 1', async () => {
    const { code, stderr } = await cli(['stream', '--dbname', server.url, '--slot', 'unused', '--publication', 'unused', '--to', 'nats://127.0.0.1:1?stream=X']);
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('needs ?subject=');
  });
});

describeWith('redis-server', 'pg-walstream stream --to redis://…&maxlen=', (binary) => {
  it('trims the stream to about maxlen entries (MAXLEN ~, whole nodes)', async () => {
    const redisServer = await startRedis(binary);
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    try {
      await waitFor(async () => (await redis.ping().catch(() => '')) === 'PONG', 10_000, 'redis-server');
      await redis.config('SET', 'stream-node-max-entries', '4'); // so that approximate trimming shows
      const table = uniqueName('cliredis');
      await withSlot(sql, table, async (slot, publication) => {
        const endpos = await changes(sql, table);
        const key = `cli:${table}`;
        const { code, stderr } = await cli(['stream', '--dbname', server.url, '--slot', slot, '--publication', publication, '--endpos', endpos, '--to', `${redisServer.url}?stream=${key}&maxlen=5`], {
          timeout: 30_000,
        });
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        // 21 entries in nodes of 4, trimmed by whole nodes to at least 5: 5 nodes go, 1 + 4 stay.
        const entries = await redis.xrange(key, '-', '+');
        expect(entries.length).toBeGreaterThanOrEqual(5);
        expect(entries.length).toBeLessThan(5 + 4);
        expect(entries[entries.length - 1][1]).toContain('update');
        expect(await confirmedPast(sql, slot, endpos)).toBe(true);
      });
    } finally {
      redis.disconnect();
      await redisServer.stop();
    }
  });
});

describe('pg-walstream stream --to postgres://', () => {
  it('applies the slot to another database, one target transaction per source transaction, with its progress row, and acknowledges it', async () => {
    const table = uniqueName('cliapply');
    const targetDb = `${table}_target`;
    await sql.query(`CREATE DATABASE ${targetDb}`);
    const targetUrl = new URL(server.url);
    targetUrl.pathname = `/${targetDb}`;
    const target = await sqlClient(targetUrl.toString());
    try {
      await target.query(`CREATE TABLE ${table} (id int PRIMARY KEY, v text)`);
      await withSlot(sql, table, async (slot, publication) => {
        const endpos = await changes(sql, table);
        await sql.query(`DELETE FROM ${table} WHERE id = 7`);
        const end = (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
        const { code, stderr } = await cli(['stream', '--dbname', server.url, '--slot', slot, '--publication', publication, '--endpos', end, '--to', targetUrl.toString()], { timeout: 30_000 });
        expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
        const rows = async (c: Client) => (await c.query(`SELECT id, v FROM ${table} ORDER BY id`)).rows;
        expect(await rows(target)).toEqual(await rows(sql));
        expect(await rows(target)).toHaveLength(19);
        const progress = (await target.query("SELECT end_lsn::text AS l FROM public.pg_walstream_apply_progress WHERE name = 'default'")).rows[0].l as string;
        expect((await sql.query('SELECT $1::pg_lsn > $2::pg_lsn AS ok', [progress, endpos])).rows[0].ok).toBe(true);
        expect(await confirmedPast(sql, slot, progress)).toBe(true);
      });
    } finally {
      await target.end();
      await sql.query(`DROP DATABASE ${targetDb} WITH (FORCE)`);
    }
  });
});

describe('pg-walstream stream --to, optional package missing', () => {
  it.each([
    ['@nats-io/transport-node', 'nats://127.0.0.1:1?stream=X&subject=cdc'],
    ['ioredis', 'redis://127.0.0.1:1?stream=cdc'],
  ])('without %s: one line naming the package to install, exit code 1', async (pkg, to) => {
    const env = { ...process.env, NODE_OPTIONS: `--require ${join(__dirname, '../support/sink-hide-package.js')}`, WALSTREAM_HIDE_PACKAGES: pkg };
    const { code, stderr } = await cli(['stream', '--dbname', server.url, '--slot', 'unused', '--publication', 'unused', '--to', to], { env });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain(`npm install ${pkg}`);
  });
});
