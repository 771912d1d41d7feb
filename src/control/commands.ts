import { ConfigurationError, PgError } from '../errors';
import { Lsn } from '../lsn';
import { quoteSlotName } from '../sql';
import type { PgConnection, QueryResult } from '../wire/connection';

/**
 * The one command layer for the walsender's informational commands ("Streaming Replication
 * Protocol"): IDENTIFY_SYSTEM, READ_REPLICATION_SLOT and TIMELINE_HISTORY. `ReplicationClient`
 * and `physicalReplication` both call these, so each command has one result shape:
 * file names are `fileName`, a missing slot is `undefined` (never an error made up here), and
 * every error comes from the server (`PgError`) or from an answer that breaks the protocol.
 */

/** IDENTIFY_SYSTEM's answer. */
export interface SystemIdentity {
  /** The cluster's unique system identifier, a 64-bit number as a decimal string. */
  systemId: string;
  /** The current timeline ID. */
  timeline: number;
  /** The current WAL flush position. */
  xlogPos: Lsn;
  /** The connected database, or null on a physical replication connection. */
  dbName: string | null;
}

/** READ_REPLICATION_SLOT's answer for a slot that exists. */
export interface ReplicationSlotInfo {
  /** `physical` (READ_REPLICATION_SLOT does not describe logical slots). */
  slotType: string;
  /** The oldest WAL position the slot retains, null before it has reserved WAL. */
  restartLsn: Lsn | null;
  /** The timeline of `restartLsn`, null with it. */
  restartTimeline: number | null;
}

/** One line of a timeline history file: `timeline` ended at `switchpoint`, where the next began. */
export interface TimelineHistoryEntry {
  timeline: number;
  switchpoint: Lsn;
  reason: string;
}

/** TIMELINE_HISTORY's answer. */
export interface TimelineHistory {
  /** The history file's name, e.g. `00000002.history`. */
  fileName: string;
  /** The file as the server stored it. */
  content: string;
  /** Its lines, parsed. */
  entries: TimelineHistoryEntry[];
}

/**
 * Runs IDENTIFY_SYSTEM.
 * @throws {PgError} XX000 when the server answers without a row.
 * @internal
 */
export async function identifySystem(conn: PgConnection): Promise<SystemIdentity> {
  const row = firstRow(await conn.query('IDENTIFY_SYSTEM'), 'IDENTIFY_SYSTEM');
  return { systemId: row[0] ?? '', timeline: Number(row[1]), xlogPos: Lsn.parse(row[2] ?? ''), dbName: row[3] ?? null };
}

/**
 * Runs READ_REPLICATION_SLOT (PostgreSQL 15+) as pg_receivewal's `GetSlotInformation` does.
 * Resolves to `undefined` when no slot has that name (the server answers with a row of NULLs).
 * @throws {PgError} 0A000 for a logical slot, which the command does not describe.
 * @internal
 */
export async function readReplicationSlot(conn: PgConnection, name: string): Promise<ReplicationSlotInfo | undefined> {
  const row = firstRow(await conn.query(`READ_REPLICATION_SLOT ${quoteSlotName(name)}`), 'READ_REPLICATION_SLOT');
  if (row[0] === null) return undefined;
  return { slotType: row[0] ?? '', restartLsn: row[1] === null ? null : Lsn.parse(row[1] ?? ''), restartTimeline: row[2] === null ? null : Number(row[2]) };
}

/**
 * Runs TIMELINE_HISTORY: the history file of timeline `tli` (2 or later; timeline 1 has none).
 * @throws {ConfigurationError} before sending, for a timeline that is not a 32-bit number above 0.
 * @throws {PgError} 58P01 when the server has no history file for it.
 * @internal
 */
export async function timelineHistory(conn: PgConnection, tli: number): Promise<TimelineHistory> {
  if (!Number.isInteger(tli) || tli < 1 || tli > 0xffffffff) throw new ConfigurationError(`invalid timeline ${tli}`);
  const row = firstRow(await conn.query(`TIMELINE_HISTORY ${tli}`), 'TIMELINE_HISTORY');
  const content = row[1] ?? '';
  return { fileName: row[0] ?? '', content, entries: parseTimelineHistory(content) };
}

/**
 * Parses a timeline history file: `parentTLI<TAB>switchpoint<TAB>reason` lines; `#` comments and
 * blank lines are skipped (PostgreSQL's `readTimeLineHistory`).
 * @throws {LsnFormatError} for a switchpoint that is not an LSN.
 * @example
 * parseTimelineHistory('1\t0/3000158\tno recovery target specified\n');
 * // [{ timeline: 1, switchpoint: Lsn(0/3000158), reason: 'no recovery target specified' }]
 */
export function parseTimelineHistory(content: string): TimelineHistoryEntry[] {
  const entries: TimelineHistoryEntry[] = [];
  for (const line of content.split('\n')) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const [tli, switchpoint, ...reason] = trimmed.split('\t');
    entries.push({ timeline: Number(tli), switchpoint: Lsn.parse(switchpoint ?? ''), reason: reason.join('\t').trim() });
  }
  return entries;
}

/** @internal */
export function firstRow(results: QueryResult[], command: string): (string | null)[] {
  const row = results.find((r) => r.rows.length > 0)?.rows[0];
  if (row === undefined) throw new PgError({ code: 'XX000', message: `${command} returned no row` });
  return row;
}
