import { merge } from 'rxjs';
import { Lsn } from '../src/lsn';
import { LsnFeedback } from '../src/source/feedback';

/**
 * One consumer's share of a split feedback (see {@link splitFeedback}): an `LsnFeedback` that
 * `ackOnCommit` also tells when its consumer ends.
 */
export class FeedbackPart extends LsnFeedback {
  /** @internal */
  constructor(
    initial: Lsn,
    private readonly onDetach: (part: FeedbackPart, error?: unknown) => void,
  ) {
    super(initial);
  }

  /**
   * The consumer ended (`ackOnCommit` calls this): without an error (completed, unsubscribed) its
   * part stops counting; with an error the shared source fails with `ConsumerFailedError`.
   */
  detach(error?: unknown): void {
    this.onDetach(this, error);
  }
}

/**
 * Splits a source's feedback among `count` consumers that share one replication connection: each
 * consumer acknowledges to its own part, and `feedback` (the source's) acknowledges the minimum of
 * them, so the slowest consumer decides what the server may discard and where a reconnection
 * resumes. Each part starts at `feedback.acknowledged`.
 *
 * When a consumer ends, `ackOnCommit` tells its part, and no consumer is left waiting on it:
 * - **completes or unsubscribes**: its part stops counting; the minimum is taken over the others
 *   (once all have ended, nothing more is acknowledged);
 * - **errors**: `feedback.fail(error)` ends the shared source with `ConsumerFailedError` (not
 *   retryable), so every other consumer receives that error rather than stalling behind work that
 *   will never be done. The slot keeps everything the failed consumer had not finished. The
 *   failure sticks to `feedback`: start again with a new `LsnFeedback` (from the slot's
 *   `confirmed_flush_lsn`) and new parts.
 *
 * Share the stream with `share()` (or `connectable`) *after* `bufferTransaction` and
 * `retryWithBackoff`, and subscribe every consumer before the first event arrives (`share()`
 * connects on the first subscription, but the source only emits after its connection is
 * established, so subscribing them all in the same synchronous block is enough). With flow
 * control on, the slowest consumer also paces the others: the source stops reading while it lags
 * `maxPendingTransactions` behind.
 *
 * @example
 * const feedback = new LsnFeedback();
 * const [search, audit] = splitFeedback(feedback, 2);
 * const events$ = logicalReplication({ ...conn, slot: 'app', publications: 'app', feedback }).pipe(
 *   parsePgoutput(), bufferTransaction(), retryWithBackoff(), share(),
 * );
 * events$.pipe(concatMap(indexInSearch), ackOnCommit(search)).subscribe();
 * events$.pipe(concatMap(writeAuditLog), ackOnCommit(audit)).subscribe();
 * @see ackOnCommit
 */
export function splitFeedback(feedback: LsnFeedback, count: number): FeedbackPart[] {
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`splitFeedback: count must be a positive integer, got ${count}`);
  const active = new Set<FeedbackPart>();
  const min = (pick: (p: LsnFeedback) => Lsn): Lsn | undefined => {
    let low: Lsn | undefined;
    for (const p of active) if (low === undefined || pick(p).value < low.value) low = pick(p);
    return low;
  };
  const update = () => {
    const finished = min((p) => p.finished);
    const acknowledged = min((p) => p.acknowledged);
    if (finished !== undefined) feedback.finish(finished);
    if (acknowledged !== undefined) feedback.acknowledge(acknowledged);
  };
  const onDetach = (part: FeedbackPart, error?: unknown) => {
    if (!active.has(part)) return;
    if (error !== undefined) return feedback.fail(error);
    active.delete(part);
    update();
  };
  const parts = Array.from({ length: count }, () => new FeedbackPart(feedback.acknowledged, onDetach));
  for (const p of parts) active.add(p);
  // Lives as long as the parts do: it holds no resource beyond their subjects.
  merge(...parts.flatMap((p) => [p.acknowledged$, p.finished$])).subscribe(update);
  return parts;
}
