// Rate-limited streaming: deliver at most 10 transactions a second to a downstream that cannot take
// more (a rate-limited API, say). rateLimit delays, it never drops; while transactions wait, the
// source's flow control stops reading from the socket, so the backlog stays on the server.
// Run: npx ts-node --files examples/rate-limited-streaming.ts
import { concatMap, take } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../src';
import { ackOnCommit, bufferTransaction, parsePgoutput, rateLimit, retryWithBackoff } from '../operators';
import { startDemo } from './setup';

async function main() {
  const demo = await startDemo();
  const feedback = new LsnFeedback();
  await demo.insertOrders(30); // written in a few milliseconds
  const t0 = Date.now();
  let sent = 0;

  await new Promise<void>((resolve, reject) => {
    logicalReplication({
      connectionString: demo.server.url, slot: 'shop', publications: 'shop', feedback,
      // Stop reading once 20 finished transactions wait unacknowledged (default 1000).
      flowControl: { maxPendingTransactions: 20 },
    })
      .pipe(
        parsePgoutput(),
        bufferTransaction(),
        retryWithBackoff(),
        rateLimit({ count: 10, per: 1000 }),
        concatMap(async (event) => {
          if (event.type === 'transaction') {
            sent++;
            console.log(`${String(Date.now() - t0).padStart(5)} ms  order ${event.changes.map((c) => (c.type === 'insert' ? c.new.raw('id') : '?')).join()}`);
          }
          return event;
        }),
        ackOnCommit(feedback),
        take(30),
      )
      .subscribe({ complete: resolve, error: reject });
  });

  const seconds = (Date.now() - t0) / 1000;
  // The first 10 pass at once; each later window of 1 s lets 10 more through.
  console.log(`${sent} transactions in ${seconds.toFixed(1)} s: 10 at once, then ${((sent - 10) / seconds).toFixed(1)} per second (limit 10)`);
  await demo.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
