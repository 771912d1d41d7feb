import type { Lsn } from '../../src/lsn';
import type { RelationInfo } from '../../src/pgoutput/messages';
import { quoteLiteral } from '../../src/sql';
import type { PgConnection } from '../../src/wire/connection';
import { SchemaDriftError } from './errors';
import { type TargetColumns, qualifiedName } from './statements';

/** Type OIDs below this are built in (`FirstNormalObjectId`), so equal on every server. */
const FIRST_NORMAL_OBJECT_ID = 16384;

/**
 * Reads a table's columns on the target and checks them against the source's Relation message:
 * every published column must exist, and a built-in type must be the same type.
 * @throws {SchemaDriftError} for a missing table, a missing column or a different built-in type.
 */
export async function targetColumns(conn: PgConnection, relation: RelationInfo, lsn: Lsn): Promise<TargetColumns> {
  const name = quoteLiteral(qualifiedName(relation));
  const [result] = await conn.query(
    `SELECT a.attname, a.atttypid::int, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a ` +
      `WHERE a.attrelid = to_regclass(${name}) AND a.attnum > 0 AND NOT a.attisdropped`,
  );
  const table = `${relation.schema}.${relation.name}`;
  if (result.rows.length === 0) throw new SchemaDriftError(`table ${table} does not exist on the target (at ${lsn.toString()})`, lsn, relation.schema, relation.name, undefined);
  const columns = new Map(result.rows.map(([n, oid, type]) => [n as string, { typeOid: Number(oid), typeName: type as string }]));
  for (const col of relation.columns) {
    const target = columns.get(col.name);
    if (target === undefined) {
      throw new SchemaDriftError(`column ${JSON.stringify(col.name)} of ${table} does not exist on the target (at ${lsn.toString()})`, lsn, relation.schema, relation.name, col.name);
    }
    if (col.typeOid < FIRST_NORMAL_OBJECT_ID && target.typeOid !== col.typeOid) {
      throw new SchemaDriftError(
        `column ${JSON.stringify(col.name)} of ${table} has type ${target.typeName} on the target, type OID ${col.typeOid} on the source (at ${lsn.toString()})`,
        lsn,
        relation.schema,
        relation.name,
        col.name,
      );
    }
  }
  return columns;
}
