import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import { WalstreamError } from '../src/errors';
import type { Lsn } from '../src/lsn';
import { settleSnapshotEvent } from '../src/snapshot/settle';
import { type AckTicket, asLsn, ticketOf } from './ack-ticket';

/** Where acknowledgments go: an `LsnFeedback`, or anything with the same `acknowledge`. */
export interface Acknowledger {
  acknowledge(lsn: Lsn): void;
  /** The work before `lsn` is done but the slot must not pass it yet (a held prepared transaction). Optional. */
  finish?(lsn: Lsn): void;
  /** The consumer behind this acknowledger ended: completed or unsubscribed (no argument), or failed. Optional. */
  detach?(error?: unknown): void;
}

/** Options of {@link ackOnCommit}. */
export interface AckOnCommitOptions {
  /**
   * Acknowledge events that carry no `ticket` (raw `commit` messages of a `parsePgoutput`
   * pipeline) in the order they arrive. Only correct when they arrive in commit order
   * (`concatMap`, no concurrency). Default false: such an event is an {@link UnorderedEventError}.
   */
  arrivalOrder?: boolean;
}

/**
 * An event reached `ackOnCommit` without the `ticket` that `bufferTransaction` gave it, so its
 * place in the commit order is unknown: it was rebuilt without that property (a class of yours,
 * a projection), or did not come from `bufferTransaction`. Acknowledging it anyway could confirm a
 * later transaction while an earlier one is unfinished, so the stream stops instead. Keep the
 * `ticket` property when you copy an event (`{ ...event }` and `structuredClone` do), or pass
 * `{ arrivalOrder: true }` for a raw, strictly sequential pipeline. Not retryable.
 */
export class UnorderedEventError extends WalstreamError {
  override name = 'UnorderedEventError';
  constructor(
    /** The event's `type`, when it has one. */
    readonly eventType: string | undefined,
    /** The LSN it would have acknowledged, when it has one. */
    readonly lsn: Lsn | undefined,
  ) {
    super(
      `ackOnCommit received ${eventType === undefined ? 'an event' : `a '${eventType}' event`}${lsn === undefined ? '' : ` at ${lsn.toString()}`} ` +
        "without bufferTransaction's ticket, so its commit order is unknown; keep the ticket property when copying events",
    );
  }
}

/**
 * The LSN that marks an event as done, or undefined when it has none:
 * `endLsn` of a `transaction` (committed or prepared), `commit`, `streamCommit`, `prepare`,
 * `streamPrepare`, `commitPrepared` and `backfillRows`; `rollbackEndLsn` of `rollbackPrepared`; `messageLsn` of a
 * non-transactional logical `message`. Accepts copies whose LSNs lost their class (`structuredClone`).
 */
export function ackLsnOf(event: unknown): Lsn | undefined {
  if (typeof event !== 'object' || event === null) return undefined;
  const e = event as { type?: unknown; endLsn?: unknown; rollbackEndLsn?: unknown; messageLsn?: unknown; transactional?: boolean };
  switch (e.type) {
    case 'transaction':
    case 'commit':
    case 'streamCommit':
    case 'prepare':
    case 'streamPrepare':
    case 'commitPrepared':
    case 'backfillRows':
      return asLsn(e.endLsn);
    case 'rollbackPrepared':
      return asLsn(e.rollbackEndLsn);
    case 'message':
      return e.transactional === false ? asLsn(e.messageLsn) : undefined;
    default:
      return undefined;
  }
}

interface Done {
  readonly lsn: Lsn | undefined;
  readonly limit: Lsn | undefined;
}

interface EpochState {
  /** The sequence number of the first event not yet done. */
  next: number;
  /** Events done ahead of `next`, by sequence number. */
  done: Map<number, Done>;
}

