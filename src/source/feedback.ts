import { BehaviorSubject, type Observable, distinctUntilChanged } from 'rxjs';
import { Lsn } from '../lsn';

/**
 * The position a consumer has finished with: what a replication source reports to the server as
 * flushed and applied, and therefore what becomes the slot's `confirmed_flush_lsn`.
 * Only moves forward; acknowledging an older LSN is ignored.
 *
 * Acknowledge a transaction's `endLsn` (from Commit) only after its work is done; `ackOnCommit()`
 * does that in commit order. A reconnecting source resumes from `acknowledged`.
 *
 * @example
 * const feedback = new LsnFeedback();
 * logicalReplication({ ...conn, slot: 'app', publications: 'app', feedback }).pipe(
 *   parsePgoutput(),
 *   bufferTransaction(),
 *   concatMap(async (tx) => { await handle(tx); return tx; }),
 *   ackOnCommit(feedback),
 * ).subscribe();
 */
export class LsnFeedback {
  private readonly subject: BehaviorSubject<Lsn>;

  constructor(initial: Lsn | string = Lsn.ZERO) {
    this.subject = new BehaviorSubject(typeof initial === 'string' ? Lsn.parse(initial) : initial);
  }

  /** The highest LSN acknowledged so far (0/0 when none). */
  get acknowledged(): Lsn {
    return this.subject.value;
  }

  /** Emits the acknowledged LSN now and each time it advances. */
  get acknowledged$(): Observable<Lsn> {
    return this.subject.pipe(distinctUntilChanged((a, b) => a.equals(b)));
  }

  /** Marks everything before `lsn` as done. Lower or equal values are ignored. */
  acknowledge(lsn: Lsn | string): void {
    const value = typeof lsn === 'string' ? Lsn.parse(lsn) : lsn;
    if (value.value > this.subject.value.value) this.subject.next(value);
  }
}
