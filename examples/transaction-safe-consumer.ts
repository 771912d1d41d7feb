// A transaction-safe consumer: whole transactions, applied in commit order, each acknowledged only
// after its work is done, so a crash at any point loses nothing (it may repeat the last one).
// Run: npx ts-node examples/transaction-safe-consumer.ts
import { concatMap, take } from 'rxjs';
import { LsnFeedback, logicalReplication } from '../src';
import { ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } from '../operators';
import { sleep, startDemo } from './setup';

async function main() {
  const demo = await startDemo();
  const feedback = new LsnFeedback();
  const applied: number[] = [];

  await demo.insertOrders(5);
  await demo.sql.query('BEGIN');
  await demo.sql.query(`UPDATE orders SET amount = amount * 2 WHERE id <= 2`);
  await demo.sql.query(`DELETE FROM orders WHERE id = 5`);
  await demo.sql.query('COMMIT');

  await new Promise<void>((resolve, reject) => {
    logicalReplication({ connectionString: demo.server.url, slot: 'shop', publications: 'shop', feedback })
      .pipe(
        parsePgoutput(),
        bufferTransaction(),
        retryWithBackoff(),
        concatMap(async (event) => {
          if (event.type === 'transaction') {
            // The work: here, "apply" the transaction atomically somewhere else.
            await sleep(20);
            console.log(`transaction ${event.xid} at ${event.commitLsn}: ${event.changes.map((c) => c.type).join(', ')}`);
            applied.push(event.xid);
          }
          return event; // every event goes on to ackOnCommit, also the ones you ignore
        }),
        ackOnCommit(feedback),
        take(6),
      )
      .subscribe({ complete: resolve, error: reject });
  });

  await sleep(200); // the final standby status update carries the acknowledged LSN
  const slot = await demo.sql.query(`SELECT confirmed_flush_lsn::text AS c FROM pg_replication_slots WHERE slot_name = 'shop'`);
  console.log(`applied ${applied.length} transactions; acknowledged ${feedback.acknowledged}, slot confirmed_flush_lsn ${slot.rows[0].c}`);
  await demo.close();
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
