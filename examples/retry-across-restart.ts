// Retry across a server restart: retryWithBackoff reconnects after the server goes away and
// resumes from the acknowledged LSN; a transaction cut off half way is discarded and arrives
// again whole. Every order arrives, in commit order.
// Run: npx ts-node --files examples/retry-across-restart.ts
import { concatMap } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../src';
import { ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } from '../operators';
import { sleep, startDemo } from './setup';

async function main() {
  const demo = await startDemo();
  const feedback = new LsnFeedback();
  const seen = new Set<number>();
  let deliveries = 0;

  const sub = logicalReplication({ connectionString: demo.server.url, slot: 'shop', publications: 'shop', feedback, statusInterval: 200 })
    .pipe(
      parsePgoutput(),
      bufferTransaction(),
      retryWithBackoff({
        initialDelay: 200,
        maxDelay: 2000,
        onRetry: ({ attempt, delay, error }) => console.log(`  retry ${attempt} in ${delay} ms after: ${(error as Error).message}`),
      }),
      concatMap(async (event) => {
        if (event.type === 'transaction') {
          await sleep(10);
          for (const c of event.changes) if (c.type === 'insert') seen.add(Number(c.new.raw('id')));
          deliveries++;
        }
        return event;
      }),
      ackOnCommit(feedback),
    )
    .subscribe({ error: (err) => console.error('gave up:', err) });

  await demo.insertOrders(20, 1);
  await sleep(100);
  console.log(`before the restart: ${seen.size} orders; stopping the server`);
  await demo.server.stop();
  await sleep(1000);
  console.log('starting the server again');
  await demo.server.start();
  await demo.reconnect();
  await demo.insertOrders(20, 21);
  while (seen.size < 40) await sleep(100);
  console.log(`after the restart: all ${seen.size} orders, ${deliveries} deliveries (repeats are transactions not yet acknowledged at the stop)`);
  sub.unsubscribe();
  await sleep(300);
  await demo.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
