import type { PgoutputMessage, RelationInfo } from './pgoutput/messages';
import { type Row, setColumn } from './pgoutput/row';
import { pgTimestampToIso } from './time';
import { BinaryValue } from './values/binary';
import type { TypeOptions } from './values/registry';

/** A JSON-ready object: LSNs as `X/Y`, timestamps as ISO 8601 strings with microseconds. */
export type JsonRecord = Record<string, unknown>;

const LSN_FIELDS = new Set(['lsn', 'finalLsn', 'commitLsn', 'endLsn', 'originLsn', 'messageLsn', 'abortLsn', 'prepareLsn', 'prepareEndLsn', 'rollbackEndLsn']);
const TIME_FIELDS = new Set(['commitTime', 'prepareTime', 'rollbackTime', 'abortTime']);

/** Options of {@link messageToJson}. */
export interface MessageToJsonOptions {
  /** Column values as sent: text strings, or `{ "base64": ... }` for binary values. Default: typed values. */
  raw?: boolean;
}

/**
 * The type options that give the most exact JSON: date and time types, and intervals, as the
 * server's text (a `Date` would drop microseconds). `pg-walstream stream` decodes with these.
 */
export const JSON_TYPE_OPTIONS: TypeOptions = Object.freeze({ timestamps: 'string', parsers: Object.freeze({ interval: (text: string) => text }) });

/**
 * Turns a pgoutput message into the object `pg-walstream stream` prints as one JSON line
 * (documented in docs/json-output.md).
 *
 * Rows become objects of column name to typed value (see docs/json-output.md for how bigint,
 * Buffer, Date, NaN, Infinity and -0 are written), `null` for SQL NULL; with `raw`, to the text as
 * sent. A `key` row holds only the replica identity columns. A column whose TOASTed value did not
 * change is left out of its row and named in `unchangedToast`, so it cannot be mistaken for any
 * value. A binary value of a type without a reader is written as base64 and its column named in
 * `binaryColumns`. Decode with {@link JSON_TYPE_OPTIONS} for exact date/time values.
 *
 * @throws {ColumnValueError} for a value that cannot be decoded (typed mode).
 * @example
 * process.stdout.write(JSON.stringify(messageToJson(msg)) + '\n');
 */
export function messageToJson(msg: PgoutputMessage, options: MessageToJsonOptions = {}): JsonRecord {
  const out: JsonRecord = {};
  const toast: Record<string, string[]> = {};
  const binary: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(msg)) {
    if (value === undefined) continue;
    if (key === 'relation') Object.assign(out, relationJson(value as RelationInfo, msg.type === 'relation'));
    else if (key === 'relations') out.relations = (value as RelationInfo[]).map((r) => ({ schema: r.schema, table: r.name }));
    else if (key === 'new' || key === 'old' || key === 'key') {
      const [row, unchanged, raw] = rowJson(value as Row, key === 'key', options.raw === true);
      out[key] = row;
      if (unchanged.length > 0) toast[key] = unchanged;
      if (raw.length > 0) binary[key] = raw;
    } else if (LSN_FIELDS.has(key)) out[key] = String(value);
    else if (TIME_FIELDS.has(key)) out[key] = pgTimestampToIso(value as bigint);
    else if (key === 'content') out.content = utf8OrBase64(value as Buffer);
    else if (key === 'inStream' && value === false) continue;
    else out[key] = value;
  }
  if (Object.keys(toast).length > 0) out.unchangedToast = toast;
  if (Object.keys(binary).length > 0) out.binaryColumns = binary;
  return out;
}

function relationJson(r: RelationInfo, full: boolean): JsonRecord {
  if (!full) return { schema: r.schema, table: r.name };
  return { oid: r.oid, schema: r.schema, table: r.name, replicaIdentity: r.replicaIdentity, columns: r.columns, keyColumns: r.keyColumns };
}

/** A key tuple carries NULL for every non-key column; only its key columns mean anything, so only they are printed. */
function rowJson(row: Row, keyOnly: boolean, raw: boolean): [JsonRecord, string[], string[]] {
  const values: JsonRecord = {};
  const unchanged: string[] = [];
  const binary: string[] = [];
  const columns = row.columns;
  for (let i = 0; i < row.length; i++) {
    if (keyOnly && !columns[i].isKey) continue;
    const name = columns[i].name;
    if (row.isUnchangedToast(i)) {
      unchanged.push(name);
      continue;
    }
    if (raw) {
      const v = row.raw(i);
      setColumn(values, name, Buffer.isBuffer(v) ? { base64: v.toString('base64') } : v);
      continue;
    }
    const v = row.get(i);
    if (v instanceof BinaryValue) {
      binary.push(name);
      setColumn(values, name, v.bytes.toString('base64'));
    } else setColumn(values, name, jsonValue(v));
  }
  return [values, unchanged, binary];
}

/**
 * A decoded value as JSON: bigint as a decimal string, Buffer as PostgreSQL's `\\x` hex text, Date as
 * ISO 8601 (an invalid one as null), NaN, ±Infinity and -0 as the strings float8out prints.
 * Column types (in the Relation message) tell a reader which strings are numbers.
 */
export function jsonValue(v: unknown): unknown {
  switch (typeof v) {
    case 'number':
      if (Number.isFinite(v) && !Object.is(v, -0)) return v;
      return Object.is(v, -0) ? '-0' : String(v);
    case 'bigint':
      return v.toString();
    case 'object':
      if (v === null) return null;
      if (Array.isArray(v)) return v.map(jsonValue);
      if (Buffer.isBuffer(v)) return `\\x${v.toString('hex')}`;
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? null : v.toISOString();
      if (v instanceof BinaryValue) return v.bytes.toString('base64');
      return v;
    default:
      return v;
  }
}

function utf8OrBase64(b: Buffer): string | { base64: string } {
  const text = b.toString('utf8');
  return Buffer.byteLength(text) === b.length && !text.includes('\uFFFD') ? text : { base64: b.toString('base64') };
}
