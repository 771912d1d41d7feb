import type { Client } from 'pg';
import { concatMap } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../../src';
import { type RetryEvent, ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } from '../../operators';
import { createFixture } from '../support/delivery';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

// Issue 11, item 6: the backoff starts over once a reconnection works and data flows, so a walsender
// terminated again and again costs about `initialDelay` each time, not an ever longer wait.

const url = defaultServer().url;
const FAULTS = 6;

describe('retryWithBackoff under repeated walsender terminations', () => {
  let sql: Client;
  beforeAll(async () => {
    sql = await sqlClient(url);
  });
  afterAll(async () => {
    await sql.end();
  });

  it(`keeps the downtime of each of ${FAULTS} faults near initialDelay (default options)`, async () => {
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    await createFixture(sql, names);
    const feedback = new LsnFeedback();
    const retries: RetryEvent[] = [];
    let lastDelivery = 0;
    let delivered = 0;
    const sub = logicalReplication({ connectionString: url, slot: names.slot, publications: names.publication, feedback, statusInterval: 200 })
      .pipe(
        parsePgoutput(),
        bufferTransaction(),
        retryWithBackoff({ onRetry: (e) => retries.push(e) }), // defaults: 1 s initial delay, ×2 per attempt
        concatMap(async (tx) => {
          if (tx.type === 'transaction' && tx.changes.length > 0) {
            delivered++;
            lastDelivery = Date.now();
          }
          return tx;
        }),
        ackOnCommit(feedback),
      )
      .subscribe();
    let writing = true;
    let id = 0;
    const writer = (async () => {
      const w = await sqlClient(url);
      while (writing) {
        await w.query(`INSERT INTO ${names.table} VALUES ($1, 'x')`, [++id]);
        await new Promise((r) => setTimeout(r, 50));
      }
      await w.end();
    })();
    const downtimes: number[] = [];
    try {
      await waitFor(() => delivered > 0, 20_000, 'the first transaction');
      for (let fault = 0; fault < FAULTS; fault++) {
        const pid = await waitForActivePid(sql, names.slot);
        const at = Date.now();
        await sql.query('SELECT pg_terminate_backend($1)', [pid]);
        await waitFor(() => lastDelivery > at + 100, 30_000, `delivery to resume after fault ${fault + 1}`);
        downtimes.push(lastDelivery - at);
      }
    } finally {
      writing = false;
      await writer;
      sub.unsubscribe();
    }
    console.log(`downtime per fault (ms): ${downtimes.join(', ')}; retries: ${retries.map((r) => `#${r.attempt} ${r.delay} ms`).join(', ')}`);
    expect(retries.length).toBeGreaterThanOrEqual(FAULTS);
    // Without the reset, the sixth fault in a minute would wait 32 s (±30%) before reconnecting.
    for (const d of downtimes) expect(d).toBeLessThan(5000);
    expect(Math.max(...retries.map((r) => r.attempt))).toBeLessThanOrEqual(2);
    await waitFor(async () => (await sql.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).rows[0]?.active === false, 10_000, 'the slot to be released');
    await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
  }, 90_000);
});

async function waitForActivePid(sql: Client, slot: string): Promise<number> {
  let pid: number | null = null;
  await waitFor(async () => {
    pid = (await sql.query('SELECT active_pid FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0]?.active_pid ?? null;
    return pid !== null;
  }, 20_000, `a walsender on ${slot}`);
  return pid as unknown as number;
}
