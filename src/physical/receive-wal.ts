import { mkdirSync } from 'node:fs';
import { type Observable, defer, from, switchMap } from 'rxjs';
import { type WalWriterEvent, writeWalSegments } from './write-wal-segments';
import { resolveConfig } from '../wire/config';
import { PgConnection } from '../wire/connection';
import { LsnFeedback } from '../source/feedback';
import { type PhysicalReplicationOptions, physicalReplication } from '../source/physical';
import { showWalSegmentSize } from './commands';
import { roundDownToSegment } from './wal-names';
import { findStreamingStart } from './wal-writer';
import { Lsn } from '../lsn';

/** Options of {@link receiveWal}. */
export interface ReceiveWalOptions extends PhysicalReplicationOptions {
  /** The directory of segment files; created (0700) if missing. */
  directory: string;
  /** Milliseconds between fsyncs of the open segment. Default 1000. */
  flushInterval?: number;
  /** Suffix of the open segment. Default `.partial`. */
  partialSuffix?: string;
  /** fsync at all. Default true. */
  sync?: boolean;
}

/**
 * pg_receivewal as an Observable: streams physical WAL into `directory`, resuming after the
 * segments already there. On each subscription it scans the directory (`findStreamingStart`):
 * after the last complete segment, or at the start of the last `.partial` one, on that file's
 * timeline; with no segment there it starts at `startLsn` or else `physicalReplication`'s choice
 * (the slot's `restart_lsn`, else the server's position), always rounded down to a segment start. So `retry()` on it
 * resumes without a gap. Flushed positions are acknowledged to the server only after fsync.
 *
 * Errors: those of {@link physicalReplication} and {@link writeWalSegments}.
 *
 * @example
 * receiveWal({ connectionString: url, slot: 'archiver', createSlot: true, directory: '/var/lib/wal' })
 *   .pipe(retry({ delay: 5000 }))
 *   .subscribe((e) => e.type === 'segmentComplete' && console.log('archived', e.fileName));
 */
export function receiveWal(options: ReceiveWalOptions): Observable<WalWriterEvent> {
  return defer(() =>
    from(
      (async () => {
        mkdirSync(options.directory, { recursive: true, mode: 0o700 });
        const conn = await PgConnection.connect(resolveConfig(options), 'true');
        try {
          const segmentSize = await showWalSegmentSize(conn);
          return { segmentSize, found: findStreamingStart(options.directory, segmentSize, options.partialSuffix) };
        } finally {
          await conn.end();
        }
      })(),
    ).pipe(
      switchMap(({ segmentSize, found }) => {
        const feedback = options.feedback ?? new LsnFeedback();
        const explicit = options.startLsn === undefined ? undefined : roundDownToSegment(typeof options.startLsn === 'string' ? Lsn.parse(options.startLsn) : options.startLsn, segmentSize);
        return physicalReplication({
          ...options,
          feedback,
          startLsn: found?.startLsn ?? explicit,
          timeline: found?.timeline ?? options.timeline,
        }).pipe(
          writeWalSegments({
            directory: options.directory,
            feedback,
            flushInterval: options.flushInterval,
            partialSuffix: options.partialSuffix,
            sync: options.sync,
          }),
        );
      }),
    ),
  );
}
