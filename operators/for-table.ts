import { type OperatorFunction, filter } from 'rxjs';
import type { ChangeMessage, PgoutputMessage } from '../src/pgoutput/messages';
import { isChangeOf } from '../src/values/relation-key';

/**
 * Keeps the changes of one table: its inserts, updates and deletes, and the truncates that include
 * it. The schema is part of the match (`public.orders` and `audit.orders` are different tables).
 * Compares names only, so it decodes no column value.
 *
 * @example
 * changes.pipe(
 *   forTable('public', 'orders'),
 *   filter((m): m is InsertMessage => m.type === 'insert'),
 *   map((m) => toOrder(m.new)),
 * );
 */
export function forTable(schema: string, table: string): OperatorFunction<PgoutputMessage, ChangeMessage> {
  return filter((m: PgoutputMessage): m is ChangeMessage => isChangeOf(m, schema, table));
}