/**
 * Acknowledges each event's LSN (see {@link ackLsnOf}) to `feedback` once the event *and every
 * event `bufferTransaction` emitted before it* have come through, then passes the event on.
 *
 * Place it after your work, which returns the event when it is done (`concatMap`, or `mergeMap`
 * with any concurrency): completion out of order never acknowledges past an unfinished event.
 * The order comes from the `ticket` property `bufferTransaction` puts in every event (its
 * subscription and sequence number, see `AckTicket`), so copies keep it: `{ ...event }`,
 * `structuredClone(event)`. An event without a ticket fails the stream with
 * {@link UnorderedEventError} instead of guessing, unless `arrivalOrder` is set. This operator
 * acknowledges only the done prefix; the acknowledged LSN only moves forward.
 *
 * While `bufferTransaction` holds a prepared transaction (its default), the acknowledgment stops
 * at that PREPARE's LSN and `feedback.finish` receives how far the work really is.
 *
 * Every event `bufferTransaction` emits must reach this operator, also the ones you ignore: one
 * removed by `filter` holds the slot (and, through flow control, the stream) at that point. Skip
 * work inside your function instead and return the event.
 *
 * When its source completes or the subscriber unsubscribes it calls `feedback.detach()`, and
 * `feedback.detach(error)` when its source fails: a `splitFeedback` part then stops counting, or
 * fails the shared stream.
 *
 * Errors: {@link UnorderedEventError}; whatever `feedback.acknowledge` throws; upstream errors.
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
 * @see bufferTransaction
 * @see splitFeedback
 */
export function ackOnCommit<T>(feedback: Acknowledger, options: AckOnCommitOptions = {}): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const epochs = new Map<number, EpochState>();
      let ended = false;
      const detach = (error?: unknown) => {
        if (ended) return;
        ended = true;
        if (error === undefined) feedback.detach?.();
        else feedback.detach?.(error);
      };

      // The epoch of the last event: events of one epoch come in a row, so the Map is rarely read.
      let lastEpoch = -1;
      let lastState: EpochState | undefined;
      const complete = (event: T, ticket: AckTicket | undefined) => {
        if (ticket === undefined) {
          const lsn = ackLsnOf(event);
          if (!options.arrivalOrder) throw new UnorderedEventError(typeOf(event), lsn);
          if (lsn !== undefined) feedback.acknowledge(lsn);
          return;
        }
        let state = ticket.epoch === lastEpoch ? lastState : epochs.get(ticket.epoch);
        if (state === undefined) {
          state = { next: 0, done: new Map() };
          epochs.set(ticket.epoch, state);
        }
        lastEpoch = ticket.epoch;
        lastState = state;
        if (ticket.seq < state.next) return; // seen already
        if (ticket.seq === state.next && state.done.size === 0) {
          // In order with nothing done ahead of it (every event, when nothing reorders them): the
          // loop below for a prefix of one, without the Map.
          state.next++;
          const lsn = ackLsnOf(event);
          if (lsn === undefined) return;
          const limit = ticket.limit;
          if (limit !== undefined && limit.compare(lsn) < 0) {
            feedback.finish?.(lsn);
            feedback.acknowledge(limit);
          } else feedback.acknowledge(lsn);
          return;
        }
        if (state.done.has(ticket.seq)) return; // seen already
        state.done.set(ticket.seq, { lsn: ackLsnOf(event), limit: ticket.limit });
        if (ticket.seq !== state.next) return;
        let highest: Lsn | undefined;
        let limit: Lsn | undefined;
        for (let d = state.done.get(state.next); d !== undefined; d = state.done.get(state.next)) {
          state.done.delete(state.next);
          state.next++;
          if (d.lsn !== undefined && (highest === undefined || d.lsn.value > highest.value)) highest = d.lsn;
          // The holds in force when the last event of the prefix was emitted are the ones still open.
          limit = d.limit;
        }
        if (highest === undefined) return;
        if (limit !== undefined && limit.value < highest.value) {
          feedback.finish?.(highest);
          feedback.acknowledge(limit);
        } else feedback.acknowledge(highest);
      };

      const subscription = source.subscribe({
        next(event) {
          try {
            // Snapshot and backfill events: their source counts them done here. A backfill chunk also
            // holds the place (ticket, LSN) of the high watermark's transaction in the commit order.
            if (!settleSnapshotEvent(event)) complete(event, ticketOf(event));
            else {
              const ticket = ticketOf(event);
              if (ticket !== undefined) complete(event, ticket);
            }
          } catch (err) {
            subscriber.error(err);
            return;
          }
          subscriber.next(event);
        },
        error: (err) => {
          detach(err);
          subscriber.error(err);
        },
        complete: () => {
          detach();
          subscriber.complete();
        },
      });
      return () => {
        subscription.unsubscribe();
        detach();
      };
    });
}

function typeOf(event: unknown): string | undefined {
  const t = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
  return typeof t === 'string' ? t : undefined;
}
