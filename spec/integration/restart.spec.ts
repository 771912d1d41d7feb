import type { Client } from 'pg';
import { type LocalServer, embeddedBinDir, startPostgresFromBinaries } from '../../src/embedded';
import { confirmedFlush, createFixture, sampleSlot, verifyDelivery, writeWorkload } from '../support/delivery';
import { startConsumer } from '../support/pipeline';
import { sqlClient, uniqueName, waitFor } from '../support/server';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVER_SETTINGS } = require('../support/server-config.cjs') as { SERVER_SETTINGS: Record<string, string> };

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

describe('at-least-once delivery across a server restart', () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startPostgresFromBinaries(embeddedBinDir(), { settings: SERVER_SETTINGS });
  }, 60_000);
  afterAll(async () => {
    await server?.destroy();
  }, 60_000);

  it('resumes from the acknowledged LSN after the server is stopped and started mid-stream', async () => {
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    let sql: Client = await sqlClient(server.url);
    await createFixture(sql, names);
    await sql.end();
    const sampler = sampleSlot(server.url, names.slot);
    // A consumer slower than the writer, so that the stop lands while work is unfinished.
    const c = startConsumer({ url: server.url, ...names, work: () => sleep(3), flowControl: { maxPendingTransactions: 50 } });
    try {
      const mid = await writeWorkload(server.url, names.table, { firstId: 1, transactions: 300, rows: 2 });
      await waitFor(() => c.done.length >= 50, 30_000, '50 transactions');
      expect(c.done.length).toBeLessThan(300);
      const doneAtStop = c.done.length;
      await server.stop();
      await sleep(300); // the consumer retries against a server that is down
      await server.start();
      const nextId = await writeWorkload(server.url, names.table, { firstId: mid, transactions: 300, rows: 2 });
      sql = await sqlClient(server.url);
      await waitFor(() => c.error !== undefined || c.ids.size === nextId - 1, 60_000, 'all rows');
      expect(c.error).toBeUndefined();
      const last = c.done.reduce((m, d) => (d.endLsn > m ? d.endLsn : m), 0n);
      await waitFor(async () => (await confirmedFlush(sql, names.slot)) >= last, 10_000, 'confirmed_flush_lsn to reach the last transaction');
      await sampler.stop();
      verifyDelivery(c.done, sampler.samples, 1, nextId);
      expect(c.retries.length).toBeGreaterThanOrEqual(1);
      console.log(`restart test: stopped after ${doneAtStop} finished; ${c.done.length} transactions finished, ${c.retries.length} retries: ${c.retries.map((r) => (r.error as Error).message).join('; ')}`);
    } finally {
      c.subscription.unsubscribe();
      await sampler.stop();
      await sql.end().catch(() => {});
    }
  });

  it('keeps the walsender alive while flow control has stopped reading for longer than wal_sender_timeout', async () => {
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    const sql = await sqlClient(server.url);
    try {
      await createFixture(sql, names);
      await sql.query(`ALTER SYSTEM SET wal_sender_timeout = '2s'`);
      await sql.query('SELECT pg_reload_conf()');
      // About 20 MB of WAL, more than the kernel's socket buffers hold, so the walsender blocks.
      await sql.query(`DO $$ BEGIN FOR i IN 0..999 LOOP INSERT INTO ${names.table} SELECT i * 10 + g, repeat('x', 2000) FROM generate_series(1, 10) g; COMMIT; END LOOP; END $$`);
      let gateOpen = false;
      setTimeout(() => (gateOpen = true), 6000);
      const c = startConsumer({
        url: server.url, ...names, flowControl: { maxPendingTransactions: 10 },
        // The default interval (10 s) is longer than the timeout: the source must shorten it.
        statusInterval: 10_000,
        // The first transaction takes 6 s: three times wal_sender_timeout with reading paused.
        work: async () => { while (!gateOpen) await sleep(100); },
      });
      try {
        await waitFor(() => c.error !== undefined || c.ids.size === 10_000, 60_000, 'all rows');
        expect(c.error).toBeUndefined();
        expect(c.retries).toEqual([]); // never timed out, never reconnected
        expect(c.maxInFlight).toBeLessThan(200);
        verifyDelivery(c.done, [], 1, 10_001);
      } finally {
        c.subscription.unsubscribe();
      }
    } finally {
      await sql.query('ALTER SYSTEM RESET wal_sender_timeout');
      await sql.query('SELECT pg_reload_conf()');
      await sql.end();
    }
  });
});
