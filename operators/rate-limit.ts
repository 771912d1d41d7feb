import { type MonoTypeOperatorFunction, Observable, type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';

/** Options of {@link rateLimit}. */
export interface RateLimitOptions {
  /** How many values may pass in any window of `per` milliseconds. */
  count: number;
  /** The window in milliseconds. */
  per: number;
  /** Scheduler of the delays. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

/**
 * Lets at most `count` values through in any `per` milliseconds, delaying the rest in order.
 * It never drops a value (unlike `throttleTime`, which does and is wrong for CDC) and completes
 * after the last delayed value. An error passes on at once; values still waiting are not
 * acknowledged, so the source delivers them again after a retry.
 *
 * Values wait in memory. With a `logicalReplication` source whose flow control is on, the wait
 * stays bounded: what waits here is not acknowledged, so the source stops reading from the socket
 * once `maxPendingTransactions` finished transactions are waiting, and the backlog stays on the
 * server.
 *
 * @example
 * // At most 100 transactions a second into a rate-limited API.
 * source.pipe(
 *   bufferTransaction(),
 *   rateLimit({ count: 100, per: 1000 }),
 *   concatMap(async (event) => { await post(event); return event; }),
 *   ackOnCommit(feedback),
 * ).subscribe();
 */
export function rateLimit<T>(options: RateLimitOptions): MonoTypeOperatorFunction<T> {
  const { count, per } = options;
  if (!(Number.isInteger(count) && count >= 1)) throw new RangeError(`rateLimit: count must be a positive integer, got ${count}`);
  if (!(per > 0)) throw new RangeError(`rateLimit: per must be a positive number of milliseconds, got ${per}`);
  const scheduler = options.scheduler ?? asyncScheduler;
  return (source) =>
    new Observable<T>((subscriber) => {
      const queue: T[] = [];
      let queueHead = 0;
      // Emission times of the last `count` values, oldest at `sentHead`: a ring.
      const sent: number[] = new Array<number>(count);
      let sentCount = 0;
      let sentHead = 0;
      let timer: Subscription | undefined;
      let completed = false;
      let draining = false;

      const drain = () => {
        if (draining) return; // a value emitted synchronously led back here
        draining = true;
        try {
          while (queueHead < queue.length && !subscriber.closed) {
            const now = scheduler.now();
            if (sentCount === count) {
              const nextAt = sent[sentHead] + per;
              if (now < nextAt) {
                if (timer === undefined) timer = scheduler.schedule(() => {
                  timer = undefined;
                  drain();
                }, nextAt - now);
                return;
              }
              sentHead = (sentHead + 1) % count;
              sentCount--;
            }
            sent[(sentHead + sentCount) % count] = now;
            sentCount++;
            const value = queue[queueHead];
            queue[queueHead++] = undefined as T;
            if (queueHead > 1024 && queueHead * 2 > queue.length) {
              queue.splice(0, queueHead);
              queueHead = 0;
            }
            subscriber.next(value);
          }
          if (completed && queueHead >= queue.length) subscriber.complete();
        } finally {
          draining = false;
        }
      };

      const subscription = source.subscribe({
        next(value) {
          queue.push(value);
          drain();
        },
        error: (err) => subscriber.error(err),
        complete() {
          completed = true;
          drain();
        },
      });
      return () => {
        timer?.unsubscribe();
        subscription.unsubscribe();
      };
    });
}
