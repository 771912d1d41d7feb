import type { Client } from 'pg';
import type { Subscription } from 'rxjs';
import { ConnectionError, LsnFeedback, type PgoutputMessage, type ReplicationFrame, logicalReplication, physicalReplication } from '../../src';
import { parsePgoutput, retryWithBackoff } from '../../operators';
import { embeddedBinDir, startPostgresFromBinaries } from '../../src/embedded';
import { createFixture } from '../support/delivery';
import { type CountingProxy, countingProxy } from '../support/proxy';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

// Issue 11, item 4: a half-open connection (the peer is gone with no FIN or RST) is detected
// within the receive timeout, as a retryable ConnectionError. The proxy in front of the server
// stops forwarding without closing anything: only the client's own clock can notice.

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVER_SETTINGS } = require('../support/server-config.cjs') as { SERVER_SETTINGS: Record<string, string> };

const url = defaultServer().url;

function through(proxy: CountingProxy): string {
  const u = new URL(url);
  u.hostname = '127.0.0.1';
  u.port = String(proxy.port);
  return u.toString();
}

/** Subscribes; `error` resolves with the error that ends the stream. */
function failure<T>(subscribe: (handlers: { next: (v: T) => void; error: (e: unknown) => void }) => Subscription, onValue: (v: T) => void = () => {}) {
  let sub: Subscription | undefined;
  const error = new Promise<unknown>((resolve) => {
    sub = subscribe({ next: onValue, error: resolve });
  });
  return { error, unsubscribe: () => sub?.unsubscribe() };
}

describe('dead peers are detected', () => {
  let sql: Client;
  let proxy: CountingProxy;
  beforeAll(async () => {
    sql = await sqlClient(url);
  });
  afterAll(async () => {
    await sql.end();
  });
  beforeEach(async () => {
    proxy = await countingProxy(Number(new URL(url).port));
  });
  const slots: string[] = [];
  afterEach(async () => {
    await proxy.close(); // the server sees its side close, and its walsender lets go of the slot
    for (const slot of slots.splice(0)) await dropSlot(slot);
  });

  const fixture = async () => {
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    await createFixture(sql, names);
    slots.push(names.slot);
    return names;
  };
  const dropSlot = (slot: string) => waitFor(async () => {
    try {
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
      return true;
    } catch {
      return false; // still active: the server has not noticed our side is gone yet
    }
  }, 30_000, `slot ${slot} to be dropped`);

  it('a logical stream behind a black-holed proxy fails with ConnectionError ETIMEDOUT within receiveTimeout', async () => {
    const names = await fixture();
    let frames = 0;
    const run = failure<ReplicationFrame>((h) => logicalReplication({ connectionString: through(proxy), slot: names.slot, publications: names.publication, receiveTimeout: 2000 }).subscribe(h), () => frames++);
    try {
      await sql.query(`INSERT INTO ${names.table} VALUES (1, 'a')`);
      await waitFor(() => frames > 0, 20_000, 'the stream to deliver');
      proxy.blackhole();
      const at = Date.now();
      const err = await run.error;
      const took = Date.now() - at;
      expect(err).toBeInstanceOf(ConnectionError);
      expect((err as ConnectionError).code).toBe('ETIMEDOUT');
      expect(took).toBeGreaterThanOrEqual(1500);
      expect(took).toBeLessThan(5000);
    } finally {
      run.unsubscribe();
    }
  });

  it('by default, within 20 s (plus a second of clock granularity)', async () => {
    const names = await fixture();
    let frames = 0;
    const run = failure<ReplicationFrame>((h) => logicalReplication({ connectionString: through(proxy), slot: names.slot, publications: names.publication }).subscribe(h), () => frames++);
    try {
      await sql.query(`INSERT INTO ${names.table} VALUES (1, 'a')`);
      await waitFor(() => frames > 0, 20_000, 'the stream to deliver');
      proxy.blackhole();
      const at = Date.now();
      const err = await run.error;
      expect((err as ConnectionError).code).toBe('ETIMEDOUT');
      expect(Date.now() - at).toBeLessThan(21_500);
    } finally {
      run.unsubscribe();
    }
  }, 60_000);

  it('an idle but live stream is not timed out: the source asks the server for a reply in time', async () => {
    const names = await fixture();
    let keepalives = 0;
    // wal_sender_timeout (60 s here) is far longer than the receive timeout, so without our
    // reply requests the server would stay silent on this idle stream.
    const run = failure<ReplicationFrame>(
      (h) => logicalReplication({ connectionString: url, slot: names.slot, publications: names.publication, receiveTimeout: 1000, statusInterval: 200 }).subscribe(h),
      (f) => f.type === 'keepalive' && keepalives++,
    );
    const outcome = await Promise.race([run.error, new Promise((r) => setTimeout(() => r('alive'), 5000))]);
    run.unsubscribe();
    expect(outcome).toBe('alive');
    expect(keepalives).toBeGreaterThanOrEqual(3);
  });

  it('a physical stream behind a black-holed proxy fails the same way', async () => {
    let frames = 0;
    const run = failure<unknown>((h) => physicalReplication({ connectionString: through(proxy), receiveTimeout: 2000 }).subscribe(h), () => frames++);
    try {
      await waitFor(() => frames > 1, 20_000, 'the stream to start'); // streamStart, then WAL or a keepalive
      proxy.blackhole();
      const at = Date.now();
      const err = await run.error;
      expect((err as ConnectionError).code).toBe('ETIMEDOUT');
      expect(Date.now() - at).toBeLessThan(5000);
    } finally {
      run.unsubscribe();
    }
  });

  it('the error is retryable: retryWithBackoff reconnects and the stream goes on', async () => {
    // A server of its own with a short wal_sender_timeout: the walsender behind the black hole
    // holds the slot until that timeout (55006 for our retries meanwhile, which are retried too).
    const own = await startPostgresFromBinaries(embeddedBinDir(), { settings: { ...SERVER_SETTINGS, wal_sender_timeout: '2s' } });
    const ownSql = await sqlClient(own.url);
    const ownProxy = await countingProxy(own.port);
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    await createFixture(ownSql, names);
    const proxyUrl = new URL(own.url);
    proxyUrl.hostname = '127.0.0.1';
    proxyUrl.port = String(ownProxy.port);
    const feedback = new LsnFeedback();
    const retries: unknown[] = [];
    const messages: PgoutputMessage[] = [];
    const sub = logicalReplication({ connectionString: proxyUrl.toString(), slot: names.slot, publications: names.publication, receiveTimeout: 1500, feedback })
      .pipe(parsePgoutput(), retryWithBackoff({ initialDelay: 100, onRetry: (e) => retries.push(e.error) }))
      .subscribe((m) => {
        messages.push(m);
        if (m.type === 'commit') feedback.acknowledge(m.endLsn);
      });
    try {
      await ownSql.query(`INSERT INTO ${names.table} VALUES (1, 'a')`);
      await waitFor(() => messages.some((m) => m.type === 'insert'), 20_000, 'the first row');
      ownProxy.blackhole();
      await waitFor(() => retries.length > 0, 10_000, 'a retry');
      await ownSql.query(`INSERT INTO ${names.table} VALUES (2, 'b')`);
      await waitFor(() => messages.filter((m) => m.type === 'insert').length >= 2, 20_000, 'the second row after the reconnection');
      expect((retries[0] as ConnectionError).code).toBe('ETIMEDOUT');
    } finally {
      sub.unsubscribe();
      await ownProxy.close();
      await ownSql.end();
      await own.destroy();
    }
  }, 60_000);
});
