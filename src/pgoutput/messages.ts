import type { Lsn } from '../lsn';
import type { Row } from './row';

/**
 * The pgoutput messages, one interface per tag, as "Logical Replication Message Formats" in the
 * protocol docs defines them (server side: `src/backend/replication/logical/proto.c`).
 * Timestamps are `bigint` microseconds since 2000-01-01 UTC (see `pgTimestampToDate`); xids are
 * unsigned 32-bit numbers.
 */
interface MessageBase {
  /**
   * The WAL position this message was decoded from: the XLogData `walStart`. The walsender sends
   * 0/0 for messages it writes ahead of a record (Relation, Type); those carry the last non-zero
   * position seen instead, so `lsn` never goes backwards within a stream.
   */
  readonly lsn: Lsn;
}

/** Messages that may appear inside a streamed transaction block (protocol v2+) carry its xid. */
interface StreamableBase extends MessageBase {
  /**
   * The xid the server wrote on the message: present only between Stream Start and Stream Stop.
   * It is the xid of the (sub)transaction that made the change, so inside a subtransaction it is
   * the subtransaction's, not the streamed transaction's; see `topXid`.
   */
  readonly xid: number | undefined;
  /** True between Stream Start and Stream Stop, where blocks of several transactions interleave. */
  readonly inStream: boolean;
  /**
   * The streamed top-level transaction the message belongs to: the xid of the Stream Start that
   * opened the block, matched later by Stream Commit, Stream Prepare or Stream Abort. Group by this,
   * not by `xid`. Undefined outside a stream block (the decoder always sets the key).
   */
  readonly topXid?: number;
}

/** A column of a published relation. */
export interface Column {
  readonly name: string;
  readonly typeOid: number;
  /** `atttypmod`, -1 when there is none. */
  readonly typeModifier: number;
  /** Part of the replica identity key (flag bit 1). */
  readonly isKey: boolean;
}

/** `d` default (primary key), `n` nothing, `f` full (all columns), `i` an index. */
export type ReplicaIdentity = 'd' | 'n' | 'f' | 'i';

/** A relation as the last Relation message described it. */
export interface RelationInfo {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
  readonly replicaIdentity: ReplicaIdentity;
  readonly columns: readonly Column[];
  /** Names of the replica identity key columns, in column order. */
  readonly keyColumns: readonly string[];
}

export interface BeginMessage extends MessageBase {
  readonly type: 'begin';
  /** The commit record's LSN. */
  readonly finalLsn: Lsn;
  readonly commitTime: bigint;
  readonly xid: number;
}

export interface CommitMessage extends MessageBase {
  readonly type: 'commit';
  readonly flags: number;
  /** The commit record's LSN. */
  readonly commitLsn: Lsn;
  /** The LSN just past the commit record: the position to acknowledge once the transaction is done. */
  readonly endLsn: Lsn;
  readonly commitTime: bigint;
}

/** The transaction came from another node (replication origin); sent after Begin. */
export interface OriginMessage extends MessageBase {
  readonly type: 'origin';
  /** The commit LSN on the origin server. */
  readonly originLsn: Lsn;
  readonly name: string;
}

export interface RelationMessage extends StreamableBase {
  readonly type: 'relation';
  readonly relation: RelationInfo;
}

/** A data type's name, sent before the first use of a non-built-in type. */
export interface TypeMessage extends StreamableBase {
  readonly type: 'type';
  readonly typeOid: number;
  readonly schema: string;
  readonly name: string;
}

export interface InsertMessage extends StreamableBase {
  readonly type: 'insert';
  readonly relation: RelationInfo;
  readonly new: Row;
}

export interface UpdateMessage extends StreamableBase {
  readonly type: 'update';
  readonly relation: RelationInfo;
  /** The old key columns, when the key changed (REPLICA IDENTITY DEFAULT or INDEX). */
  readonly key: Row | undefined;
  /** The whole old row (REPLICA IDENTITY FULL). */
  readonly old: Row | undefined;
  readonly new: Row;
}

