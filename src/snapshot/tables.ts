import * as postgresArray from 'postgres-array';
import type { Column, RelationInfo, ReplicaIdentity } from '../pgoutput/messages';
import { quoteIdent, quoteLiteral } from '../sql';
import type { TypeRegistry } from '../values/registry';
import type { PgConnection } from '../wire/connection';
import { SnapshotError } from './errors';

/** A table the publications publish, as the snapshot reads it. */
export interface PublishedTable {
  readonly schema: string;
  readonly name: string;
  /**
   * The relation as pgoutput's Relation message describes it: the published columns in column
   * order, their types, and which are in the replica identity. Snapshot rows are bound to it.
   */
  readonly relation: RelationInfo;
  /** `p` for a partitioned table published through its root (read with its partitions), `r` otherwise. */
  readonly kind: 'r' | 'p';
  /** The publications' row filter (PostgreSQL 15+), `null` for every row. */
  readonly rowFilter: string | null;
  /** `pg_class.reltuples` (summed over partitions); `null` when the table was never analyzed. */
  readonly estimatedRows: number | null;
}

/**
 * The tables the publications publish, as `pg_publication_tables` lists them: FOR ALL TABLES,
 * FOR TABLES IN SCHEMA and FOR TABLE alike; a partitioned table as its root when
 * `publish_via_partition_root` is on, else its leaf partitions. On PostgreSQL 15+ the column lists
 * (`attnames`) and row filters (`rowfilter`) are applied; a table in several publications gets the
 * union of their columns and its rows pass if any publication's filter passes (none = all rows),
 * as the walsender combines them (`pgoutput_row_filter_init`, `pgoutput_column_list_init`).
 * Run it inside the snapshot's transaction so the list matches the rows.
 * @throws {SnapshotError} when a publication does not exist.
 * @internal
 */
export async function publishedTables(conn: PgConnection, publications: readonly string[], types: TypeRegistry, exclude: readonly string[] = []): Promise<PublishedTable[]> {
  const names = publications.map(quoteLiteral).join(', ');
  const [found] = await conn.query(`SELECT pubname FROM pg_catalog.pg_publication WHERE pubname IN (${names})`);
  const missing = publications.filter((p) => !found.rows.some((r) => r[0] === p));
  if (missing.length > 0) throw new SnapshotError(`publication ${missing.map((p) => JSON.stringify(p)).join(', ')} does not exist`, { code: '42704' });
  const v15 = conn.serverVersionNum >= 150000;
  const [listed] = await conn.query(
    `SELECT c.oid, t.schemaname, t.tablename, c.relkind, ${v15 ? 't.attnames::text, t.rowfilter' : 'NULL, NULL'}
       FROM pg_catalog.pg_publication_tables t
       JOIN pg_catalog.pg_namespace n ON n.nspname = t.schemaname
       JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = t.tablename
      WHERE t.pubname IN (${names})
      ORDER BY t.schemaname, t.tablename`,
  );
  const byOid = new Map<string, { schema: string; name: string; kind: string; columns: Set<string> | null; filters: string[] | null }>();
  for (const [oid, schema, name, kind, attnames, rowFilter] of listed.rows) {
    if (exclude.includes(`${schema}.${name}`)) continue;
    const entry = byOid.get(oid!) ?? { schema: schema!, name: name!, kind: kind!, columns: new Set<string>(), filters: [] };
    byOid.set(oid!, entry);
    if (attnames === null) entry.columns = null;
    else if (entry.columns !== null) for (const a of postgresArray.parse(attnames)) entry.columns.add(a);
    if (rowFilter === null) entry.filters = null;
    else entry.filters?.push(rowFilter);
  }
  const tables: PublishedTable[] = [];
  for (const [oid, t] of byOid) {
    const relation = await relationOf(conn, Number(oid), t.schema, t.name, t.columns, types);
    const rowFilter = t.filters === null || t.filters.length === 0 ? null : t.filters.map((f) => `(${f})`).join(' OR ');
    tables.push({ schema: t.schema, name: t.name, relation, kind: t.kind === 'p' ? 'p' : 'r', rowFilter, estimatedRows: await estimatedRows(conn, Number(oid), t.kind) });
  }
  return tables;
}

