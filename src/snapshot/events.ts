import type { Lsn } from '../lsn';
import type { RelationInfo } from '../pgoutput/messages';
import type { Row } from '../pgoutput/row';

/** Rows and bytes read so far. Bytes are COPY data bytes as received. */
export interface SnapshotProgress {
  readonly rows: number;
  readonly bytes: number;
}

/** The snapshot begins: the slot exists, its exported snapshot is imported by every reader. */
export interface SnapshotStartEvent {
  readonly type: 'snapshotStart';
  /** Identifies the event to `settleSnapshotEvent` (`ackOnCommit` calls it); kept by copies. */
  readonly settleId: number;
  readonly slot: string;
  /** The slot's consistent point: the stream continues from here, each change after the snapshot once. */
  readonly consistentPoint: Lsn;
  /** The exported snapshot's name (`SET TRANSACTION SNAPSHOT`). */
  readonly snapshotName: string;
  /** Every table to be read, `schema.name`. */
  readonly tables: readonly string[];
  /** Sum of `pg_class.reltuples` over the tables (those never analyzed count 0). */
  readonly estimatedRows: number;
}

/** A table's COPY begins. */
export interface SnapshotTableStartEvent {
  readonly type: 'snapshotTableStart';
  /** Identifies the event to `settleSnapshotEvent` (`ackOnCommit` calls it); kept by copies. */
  readonly settleId: number;
  readonly schema: string;
  readonly table: string;
  readonly relation: RelationInfo;
  /** `pg_class.reltuples` (summed over partitions), `null` when never analyzed. */
  readonly estimatedRows: number | null;
}

/**
 * Rows of a table as they were at the snapshot (or, in a backfill, at a chunk's read), shaped like
 * an Insert's `new`: the same `Row` API and type decoding as streamed rows.
 */
export interface SnapshotRowsEvent {
  readonly type: 'snapshotRows';
  /** Identifies the event to `settleSnapshotEvent` (`ackOnCommit` calls it); kept by copies. */
  readonly settleId: number;
  readonly schema: string;
  readonly table: string;
  readonly relation: RelationInfo;
  readonly rows: readonly Row[];
  /** The table's progress including these rows. */
  readonly progress: SnapshotProgress;
}

/** A table's COPY ended: every row of it has been emitted. */
export interface SnapshotTableEndEvent {
  readonly type: 'snapshotTableEnd';
  /** Identifies the event to `settleSnapshotEvent` (`ackOnCommit` calls it); kept by copies. */
  readonly settleId: number;
  readonly schema: string;
  readonly table: string;
  readonly progress: SnapshotProgress;
}

/** Every table has been read; the stream goes on from `consistentPoint`. */
export interface SnapshotCompleteEvent {
  readonly type: 'snapshotComplete';
  /** Identifies the event to `settleSnapshotEvent` (`ackOnCommit` calls it); kept by copies. */
  readonly settleId: number;
  readonly slot: string;
  readonly consistentPoint: Lsn;
  readonly progress: SnapshotProgress;
}

/** What {@link initialSnapshot} emits, in this order: start, then per table start, rows..., end (tables interleave when read in parallel), then complete. */
export type SnapshotEvent = SnapshotStartEvent | SnapshotTableStartEvent | SnapshotRowsEvent | SnapshotTableEndEvent | SnapshotCompleteEvent;
