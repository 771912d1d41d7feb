// Multicast: one replication connection shared by two consumers, a fast one (a cache) and a slow
// one (an audit log). Each acknowledges to its own part of splitFeedback; the slot's
// confirmed_flush_lsn follows the slower one, so neither loses anything on a restart.
// Run: npx ts-node --files examples/multicast.ts
import { concatMap, share } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../src';
import { type TransactionEvent, ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff, splitFeedback } from '../operators';
import { sleep, startDemo } from './setup';

async function main() {
  const demo = await startDemo();
  const feedback = new LsnFeedback();
  const [cacheFeedback, auditFeedback] = splitFeedback(feedback, 2);

  const events$ = logicalReplication({ connectionString: demo.server.url, slot: 'shop', publications: 'shop', feedback, statusInterval: 200 }).pipe(
    parsePgoutput(),
    bufferTransaction(),
    retryWithBackoff(),
    share(), // one connection, however many subscribers
  );
  let cached = 0;
  let audited = 0;
  const work = (ms: number, count: () => void) =>
    concatMap(async (event: TransactionEvent) => {
      if (event.type === 'transaction') {
        await sleep(ms);
        count();
      }
      return event;
    });
  // Subscribe both before the first event (the source connects on the first subscription).
  const subs = [
    events$.pipe(work(0, () => cached++), ackOnCommit(cacheFeedback)).subscribe(),
    events$.pipe(work(100, () => audited++), ackOnCommit(auditFeedback)).subscribe(),
  ];

  await demo.insertOrders(20);
  while (audited < 20) {
    await sleep(250);
    const slot = await demo.sql.query(`SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = 'shop'`);
    console.log(`cache ${String(cached).padStart(2)}/20 (acked ${cacheFeedback.acknowledged})  audit ${String(audited).padStart(2)}/20 (acked ${auditFeedback.acknowledged})  slot confirmed_flush_lsn ${slot.rows[0].c}`);
  }
  subs.forEach((s) => s.unsubscribe());
  await sleep(300);
  console.log(`both done; source acknowledged ${feedback.acknowledged} = the minimum of the two`);
  await demo.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
