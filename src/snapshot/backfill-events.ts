import type { Lsn } from '../lsn';
import type { RelationInfo } from '../pgoutput/messages';
import type { Row } from '../pgoutput/row';

/** A backfill's progress: rows emitted and chunks finished so far, counting those of earlier runs. */
export interface BackfillProgress {
  readonly rows: number;
  readonly chunks: number;
}

/** A backfill of a table begins (or resumes after its last finished chunk). */
export interface BackfillStartEvent {
  readonly type: 'backfillStart';
  /** Identifies the event to `settleSnapshotEvent` (`ackOnCommit` calls it); kept by copies. */
  readonly settleId: number;
  /** The request's id: a finished backfill with this id is never run again. */
  readonly id: string;
  readonly schema: string;
  readonly table: string;
  readonly relation: RelationInfo;
  /** The primary key columns, in key order: chunks are read in this order. */
  readonly primaryKey: readonly string[];
  /** Where it resumes: the progress of earlier runs (zeros for a new backfill). */
  readonly progress: BackfillProgress;
  /** `pg_class.reltuples` (summed over partitions), `null` when never analyzed. */
  readonly estimatedRows: number | null;
}

/**
 * The rows of one primary-key chunk that no streamed change overtook, shaped like an Insert's
 * `new` (the same `Row` API and type decoding as streamed rows). It takes the place of the high
 * watermark's transaction in the stream: every change before it was emitted before it, and it
 * carries that transaction's `endLsn` and `ticket`, so `ackOnCommit` confirms the slot past the
 * chunk only once the chunk's work is done, in order with the transactions around it.
 */
export interface BackfillRowsEvent {
  readonly type: 'backfillRows';
  /** Identifies the event to `settleSnapshotEvent` (`ackOnCommit` calls it); kept by copies. */
  readonly settleId: number;
  readonly id: string;
  readonly schema: string;
  readonly table: string;
  readonly relation: RelationInfo;
  readonly rows: readonly Row[];
  /** 0 for the first chunk of the backfill (counting chunks of earlier runs). */
  readonly chunk: number;
  /** Rows the chunk read; `rows` holds those left after the keys the stream changed were dropped. */
  readonly read: number;
  /** The high watermark transaction's end: what `ackOnCommit` confirms once this event is done. */
  readonly endLsn: Lsn;
  /** The high watermark transaction's place in `bufferTransaction`'s order (see `AckTicket`). */
  readonly ticket: unknown;
  /** Progress including this chunk. */
  readonly progress: BackfillProgress;
}

/** Every row of the table has been emitted (by this run or earlier ones); recorded as done. */
export interface BackfillEndEvent {
  readonly type: 'backfillEnd';
  /** Identifies the event to `settleSnapshotEvent` (`ackOnCommit` calls it); kept by copies. */
  readonly settleId: number;
  readonly id: string;
  readonly schema: string;
  readonly table: string;
  readonly progress: BackfillProgress;
}

/** What the `backfill` operator adds to the stream. */
export type BackfillEvent = BackfillStartEvent | BackfillRowsEvent | BackfillEndEvent;

/** A backfill to run: the table (`schema.table`, or `table` for `public`), and an id (default: the table). */
export interface BackfillRequest {
  readonly table: string;
  /** A finished backfill with this id is never run again; give a new id to read the table again. Default: `schema.table`. */
  readonly id?: string;
}
