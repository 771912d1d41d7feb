// The messages between the server adapter (pg-walstream/sinks/browser) and the browser client
// (pg-walstream/browser). JSON text over WebSocket frames or Server-Sent Events `data:` lines.
// This file is shared by both ends, so it imports nothing.

/** A column value as JSON, written as `pg-walstream stream` writes it (docs/json-output.md). */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** A row: column name to value. A key row holds only the replica identity columns. */
export type JsonRow = Record<string, JsonValue>;

/**
 * One table a client subscribes to, with an optional row predicate: every named column must equal
 * the value given (or one of the values, for an array). Deletes are matched on the old row the
 * server sent (its key columns, or the whole row with REPLICA IDENTITY FULL); updates on the new
 * row or the old one.
 */
export interface TableSubscription {
  /** Default `public`. */
  readonly schema?: string;
  readonly table: string;
  readonly where?: Readonly<Record<string, JsonValue | readonly JsonValue[]>>;
}

/** The first message of a WebSocket client; over SSE the same object travels as `?subscribe=<JSON>`. */
export interface SubscribeRequest {
  readonly type: 'subscribe';
  /** Passed to the server's authorization hook. */
  readonly token?: string;
  readonly tables: readonly TableSubscription[];
  /** Resume after this LSN (`X/Y`): the `lsn` of the last transaction, heartbeat or resync received. */
  readonly from?: string;
}

/** An insert, update or delete, as `pg-walstream stream` writes it, limited to what the browser needs. */
export interface LiveRowChange {
  readonly type: 'insert' | 'update' | 'delete';
  readonly schema: string;
  readonly table: string;
  /** Insert and update: the new row. */
  readonly new?: JsonRow;
  /** Update and delete with REPLICA IDENTITY FULL: the whole old row. */
  readonly old?: JsonRow;
  /** Update (when the key changed) and delete: the old key columns. */
  readonly key?: JsonRow;
  /** Columns left out of a row because their TOASTed value did not change, per row (`new`, `old`). */
  readonly unchangedToast?: Readonly<Record<string, readonly string[]>>;
}

/** TRUNCATE of one table. */
export interface LiveTruncate {
  readonly type: 'truncate';
  readonly schema: string;
  readonly table: string;
  readonly cascade: boolean;
  readonly restartIdentity: boolean;
}

export type LiveChange = LiveRowChange | LiveTruncate;

/** The changes of one committed transaction that this client subscribed to and may see. */
export interface LiveTransaction {
  readonly type: 'transaction';
  /** The transaction's end LSN (`X/Y`): its position in the stream, and the SSE event id. */
  readonly lsn: string;
  /** Commit time, ISO 8601 with microseconds. */
  readonly commitTime: string;
  readonly changes: readonly LiveChange[];
}

/**
 * The client missed changes it cannot get back (its position is older than the server's resume
 * window, or the server lost continuity): reload your state, then apply the transactions that follow,
 * which start right after `lsn`.
 */
export interface LiveResync {
  readonly type: 'resync';
  readonly lsn: string;
  readonly reason: 'behind-window' | 'gap';
}

/** The subscription is active; what follows comes after `lsn`. `heartbeatMs` tells the client how often to expect a sign of life. */
export interface ReadyMessage {
  readonly type: 'ready';
  readonly lsn: string;
  readonly heartbeatMs: number;
}

/** Nothing for this client up to `lsn`: it moves the resume position past transactions it did not subscribe to. */
export interface HeartbeatMessage {
  readonly type: 'heartbeat';
  readonly lsn: string;
}

/** The server refused the subscription; the connection closes and reconnecting would not help. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly code: 'unauthorized' | 'forbidden' | 'bad-request';
  readonly message: string;
}

export type ServerMessage = LiveTransaction | LiveResync | ReadyMessage | HeartbeatMessage | ErrorMessage;

/** WebSocket close codes the server uses (4000–4999 are the application's). */
export const CLOSE_REFUSED = 4003;
export const CLOSE_SLOW = 4008;

/** An LSN `X/Y` as a bigint, or undefined when the text is not one. */
export function lsnValue(text: string): bigint | undefined {
  const m = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text);
  return m ? (BigInt('0x' + m[1]) << 32n) | BigInt('0x' + m[2]) : undefined;
}
