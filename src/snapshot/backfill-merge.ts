import type { ChangeMessage } from '../pgoutput/messages';
import type { Row } from '../pgoutput/row';
import { UNCHANGED_TOAST } from '../pgoutput/row';

/**
 * The pure part of a watermark backfill (DBLog, "Watermark-based Change Data Capture"): which rows
 * of a chunk read between a low and a high watermark may still be emitted, given the changes the
 * stream carried around it. No I/O here; the `backfill` operator feeds it.
 * @internal
 */

/**
 * A transaction snapshot as `pg_current_snapshot()` prints it (`xmin:xmax:xip,...`), with the
 * 64-bit transaction ids reduced to the 32-bit ones pgoutput sends (Begin's xid).
 */
export interface XidSnapshot {
  readonly xmin: number;
  readonly xmax: number;
  readonly xip: ReadonlySet<number>;
}

/**
 * Parses `pg_current_snapshot()::text` ("pg_snapshot", PostgreSQL 13+): `xmin:xmax:xip1,xip2`.
 * @throws {Error} for text of another shape.
 */
export function parseXidSnapshot(text: string): XidSnapshot {
  const m = /^(\d+):(\d+):([\d,]*)$/.exec(text.trim());
  if (m === null) throw new Error(`not a pg_snapshot: ${JSON.stringify(text)}`);
  const low32 = (s: string) => Number(BigInt(s) & 0xffffffffn);
  return { xmin: low32(m[1]), xmax: low32(m[2]), xip: new Set(m[3] === '' ? [] : m[3].split(',').map(low32)) };
}

/**
 * Whether a transaction that committed (32-bit `xid`) is visible in `snapshot`: it is older than
 * `xmax` (modulo 2^32, as `TransactionIdPrecedes` compares) and was not in progress (`xip`).
 * Follows `XidInMVCCSnapshot` in `src/backend/utils/time/snapmgr.c`.
 */
export function visibleIn(snapshot: XidSnapshot, xid: number): boolean {
  const precedesXmax = ((xid - snapshot.xmax) | 0) < 0;
  return precedesXmax && !snapshot.xip.has(xid);
}

/** Canonical text of one decoded key value, equal for equal values whatever the wire format. */
function keyPart(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `${value}`;
  if (typeof value === 'number') return Number.isInteger(value) ? `${value}` : JSON.stringify(value);
  if (typeof value === 'string') return JSON.stringify(value);
  if (Buffer.isBuffer(value)) return `\\x${value.toString('hex')}`;
  if (value instanceof Date) return `@${value.getTime()}`;
  return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}` : v));
}

/**
 * The identity of a row by its primary key: the decoded values of `keyColumns`, joined. Returns
 * undefined when the row lacks a key column (an Update's new tuple with an unchanged TOASTed key,
 * which cannot happen for the key of the replica identity).
 */
export function rowKey(row: Row, keyColumns: readonly string[]): string | undefined {
  let key = '';
  for (const column of keyColumns) {
    let value: unknown;
    try {
      value = row.get(column);
    } catch {
      return undefined;
    }
    if (value === UNCHANGED_TOAST) return undefined;
    key += `${keyPart(value)}\u0000`;
  }
  return key;
}

/** What transactions changed in the table under backfill. */
export interface KeyChanges {
  /** Primary keys of the rows changed. */
  keys: Set<string>;
  /** A TRUNCATE of the table. */
  all: boolean;
  /** A change whose key could not be read (a TOASTed key not sent): the chunk must be read again. */
  unknown: boolean;
}

/** An empty {@link KeyChanges}. */
export function noChanges(): KeyChanges {
  return { keys: new Set(), all: false, unknown: false };
}

/**
 * Adds to `into` the primary keys of `schema.table`'s rows that `changes` touched: an Insert's new
 * row, an Update's new row and old key (a key may change), a Delete's old key. A TRUNCATE of the
 * table sets `all`. Changes of other tables are ignored.
 */
export function collectKeys(changes: readonly ChangeMessage[], schema: string, table: string, keyColumns: readonly string[], into: KeyChanges): void {
  for (const c of changes) {
    if (c.type === 'truncate') {
      if (c.relations.some((r) => r.schema === schema && r.name === table)) into.all = true;
      continue;
    }
    if (c.relation.schema !== schema || c.relation.name !== table) continue;
    const rows = c.type === 'insert' ? [c.new] : c.type === 'update' ? [c.new, c.key ?? c.old] : [c.key ?? c.old];
    for (const row of rows) {
      if (row === undefined) continue;
      const key = rowKey(row, keyColumns);
      if (key === undefined) into.unknown = true; // no key to match: the chunk cannot be trusted
      else into.keys.add(key);
    }
  }
}

/** The changes the stream carried while one chunk was in flight. */
export interface ChunkWindow {
  /** Keys changed by transactions between the low and the high watermark. */
  readonly inside: KeyChanges;
  /** Keys changed by transactions seen before the low watermark (since the chunk began), by xid. */
  readonly before: ReadonlyArray<{ readonly xid: number; readonly changes: KeyChanges }>;
}

/**
 * The rows of a chunk that may be emitted at the high watermark: those whose key no transaction in
 * the window changed (the stream's version wins: it is at least as new as the chunk's), nor a
 * transaction seen before the low watermark that the chunk's snapshot does not see (its commit
 * record preceded the low watermark's, but it left the proc array only after the chunk's snapshot
 * was taken, so the chunk holds the older version). A TRUNCATE in either drops the whole chunk.
 * Dropping is always safe: every dropped key has a committed change in the stream before the
 * high watermark, and the consumer already has that version. Returns `undefined` when a change's
 * key could not be read: nothing of the chunk may be emitted, and it is read again.
 */
export function mergeChunk(rows: readonly Row[], keyColumns: readonly string[], window: ChunkWindow, snapshot: XidSnapshot): Row[] | undefined {
  const drop = new Set(window.inside.keys);
  let all = window.inside.all;
  let unknown = window.inside.unknown;
  for (const b of window.before) {
    if (visibleIn(snapshot, b.xid)) continue;
    all ||= b.changes.all;
    unknown ||= b.changes.unknown;
    for (const k of b.changes.keys) drop.add(k);
  }
  if (unknown) return undefined;
  if (all) return [];
  if (drop.size === 0) return [...rows];
  return rows.filter((r) => {
    const key = rowKey(r, keyColumns);
    return key !== undefined && !drop.has(key);
  });
}
