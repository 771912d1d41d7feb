// Nothing that needs no acknowledgment (a Stream Abort, an empty streamed transaction, one still
// open) may hold the slot behind or make a fast server shutdown wait for the consumer.
// Protocol 2, streaming on, logical_decoding_work_mem = 64kB, 2,000-row transactions.
import type { Client } from 'pg';
import { Lsn } from '../../src';
import { type LocalServer, startEmbeddedPostgres } from '../../src/embedded';
import { confirmedFlush, createFixture } from '../support/delivery';
import { type Consumer, startConsumer } from '../support/pipeline';
import { sqlClient, uniqueName, waitFor } from '../support/server';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVER_SETTINGS } = require('../support/server-config.cjs') as { SERVER_SETTINGS: Record<string, string> };

const ROWS = 2000;

describe('idle confirmation and fast shutdown with streamed transactions that need no acknowledgment', () => {
  let server: LocalServer;
  let sql: Client;
  let consumer: Consumer | undefined;
  const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
  const other = uniqueName('unpublished');
  let nextId = 1;
  let streamStarts = 0;

  beforeAll(async () => {
    server = await startEmbeddedPostgres({ settings: SERVER_SETTINGS });
    sql = await sqlClient(server.url);
    await createFixture(sql, names);
    await sql.query(`CREATE TABLE ${other} (id int PRIMARY KEY, v text)`);
  }, 60_000);
  afterAll(async () => {
    consumer?.subscription.unsubscribe();
    await sql?.end().catch(() => {});
    await server?.destroy();
  }, 60_000);

  const start = () => {
    consumer = startConsumer({ url: server.url, ...names, pgoutput: { protoVersion: 2, streaming: 'on' }, onMessage: (m) => { if (m.type === 'streamStart') streamStarts++; } });
    return consumer;
  };

  /** A committed transaction, so there is something acknowledged before the case. */
  async function commitOne(): Promise<void> {
    await sql.query(`INSERT INTO ${names.table} VALUES ($1, 'x')`, [nextId++]);
  }

  /** The slot reaches the server's WAL end (as of now) without anything more being acknowledged. */
  async function slotReachesWalEnd(): Promise<void> {
    const end = Lsn.parse((await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l).value;
    await waitFor(async () => (await confirmedFlush(sql, names.slot)) >= end, 15_000, `confirmed_flush_lsn to reach the WAL end ${Lsn.from(end).toString()}`);
  }

  /** pg_ctl stop -m fast, timed; then the server starts again and the consumer reconnects. */
  async function fastStopTakes(): Promise<number> {
    await sql.end();
    const t0 = Date.now();
    await server.stop();
    const ms = Date.now() - t0;
    await server.start();
    sql = await sqlClient(server.url);
    return ms;
  }

  /**
   * Begins a 2,000-row transaction on its own connection and waits until the consumer has
   * received a Stream Start for it. PostgreSQL 17+ never streams a transaction it already knows
   * to be aborted, so the outcome must wait for this.
   */
  async function openStreamed(table: string, first: number): Promise<Client> {
    const streamed = () => streamStarts;
    const before = streamed();
    const writer = await sqlClient(server.url);
    writer.on('error', () => {}); // a shutdown terminates it
    await writer.query('BEGIN');
    await writer.query(bigInsert(table, first));
    await waitFor(() => streamed() > before, 20_000, 'the open transaction to be streamed');
    return writer;
  }

  const bigInsert = (table: string, first: number) => `INSERT INTO ${table} SELECT g, repeat('x', 100) FROM generate_series(${first}, ${first + ROWS - 1}) g`;

  it('after a rolled-back 2,000-row streamed transaction (Stream Abort): the idle slot reaches the WAL end and a fast shutdown completes in under 5 s', async () => {
    const c = start();
    await commitOne();
    await waitFor(() => c.ids.size === nextId - 1, 20_000, 'the first row');
    const writer = await openStreamed(names.table, 100_000);
    await writer.query('ROLLBACK');
    await writer.end();
    await slotReachesWalEnd();
    const ms = await fastStopTakes();
    console.log(`fast shutdown after a Stream Abort: ${ms} ms`);
    expect(ms).toBeLessThan(5000);
    await commitOne();
    await waitFor(() => c.error !== undefined || c.ids.has(nextId - 1), 30_000, 'a row after the restart');
    expect(c.error).toBeUndefined();
    expect([...c.ids].some((id) => id >= 100_000)).toBe(false);
  });

  it('after an empty streamed transaction (2,000 rows of an unpublished table): the idle slot reaches the WAL end and a fast shutdown completes in under 5 s', async () => {
    const c = consumer ?? start();
    const writer = await openStreamed(other, 1);
    await writer.query('COMMIT');
    await writer.end();
    await slotReachesWalEnd();
    const ms = await fastStopTakes();
    console.log(`fast shutdown after an empty streamed transaction: ${ms} ms`);
    expect(ms).toBeLessThan(5000);
    await commitOne();
    await waitFor(() => c.error !== undefined || c.ids.has(nextId - 1), 30_000, 'a row after the restart');
    expect(c.error).toBeUndefined();
  });

  it('with a 2,000-row streamed transaction still open: the slot confirms past its start, a fast shutdown completes in under 5 s, and its rows are never delivered', async () => {
    const c = consumer ?? start();
    const writer = await openStreamed(names.table, 200_000);
    // Streamed (logical_decoding_work_mem = 64kB) and idle: still the slot reaches the WAL end.
    await slotReachesWalEnd();
    const ms = await fastStopTakes();
    console.log(`fast shutdown with a streamed transaction open: ${ms} ms`);
    expect(ms).toBeLessThan(5000);
    await writer.end().catch(() => {});
    await commitOne();
    await waitFor(() => c.error !== undefined || c.ids.has(nextId - 1), 30_000, 'a row after the restart');
    expect(c.error).toBeUndefined();
    expect([...c.ids].some((id) => id >= 200_000)).toBe(false);
  });

  it('confirming past the start of an open streamed transaction loses nothing: it arrives whole once committed, after a reconnection', async () => {
    const c = consumer ?? start();
    const writer = await openStreamed(names.table, 300_000);
    await slotReachesWalEnd();
    // Reconnect (the walsender is killed): the slot is past the transaction's start.
    await sql.query('SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots WHERE slot_name = $1', [names.slot]);
    await writer.query('COMMIT');
    await writer.end();
    await waitFor(() => c.error !== undefined || c.ids.has(300_000 + ROWS - 1), 30_000, 'the transaction committed after the reconnection');
    expect(c.error).toBeUndefined();
    for (let id = 300_000; id < 300_000 + ROWS; id++) expect(c.ids.has(id)).toBe(true);
  });
});
