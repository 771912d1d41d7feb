import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import { ackLsnOf } from '../operators/ack-on-commit';
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

/**
 * {@link whenWritten} for messages that arrive in commit order (a raw `parsePgoutput` stream,
 * followed by `ackOnCommit(feedback, { arrivalOrder: true })`), holding one entry per write
 * instead of one per transaction. It keeps only the messages that end a unit (see `ackLsnOf`:
 * Commit, Prepare, a non-transactional message, ...); those whose lines go out in the same write
 * become durable together, so it keeps only the last of them (its LSN is the highest: they arrive
 * in order) and emits it once the writer reports its line durable. Acknowledging that one
 * acknowledges the others. Nothing is held per message or per transaction, so nothing outlives the
 * young generation's scavenges because it waits for a write.
 *
 * Asks the writer for an early fsync once `syncAt` units wait, as {@link whenWritten} does.
 * Completion waits for the waiting units; a writer failure errors with the writer's error and
 * releases nothing more.
 * @example
 * source.pipe(parsePgoutput(), filter(writeLine), lastWhenWritten(writer, 500), ackOnCommit(feedback, { arrivalOrder: true }))
 */
export function lastWhenWritten<T>(writer: LineWriter, syncAt: number): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      // One entry per write: the line count that makes it durable, its last unit, the units it stands for.
      let marks: number[] = [];
      let events: T[] = [];
      let counts: number[] = [];
      let head = 0;
      let waiting = 0; // units not yet released
      let completed = false;

      const release = () => {
        if (writer.failed !== undefined) return subscriber.error(writer.failed);
        const durable = writer.durable;
        let last = -1;
        while (head < marks.length && marks[head] <= durable) {
          waiting -= counts[head];
          last = head++;
        }
        const event = last >= 0 ? events[last] : undefined;
        if (head === marks.length && head > 0) {
          marks = [];
          events = [];
          counts = [];
          head = 0;
        }
        if (last >= 0) subscriber.next(event as T);
        if (completed && head === marks.length) subscriber.complete();
      };

      const off = writer.onProgress(release);
      const subscription = source.subscribe({
        next(event) {
          if (ackLsnOf(event) === undefined) return;
          const mark = writer.pushed;
          const n = marks.length;
          // No write has taken the previous entry's line yet: both go out (and become durable) together.
          if (n > head && writer.taken < marks[n - 1]) {
            marks[n - 1] = mark;
            events[n - 1] = event;
            counts[n - 1]++;
          } else {
            marks.push(mark);
            events.push(event);
            counts.push(1);
          }
          if (++waiting >= syncAt) writer.requestSync();
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
