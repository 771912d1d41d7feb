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

/**
 * A backfill cannot run: the table is not published, has no primary key, has a replica identity
 * that does not carry its primary key (`NOTHING`, or `USING INDEX` on another index), or the
 * watermarks never came back through the stream (the stream was started without pgoutput
 * `messages`). `table` names it (`schema.name`), `reason` says which.
 */
export class BackfillError extends SnapshotError {
  override name = 'BackfillError';
  readonly reason: 'not-published' | 'no-primary-key' | 'replica-identity' | 'watermark-timeout' | 'bad-request';

  constructor(message: string, fields: { table?: string; reason: BackfillError['reason']; code?: string; cause?: unknown }) {
    super(message, fields);
    this.reason = fields.reason;
  }
}
