import { combineLatest } from 'rxjs';
import { Lsn } from '../src/lsn';
import { LsnFeedback } from '../src/source/feedback';

/**
 * Splits a source's feedback among `count` consumers that share one replication connection: each
 * consumer acknowledges to its own `LsnFeedback`, and `feedback` (the source's) acknowledges the
 * minimum of them, so the slowest consumer decides what the server may discard and where a
 * reconnection resumes. Each part starts at `feedback.acknowledged`.
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
 */
export function splitFeedback(feedback: LsnFeedback, count: number): LsnFeedback[] {
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`splitFeedback: count must be a positive integer, got ${count}`);
  const parts = Array.from({ length: count }, () => new LsnFeedback(feedback.acknowledged));
  // Lives as long as the parts do: it holds no resource beyond their subjects.
  combineLatest(parts.map((p) => p.acknowledged$)).subscribe((lsns) => {
    feedback.acknowledge(lsns.reduce((min, lsn) => (lsn.value < min.value ? lsn : min), lsns[0] ?? Lsn.ZERO));
  });
  return parts;
}
