import { ConnectionError } from '../src/errors';
import type { Lsn } from '../src/lsn';
import { type ReceiveWalOptions, receiveWal } from '../src/physical/receive-wal';
import { retry, timer } from 'rxjs';
import type { WalWriterEvent } from '../operators/write-wal-segments';

export interface ReceivewalCommandOptions extends ReceiveWalOptions {
  /** Stop once WAL up to this position is written (pg_receivewal -E). */
  endpos?: Lsn;
  /** Reconnect after a lost connection, every `retryDelay` ms (pg_receivewal's loop). Default true. */
  loop?: boolean;
  retryDelay?: number;
  /** Print segments, flushes and timeline switches. */
  verbose?: boolean;
  log?: NodeJS.WritableStream;
  /** Resolves to stop cleanly (Ctrl-C): the open segment is fsynced and keeps its .partial name. */
  stopSignal?: Promise<void>;
}

/** pg_receivewal: streams WAL into a directory until stopped, the end position, or an error that is not a lost connection. */
export function runReceivewal(options: ReceivewalCommandOptions): Promise<void> {
  const log = options.log ?? process.stderr;
  const source = receiveWal(options).pipe(
    retry({
      delay: (err: unknown) => {
        if (options.loop === false || !(err instanceof ConnectionError)) throw err;
        log.write(`pg-walstream: ${err.message}; reconnecting in ${(options.retryDelay ?? 5000) / 1000} s\n`);
        return timer(options.retryDelay ?? 5000);
      },
    }),
  );
  return new Promise<void>((resolve, reject) => {
    let finished = false;
    const finish = () => {
      if (finished) return;
      finished = true;
      subscription.unsubscribe();
      resolve();
    };
    const onEvent = (e: WalWriterEvent) => {
      if (options.verbose) {
        if (e.type === 'segmentComplete') log.write(`pg-walstream: finished segment ${e.fileName} (timeline ${e.timeline})\n`);
        else if (e.type === 'timelineSwitch') log.write(`pg-walstream: switched to timeline ${e.nextTimeline} at ${e.nextTimelineStart}\n`);
        else if (e.type === 'historyFile') log.write(`pg-walstream: wrote ${e.fileName}\n`);
      }
      if (e.type === 'written' && options.endpos !== undefined && e.lsn.value >= options.endpos.value) finish();
    };
    const subscription = source.subscribe({
      next: onEvent,
      error: (err: unknown) => {
        finished = true;
        reject(err);
      },
      complete: () => {
        finished = true;
        resolve();
      },
    });
    void options.stopSignal?.then(finish);
  });
}
