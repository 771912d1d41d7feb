import { type Logger, loggedError } from '../logger';

/**
 * An `onRetry` callback for `retryWithBackoff` that logs each retry (warn) with its attempt,
 * delay and error, never a password. Chain your own callback with `then`.
 *
 * @example
 * retryWithBackoff({ onRetry: retryLogger(logger) })
 */
export function retryLogger(logger: Logger, then?: (event: { attempt: number; delay: number; error: unknown }) => void): (event: { attempt: number; delay: number; error: unknown }) => void {
  return (event) => {
    logger.warn({ attempt: event.attempt, delayMs: event.delay, err: loggedError(event.error) }, `replication stream failed; retry ${event.attempt} in ${event.delay} ms`);
    then?.(event);
  };
}
