import { WalstreamError } from '../errors';

/**
 * The initial snapshot or a backfill failed: a table could not be read, COPY data did not fit the
 * table's columns, or the slot is in a state the snapshot cannot start from. `table` names the
 * table (`schema.name`) when one is at fault, `offset` the byte offset in the CopyData message for
 * malformed data, `code` the SQLSTATE when the server refused (the server's error is the `cause`).
 */
export class SnapshotError extends WalstreamError {
  override name = 'SnapshotError';
  readonly table?: string;
  readonly offset?: number;
  readonly code?: string;

  constructor(message: string, fields: { table?: string; offset?: number; code?: string; cause?: unknown } = {}) {
    super(message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.table = fields.table;
    this.offset = fields.offset;
    this.code = fields.code;
  }
}
