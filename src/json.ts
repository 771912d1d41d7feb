import { isUtf8 } from 'node:buffer';
import type { Lsn } from './lsn';
import type { DeleteMessage, InsertMessage, PgoutputMessage, RelationInfo, UpdateMessage } from './pgoutput/messages';
import { type Row, UNCHANGED_TOAST, setColumn } from './pgoutput/row';
import { pgTimestampToIso } from './time';
import { BinaryValue } from './values/binary';
import { JSON_NULL, type TypeOptions } from './values/registry';

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
 * `binaryColumns`. A json/jsonb document `null` (`JSON_NULL`) is written as `null` and its column
 * named in `jsonNull`, so that it is not mistaken for SQL NULL. Message content is text when it is
 * valid UTF-8, else `{ base64 }`. Decode with {@link JSON_TYPE_OPTIONS} for exact date/time values.
 *
 * @throws {ColumnValueError} for a value that cannot be decoded (typed mode).
 * @example
 * process.stdout.write(JSON.stringify(messageToJson(msg)) + '\n');
 */
export function messageToJson(msg: PgoutputMessage, options: MessageToJsonOptions = {}): JsonRecord {
  const out: JsonRecord = {};
  const toast: Record<string, string[]> = {};
  const binary: Record<string, string[]> = {};
  const jsonNull: Record<string, string[]> = {};
  for (const [key, value] of Object.entries(msg)) {
    if (value === undefined) continue;
    if (key === 'relation') Object.assign(out, relationJson(value as RelationInfo, msg.type === 'relation'));
    else if (key === 'relations') out.relations = (value as RelationInfo[]).map((r) => ({ schema: r.schema, table: r.name }));
    else if (key === 'new' || key === 'old' || key === 'key') {
      const [row, unchanged, raw, nulls] = rowJson(value as Row, key === 'key', options.raw === true);
      out[key] = row;
      if (unchanged.length > 0) toast[key] = unchanged;
      if (raw.length > 0) binary[key] = raw;
      if (nulls.length > 0) jsonNull[key] = nulls;
    } else if (LSN_FIELDS.has(key)) out[key] = String(value);
    else if (TIME_FIELDS.has(key)) out[key] = pgTimestampToIso(value as bigint);
    else if (key === 'content') out.content = utf8OrBase64(value as Buffer);
    else if (key === 'inStream' && value === false) continue;
    else out[key] = value;
  }
  if (Object.keys(toast).length > 0) out.unchangedToast = toast;
  if (Object.keys(binary).length > 0) out.binaryColumns = binary;
  if (Object.keys(jsonNull).length > 0) out.jsonNull = jsonNull;
  return out;
}

function relationJson(r: RelationInfo, full: boolean): JsonRecord {
  if (!full) return { schema: r.schema, table: r.name };
  return { oid: r.oid, schema: r.schema, table: r.name, replicaIdentity: r.replicaIdentity, columns: r.columns, keyColumns: r.keyColumns };
}

/** A key tuple carries NULL for every non-key column; only its key columns mean anything, so only they are printed. */
function rowJson(row: Row, keyOnly: boolean, raw: boolean): [JsonRecord, string[], string[], string[]] {
  const values: JsonRecord = {};
  const unchanged: string[] = [];
  const binary: string[] = [];
  const jsonNull: string[] = [];
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
    } else if (v === JSON_NULL) {
      jsonNull.push(name);
      setColumn(values, name, null);
    } else setColumn(values, name, jsonValue(v));
  }
  return [values, unchanged, binary, jsonNull];
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
    case 'symbol':
      return v === JSON_NULL ? null : v; // a json[] element that is the document null
    default:
      return v;
  }
}

/** Valid UTF-8 (U+FFFD included, when it was sent) as text; any other bytes as base64. */
function utf8OrBase64(b: Buffer): string | { base64: string } {
  return isUtf8(b) ? b.toString('utf8') : { base64: b.toString('base64') };
}

/**
 * {@link messageToJson} as one JSON line with its newline: what `pg-walstream stream` prints, the
 * same text as `JSON.stringify(messageToJson(msg, options)) + '\n'`.
 *
 * Begin, Commit, Insert, Update and Delete (nearly every line of a stream) are written straight
 * to text, without the intermediate object; the rest go through {@link messageToJson}.
 * @throws {ColumnValueError} for a value that cannot be decoded (typed mode).
 * @example
 * process.stdout.write(messageToJsonLine(msg));
 */
export function messageToJsonLine(msg: PgoutputMessage, options: MessageToJsonOptions = {}): string {
  switch (msg.type) {
    case 'insert':
    case 'update':
    case 'delete':
      return changeLine(msg, options.raw === true);
    case 'begin':
      return `{"type":"begin","lsn":"${lsnText(msg.lsn)}","finalLsn":"${lsnText(msg.finalLsn)}","commitTime":"${isoTime(msg.commitTime)}","xid":${msg.xid}}\n`;
    case 'commit':
      return `{"type":"commit","lsn":"${lsnText(msg.lsn)}","flags":${msg.flags},"commitLsn":"${lsnText(msg.commitLsn)}","endLsn":"${lsnText(msg.endLsn)}","commitTime":"${isoTime(msg.commitTime)}"}\n`;
    default:
      return `${JSON.stringify(messageToJson(msg, options))}\n`;
  }
}

const TWO_32 = 4294967296;
const EPOCH_OFFSET_US = 946_684_800_000_000;
let isoSecond = NaN;
let isoPrefix = '';

