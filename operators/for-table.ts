import { type MonoTypeOperatorFunction, map } from 'rxjs';
import { isChangeOf } from '../src/values/relation-key';
import type { TransactionEvent } from './buffer-transaction';

/**
 * Narrows each transaction to the changes of one table: its inserts, updates and deletes, and the
 * truncates that include it. The schema is part of the match (`public.orders` and `audit.orders`
 * are different tables). Compares names only, so it decodes no column value.
 *
 * Transaction-aware: it works on `bufferTransaction`'s events and passes *every* event on — a
 * transaction without a change of the table comes through with `changes: []` — so `ackOnCommit`
 * still sees each one and the slot advances (a plain `filter` would hold it, see `ackOnCommit`).
 * Narrowed events are copies that keep their `ticket`. `transactionChunk`s are narrowed the same
 * way; other events pass unchanged. For a raw `parsePgoutput` stream, where nothing is
 * acknowledged, use `filter((m) => isChangeOf(m, schema, table))`.
 *
 * @example
 * events$.pipe(
 *   forTable('public', 'orders'),
 *   concatMap(async (event) => {
 *     if (event.type === 'transaction') for (const c of event.changes) await applyOrder(c);
 *     return event;
 *   }),
 *   ackOnCommit(feedback),
 * );
 * @see ackOnCommit
 */
export function forTable(schema: string, table: string): MonoTypeOperatorFunction<TransactionEvent> {
  return map((event) => {
    if (event.type !== 'transaction' && event.type !== 'transactionChunk') return event;
    const changes = event.changes.filter((c) => isChangeOf(c, schema, table));
    return changes.length === event.changes.length ? event : { ...event, changes };
  });
}
