import { quoteIdent, quoteLiteral } from '../sql';
import type { TypeRegistry } from '../values/registry';
import type { PgConnection } from '../wire/connection';
import { BackfillError } from './errors';
import { type PublishedTable, publishedTables } from './tables';

/** A published table a backfill can read in primary-key order. @internal */
export interface BackfillTable extends PublishedTable {
  /** The primary key columns, in index order. */
  readonly primaryKey: readonly string[];
}

/** Splits `schema.table` (or `table`, in `public`); quoted parts are not supported. */
export function splitTableName(name: string): { schema: string; table: string } {
  const dot = name.indexOf('.');
  return dot < 0 ? { schema: 'public', table: name } : { schema: name.slice(0, dot), table: name.slice(dot + 1) };
}

/**
 * Looks `schema.table` up among the publications' tables (with their column lists and row
 * filters, as the snapshot reads them) and finds its primary key.
 * @throws {BackfillError} `not-published`, `no-primary-key` (also when the column list leaves a key
 * column out), or `replica-identity` (NOTHING, or USING INDEX: a Delete would not carry the primary key).
 * @internal
 */
export async function backfillTable(conn: PgConnection, publications: readonly string[], schema: string, table: string, types: TypeRegistry): Promise<BackfillTable> {
  const name = `${schema}.${table}`;
  const found = (await publishedTables(conn, publications, types)).find((t) => t.schema === schema && t.name === table);
  if (found === undefined) {
    throw new BackfillError(`cannot backfill ${name}: publication ${publications.join(', ')} does not publish it, so the stream carries none of its changes`, { table: name, reason: 'not-published' });
  }
  const [pk] = await conn.query(
    `SELECT a.attname FROM pg_catalog.pg_index i
       JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY k(attnum, n) ON true
       JOIN pg_catalog.pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = ${found.relation.oid} AND i.indisprimary
      ORDER BY k.n`,
  );
  const primaryKey = pk.rows.map((r) => r[0]!);
  if (primaryKey.length === 0) {
    throw new BackfillError(`cannot backfill ${name}: it has no primary key, and chunks are read and matched to streamed changes by primary key (add one, or re-read it with initialSnapshot on a new slot)`, { table: name, reason: 'no-primary-key' });
  }
  const missing = primaryKey.filter((k) => !found.relation.columns.some((c) => c.name === k));
  if (missing.length > 0) {
    throw new BackfillError(`cannot backfill ${name}: the publication's column list leaves out primary key column ${missing.join(', ')}`, { table: name, reason: 'no-primary-key' });
  }
  const identity = found.relation.replicaIdentity;
  if (identity !== 'd' && identity !== 'f') {
    throw new BackfillError(`cannot backfill ${name}: its replica identity is ${identity === 'n' ? 'NOTHING' : 'USING INDEX'}, so a streamed Delete does not carry the primary key (use REPLICA IDENTITY DEFAULT or FULL)`, { table: name, reason: 'replica-identity' });
  }
  return { ...found, primaryKey };
}

/**
 * The COPY that reads the next chunk: the published columns of the rows after `after` (the last
 * key read, as text) in primary-key order, at most `limit`, within the row filter.
 * @internal
 */
export function chunkCommand(table: BackfillTable, after: readonly string[] | null, limit: number): string {
  const target = `${table.kind === 'r' ? 'ONLY ' : ''}${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
  const columns = table.relation.columns.map((c) => quoteIdent(c.name)).join(', ');
  const key = table.primaryKey.map(quoteIdent).join(', ');
  const where: string[] = [];
  if (after !== null) where.push(`(${key}) > (${after.map(quoteLiteral).join(', ')})`);
  if (table.rowFilter !== null) where.push(`(${table.rowFilter})`);
  return `COPY (SELECT ${columns} FROM ${target}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${key} LIMIT ${limit}) TO STDOUT`;
}