/**
 * {@link pgTimestampToIso} for the commit times every Begin and Commit line carries: the same text,
 * in Number arithmetic, with the `YYYY-MM-DDTHH:MM:SS` part kept while the second stays the same.
 */
function isoTime(us: bigint): string {
  if (us > 4_000_000_000_000_000n || us < -4_000_000_000_000_000n) return pgTimestampToIso(us);
  const unixUs = Number(us) + EPOCH_OFFSET_US;
  const second = Math.floor(unixUs / 1_000_000);
  if (second !== isoSecond) {
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 19);
    isoSecond = second;
  }
  return `${isoPrefix}.${String(unixUs - second * 1_000_000).padStart(6, '0')}Z`;
}

/** `X/Y` without BigInt arithmetic for the LSNs every line carries (all below 2^53 in practice). */
function lsnText(lsn: Lsn): string {
  const v = lsn.value;
  if (v > 9007199254740991n) return lsn.toString();
  const n = Number(v);
  const hi = Math.floor(n / TWO_32);
  return `${hi.toString(16).toUpperCase()}/${(n - hi * TWO_32).toString(16).toUpperCase()}`;
}

interface RelationText {
  /** `,"schema":"s","table":"t"` */
  readonly head: string;
  /** `"name":` per column. */
  readonly names: readonly string[];
}

const relationTexts = new WeakMap<RelationInfo, RelationText>();

function relationText(r: RelationInfo): RelationText {
  let t = relationTexts.get(r);
  if (t === undefined) {
    t = { head: `,"schema":${JSON.stringify(r.schema)},"table":${JSON.stringify(r.name)}`, names: r.columns.map((c) => `${JSON.stringify(c.name)}:`) };
    relationTexts.set(r, t);
  }
  return t;
}

/** Column names listed beside the tuples (`unchangedToast`, `binaryColumns`, `jsonNull`), by tuple. */
type SideLists = Record<string, string[]> | undefined;

function changeLine(msg: InsertMessage | UpdateMessage | DeleteMessage, raw: boolean): string {
  const rel = relationText(msg.relation);
  let s = `{"type":"${msg.type}","lsn":"${lsnText(msg.lsn)}"`;
  if (msg.xid !== undefined) s += `,"xid":${msg.xid}`;
  if (msg.inStream) s += ',"inStream":true';
  if (msg.topXid !== undefined) s += `,"topXid":${msg.topXid}`;
  s += rel.head;
  const sides: [SideLists, SideLists, SideLists] = [undefined, undefined, undefined];
  if (msg.type !== 'insert') {
    if (msg.key !== undefined) s += `,"key":${rowText(msg.key, 'key', rel, raw, sides)}`;
    if (msg.old !== undefined) s += `,"old":${rowText(msg.old, 'old', rel, raw, sides)}`;
  }
  if (msg.type !== 'delete') s += `,"new":${rowText(msg.new, 'new', rel, raw, sides)}`;
  if (sides[0] !== undefined) s += `,"unchangedToast":${JSON.stringify(sides[0])}`;
  if (sides[1] !== undefined) s += `,"binaryColumns":${JSON.stringify(sides[1])}`;
  if (sides[2] !== undefined) s += `,"jsonNull":${JSON.stringify(sides[2])}`;
  return `${s}}\n`;
}

function note(sides: [SideLists, SideLists, SideLists], which: 0 | 1 | 2, tuple: string, name: string): void {
  const lists = (sides[which] ??= {});
  (lists[tuple] ??= []).push(name);
}

/** One tuple as JSON text, exactly as {@link rowJson} then `JSON.stringify` would write it. */
function rowText(row: Row, tuple: 'key' | 'old' | 'new', rel: RelationText, raw: boolean, sides: [SideLists, SideLists, SideLists]): string {
  const keyOnly = tuple === 'key';
  const columns = row.columns;
  let s = '{';
  for (let i = 0; i < row.length; i++) {
    if (keyOnly && !columns[i].isKey) continue;
    let text: string | undefined;
    if (raw) {
      const v = row.raw(i);
      if (v === UNCHANGED_TOAST) {
        note(sides, 0, tuple, columns[i].name);
        continue;
      }
      text = v === null ? 'null' : typeof v === 'string' ? JSON.stringify(v) : `{"base64":"${v.toString('base64')}"}`;
    } else {
      const v = row.get(i);
      switch (typeof v) {
        case 'string':
          text = JSON.stringify(v);
          break;
        case 'number':
          text = Number.isFinite(v) && !Object.is(v, -0) ? String(v) : JSON.stringify(jsonValue(v));
          break;
        case 'boolean':
          text = v ? 'true' : 'false';
          break;
        case 'bigint':
          text = `"${v}"`;
          break;
        default:
          if (v === null) text = 'null';
          else if (v === UNCHANGED_TOAST) {
            note(sides, 0, tuple, columns[i].name);
            continue;
          } else if (v instanceof BinaryValue) {
            note(sides, 1, tuple, columns[i].name);
            text = `"${v.bytes.toString('base64')}"`;
          } else if (v === JSON_NULL) {
            note(sides, 2, tuple, columns[i].name);
            text = 'null';
          } else text = JSON.stringify(jsonValue(v));
      }
    }
    if (text === undefined) continue; // what JSON.stringify leaves out (a parser returning undefined)
    s += s.length === 1 ? rel.names[i] + text : `,${rel.names[i]}${text}`;
  }
  return `${s}}`;
}
