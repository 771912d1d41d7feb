import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import type { Lsn } from '../src/lsn';
import { settleSnapshotEvent } from '../src/snapshot/settle';
import { type AckEpoch, ticketOf } from './ack-ticket';

/** Where acknowledgments go: an `LsnFeedback`, or anything with the same `acknowledge`. */
export interface Acknowledger {
  acknowledge(lsn: Lsn): void;
}

/**
 * The LSN that marks an event as done, or undefined when it has none:
 * `endLsn` of a `transaction` (committed or prepared), `commit`, `streamCommit`, `prepare`,
 * `streamPrepare` and `commitPrepared`; `rollbackEndLsn` of `rollbackPrepared`; `messageLsn` of a
 * non-transactional logical `message`.
 */
export function ackLsnOf(event: unknown): Lsn | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as { type?: unknown; endLsn?: Lsn; rollbackEndLsn?: Lsn; messageLsn?: Lsn; transactional?: boolean };
  switch (e.type) {
    case 'transaction':
    case 'commit':
    case 'streamCommit':
    case 'prepare':
    case 'streamPrepare':
    case 'commitPrepared':
      return e.endLsn;
    case 'rollbackPrepared':
      return e.rollbackEndLsn;
    case 'message':
      return e.transactional === false ? e.messageLsn : undefined;
    default:
      return undefined;
  }
}

interface EpochState {
  /** The sequence number of the first event not yet done. */
  next: number;
  /** Events done ahead of `next`, by sequence number, with the LSN each allows (or undefined). */
  done: Map<number, Lsn | undefined>;
}

/**
 * Acknowledges each event's LSN (see {@link ackLsnOf}) to `feedback` once the event *and every
 * event `bufferTransaction` emitted before it* have come through, then passes the event on.
 *
 * Place it after your work, which returns the event when it is done (`concatMap`, or `mergeMap`
 * with any concurrency): completion out of order never acknowledges past an unfinished event,
 * because `bufferTransaction` numbers what it emits and this operator acknowledges only the done
 * prefix. The acknowledged LSN only moves forward. Events that did not come from
 * `bufferTransaction` (raw `commit` messages, for example) are acknowledged in arrival order.
 *
 * Every event `bufferTransaction` emits must reach this operator, also the ones you ignore: one
 * removed by `filter` holds the slot (and, through flow control, the stream) at that point. Skip
 * work inside your function instead and return the event.
 *
 * Errors: whatever `feedback.acknowledge` throws, and upstream errors, pass on as errors.
 *
 * @example
 * logicalReplication({ ...conn, slot: 'app', publications: 'app', feedback }).pipe(
 *   parsePgoutput(),
 *   bufferTransaction(),
 *   retryWithBackoff(),
 *   mergeMap(async (event) => {
 *     if (event.type === 'transaction') await index(event.changes);
 *     return event;
 *   }, 4),
 *   ackOnCommit(feedback),
 * ).subscribe();
 */
export function ackOnCommit<T>(feedback: Acknowledger): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const epochs = new WeakMap<AckEpoch, EpochState>();

      const acknowledge = (lsn: Lsn | undefined) => {
        if (lsn !== undefined) feedback.acknowledge(lsn);
      };

      const complete = (event: T) => {
        const ticket = ticketOf(event);
        if (ticket === undefined) return acknowledge(ackLsnOf(event));
        let state = epochs.get(ticket.epoch);
        if (state === undefined) {
          state = { next: 0, done: new Map() };
          epochs.set(ticket.epoch, state);
        }
        if (ticket.seq < state.next || state.done.has(ticket.seq)) return; // seen already
        if (ticket.seq !== state.next) {
          state.done.set(ticket.seq, ackLsnOf(event));
          return;
        }
        let highest = ackLsnOf(event);
        state.next++;
        while (state.done.has(state.next)) {
          const lsn = state.done.get(state.next);
          state.done.delete(state.next);
          if (lsn !== undefined && (highest === undefined || lsn.value > highest.value)) highest = lsn;
          state.next++;
        }
        acknowledge(highest);
      };

      return source.subscribe({
        next(event) {
          try {
            complete(event);
            settleSnapshotEvent(event); // snapshot rows carry no LSN; their source counts them done here
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.next(event);
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}
