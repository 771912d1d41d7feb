import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import type { LineWriter } from './line-writer';

/**
 * Holds each event until the lines pushed to `writer` before it arrived are durable, then passes
 * it on, in order. Placed between `bufferTransaction()` and `ackOnCommit()`, it makes the CLI
 * acknowledge a transaction only once its last line is written (and fsync'd when syncing).
 *
 * When `syncAt` events are waiting, it asks the writer for an early fsync, so that the source's
 * flow-control window (sized from the same number) does not stall until the next timed fsync.
 * Completion waits for the waiting events; a writer failure errors with the writer's error and
 * releases nothing more.
 */
export function whenWritten<T>(writer: LineWriter, syncAt: number): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      let events: T[] = [];
      let marks: number[] = [];
      let head = 0;
      let completed = false;

      const release = () => {
        if (writer.failed !== undefined) return subscriber.error(writer.failed);
        const durable = writer.durable;
        while (head < events.length && marks[head] <= durable) {
          const event = events[head];
          events[head++] = undefined as T;
          subscriber.next(event);
        }
        if (head === events.length) {
          if (head > 0) {
            events = [];
            marks = [];
            head = 0;
          }
          if (completed) subscriber.complete();
        } else if (head > 4096 && head * 2 > events.length) {
          events = events.slice(head);
          marks = marks.slice(head);
          head = 0;
        }
      };

      const off = writer.onProgress(release);
      const subscription = source.subscribe({
        next(event) {
          events.push(event);
          marks.push(writer.pushed);
          if (events.length - head >= syncAt) writer.requestSync();
          release();
        },
        error: (err) => subscriber.error(err),
        complete() {
          completed = true;
          release();
        },
      });
      return () => {
        off();
        subscription.unsubscribe();
      };
    });
}
