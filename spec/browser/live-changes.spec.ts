// pg-walstream/browser in headless Chromium against BrowserHub and a real PostgreSQL server:
// three tabs see every insert, resume after a PostgreSQL restart and after an adapter restart with
// no gap and no duplicate, and a tab without a valid token receives nothing.
import type { Page } from 'playwright-core';
import type { Client } from 'pg';
import { type LocalServer, embeddedBinDir, startPostgresFromBinaries } from '../../src/embedded';
import { sqlClient, waitFor } from '../support/server';
import { type Browser, describeWithChromium, launchChromium } from './support/chromium';
import { type Feed, startFeed, testAuthorization } from './support/feed';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVER_SETTINGS } = require('../support/server-config.cjs') as { SERVER_SETTINGS: Record<string, string> };

interface Received {
  lsn: string;
  changes: { type: string; table: string; new?: { id: number } }[];
}
interface PageFeed {
  received: Received[];
  resyncs: unknown[];
  errors: { code: string }[];
  statuses: string[];
}

const names = { slot: 'browser_slot', publication: 'browser_pub' };
const hubOptions = (since?: string) => ({ authorize: testAuthorization(['public.items']), heartbeatMs: 1000, ...(since ? { since } : {}) });

describeWithChromium('pg-walstream/browser in Chromium', () => {
  let server: LocalServer;
  let sql: Client;
  let feed: Feed;
  let browser: Browser;
  let tabs: Page[] = [];
  let nextId = 1;

  const feedOf = (page: Page) => page.evaluate(() => (globalThis as unknown as { feed: PageFeed }).feed);
  const idsOf = (f: PageFeed) => f.received.flatMap((r) => r.changes.map((c) => c.new?.id));
  const open = async (query: string) => {
    const page = await browser.context.newPage();
    page.on('pageerror', (err) => console.error(`page error in ${query}: ${err.message}`));
    await page.goto(`http://127.0.0.1:${feed.port}/page.html?${query}`);
    return page;
  };
  const live = (page: Page) => waitFor(async () => (await feedOf(page)).statuses.at(-1) === 'live', 20_000, 'the tab to be live');
  /** Where the slot will start streaming: what the hub is told as `since`. */
  const confirmedFlush = async () =>
    (await sql.query(`SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1`, [names.slot])).rows[0].lsn as string;
  /** `count` inserts into items, one transaction each; returns their ids. */
  const insert = async (count: number) => {
    const ids: number[] = [];
    for (let i = 0; i < count; i++, nextId++) {
      await sql.query('INSERT INTO items (id, label) VALUES ($1, $2)', [nextId, `item ${nextId}`]);
      ids.push(nextId);
    }
    return ids;
  };
  /** Every tab has exactly the ids 1..last, in commit order, each once, and no resync. */
  const expectAll = async (last: number) => {
    const want = Array.from({ length: last }, (_, i) => i + 1);
    for (const tab of tabs) await waitFor(async () => idsOf(await feedOf(tab)).length >= last, 30_000, `${last} rows in a tab`);
    for (const tab of tabs) {
      const f = await feedOf(tab);
      expect(idsOf(f)).toEqual(want);
      expect(f.resyncs).toEqual([]);
      expect(f.errors).toEqual([]);
    }
  };

  beforeAll(async () => {
    server = await startPostgresFromBinaries(embeddedBinDir(), { settings: SERVER_SETTINGS });
    sql = await sqlClient(server.url);
    await sql.query('CREATE TABLE items (id int PRIMARY KEY, label text NOT NULL)');
    await sql.query('CREATE TABLE secret (id int PRIMARY KEY, label text NOT NULL)');
    await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE items, secret`);
    await sql.query(`SELECT pg_create_logical_replication_slot('${names.slot}', 'pgoutput')`);
    feed = await startFeed({ url: server.url, ...names, hub: hubOptions(await confirmedFlush()) });
    browser = await launchChromium();
    tabs = [await open('transport=websocket&token=alice-token'), await open('transport=sse&token=alice-token'), await open('transport=websocket&token=alice-token')];
    for (const tab of tabs) await live(tab);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await feed?.stop();
    await sql?.end().catch(() => {});
    await server?.destroy();
  }, 60_000);

  it('shows every insert in all three tabs (WebSocket, SSE, WebSocket), in commit order', async () => {
    await insert(20);
    await sql.query('BEGIN');
    await sql.query('INSERT INTO items (id, label) SELECT g, $2 FROM generate_series($1::int, $1::int + 4) g', [nextId, 'batch']);
    await sql.query('COMMIT');
    nextId += 5;
    await expectAll(25);
    const f = await feedOf(tabs[0]);
    expect(f.received.at(-1)!.changes).toHaveLength(5); // one transaction, one event
  });

  it('resumes with no gap and no duplicate after PostgreSQL restarts (retryWithBackoff)', async () => {
    await insert(30); // the restart lands while some of these may still be on their way
    const retriesBefore = feed.retries.length;
    await sql.end();
    await server.stop();
    await new Promise((r) => setTimeout(r, 300));
    await server.start();
    sql = await sqlClient(server.url);
    await insert(20);
    await expectAll(nextId - 1);
    expect(feed.retries.length).toBeGreaterThan(retriesBefore);
    expect(feed.error).toBeUndefined();
  });

  it('resumes with no gap and no duplicate after the adapter restarts (hub, pipeline and HTTP server recreated on the same port), also for rows committed while it was down', async () => {
    await insert(10);
    await expectAll(nextId - 1);
    const port = feed.port;
    await feed.stop();
    await insert(15); // while the tabs are disconnected and reconnecting
    feed = await startFeed({ url: server.url, ...names, port, hub: hubOptions(await confirmedFlush()) });
    await insert(10);
    await expectAll(nextId - 1);
    for (const tab of tabs) expect((await feedOf(tab)).statuses).toContain('reconnecting');
  });

  it('sends nothing to a tab without a valid token, or one that asks for a table it may not read', async () => {
    const stranger = await open('transport=websocket&token=forged');
    const sseStranger = await open('transport=sse');
    const nosy = await open(`transport=websocket&token=alice-token&tables=${encodeURIComponent('["items","secret"]')}`);
    try {
        for (const [page, code] of [[stranger, 'unauthorized'], [sseStranger, 'unauthorized'], [nosy, 'forbidden']] as const) {
        await waitFor(async () => (await feedOf(page)).errors.length > 0, 20_000, 'the refusal');
        expect((await feedOf(page)).errors.map((e) => e.code)).toEqual([code]);
      }
      await sql.query('INSERT INTO secret (id, label) VALUES (1, $1)', ['only for the server']);
      await insert(5);
      await expectAll(nextId - 1);
      for (const page of [stranger, sseStranger, nosy]) expect((await feedOf(page)).received).toEqual([]);
      for (const tab of tabs) expect((await feedOf(tab)).received.flatMap((r) => r.changes.map((c) => c.table))).not.toContain('secret');
      expect(feed.hub.stats().clients).toBe(3); // the refused connections are closed
    } finally {
      for (const page of [stranger, sseStranger, nosy]) await page.close();
    }
  });
});