export interface DeleteMessage extends StreamableBase {
  readonly type: 'delete';
  readonly relation: RelationInfo;
  /** The key columns (REPLICA IDENTITY DEFAULT or INDEX). */
  readonly key: Row | undefined;
  /** The whole old row (REPLICA IDENTITY FULL). */
  readonly old: Row | undefined;
}

export interface TruncateMessage extends StreamableBase {
  readonly type: 'truncate';
  readonly relations: readonly RelationInfo[];
  readonly cascade: boolean;
  readonly restartIdentity: boolean;
}

/** A logical decoding message from `pg_logical_emit_message` (needs the `messages` option). */
export interface LogicalMessage extends StreamableBase {
  readonly type: 'message';
  readonly transactional: boolean;
  /** The message record's LSN. */
  readonly messageLsn: Lsn;
  readonly prefix: string;
  readonly content: Buffer;
}

/** Protocol v2+: a block of a large in-progress transaction begins. */
export interface StreamStartMessage extends MessageBase {
  readonly type: 'streamStart';
  readonly xid: number;
  /** The first block of this transaction. */
  readonly firstSegment: boolean;
}

/** Protocol v2+: the current block ends; the transaction is still in progress. */
export interface StreamStopMessage extends MessageBase {
  readonly type: 'streamStop';
}

/** Protocol v2+: a streamed transaction committed. */
export interface StreamCommitMessage extends MessageBase {
  readonly type: 'streamCommit';
  readonly xid: number;
  readonly flags: number;
  readonly commitLsn: Lsn;
  readonly endLsn: Lsn;
  readonly commitTime: bigint;
}

/**
 * Protocol v2+: a streamed transaction, or one of its subtransactions (`subXid !== xid`), aborted.
 * With `streaming: 'parallel'` (v4) the server adds the abort LSN and time.
 */
export interface StreamAbortMessage extends MessageBase {
  readonly type: 'streamAbort';
  readonly xid: number;
  readonly subXid: number;
  readonly abortLsn: Lsn | undefined;
  readonly abortTime: bigint | undefined;
}

/** Protocol v3+ with two_phase: a prepared transaction's changes begin. */
export interface BeginPrepareMessage extends MessageBase {
  readonly type: 'beginPrepare';
  readonly prepareLsn: Lsn;
  readonly endLsn: Lsn;
  readonly prepareTime: bigint;
  readonly xid: number;
  readonly gid: string;
}

/** Protocol v3+: PREPARE TRANSACTION; `streamPrepare` for a streamed one. */
export interface PrepareMessage extends MessageBase {
  readonly type: 'prepare' | 'streamPrepare';
  readonly flags: number;
  readonly prepareLsn: Lsn;
  readonly endLsn: Lsn;
  readonly prepareTime: bigint;
  readonly xid: number;
  readonly gid: string;
}

/** Protocol v3+: COMMIT PREPARED. */
export interface CommitPreparedMessage extends MessageBase {
  readonly type: 'commitPrepared';
  readonly flags: number;
  readonly commitLsn: Lsn;
  readonly endLsn: Lsn;
  readonly commitTime: bigint;
  readonly xid: number;
  readonly gid: string;
}

/** Protocol v3+: ROLLBACK PREPARED. */
export interface RollbackPreparedMessage extends MessageBase {
  readonly type: 'rollbackPrepared';
  readonly flags: number;
  readonly prepareEndLsn: Lsn;
  readonly rollbackEndLsn: Lsn;
  readonly prepareTime: bigint;
  readonly rollbackTime: bigint;
  readonly xid: number;
  readonly gid: string;
}

export type PgoutputMessage =
  | BeginMessage
  | CommitMessage
  | OriginMessage
  | RelationMessage
  | TypeMessage
  | InsertMessage
  | UpdateMessage
  | DeleteMessage
  | TruncateMessage
  | LogicalMessage
  | StreamStartMessage
  | StreamStopMessage
  | StreamCommitMessage
  | StreamAbortMessage
  | BeginPrepareMessage
  | PrepareMessage
  | CommitPreparedMessage
  | RollbackPreparedMessage;

/** Row-level changes. */
export type ChangeMessage = InsertMessage | UpdateMessage | DeleteMessage | TruncateMessage;
