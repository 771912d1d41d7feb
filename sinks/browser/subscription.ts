import type { JsonRow, JsonValue, LiveChange, SubscribeRequest, TableSubscription } from '../../browser/protocol';
import { lsnValue } from '../../browser/protocol';
import type { EncodedChange } from './window';

/** A row-level filter from the authorization hook: sees the row a change reveals (new for insert/update, old or key for delete). */
export type RowPredicate = (row: JsonRow, change: LiveChange) => boolean;

/** What a client receives of one table: the client's own `where`, and the server's row predicate. */
export interface TableFilter {
  readonly where: TableSubscription['where'];
  readonly allow: RowPredicate | undefined;
}

/** A subscribe request that passed validation. */
export interface ValidRequest {
  readonly token: string | undefined;
  readonly tables: readonly { readonly schema: string; readonly table: string; readonly where: TableSubscription['where'] }[];
  readonly from: bigint | undefined;
}

/** Checks a subscribe request from the network; returns a message for the client when it is malformed. */
export function validateRequest(input: unknown, maxTables: number): ValidRequest | string {
  if (typeof input !== 'object' || input === null) return 'the subscription must be a JSON object';
  const r = input as Partial<SubscribeRequest>;
  if (r.token !== undefined && typeof r.token !== 'string') return 'token must be a string';
  if (!Array.isArray(r.tables) || r.tables.length === 0) return 'tables must be a non-empty array';
  if (r.tables.length > maxTables) return `at most ${maxTables} tables`;
  const tables: ValidRequest['tables'][number][] = [];
  for (const t of r.tables as unknown[]) {
    const s = t as Partial<TableSubscription>;
    if (typeof t !== 'object' || t === null || typeof s.table !== 'string' || (s.schema !== undefined && typeof s.schema !== 'string')) return 'each table must be { schema?, table, where? }';
    if (s.where !== undefined && (typeof s.where !== 'object' || s.where === null || Array.isArray(s.where))) return `where of ${s.table} must be an object of column to value`;
    tables.push({ schema: s.schema ?? 'public', table: s.table, where: s.where });
  }
  let from: bigint | undefined;
  if (r.from !== undefined) {
    from = typeof r.from === 'string' ? lsnValue(r.from) : undefined;
    if (from === undefined) return `from must be an LSN like 16/B374D900`;
  }
  return { token: r.token, tables, from };
}

/**
 * The text of a change for a client with this filter, or undefined when the client must not get
 * it. The authorization predicate sees the row the change reveals (new for insert and update, old
 * or key for delete); an update's old values are left out unless they pass it too. The client's
 * `where` matches the new row or, for updates, the old one. Truncates reveal no row and pass.
 */
export function visibleText(encoded: EncodedChange, filter: TableFilter): string | undefined {
  const change = encoded.change;
  if (change.type === 'truncate') return encoded.text;
  const old = change.old ?? change.key;
  if (filter.where !== undefined && !((change.new !== undefined && matches(change.new, filter.where)) || (old !== undefined && matches(old, filter.where)))) return undefined;
  if (filter.allow === undefined) return encoded.text;
  const revealed = change.new ?? old;
  if (revealed === undefined || !filter.allow(revealed, change)) return undefined;
  if (change.new === undefined || old === undefined || filter.allow(old, change)) return encoded.text;
  const { old: _old, key: _key, ...rest } = change;
  return JSON.stringify(rest);
}

function matches(row: JsonRow, where: NonNullable<TableSubscription['where']>): boolean {
  for (const [column, wanted] of Object.entries(where)) {
    if (!(column in row)) return false;
    const value = row[column];
    if (Array.isArray(wanted) ? !wanted.some((w) => same(value, w)) : !same(value, wanted as JsonValue)) return false;
  }
  return true;
}

function same(a: JsonValue, b: JsonValue): boolean {
  return a === b || (typeof a === 'object' && a !== null && typeof b === 'object' && b !== null && JSON.stringify(a) === JSON.stringify(b));
}
