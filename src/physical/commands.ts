import { PgError, ProtocolError } from '../errors';
import { Lsn } from '../lsn';
import { quoteIdent } from '../sql';
import type { PgConnection, QueryResult } from '../wire/connection';
import { parseWalSegmentSize } from './wal-names';

/**
 * Replication commands of a physical walsender ("Streaming Replication Protocol"), run on a
 * `replication=true` connection, in the syntax of the connected server's version
 * (`src/backend/replication/repl_gram.y`).
 */

/** `START_REPLICATION [SLOT s] PHYSICAL X/Y [TIMELINE n]`. */
export function startPhysicalReplicationCommand(start: Lsn, options: { slot?: string; timeline?: number } = {}): string {
  const slot = options.slot ? `SLOT ${quoteIdent(options.slot)} ` : '';
  const timeline = options.timeline ? ` TIMELINE ${options.timeline}` : '';
  return `START_REPLICATION ${slot}PHYSICAL ${start.toString()}${timeline}`;
}

/** `CREATE_REPLICATION_SLOT s PHYSICAL` reserving WAL at once: `(RESERVE_WAL)` on 15+, the keyword on older servers. */
export function createPhysicalSlotCommand(slot: string, serverVersion: number, temporary = false): string {
  const sql = `CREATE_REPLICATION_SLOT ${quoteIdent(slot)}${temporary ? ' TEMPORARY' : ''} PHYSICAL`;
  return serverVersion >= 150000 ? `${sql} (RESERVE_WAL)` : `${sql} RESERVE_WAL`;
}

/** A physical slot's position, from `READ_REPLICATION_SLOT` (PostgreSQL 15+). */
export interface SlotPosition {
  /** Where the slot holds WAL from; undefined when it reserves none yet. */
  restartLsn?: Lsn;
  /** The timeline of `restartLsn`. */
  restartTimeline?: number;
}

/**
 * Runs `READ_REPLICATION_SLOT` as pg_receivewal's `GetSlotInformation` does.
 * @throws {PgError} 42704 when the slot does not exist, or 22023 when it is not a physical slot.
 */
export async function readReplicationSlot(conn: PgConnection, slot: string): Promise<SlotPosition> {
  const row = firstRow(await conn.query(`READ_REPLICATION_SLOT ${quoteIdent(slot)}`));
  if (row === undefined || row[0] === null) throw new PgError({ code: '42704', message: `replication slot "${slot}" does not exist` });
  if (row[0] !== 'physical') throw new PgError({ code: '22023', message: `replication slot "${slot}" is a ${row[0]} slot, not a physical one` });
  return {
    restartLsn: row[1] === null ? undefined : Lsn.parse(row[1]),
    restartTimeline: row[2] === null ? undefined : Number(row[2]),
  };
}

/** `SHOW wal_segment_size`, in bytes. */
export async function showWalSegmentSize(conn: PgConnection): Promise<number> {
  const row = firstRow(await conn.query('SHOW wal_segment_size'));
  if (row?.[0] == null) throw new ProtocolError('SHOW wal_segment_size returned no value');
  return parseWalSegmentSize(row[0]);
}

/** A timeline history file as `TIMELINE_HISTORY` returns it. */
export interface TimelineHistory {
  /** `00000002.history` */
  fileName: string;
  content: Buffer;
}

/** Runs `TIMELINE_HISTORY n` (the history file of timeline n > 1). */
export async function timelineHistory(conn: PgConnection, timeline: number): Promise<TimelineHistory> {
  const row = firstRow(await conn.query(`TIMELINE_HISTORY ${timeline}`));
  if (row === undefined || row[0] === null || row[1] === null) throw new ProtocolError(`TIMELINE_HISTORY ${timeline} returned no file`);
  return { fileName: row[0], content: Buffer.from(row[1], 'utf8') };
}

function firstRow(results: QueryResult[]): (string | null)[] | undefined {
  return results.find((r) => r.rows.length > 0)?.rows[0];
}
