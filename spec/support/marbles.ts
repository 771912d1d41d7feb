import { TestScheduler } from 'rxjs/testing';
import type { TransactionEvent } from '../../operators';

/** A TestScheduler that compares frames with jest's deep equality. */
export function testScheduler(): TestScheduler {
  return new TestScheduler((actual, expected) => expect(actual).toEqual(expected));
}

/** A short text for an event, so marble expectations stay readable. */
export function summary(e: TransactionEvent): string {
  switch (e.type) {
    case 'transaction':
      return `${e.state === 'prepared' ? 'P' : 'T'}${e.xid}[${e.changes.map((c) => Number(c.lsn.value)).join(',')}]${e.partial ? '+' : ''}@${e.endLsn.toString()}`;
    case 'transactionChunk':
      return `C${e.xid}#${e.index}[${e.changes.map((c) => Number(c.lsn.value)).join(',')}]`;
    case 'message':
      return `M${Number(e.messageLsn.value)}`;
    case 'prepare':
    case 'streamPrepare':
      return `H${e.xid}@${e.endLsn.toString()}`; // prepared, held until its outcome
    case 'commitPrepared':
      return `K${e.xid}`;
    case 'rollbackPrepared':
      return `R${e.xid}`;
    case 'streamAbort':
      return `A${e.xid}/${e.subXid}`;
  }
}
