import { ProtocolError } from '../errors';
import { Lsn } from '../lsn';
import { quoteSlotName } from '../sql';
import type { PgConnection, QueryResult } from '../wire/connection';
import { parseWalSegmentSize } from './wal-names';

/**
 * Replication commands only a physical walsender needs ("Streaming Replication Protocol"), run on
 * a `replication=true` connection, in the syntax of the connected server's version
 * (`src/backend/replication/repl_gram.y`). IDENTIFY_SYSTEM, READ_REPLICATION_SLOT and
 * TIMELINE_HISTORY live in src/control/commands.ts, shared with `ReplicationClient`.
 */

/** `START_REPLICATION [SLOT s] PHYSICAL X/Y [TIMELINE n]`. */
export function startPhysicalReplicationCommand(start: Lsn, options: { slot?: string; timeline?: number } = {}): string {
  const slot = options.slot ? `SLOT ${quoteSlotName(options.slot)} ` : '';
  const timeline = options.timeline ? ` TIMELINE ${options.timeline}` : '';
  return `START_REPLICATION ${slot}PHYSICAL ${start.toString()}${timeline}`;
}

/** `SHOW wal_segment_size`, in bytes. */
export async function showWalSegmentSize(conn: PgConnection): Promise<number> {
  const row = firstRow(await conn.query('SHOW wal_segment_size'));
  if (row?.[0] == null) throw new ProtocolError('SHOW wal_segment_size returned no value');
  return parseWalSegmentSize(row[0]);
}

function firstRow(results: QueryResult[]): (string | null)[] | undefined {
  return results.find((r) => r.rows.length > 0)?.rows[0];
}
