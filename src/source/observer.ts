import { type Logger, loggedError } from '../logger';
import type { Lsn } from '../lsn';
import type { PrimaryKeepalive, ReplicationFrame } from '../protocol/frames';
import type { LsnFeedback } from './feedback';

/** What a replication source tells its observer when its connection is ready. */
export interface SourceConnected {
  kind: 'logical' | 'physical';
  /** The slot streamed, if any. */
  slot?: string;
  /** `host:port` (or the socket path): never the password or the connection string. */
  target: string;
  /** `server_version_num`, e.g. 180001. */
  serverVersion: number;
  /** Where the consumer acknowledges work: the observer may read `feedback.acknowledged`. */
  feedback: LsnFeedback;
}

/**
 * Hooks a replication source calls as it streams; every one is optional and must return quickly
 * (`frame` runs once per CopyData message). `ReplicationMetrics` implements them.
 */
export interface ReplicationObserver {
  /** A connection authenticated (the first, or a reconnection after a retry). */
  connected?(info: SourceConnected): void;
  /** One XLogData or primary keepalive, `bytes` long (the CopyData body, header included). */
  frame?(frame: ReplicationFrame, bytes: number): void;
  /**
   * One primary keepalive (after `frame`, if both are given). Unlike `frame`, it leaves the hot
   * path alone: a source whose XLogData is decoded in place builds no frame object for them.
   */
  keepalive?(frame: PrimaryKeepalive): void;
  /** A standby status update went out with these positions (what `pg_stat_replication` then shows). */
  statusSent?(written: Lsn, flushed: Lsn): void;
  /** Flow control stopped reading from the socket. */
  paused?(): void;
  /** Flow control resumed reading. */
  resumed?(): void;
  /** The stream failed with `err` (a retry operator may resubscribe). */
  error?(err: unknown): void;
  /** The subscriber unsubscribed: the stream ends with CopyDone. */
  closed?(): void;
}

/** The observability options shared by `logicalReplication()` and `physicalReplication()`. */
export interface ObservabilityOptions {
  /** Hooks called as the source streams, e.g. a `ReplicationMetrics` from `pg-walstream/metrics`. */
  observer?: ReplicationObserver;
  /** Logs connection, flow-control and error events (pino-compatible; see {@link Logger}). */
  logger?: Logger;
}

/** The observer a source calls: `options.observer`, plus log lines when `options.logger` is set. */
export function observerOf(options: ObservabilityOptions): ReplicationObserver | undefined {
  const { observer, logger } = options;
  if (logger === undefined) return observer;
  const logging = loggingObserver(logger);
  if (observer === undefined) return logging;
  return {
    connected: (info) => (observer.connected?.(info), logging.connected!(info)),
    frame: observer.frame?.bind(observer),
    keepalive: observer.keepalive?.bind(observer),
    statusSent: observer.statusSent?.bind(observer),
    paused: () => (observer.paused?.(), logging.paused!()),
    resumed: () => (observer.resumed?.(), logging.resumed!()),
    error: (err) => (observer.error?.(err), logging.error!(err)),
    closed: () => (observer.closed?.(), logging.closed!()),
  };
}

/** Log lines for a source's events; frames and status updates are not logged (too frequent). */
function loggingObserver(logger: Logger): ReplicationObserver {
  let slot: string | undefined;
  let pausedAt = 0;
  return {
    connected(info) {
      slot = info.slot;
      logger.info({ slot, target: info.target, serverVersion: info.serverVersion, kind: info.kind, acknowledged: info.feedback.acknowledged.toString() }, 'replication connection ready');
    },
    paused() {
      pausedAt = Date.now();
      logger.info({ slot }, 'flow control paused reading: the consumer has too much unacknowledged work');
    },
    resumed() {
      logger.info({ slot, pausedMs: Date.now() - pausedAt }, 'flow control resumed reading');
    },
    error(err) {
      logger.warn({ slot, err: loggedError(err) }, 'replication stream failed');
    },
    closed() {
      logger.info({ slot }, 'replication stream closed by the consumer');
    },
  };
}
