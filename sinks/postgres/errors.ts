import type { Lsn } from '../../src/lsn';
import { SinkError } from '../internal/errors';

/**
 * The target does not match the source: a missing table or column, or a column of another type.
 * Nothing of the transaction was applied. `lsn` is the source transaction's commit LSN.
 */
export class SchemaDriftError extends SinkError {
  override name = 'SchemaDriftError';
  constructor(
    message: string,
    lsn: Lsn,
    readonly schema: string,
    readonly table: string,
    readonly column: string | undefined,
  ) {
    super(message, 'postgres', lsn);
  }
}

/**
 * An UPDATE or DELETE found no row to change on the target: the target's data differs from the
 * source's. The target transaction was rolled back; nothing of it was applied.
 */
export class ApplyConflictError extends SinkError {
  override name = 'ApplyConflictError';
  constructor(
    message: string,
    lsn: Lsn,
    readonly schema: string,
    readonly table: string,
  ) {
    super(message, 'postgres', lsn);
  }
}
