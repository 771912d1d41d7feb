import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import { ackLsnOf } from '../operators/ack-on-commit';
import type { Lsn } from '../src/lsn';
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

/** Where the acknowledgments of {@link ackWhenWritten} go: an `LsnFeedback`, or anything with the same methods. */
export interface WrittenAcknowledger {
  acknowledge(lsn: Lsn): void;
  /** The consumer ended: completed or unsubscribed (no argument), or failed. Optional. */
  detach?(error?: unknown): void;
}

/**
 * `whenWritten(writer, syncAt)` followed by `ackOnCommit(feedback, { arrivalOrder: true })`, for
 * messages that arrive in commit order (a raw `parsePgoutput` stream), holding one entry per write
 * instead of one per transaction: the messages that end a unit (see `ackLsnOf`) whose lines go
 * out in the same write are released together, so only the last of them is kept (its LSN is the
 * highest: they arrive in order). Acknowledges that LSN to `feedback` once the writer reports the
 * line durable, then emits that last message (for a progress line); every other message is
 * dropped. Nothing else is held per message or per transaction, so nothing survives the young
 * generation's collections because it waits for a write.
 *
 * Asks the writer for an early fsync once `syncAt` units wait, as {@link whenWritten} does.
 * Completion waits for the waiting units; a writer failure errors with the writer's error and
 * acknowledges nothing more. Calls `feedback.detach()` when its source completes or the subscriber
 * unsubscribes, `feedback.detach(error)` when it fails, as `ackOnCommit` does.
 * @example
 * source.pipe(parsePgoutput(), filter(writeLine), ackWhenWritten(writer, feedback, 500))
 */
export function ackWhenWritten<T>(writer: LineWriter, feedback: WrittenAcknowledger, syncAt: number): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      // Entries: the line count that makes them durable, the last unit-ending message, units behind it.
      let marks: number[] = [];
      let events: T[] = [];
      let lsns: Lsn[] = [];
      let head = 0;
      let waiting = 0; // units in the entries not yet released
      let counts: number[] = [];
      let completed = false;
      let ended = false;
      const detach = (error?: unknown) => {
        if (ended) return;
        ended = true;
        if (error === undefined) feedback.detach?.();
        else feedback.detach?.(error);
      };

      const release = () => {
        if (writer.failed !== undefined) {
          detach(writer.failed);
          return subscriber.error(writer.failed);
        }
        const durable = writer.durable;
        let last = -1;
        while (head < marks.length && marks[head] <= durable) {
          waiting -= counts[head];
          last = head++;
        }
        if (last >= 0) {
          const event = events[last];
          const lsn = lsns[last];
          if (head === marks.length) {
            marks = [];
            events = [];
            lsns = [];
            counts = [];
            head = 0;
          }
          try {
            feedback.acknowledge(lsn);
          } catch (err) {
            detach(err);
            return subscriber.error(err);
          }
          subscriber.next(event);
        }
        if (completed && head === marks.length) {
          detach();
          subscriber.complete();
        }
      };

      const off = writer.onProgress(release);
      const subscription = source.subscribe({
        next(event) {
          const lsn = ackLsnOf(event);
          if (lsn === undefined) return;
          const mark = writer.pushed;
          const n = marks.length;
          // No write has taken the previous entry's line yet: both go out (and are released) together.
          if (n > head && writer.taken < marks[n - 1]) {
            marks[n - 1] = mark;
            events[n - 1] = event;
            lsns[n - 1] = lsn;
            counts[n - 1]++;
          } else {
            marks.push(mark);
            events.push(event);
            lsns.push(lsn);
            counts.push(1);
          }
          if (++waiting >= syncAt) writer.requestSync();
          release();
        },
        error: (err) => {
          detach(err);
          subscriber.error(err);
        },
        complete() {
          completed = true;
          release();
        },
      });
      return () => {
        off();
        subscription.unsubscribe();
        detach();
      };
    });
}
