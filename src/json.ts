import type { PgoutputMessage, RelationInfo } from './pgoutput/messages';
import type { Row } from './pgoutput/row';
import { pgTimestampToIso } from './time';

/** A JSON-ready object: LSNs as `X/Y`, timestamps as ISO 8601 strings with microseconds. */
export type JsonRecord = Record<string, unknown>;

const LSN_FIELDS = new Set(['lsn', 'finalLsn', 'commitLsn', 'endLsn', 'originLsn', 'messageLsn', 'abortLsn', 'prepareLsn', 'prepareEndLsn', 'rollbackEndLsn']);
const TIME_FIELDS = new Set(['commitTime', 'prepareTime', 'rollbackTime', 'abortTime']);

/**
 * Turns a pgoutput message into the object `pg-walstream stream` prints as one JSON line
 * (documented in docs/json-output.md).
 *
 * Rows become objects of column name to text value, `null` for SQL NULL; a `key` row holds only
 * the replica identity columns. A column whose TOASTed
 * value did not change is left out of its row and named in `unchangedToast`, so it cannot be
 * mistaken for any value. Binary-format values become `{ "base64": "..." }`.
 *
 * @example
 * process.stdout.write(JSON.stringify(messageToJson(msg)) + '\n');
 */
export function messageToJson(msg: PgoutputMessage): JsonRecord {
  const out: JsonRecord = {};
  const toast: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(msg)) {
    if (value === undefined) continue;
    if (key === 'relation') Object.assign(out, relationJson(value as RelationInfo, msg.type === 'relation'));
    else if (key === 'relations') out.relations = (value as RelationInfo[]).map((r) => ({ schema: r.schema, table: r.name }));
    else if (key === 'new' || key === 'old' || key === 'key') {
      const [row, unchanged] = rowJson(value as Row, key === 'key');
      out[key] = row;
      if (unchanged.length > 0) toast[key] = unchanged;
    } else if (LSN_FIELDS.has(key)) out[key] = String(value);
    else if (TIME_FIELDS.has(key)) out[key] = pgTimestampToIso(value as bigint);
    else if (key === 'content') out.content = utf8OrBase64(value as Buffer);
    else if (key === 'inStream' && value === false) continue;
    else out[key] = value;
  }
  if (Object.keys(toast).length > 0) out.unchangedToast = toast;
  return out;
}

function relationJson(r: RelationInfo, full: boolean): JsonRecord {
  if (!full) return { schema: r.schema, table: r.name };
  return { oid: r.oid, schema: r.schema, table: r.name, replicaIdentity: r.replicaIdentity, columns: r.columns, keyColumns: r.keyColumns };
}

/** A key tuple carries NULL for every non-key column; only its key columns mean anything, so only they are printed. */
function rowJson(row: Row, keyOnly: boolean): [JsonRecord, string[]] {
  const values: JsonRecord = {};
  const unchanged: string[] = [];
  const columns = row.columns;
  for (let i = 0; i < row.length; i++) {
    if (keyOnly && !columns[i].isKey) continue;
    const name = columns[i].name;
    if (row.isUnchangedToast(i)) {
      unchanged.push(name);
      continue;
    }
    const v = row.raw(i);
    values[name] = Buffer.isBuffer(v) ? { base64: v.toString('base64') } : v;
  }
  return [values, unchanged];
}

function utf8OrBase64(b: Buffer): string | { base64: string } {
  const text = b.toString('utf8');
  return Buffer.byteLength(text) === b.length && !text.includes('\uFFFD') ? text : { base64: b.toString('base64') };
}
