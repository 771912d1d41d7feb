import { WalstreamError } from '../../src/errors';
import type { Lsn } from '../../src/lsn';

/**
 * A sink could not write a transaction durably: the engine refused it, or kept failing past the
 * retry budget. `lsn` is the commit LSN of the transaction that was being written; nothing at or
 * after it was acknowledged to the source, so a restart writes it again.
 */
export class SinkError extends WalstreamError {
  override name = 'SinkError';
  constructor(
    message: string,
    readonly sink: 'jetstream' | 'redis' | 'postgres',
    readonly lsn: Lsn | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * The event cannot go into a sink: a `transactionChunk` (a sink needs whole transactions, so use
 * `onOverflow: 'error'`), a prepared transaction (use `twoPhase: false`), or a binary-mode value
 * where the sink needs the server's text (`binary: false`).
 */
export class UnsupportedEventError extends SinkError {
  override name = 'UnsupportedEventError';
}
