// The pipeline the at-least-once tests run: source → parse → bufferTransaction → retry → work → ack.
import { type MonoTypeOperatorFunction, type Observable, type Subscription, concatMap, identity, tap } from 'rxjs';
import { type FlowControlOptions, LsnFeedback, type PgoutputMessage, type PgoutputOptions, logicalReplication } from '../../src';
import { type RetryEvent, type Transaction, type TransactionEvent, ackOnCommit, bufferTransaction, parsePgoutput, retryWithBackoff } from '../../operators';
import { type Done, doneOf } from './delivery';

export interface Consumer {
  readonly done: Done[];
  readonly retries: RetryEvent[];
  readonly feedback: LsnFeedback;
  /** Distinct row ids finished so far. */
  readonly ids: Set<number>;
  /** Events emitted by bufferTransaction and not finished yet, at most, over the run. */
  readonly maxInFlight: number;
  error: unknown;
  readonly subscription: Subscription;
}

export interface ConsumerOptions {
  url: string;
  slot: string;
  publication: string;
  feedback?: LsnFeedback;
  work?: (tx: Transaction) => Promise<void> | void;
  flowControl?: FlowControlOptions | false;
  /** Default 100 ms, so the slot follows acknowledgments closely. */
  statusInterval?: number;
  /** Between bufferTransaction's retry and the work, e.g. rateLimit. */
  between?: MonoTypeOperatorFunction<TransactionEvent>;
  /** Sees every pgoutput message (e.g. to count Stream Starts). */
  onMessage?: (m: PgoutputMessage) => void;
  /** pgoutput options (protoVersion, streaming, twoPhase…). */
  pgoutput?: Omit<PgoutputOptions, 'publications'>;
}

export function events(o: ConsumerOptions, feedback: LsnFeedback, retries: RetryEvent[]): Observable<TransactionEvent> {
  return logicalReplication({ ...o.pgoutput, connectionString: o.url, slot: o.slot, publications: o.publication, feedback, statusInterval: o.statusInterval ?? 100, flowControl: o.flowControl }).pipe(
    parsePgoutput(),
    tap((m) => o.onMessage?.(m)),
    bufferTransaction(),
    retryWithBackoff({ initialDelay: 50, maxDelay: 500, onRetry: (e) => retries.push(e) }),
  );
}

export function startConsumer(o: ConsumerOptions): Consumer {
  const feedback = o.feedback ?? new LsnFeedback();
  const retries: RetryEvent[] = [];
  let inFlight = 0;
  const c = { done: [] as Done[], retries, feedback, ids: new Set<number>(), maxInFlight: 0, error: undefined as unknown } as Consumer & { maxInFlight: number };
  (c as { subscription: Subscription }).subscription = events(o, feedback, retries)
    .pipe(
      tap(() => {
        inFlight++;
        c.maxInFlight = Math.max(c.maxInFlight, inFlight);
      }),
      o.between ?? identity,
      concatMap(async (event) => {
        if (event.type === 'transaction') {
          await o.work?.(event);
          const d = doneOf(event);
          c.done.push(d);
          for (const id of d.ids) c.ids.add(id);
        }
        inFlight--;
        return event;
      }),
      ackOnCommit(feedback),
    )
    .subscribe({ error: (err) => (c.error = err) });
  return c;
}
