import { type MonoTypeOperatorFunction, Observable } from 'rxjs';

/**
 * Starts `write(event)` for each event in arrival order, at most `maxInFlight` at once, and emits
 * each event unchanged (the same object) once its write *and every earlier one* has resolved.
 *
 * This is the shape of every sink: what comes out is durable, in the order it came in, so
 * `ackOnCommit` after it acknowledges only what the engine holds. Events wait in arrival order
 * while `maxInFlight` writes are pending; since nothing is emitted, nothing is acknowledged, and the
 * source's flow control stops reading the socket once its window of unacknowledged transactions
 * is full: that is how the engine's pace reaches the server.
 *
 * A rejected write errors the output at once; later writes still pending are abandoned (their
 * events were not emitted, so they are not acknowledged and come again after a restart).
 */
export function writeInOrder<T>(write: (event: T) => Promise<void>, maxInFlight: number): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const order: { event: T; done: boolean }[] = [];
      const waiting: { event: T; done: boolean }[] = [];
      let running = 0;
      let sourceDone = false;
      let closed = false;

      const flush = () => {
        while (order.length > 0 && order[0].done) subscriber.next(order.shift()!.event);
        if (sourceDone && order.length === 0) subscriber.complete();
      };
      const pump = () => {
        while (!closed && running < maxInFlight && waiting.length > 0) {
          const entry = waiting.shift()!;
          running++;
          let started: Promise<void>;
          try {
            started = write(entry.event);
          } catch (err) {
            started = Promise.reject(err);
          }
          started.then(
            () => {
              if (closed) return;
              running--;
              entry.done = true;
              flush();
              pump();
            },
            (err: unknown) => {
              if (closed) return;
              closed = true;
              subscriber.error(err);
            },
          );
        }
      };

      const subscription = source.subscribe({
        next(event) {
          const entry = { event, done: false };
          order.push(entry);
          waiting.push(entry);
          pump();
        },
        error(err) {
          closed = true;
          subscriber.error(err);
        },
        complete() {
          sourceDone = true;
          flush();
        },
      });
      return () => {
        closed = true;
        subscription.unsubscribe();
      };
    });
}
