// A consumer process for the crash test: streams a slot and journals every transaction to a file,
// one row at a time, acknowledging a transaction only after its last line is written. The test
// kills it with SIGKILL in the middle of a transaction and starts another one.
// Usage: node crash-consumer.js <url> <slot> <publication> <journal>
// Runs against the build (npm run build): dist/cjs.
const { appendFileSync } = require('node:fs');
const { concatMap } = require('rxjs');
const { LsnFeedback, logicalReplication } = require('../../dist/cjs/src');
const { ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } = require('../../dist/cjs/operators');

const [url, slot, publication, journal] = process.argv.slice(2);
const feedback = new LsnFeedback();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

logicalReplication({ connectionString: url, slot, publications: publication, feedback, statusInterval: 100 })
  .pipe(
    parsePgoutput(),
    bufferTransaction(),
    retryWithBackoff({ initialDelay: 50, maxDelay: 500 }),
    concatMap(async (event) => {
      if (event.type !== 'transaction') return event;
      appendFileSync(journal, `B ${process.pid} ${event.xid} ${event.commitLsn.value} ${event.endLsn.value}\n`);
      for (const change of event.changes) {
        if (change.type !== 'insert') continue;
        appendFileSync(journal, `R ${change.new.raw('id')}\n`);
        await sleep(1);
      }
      appendFileSync(journal, `C ${event.endLsn.value} ${Date.now()}\n`);
      return event;
    }),
    ackOnCommit(feedback),
  )
  .subscribe({
    error(err) {
      appendFileSync(journal, `E ${String(err)}\n`);
      process.exit(1);
    },
  });
