import { Observable, type OperatorFunction } from 'rxjs';
import { WalstreamError } from '../errors';
import type { Lsn } from '../lsn';
import { type CompletedSegment, WalSegmentWriter, WalWriteError } from './wal-writer';
import type { LsnFeedback } from '../source/feedback';
import type { PhysicalFrame } from '../source/physical';

/** Options of {@link writeWalSegments}. */
export interface WriteWalSegmentsOptions {
  /** The directory of segment files; must exist. */
  directory: string;
  /** Acknowledged after each fsync; pass the same one to `physicalReplication` so the server hears of it. */
  feedback?: LsnFeedback;
  /** Milliseconds between fsyncs of the open segment. Default 1000. Completed segments are fsynced at once. */
  flushInterval?: number;
  /** Suffix of the open segment. Default `.partial`; `''` for final names at once. */
  partialSuffix?: string;
  /** fsync at all. Default true. */
  sync?: boolean;
}

/** What {@link writeWalSegments} emits. */
export type WalWriterEvent =
  /** WAL was written (not yet fsynced) up to `lsn`. */
  | { readonly type: 'written'; readonly timeline: number; readonly lsn: Lsn }
  /** Everything up to `lsn` is fsynced and acknowledged. */
  | { readonly type: 'flushed'; readonly lsn: Lsn }
  /** A segment is complete: fsynced and renamed to its final name. */
  | ({ readonly type: 'segmentComplete' } & CompletedSegment)
  /** A timeline history file was written. */
  | { readonly type: 'historyFile'; readonly timeline: number; readonly fileName: string }
  /** The stream moved to `nextTimeline`; the last segment of the old one keeps its partial name if incomplete. */
  | { readonly type: 'timelineSwitch'; readonly timeline: number; readonly nextTimeline: number; readonly nextTimelineStart: Lsn };

/**
 * Writes a physical replication stream into WAL segment files as pg_receivewal does (see
 * {@link WalSegmentWriter}): `XLogFileName` names, `.partial` while open, zero-padded, fsynced
 * every `flushInterval` ms and at each segment end, and acknowledged on `feedback` only after the
 * fsync. Timeline history files are written when a stream on a timeline above 1 starts.
 * On completion, error or unsubscribe the open segment is fsynced and closed, keeping its partial
 * name so that `findStreamingStart` resumes it.
 *
 * Errors: {@link WalWriteError} on an I/O error or a gap in the stream; upstream errors pass through.
 *
 * @example
 * const feedback = new LsnFeedback();
 * physicalReplication({ connectionString: url, slot: 'archiver', feedback })
 *   .pipe(writeWalSegments({ directory: '/var/lib/wal', feedback }))
 *   .subscribe((e) => e.type === 'segmentComplete' && console.log(e.fileName));
 */
export function writeWalSegments(options: WriteWalSegmentsOptions): OperatorFunction<PhysicalFrame, WalWriterEvent> {
  return (source) =>
    new Observable<WalWriterEvent>((subscriber) => {
      let writer: WalSegmentWriter | undefined;
      let timeline = 0;
      let closed = false;
      const flush = () => {
        if (writer === undefined) return;
        const before = writer.flushed;
        const after = writer.flush();
        if (after.value > before.value) subscriber.next({ type: 'flushed', lsn: after });
      };
      const close = () => {
        if (closed) return;
        closed = true;
        clearInterval(timer);
        writer?.close();
      };
      const guard = (fn: () => void) => {
        try {
          fn();
        } catch (err) {
          try {
            close();
          } catch {
            // the first error is the one to report
          }
          subscriber.error(err instanceof WalstreamError ? err : new WalWriteError(String(err), undefined, { cause: err }));
        }
      };
      const timer = setInterval(() => guard(flush), options.flushInterval ?? 1000);
      timer.unref();
      const subscription = source.subscribe({
        next: (frame) =>
          guard(() => {
            switch (frame.type) {
              case 'streamStart':
                writer ??= new WalSegmentWriter({
                  directory: options.directory,
                  segmentSize: frame.walSegmentSize,
                  partialSuffix: options.partialSuffix,
                  feedback: options.feedback,
                  sync: options.sync,
                });
                timeline = frame.timeline;
                return;
              case 'timelineHistory':
                if (writer!.writeHistoryFile(frame.fileName, frame.content)) subscriber.next({ type: 'historyFile', timeline: frame.timeline, fileName: frame.fileName });
                return;
              case 'xlogdata': {
                const completed = writer!.write(timeline, frame.walStart, frame.data);
                subscriber.next({ type: 'written', timeline, lsn: writer!.written! });
                for (const segment of completed) subscriber.next({ type: 'segmentComplete', ...segment });
                if (completed.length > 0) subscriber.next({ type: 'flushed', lsn: writer!.flushed });
                return;
              }
              case 'timelineSwitch':
                writer!.endTimeline();
                subscriber.next({ type: 'flushed', lsn: writer!.flushed });
                subscriber.next({ type: 'timelineSwitch', timeline: frame.timeline, nextTimeline: frame.nextTimeline, nextTimelineStart: frame.nextTimelineStart });
                timeline = frame.nextTimeline;
                return;
              default:
                return;
            }
          }),
        error: (err: unknown) => {
          try {
            close();
          } catch {
            // report the upstream error
          }
          subscriber.error(err);
        },
        complete: () =>
          guard(() => {
            close();
            subscriber.complete();
          }),
      });
      return () => {
        subscription.unsubscribe();
        try {
          close();
        } catch {
          // nothing to report to after unsubscribe; the partial file stays for the next run
        }
      };
    });
}
