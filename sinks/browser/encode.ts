import { type ChangeMessage } from '../../src';
import { messageToJson } from '../../src/values';
import type { JsonRow, LiveChange, LiveRowChange } from '../../browser/protocol';
import type { EncodedChange } from './window';

/**
 * A transaction's changes as the browser receives them: rows as `pg-walstream stream` writes them
 * (messageToJson), one truncate per table, without the stream bookkeeping (xid, inStream).
 *
 * @throws {ColumnValueError} for a value that cannot be decoded.
 */
export function encodeChanges(changes: readonly ChangeMessage[]): EncodedChange[] {
  const out: EncodedChange[] = [];
  for (const msg of changes) {
    if (msg.type === 'truncate') {
      for (const r of msg.relations) {
        const change: LiveChange = { type: 'truncate', schema: r.schema, table: r.name, cascade: msg.cascade, restartIdentity: msg.restartIdentity };
        out.push({ table: `${r.schema}.${r.name}`, change, text: JSON.stringify(change) });
      }
      continue;
    }
    const json = messageToJson(msg);
    const change: LiveRowChange = {
      type: msg.type,
      schema: msg.relation.schema,
      table: msg.relation.name,
      ...(json.new === undefined ? {} : { new: json.new as JsonRow }),
      ...(json.old === undefined ? {} : { old: json.old as JsonRow }),
      ...(json.key === undefined ? {} : { key: json.key as JsonRow }),
      ...(json.unchangedToast === undefined ? {} : { unchangedToast: json.unchangedToast as Record<string, string[]> }),
    };
    out.push({ table: `${msg.relation.schema}.${msg.relation.name}`, change, text: JSON.stringify(change) });
  }
  return out;
}
