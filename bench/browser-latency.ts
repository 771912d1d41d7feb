// Commit-to-browser latency: a writer commits one-row transactions at a steady rate (paced on the
// server, synchronous_commit=on), the pipeline puts them in a BrowserHub, and two headless Chromium
// tabs (WebSocket and SSE) receive them through pg-walstream/browser. Latency = the page's receive
// time (performance.timeOrigin + performance.now()) − the commit time in the Commit message. Server,
// adapter and browser run on one machine, on one clock. The reference, in the same run, is the
// same measurement at the hub (Node, the moment the transaction enters it): the difference is what
// the trip to the browser costs.
// Run: npm run bench:browser   (BROWSER_BENCH_RATE, BROWSER_BENCH_SECONDS)
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startEmbeddedPostgres } from '../src/embedded';
import { launchChromium } from '../spec/browser/support/chromium';
import { startFeed, testAuthorization } from '../spec/browser/support/feed';
import { sqlClient, waitFor } from '../spec/support/server';

const RATE = Number(process.env.BROWSER_BENCH_RATE ?? 1000);
const SECONDS = Number(process.env.BROWSER_BENCH_SECONDS ?? 12);
const WARMUP_MS = 2000;

/** ISO 8601 with microseconds → ms since 1970 (fractional). */
const isoMs = (iso: string) => Date.parse(iso) + Number((/\.\d{3}(\d{3})/.exec(iso)?.[1] ?? '0')) / 1000;

function percentiles(values: number[]) {
  const s = [...values].sort((a, b) => a - b);
  const at = (p: number) => s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
  return { count: s.length, p50: at(50), p90: at(90), p99: at(99), max: s[s.length - 1] };
}

async function main() {
  const server = await startEmbeddedPostgres({ settings: { max_wal_senders: '10', max_replication_slots: '10' } });
  const sql = await sqlClient(server.url);
  const browser = await launchChromium();
  try {
    await sql.query('CREATE TABLE items (id bigserial PRIMARY KEY, n int NOT NULL, label text NOT NULL)');
    await sql.query('CREATE PUBLICATION bench_pub FOR TABLE items');
    const since = (await sql.query(`SELECT lsn::text AS l FROM pg_create_logical_replication_slot('bench_slot', 'pgoutput')`)).rows[0].l as string;
    const atHub: [commitMs: number, latencyMs: number][] = [];
    const feed = await startFeed({
      url: server.url, slot: 'bench_slot', publication: 'bench_pub',
      hub: { authorize: testAuthorization(['public.items']), since },
      tap: (e) => {
        // commitTime: µs since 2000-01-01 UTC.
        if (e.type !== 'transaction') return;
        const commitMs = Number(e.commitTime) / 1000 + 946_684_800_000;
        atHub.push([commitMs, performance.timeOrigin + performance.now() - commitMs]);
      },
    });
    const tabs = [];
    for (const transport of ['websocket', 'sse']) {
      const page = await browser.context.newPage();
      await page.goto(`http://127.0.0.1:${feed.port}/page.html?transport=${transport}&token=alice-token`);
      await waitFor(async () => (await page.evaluate(() => (globalThis as unknown as { feed: { statuses: string[] } }).feed.statuses.at(-1))) === 'live', 20_000, 'live');
      tabs.push({ transport, page });
    }
    const total = RATE * SECONDS;
    await sql.query('SET synchronous_commit = on');
    await sql.query(`DO $$ DECLARE t0 timestamptz := clock_timestamp(); BEGIN
      FOR i IN 1..${total} LOOP
        INSERT INTO items (n, label) VALUES (i, 'row-' || i);
        COMMIT;
        IF i % 10 = 0 THEN PERFORM pg_sleep(GREATEST(0, extract(epoch FROM t0 + i * interval '${1e6 / RATE} microseconds' - clock_timestamp()))); END IF;
      END LOOP; END $$`);
    const results: Record<string, ReturnType<typeof percentiles>> = {};
    for (const { transport, page } of tabs) {
      await waitFor(async () => (await page.evaluate(() => (globalThis as unknown as { feed: { received: unknown[] } }).feed.received.length)) >= total, 60_000, `${transport}: all transactions`);
      const received = await page.evaluate(() => (globalThis as unknown as { feed: { received: { at: number; commitTime: string }[] } }).feed.received.map((r) => [r.at, r.commitTime] as const));
      const start = isoMs(received[0][1]) + WARMUP_MS;
      results[`browser (${transport})`] = percentiles(received.filter(([, c]) => isoMs(c) >= start).map(([at, c]) => at - isoMs(c)));
    }
    const hubStart = atHub[0][0] + WARMUP_MS;
    results['hub (Node, reference)'] = percentiles(atHub.filter(([c]) => c >= hubStart).map(([, l]) => l));
    const ref = results['hub (Node, reference)'];
    console.log(`\n## commit-to-browser latency at ${RATE} tx/s for ${SECONDS} s (first ${WARMUP_MS / 1000} s dropped), ms`);
    console.log('| where | transactions | p50 | p90 | p99 | max | p99 ÷ hub p99 |\n|---|---|---|---|---|---|---|');
    for (const [name, r] of Object.entries(results)) console.log(`| ${name} | ${r.count} | ${r.p50.toFixed(2)} | ${r.p90.toFixed(2)} | ${r.p99.toFixed(2)} | ${r.max.toFixed(2)} | ${(r.p99 / ref.p99).toFixed(2)}× |`);
    const dir = join(__dirname, 'results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${new Date().toISOString().slice(0, 16).replace(/[:T]/g, '-')}-browser-latency.json`), JSON.stringify({ rate: RATE, seconds: SECONDS, warmupMs: WARMUP_MS, chromium: await browser.context.browser()?.version(), results }, null, 2) + '\n');
    await feed.stop();
  } finally {
    await browser.close();
    await sql.end();
    await server.destroy();
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
