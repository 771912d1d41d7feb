// A consumer process for the snapshot crash test: runs initialSnapshot() with the default state
// store (a table of the source database) and a slow consumer, printing "rows <n>" after each batch
// it finished; the test kills it with SIGKILL mid-snapshot and runs another one.
// Usage: node snapshot-consumer.js <url> <slot> <publication>
// Runs against the build (npm run build): dist/cjs.
const { concatMap } = require('rxjs');
const { LsnFeedback, initialSnapshot } = require('../../dist/cjs/src');
const { ackOnCommit } = require('../../dist/cjs/operators');

const [url, slot, publication] = process.argv.slice(2);
const feedback = new LsnFeedback();
let rows = 0;
initialSnapshot({ connectionString: url, slot, publications: publication, feedback, batchSize: 100 })
  .pipe(
    concatMap(async (event) => {
      if (event.type === 'snapshotRows') {
        rows += event.rows.length;
        await new Promise((r) => setTimeout(r, 5));
        process.stdout.write(`rows ${rows}\n`);
      }
      return event;
    }),
    ackOnCommit(feedback),
  )
  .subscribe({
    complete() {
      process.stdout.write(`done ${rows}\n`);
      process.exit(0);
    },
    error(err) {
      process.stdout.write(`error ${String(err)}\n`);
      process.exit(1);
    },
  });
