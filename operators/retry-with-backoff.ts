import { type MonoTypeOperatorFunction, Observable, type SchedulerLike, type Subscription, asyncScheduler } from 'rxjs';
import { ConnectionError, PgError, TlsHandshakeError } from '../src/errors';

/** One retry, as `onRetry` hears of it. */
export interface RetryEvent {
  /** 1 for the first retry after a failure, counting up until the source emits again (or lives `resetAfter` ms). */
  readonly attempt: number;
  /** Milliseconds until the resubscription. */
  readonly delay: number;
  /** The error that ended the previous subscription. */
  readonly error: unknown;
}

/** Options of {@link retryWithBackoff}. */
export interface RetryWithBackoffOptions {
  /** Milliseconds before the first retry. Default 1000. */
  initialDelay?: number;
  /** Upper bound of the delay in milliseconds. Default 60000. */
  maxDelay?: number;
  /** Each further retry waits this many times longer. Default 2. */
  multiplier?: number;
  /** Random spread of each delay, as a fraction: 0.3 waits between 70% and 130% of it. Default 0.3. */
  jitter?: number;
  /** Give up (and pass the error on) after this many retries in a row. Default: never. */
  maxRetries?: number;
  /**
   * The backoff starts over at `initialDelay` and attempt 1 as soon as a resubscribed source emits
   * a value (the reconnection works and data flows), or once a subscription has lived this many
   * milliseconds before failing (a reconnection to an idle slot). Default 10000.
   */
  resetAfter?: number;
  /** Which errors to retry. Default {@link isRetryableError}. */
  isRetryable?: (error: unknown) => boolean;
  /**
   * Called before each retry is scheduled, with the attempt number, the delay in ms and the error:
   * the place to log or count reconnections. An exception thrown here ends the stream with it.
   */
  onRetry?: (event: RetryEvent) => void;
  /** Source of randomness for the jitter, in [0, 1). Default `Math.random`. */
  random?: () => number;
  /** Scheduler of the delays and of the `resetAfter` clock. Default `asyncScheduler`. */
  scheduler?: SchedulerLike;
}

// SQLSTATEs worth retrying: the server is going away, busy, or someone else holds the slot.
const RETRYABLE_SQLSTATES = new Set([
  '57P01', // admin_shutdown (also pg_terminate_backend)
  '57P02', // crash_shutdown
  '57P03', // cannot_connect_now (starting up, shutting down)
  '53300', // too_many_connections
  '55006', // object_in_use: the slot is active for another process (the old walsender lingers)
]);

// Socket failures that can cut a TLS handshake short with nothing wrong in the certificates.
const TRANSIENT_SOCKET_CODES = new Set(['ECONNRESET', 'ECONNREFUSED', 'ECONNABORTED', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN']);
// Connection failures that repeat on every attempt: the server cannot do what sslmode requires.
const PERMANENT_CONNECTION_CODES = new Set(['ESSLREQUIRED', 'ESSLNEGOTIATION']);

/**
 * The default classification of {@link retryWithBackoff}: retry a lost, refused, timed-out or
 * dead connection ({@link ConnectionError}, including the receive timeout's `ETIMEDOUT`), SQLSTATE
 * class 08 (connection exception), 57P01/57P02/57P03 (shutdown, crash, cannot connect now), 53300
 * (too many connections) and 55006 (slot active for another process). Everything else is fatal,
 * because it would fail the same way again: a TLS handshake or certificate verification failure
 * ({@link TlsHandshakeError}, unless a reset socket cut it short), a server without the TLS that
 * `sslmode` requires, class 28 (authentication: 28P01, 28000), an `AuthenticationError`, a
 * `ConfigurationError`, 3D000 (no such database), 42704 (no such slot), syntax errors, a
 * `ParseError` or `ProtocolError`, a `SlotLostError`, and errors that are not pg-walstream's
 * (a `TypeError` is a bug, not a fault of the network).
 */
export function isRetryableError(error: unknown): boolean {
  if (error instanceof TlsHandshakeError) return TRANSIENT_SOCKET_CODES.has(error.code ?? '');
  if (error instanceof ConnectionError) return !PERMANENT_CONNECTION_CODES.has(error.code ?? '');
  if (error instanceof PgError) return error.code.startsWith('08') || RETRYABLE_SQLSTATES.has(error.code);
  return false;
}

/**
 * Resubscribes to the source after a retryable error, waiting `initialDelay × multiplierⁿ`
 * (at most `maxDelay`, spread by `jitter`) before attempt n+1. Values pass through; completion
 * passes through; a fatal error, or the last one after `maxRetries`, passes on as the error.
 *
 * Place it right after `bufferTransaction`: resubscribing reconnects the cold
 * `logicalReplication` source, which starts from `feedback.acknowledged` (never from the last
 * received LSN), and gives `parsePgoutput` and `bufferTransaction` fresh state, so a transaction
 * the broken connection left half received is discarded and arrives again whole. Work already
 * handed downstream goes on during the reconnection; transactions it had not acknowledged yet are
 * delivered again (at-least-once).
 *
 * @example
 * logicalReplication({ ...conn, slot: 'app', publications: 'app', feedback }).pipe(
 *   parsePgoutput(),
 *   bufferTransaction(),
 *   retryWithBackoff({
 *     maxDelay: 30_000,
 *     onRetry: ({ attempt, delay, error }) => log.warn(`retry ${attempt} in ${delay} ms`, error),
 *   }),
 *   concatMap(handle),
 *   ackOnCommit(feedback),
 * ).subscribe();
 */
export function retryWithBackoff<T>(options: RetryWithBackoffOptions = {}): MonoTypeOperatorFunction<T> {
  const initialDelay = options.initialDelay ?? 1000;
  const maxDelay = options.maxDelay ?? 60_000;
  const multiplier = options.multiplier ?? 2;
  const jitter = options.jitter ?? 0.3;
  const maxRetries = options.maxRetries ?? Infinity;
  const resetAfter = options.resetAfter ?? 10_000;
  const isRetryable = options.isRetryable ?? isRetryableError;
  const random = options.random ?? Math.random;
  const scheduler = options.scheduler ?? asyncScheduler;

  const delayOf = (attempt: number) => {
    const base = Math.min(maxDelay, initialDelay * multiplier ** (attempt - 1));
    const spread = base * (1 + jitter * (2 * random() - 1));
    return Math.round(Math.max(0, Math.min(maxDelay, spread)));
  };

  return (source) =>
    new Observable<T>((subscriber) => {
      let attempt = 0;
      let startedAt = 0;
      let inner: Subscription | undefined;
      let pending: Subscription | undefined;

      const subscribe = () => {
        pending = undefined;
        startedAt = scheduler.now();
        inner = source.subscribe({
          next: (value) => {
            attempt = 0; // the reconnection works and data flows: the next fault starts the backoff over
            subscriber.next(value);
          },
          error: (error) => retry(error),
          complete: () => subscriber.complete(),
        });
      };

      const retry = (error: unknown) => {
        if (scheduler.now() - startedAt >= resetAfter) attempt = 0;
        let event: RetryEvent;
        try {
          if (attempt >= maxRetries || !isRetryable(error)) return subscriber.error(error);
          attempt++;
          event = { attempt, delay: delayOf(attempt), error };
          options.onRetry?.(event);
        } catch (err) {
          return subscriber.error(err);
        }
        pending = scheduler.schedule(subscribe, event.delay);
      };

      subscribe();
      return () => {
        pending?.unsubscribe();
        inner?.unsubscribe();
      };
    });
}
