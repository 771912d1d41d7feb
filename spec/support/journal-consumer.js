// A consumer process written from the README pipeline, for tests that SIGKILL it: it journals each
// transaction it applies (one line, after the work) and acknowledges it with ackOnCommit.
// Usage: node journal-consumer.js <url> <slot> <publication> <journal> [options as JSON]
// options: protoVersion, streaming, twoPhase, statusInterval, statusDelay, flowControl,
//          stallAfter (the work of that many transactions finishes; the next never does).
// Journal lines: S pid | T pid xid gid endLsn commitLsn ids,… | P pid gid (held PREPARE) | W pid (stalled) | E error
// Runs against the build (npm run build): dist/cjs.
const { appendFileSync } = require('node:fs');
const { concatMap } = require('rxjs');
const { LsnFeedback, logicalReplication } = require('../../dist/cjs/src');
const { ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } = require('../../dist/cjs/operators');

const [url, slot, publication, journal, json] = process.argv.slice(2);
const o = JSON.parse(json ?? '{}');
const feedback = new LsnFeedback();
const line = (l) => appendFileSync(journal, `${l}\n`);
let applied = 0;

line(`S ${process.pid}`);
logicalReplication({
  connectionString: url, slot, publications: publication, feedback,
  protoVersion: o.protoVersion, streaming: o.streaming, twoPhase: o.twoPhase,
  statusInterval: o.statusInterval, statusDelay: o.statusDelay, flowControl: o.flowControl,
})
  .pipe(
    parsePgoutput(),
    bufferTransaction(),
    retryWithBackoff({ initialDelay: 50, maxDelay: 500 }),
    concatMap(async (event) => {
      if (event.type === 'prepare' || event.type === 'streamPrepare') line(`P ${process.pid} ${event.gid}`);
      if (event.type !== 'transaction') return event;
      if (o.stallAfter !== undefined && applied >= o.stallAfter) {
        line(`W ${process.pid}`);
        await new Promise(() => {}); // never done: flow control fills up and pauses the source
      }
      const ids = event.changes.filter((c) => c.type === 'insert').map((c) => c.new.raw('id'));
      line(`T ${process.pid} ${event.xid} ${event.gid ?? '-'} ${event.endLsn.value} ${event.commitLsn.value} ${ids.join(',')}`);
      applied++;
      return event;
    }),
    ackOnCommit(feedback),
  )
  .subscribe({
    error(err) {
      line(`E ${String(err)}`);
      process.exit(1);
    },
  });
