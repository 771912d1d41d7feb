import type { Transaction, TransactionEvent } from '../../operators/buffer-transaction';
import { UnsupportedEventError } from './errors';

/**
 * The committed transaction in `event` that a sink must write, or undefined for an event that
 * passes through untouched (commit/rollback of a prepared transaction, a non-transactional logical
 * message, a stream abort).
 * @throws {UnsupportedEventError} for a `transactionChunk` or a prepared transaction.
 */
export function transactionToWrite(event: TransactionEvent, sink: 'jetstream' | 'redis' | 'postgres'): Transaction | undefined {
  if (event.type === 'transactionChunk') {
    throw new UnsupportedEventError(`the ${sink} sink needs whole transactions: use bufferTransaction with onOverflow 'error' (transaction ${event.xid})`, sink, undefined);
  }
  if (event.type !== 'transaction') return undefined;
  if (event.state === 'prepared') {
    throw new UnsupportedEventError(`the ${sink} sink writes committed transactions only: stream without two_phase (transaction ${event.xid} prepared at ${event.commitLsn.toString()})`, sink, event.commitLsn);
  }
  return event;
}
