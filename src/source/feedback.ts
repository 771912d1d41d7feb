import { BehaviorSubject, Observable, type Subscriber, filter, take } from 'rxjs';
import { WalstreamError } from '../errors';
import { Lsn } from '../lsn';

/**
 * A consumer sharing the replication stream failed (see `splitFeedback`): the stream ends with
 * this error rather than holding the slot, and the other consumers, behind the failed one,
 * forever. Not retryable; `cause` is the consumer's error.
 */
export class ConsumerFailedError extends WalstreamError {
  override name = 'ConsumerFailedError';
  constructor(cause: unknown) {
    super(`a consumer of the replication stream failed: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * The position a consumer has finished with: what a replication source reports to the server as
 * flushed and applied, and therefore what becomes the slot's `confirmed_flush_lsn`.
 * Only moves forward; acknowledging an older LSN is ignored.
 *
 * Two positions, equal unless something is held:
 * - `acknowledged`: what the server may forget (reported as flushed);
 * - `finished`: how far the consumer has done its work. It runs ahead of `acknowledged` only while
 *   `bufferTransaction` holds a prepared transaction until its COMMIT/ROLLBACK PREPARED: the slot
 *   must not pass the PREPARE, but the work after it is done, so flow control and a server
 *   shutdown need not wait for it.
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
  private readonly subject: LsnCell;
  private readonly finishedSubject: LsnCell;
  private readonly failures = new BehaviorSubject<ConsumerFailedError | undefined>(undefined);

  constructor(initial: Lsn | string = Lsn.ZERO) {
    const lsn = typeof initial === 'string' ? Lsn.parse(initial) : initial;
    this.subject = new LsnCell(lsn);
    this.finishedSubject = new LsnCell(lsn);
  }

  /** The highest LSN acknowledged so far (0/0 when none). */
  get acknowledged(): Lsn {
    return this.subject.value;
  }

  /** Emits the acknowledged LSN now and each time it advances. */
  get acknowledged$(): Observable<Lsn> {
    // Only advances reach the cell (acknowledge compares), so no distinctUntilChanged hop is needed.
    return this.subject.observable;
  }

  /** How far the consumer has finished its work; at least `acknowledged`. */
  get finished(): Lsn {
    return this.finishedSubject.value;
  }

  /** Emits `finished` now and each time it advances. */
  get finished$(): Observable<Lsn> {
    return this.finishedSubject.observable;
  }

  /** Marks everything before `lsn` as done (and finished). Lower or equal values are ignored. */
  acknowledge(lsn: Lsn | string): void {
    const value = toLsn(lsn);
    this.finish(value);
    if (advances(value, this.subject.value)) this.subject.next(value);
  }

  /** Marks the work before `lsn` as finished without letting the server forget it. Lower values are ignored. */
  finish(lsn: Lsn | string): void {
    const value = toLsn(lsn);
    if (advances(value, this.finishedSubject.value)) this.finishedSubject.next(value);
  }

  /** The consumer failed: a source using this feedback ends with {@link ConsumerFailedError}, now or when it next connects. */
  fail(error: unknown): void {
    if (this.failures.value === undefined) this.failures.next(error instanceof ConsumerFailedError ? error : new ConsumerFailedError(error));
  }

  /** Emits the failure (once), when {@link fail} was or is called. */
  get failure$(): Observable<ConsumerFailedError> {
    return this.failures.pipe(filter((e): e is ConsumerFailedError => e !== undefined), take(1));
  }
}

/**
 * A `BehaviorSubject<Lsn>` as `LsnFeedback` uses one: the current value, and an Observable that
 * emits it on subscribe and then every new value, synchronously, in subscription order (a
 * subscriber is added before it gets the current value, as `BehaviorSubject` does, so a value set
 * from inside that first emission reaches it too). It exists because a consumer acknowledges once
 * per transaction: RxJS's `Subject#next` allocates a closure and an iterator per call (about 45 of
 * the 200 MB allocated for 100,000 one-row transactions, docs/benchmarks.md), this allocates
 * nothing. An error thrown by a subscriber is reported as RxJS reports it (`Subscriber#next`).
 */
class LsnCell {
  private subscribers: Subscriber<Lsn>[] = [];

  constructor(public value: Lsn) {}

  readonly observable = new Observable<Lsn>((subscriber) => {
    // Copy on write: an emission under way keeps the list it started with, as a Subject does.
    this.subscribers = [...this.subscribers, subscriber];
    subscriber.next(this.value);
    return () => {
      this.subscribers = this.subscribers.filter((s) => s !== subscriber);
    };
  });

  next(value: Lsn): void {
    this.value = value;
    const subscribers = this.subscribers;
    for (let i = 0; i < subscribers.length; i++) subscribers[i].next(value);
  }
}

/** `a` > `b`, by the halves: no `bigint` per acknowledgment (an `Lsn` of another copy of the library has them too). */
function advances(a: Lsn, b: Lsn): boolean {
  return a.hi > b.hi || (a.hi === b.hi && a.lo > b.lo);
}

function toLsn(lsn: Lsn | string): Lsn {
  return typeof lsn === 'string' ? Lsn.parse(lsn) : lsn;
}
