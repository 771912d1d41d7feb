import type { ChangeMessage, PgoutputMessage, RelationInfo } from '../pgoutput/messages';

const PLAIN = /^[a-z_][a-z0-9_$]*$/;

function ident(name: string): string {
  return PLAIN.test(name) ? name : `"${name.replace(/"/g, '""')}"`;
}

/**
 * A relation's routing key: `schema.table`, each part double-quoted as SQL would need it (so
 * `"My Schema"."a.b"` can never collide with another table). Stable for the relation's name,
 * unlike its OID.
 *
 * @example
 * changes.pipe(groupBy((m) => relationKey(m.relation))); // public.orders, sales."Order Lines", ...
 */
export function relationKey(relation: Pick<RelationInfo, 'schema' | 'name'>): string {
  return `${ident(relation.schema)}.${ident(relation.name)}`;
}

/**
 * True for an insert, update or delete of this table, or a truncate that includes it. Compares
 * names only, so it decodes no value.
 *
 * @example
 * changes.pipe(filter((m) => isChangeOf(m, 'public', 'orders')));
 */
export function isChangeOf(msg: PgoutputMessage, schema: string, table: string): msg is ChangeMessage {
  switch (msg.type) {
    case 'insert':
    case 'update':
    case 'delete':
      return msg.relation.name === table && msg.relation.schema === schema;
    case 'truncate':
      return msg.relations.some((r) => r.name === table && r.schema === schema);
    default:
      return false;
  }
}