/** The relation as a Relation message would describe it (`logicalrep_write_attrs`): generated and dropped columns left out unless listed. */
async function relationOf(conn: PgConnection, oid: number, schema: string, name: string, listed: Set<string> | null, types: TypeRegistry): Promise<RelationInfo> {
  const hasGenerated = conn.serverVersionNum >= 120000;
  const [info] = await conn.query(
    `SELECT a.attname, a.atttypid, a.atttypmod, ${hasGenerated ? "a.attgenerated <> ''" : 'false'},
            c.relreplident::text,
            c.relreplident = 'f' OR EXISTS (SELECT FROM pg_catalog.pg_index i
              WHERE i.indrelid = c.oid AND a.attnum = ANY (i.indkey::int2[])
                AND ((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident)))
       FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid
      WHERE a.attrelid = ${oid} AND a.attnum > 0 AND NOT a.attisdropped
      ORDER BY a.attnum`,
  );
  if (info.rows.length === 0 && listed !== null && listed.size > 0) throw new SnapshotError(`table ${schema}.${name} has no columns`, { table: `${schema}.${name}` });
  const columns: Column[] = [];
  let identity: ReplicaIdentity = 'd';
  for (const [attname, typeOid, typmod, generated, replident, isKey] of info.rows) {
    identity = replident as ReplicaIdentity;
    if (listed !== null ? !listed.has(attname!) : generated === 't') continue;
    columns.push({ name: attname!, typeOid: Number(typeOid), typeModifier: Number(typmod), isKey: isKey === 't' });
  }
  await announceTypes(conn, columns, types);
  return { oid, schema, name, replicaIdentity: identity, columns, keyColumns: columns.filter((c) => c.isKey).map((c) => c.name) };
}

/**
 * Tells the registry the names of non-built-in types, as the walsender's Type messages would
 * (`logicalrep_write_typ` names a domain by its base type), so user parsers by name apply.
 */
async function announceTypes(conn: PgConnection, columns: readonly Column[], types: TypeRegistry): Promise<void> {
  const oids = [...new Set(columns.map((c) => c.typeOid).filter((o) => o >= 16384))];
  if (oids.length === 0) return;
  const [result] = await conn.query(
    `SELECT t.oid, n.nspname, b.typname FROM pg_catalog.pg_type t
       JOIN pg_catalog.pg_type b ON b.oid = CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE t.oid END
       JOIN pg_catalog.pg_namespace n ON n.oid = b.typnamespace
      WHERE t.oid IN (${oids.join(', ')})`,
  );
  for (const [oid, schema, name] of result.rows) types.announce({ oid: Number(oid), schema: schema!, name: name! });
}

async function estimatedRows(conn: PgConnection, oid: number, kind: string): Promise<number | null> {
  const sql =
    kind === 'p'
      ? `SELECT sum(c.reltuples) FILTER (WHERE c.reltuples >= 0), count(*) FILTER (WHERE c.reltuples < 0) FROM pg_catalog.pg_partition_tree(${oid}) p JOIN pg_catalog.pg_class c ON c.oid = p.relid WHERE p.isleaf`
      : `SELECT reltuples, 0 FROM pg_catalog.pg_class WHERE oid = ${oid} AND reltuples >= 0`;
  const [result] = await conn.query(sql);
  const value = result.rows[0]?.[0];
  return value === null || value === undefined ? null : Math.round(Number(value));
}

/** The query that reads a published table: its published columns, its row filter, its partitions through the root. */
export function copyCommand(table: PublishedTable, format: 'text' | 'binary'): string {
  const target = `${quoteIdent(table.schema)}.${quoteIdent(table.name)}`;
  const columns = table.relation.columns.map((c) => quoteIdent(c.name)).join(', ');
  const options = format === 'binary' ? ' (FORMAT binary)' : '';
  if (table.kind === 'r' && table.rowFilter === null) return `COPY ${target} (${columns}) TO STDOUT${options}`;
  const where = table.rowFilter === null ? '' : ` WHERE ${table.rowFilter}`;
  return `COPY (SELECT ${columns} FROM ${table.kind === 'r' ? 'ONLY ' : ''}${target}${where}) TO STDOUT${options}`;
}
