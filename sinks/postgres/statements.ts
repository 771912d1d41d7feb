import type { ChangeMessage, DeleteMessage, InsertMessage, RelationInfo, TruncateMessage, UpdateMessage } from '../../src/pgoutput/messages';
import type { Row } from '../../src/pgoutput/row';
import { quoteIdent, quoteLiteral } from '../../src/sql';
import type { Lsn } from '../../src/lsn';
import { UnsupportedEventError } from '../internal/errors';

/** A target column's type as `format_type` writes it, by column name. */
export type TargetColumns = ReadonlyMap<string, { readonly typeOid: number; readonly typeName: string }>;

/** `"schema"."table"`. */
export function qualifiedName(r: { schema: string; name: string }): string {
  return `${quoteIdent(r.schema)}.${quoteIdent(r.name)}`;
}

/**
 * A value as a SQL literal of its text: the server's own text output, read back by the target
 * type's input function, so no value passes through JavaScript.
 * @throws {UnsupportedEventError} for a binary-mode value.
 */
function literal(row: Row, i: number, lsn: Lsn): string {
  const kind = row.kind(i);
  if (kind === 'b') {
    throw new UnsupportedEventError(
      `the postgres apply sink needs text-mode values (stream without binary): ${row.relation.schema}.${row.relation.name}.${row.relation.columns[i].name} came in binary`,
      'postgres',
      lsn,
    );
  }
  return quoteLiteral(row.raw(i) as string);
}

function insert(c: InsertMessage, lsn: Lsn): string {
  const names: string[] = [];
  const values: string[] = [];
  c.relation.columns.forEach((col, i) => {
    const kind = c.new.kind(i);
    if (kind === 'u') return;
    names.push(quoteIdent(col.name));
    values.push(kind === 'n' ? 'NULL' : literal(c.new, i, lsn));
  });
  return `INSERT INTO ${qualifiedName(c.relation)} (${names.join(', ')}) VALUES (${values.join(', ')})`;
}

/**
 * The WHERE clause that finds the one row a change names.
 * - With the old row (REPLICA IDENTITY FULL): the first row whose every sent column has the same
 *   text, by `ctid`, so of several identical rows exactly one is changed. Text comparison also
 *   works for types without equality (json, point) and tells `-0` from `0`.
 * - Otherwise by the replica identity key (DEFAULT or INDEX), with `=` so the target's index serves.
 */
function identity(relation: RelationInfo, key: Row | undefined, old: Row | undefined, target: TargetColumns, lsn: Lsn): string {
  const type = (name: string) => target.get(name)!.typeName;
  if (old !== undefined) {
    const conds: string[] = [];
    relation.columns.forEach((col, i) => {
      const kind = old.kind(i);
      if (kind === 'u') return;
      const q = quoteIdent(col.name);
      conds.push(kind === 'n' ? `${q} IS NULL` : `${q}::text = (${literal(old, i, lsn)}::${type(col.name)})::text`);
    });
    const table = qualifiedName(relation);
    return `ctid = (SELECT ctid FROM ${table} WHERE ${conds.join(' AND ') || 'true'} LIMIT 1)`;
  }
  if (key === undefined || relation.keyColumns.length === 0) {
    throw new UnsupportedEventError(`${relation.schema}.${relation.name} has no replica identity to find the row by`, 'postgres', lsn);
  }
  const conds: string[] = [];
  relation.columns.forEach((col, i) => {
    if (!col.isKey) return;
    const q = quoteIdent(col.name);
    conds.push(key.kind(i) === 'n' ? `${q} IS NULL` : `${q} = ${literal(key, i, lsn)}::${type(col.name)}`);
  });
  return conds.join(' AND ');
}

function update(c: UpdateMessage, target: TargetColumns, lsn: Lsn): string {
  const sets: string[] = [];
  c.relation.columns.forEach((col, i) => {
    const kind = c.new.kind(i);
    if (kind === 'u') return; // unchanged TOAST: the target keeps its value
    sets.push(`${quoteIdent(col.name)} = ${kind === 'n' ? 'NULL' : literal(c.new, i, lsn)}`);
  });
  const where = identity(c.relation, c.key ?? c.new, c.old, target, lsn);
  return `UPDATE ${qualifiedName(c.relation)} SET ${sets.join(', ')} WHERE ${where}`;
}

function remove(c: DeleteMessage, target: TargetColumns, lsn: Lsn): string {
  return `DELETE FROM ${qualifiedName(c.relation)} WHERE ${identity(c.relation, c.key, c.old, target, lsn)}`;
}

function truncate(c: TruncateMessage): string {
  const names = c.relations.map(qualifiedName).join(', ');
  return `TRUNCATE ${names}${c.restartIdentity ? ' RESTART IDENTITY' : ''}${c.cascade ? ' CASCADE' : ''}`;
}

/**
 * The SQL statement that applies one change to the target. `target` gives the column types for
 * the casts in WHERE clauses (look them up with `targetColumns`).
 * @throws {UnsupportedEventError} for binary values, or an update/delete without replica identity.
 */
export function changeStatement(c: ChangeMessage, target: TargetColumns, lsn: Lsn): string {
  switch (c.type) {
    case 'insert':
      return insert(c, lsn);
    case 'update':
      return update(c, target, lsn);
    case 'delete':
      return remove(c, target, lsn);
    case 'truncate':
      return truncate(c);
  }
}
