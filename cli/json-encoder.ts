import { jsonValue, messageToJsonLine } from '../src/json';
import type { Lsn } from '../src/lsn';
import type { BeginMessage, CommitMessage, DeleteMessage, InsertMessage, PgoutputMessage, RelationInfo, UpdateMessage } from '../src/pgoutput/messages';
import { pgTimestampToIso } from '../src/time';
import { type Row, UNCHANGED_TOAST } from '../src/pgoutput/row';
import { BinaryValue, float4Number } from '../src/values/binary';
import { JSON_NULL } from '../src/values/registry';
import { byteaJson, dateJson, inetJson, intervalJson, numericJson, timeJson, timestampJson, timetzJson, uuidJson } from './binary-json';
import type { ByteBuffer } from './byte-buffer';

/**
 * How a text-format value of a built-in type is printed when rows are decoded with
 * `JSON_TYPE_OPTIONS` (what the CLI decodes with): `quote` its text as a JSON string, print its
 * text `bare` (it is already a JSON number), or `bool`. Other types go through `Row#get` and
 * {@link jsonValue}. float4/float8 are not here: JavaScript prints some of them differently from
 * float8out (`1e+15` is `1000000000000000`), and the documented output is JavaScript's.
 */
const TEXT_FAST = new Map<number, 'quote' | 'bare' | 'bool' | 'bytea' | 'intArray' | 'jsonb'>([
  [3802, 'jsonb'], // spaces removed where that is what JSON.stringify(JSON.parse(text)) prints
  [17, 'bytea'], // hex output (\x...) is its JSON text already; the escape format goes the long way
  [1005, 'intArray'], // int2[]
  [1007, 'intArray'], // int4[]
  [16, 'bool'],
  [21, 'bare'], // int2
  [23, 'bare'], // int4
  [26, 'bare'], // oid
  [19, 'quote'], // name
  [20, 'quote'], // int8: exact decimal string
  [25, 'quote'], // text
  [1042, 'quote'], // bpchar
  [1043, 'quote'], // varchar
  [1700, 'quote'], // numeric
  [2950, 'quote'], // uuid
  [1082, 'quote'], // date (timestamps: 'string')
  [1114, 'quote'], // timestamp
  [1184, 'quote'], // timestamptz
  [1083, 'quote'], // time
  [1266, 'quote'], // timetz
  [1186, 'quote'], // interval (parsers.interval: identity)
  [869, 'quote'], // inet
  [650, 'quote'], // cidr
  [829, 'quote'], // macaddr
  [774, 'quote'], // macaddr8
  [3220, 'quote'], // pg_lsn
]);

const QUOTE = 1;
const BARE = 2;
const BOOL = 3;
const BYTEA = 4;
const INT_ARRAY = 5;
const JSONB = 6;
const INT2 = 7;
const INT4 = 8;
const UINT4 = 9;
const INT8 = 10;
const FLOAT4 = 11;
const FLOAT8 = 12;
const DATE = 13;
const TIMESTAMP = 14;
const TIMESTAMPTZ = 15;
const TIME = 16;
const TIMETZ = 17;
const INTERVAL = 18;
const NUMERIC = 19;
const UUID = 20;
const INET = 21;
/**
 * Binary-format values whose JSON follows from the bytes, as `Row#get` decodes them with
 * `JSON_TYPE_OPTIONS` and the slow path prints them: the text types send their characters (UTF-8),
 * which are quoted; bytea sends its bytes, printed as `\x` and lower-case hex; integers, floats
 * and bool are read from their big-endian bytes; int8 prints as a quoted decimal string; jsonb
 * sends a version byte and its text; int2[]/int4[] of one dimension are JSON arrays; dates, times,
 * intervals, numeric, uuid and IPv4 inet/cidr are printed as the text of their `*_out` function
 * (cli/binary-json.ts), quoted. A value whose length does not fit its type goes the long way,
 * which reports it.
 */
const BINARY_FAST = new Map<number, number>([
  [25, QUOTE], // text
  [1043, QUOTE], // varchar
  [1042, QUOTE], // bpchar
  [19, QUOTE], // name
  [17, BYTEA], // bytea
  [16, BOOL], // bool
  [21, INT2], // int2
  [23, INT4], // int4
  [26, UINT4], // oid
  [20, INT8], // int8
  [700, FLOAT4], // float4
  [701, FLOAT8], // float8
  [3802, JSONB], // jsonb
  [1005, INT_ARRAY], // int2[]
  [1007, INT_ARRAY], // int4[]
  [1082, DATE], // date (timestamps: 'string')
  [1114, TIMESTAMP], // timestamp
  [1184, TIMESTAMPTZ], // timestamptz
  [1083, TIME], // time
  [1266, TIMETZ], // timetz
  [1186, INTERVAL], // interval (parsers.interval: identity)
  [1700, NUMERIC], // numeric
  [2950, UUID], // uuid
  [869, INET], // inet
  [650, INET], // cidr
]);
const TWO_21 = 2097152;
const NULL = Buffer.from('null');
const TRUE = Buffer.from('true');
const FALSE = Buffer.from('false');
const EMPTY_ARRAY = Buffer.from('[]');

const i32 = (b: Buffer, s: number) => (b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3];

/** An int2[] or int4[] in array_send's format (at `b[s, e)`), one dimension (or none), as its JSON array; false otherwise. */
function binaryIntArray(out: ByteBuffer, b: Buffer, s: number, e: number): boolean {
  const n = e - s;
  if (n < 12) return false;
  const ndim = i32(b, s);
  if (ndim === 0) {
    if (n !== 12) return false;
    out.bytes(EMPTY_ARRAY);
    return true;
  }
  if (ndim !== 1 || n < 20) return false;
  const count = i32(b, s + 12);
  const start = out.pos;
  out.byte(0x5b);
  let pos = s + 20;
  for (let i = 0; i < count; i++) {
    if (pos + 4 > e) break;
    const len = i32(b, pos);
    pos += 4;
    if (i > 0) out.byte(0x2c);
    if (len === -1) out.bytes(NULL);
    else if (len === 4 && pos + 4 <= e) out.int(i32(b, pos));
    else if (len === 2 && pos + 2 <= e) out.int(((b[pos] << 24) >> 16) | b[pos + 1]);
    else break;
    if (len > 0) pos += len;
  }
  if (pos !== e || count < 0) {
    out.pos = start;
    return false;
  }
  out.byte(0x5d);
  return true;
}

/**
 * A jsonb document's jsonb_out text (from `from` in `src`) without its spaces, which is what
 * `JSON.stringify(JSON.parse(text))` prints, or false (nothing written) where the two could
 * differ: a number other than a short integer (JavaScript reprints `1.50`, `1e3`, big integers),
 * an object key that is an array index (JavaScript puts those first), or the document `null`
 * (printed with `jsonNull`), or a text that is not one whole document (unbalanced brackets).
 * jsonb_out escapes strings exactly as JSON.stringify does.
 */
function compactJsonb(out: ByteBuffer, src: Buffer, from: number, n: number): boolean {
  if (n - from === 4 && src[from] === 0x6e) return false; // null
  const start = out.pos;
  out.ensure(n - from);
  const buf = out.buf;
  let pos = start;
  let i = from;
  let depth = 0;
  while (i < n) {
    const c = src[i];
    if (c === 0x22) {
      const s = i++;
      let digitsOnly = true;
      while (i < n) {
        const d = src[i];
        if (d === 0x22) break;
        if (d === 0x5c) i++;
        else if (d < 0x30 || d > 0x39) digitsOnly = false;
        i++;
      }
      if (i >= n) return false;
      i++;
      if (digitsOnly && i - s > 2) {
        let j = i;
        while (j < n && src[j] === 0x20) j++;
        if (j < n && src[j] === 0x3a) return false; // a key like "10"
      }
      for (let k = s; k < i; k++) buf[pos++] = src[k];
    } else if (c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d) i++;
    else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const s = i;
      if (c === 0x2d) i++;
      const d0 = i;
      while (i < n && src[i] >= 0x30 && src[i] <= 0x39) i++;
      const digits = i - d0;
      if (digits === 0 || digits > 15 || (src[d0] === 0x30 && digits > 1) || (c === 0x2d && digits === 1 && src[d0] === 0x30)) return false;
      if (i < n && (src[i] === 0x2e || src[i] === 0x65 || src[i] === 0x45)) return false;
      for (let k = s; k < i; k++) buf[pos++] = src[k];
    } else {
      if (c === 0x7b || c === 0x5b) depth++;
      else if ((c === 0x7d || c === 0x5d) && --depth < 0) return false;
      buf[pos++] = c;
      i++;
    }
  }
  if (depth !== 0 || pos === start) return false; // not a whole document: the long way reports it
  out.pos = pos;
  return true;
}

/** A number as the slow path prints it: `String(v)`, or jsonValue's string for -0, NaN and ±Infinity. */
function number(out: ByteBuffer, v: number): void {
  if (Number.isSafeInteger(v) && !Object.is(v, -0)) out.int(v);
  // JSON.stringify prints a finite number as String does, without V8's number-string cache, whose
  // entries would outlive scavenges and fill the old space (peak RSS).
  else if (Number.isFinite(v) && !Object.is(v, -0)) out.asciiChars(JSON.stringify(v));
  else out.utf8(JSON.stringify(jsonValue(v)));
}
const MODES = { quote: QUOTE, bare: BARE, bool: BOOL, bytea: BYTEA, intArray: INT_ARRAY, jsonb: JSONB } as const;

/**
 * An int2[] or int4[] text at `src[s, e)` (`{1,NULL,-3}`, `{{1,2},{3,4}}`) as its JSON array, or
 * false when it has anything else (explicit bounds `[0:1]={...}`, quotes, unbalanced braces) and
 * must go the long way.
 */
function intArray(out: ByteBuffer, src: Buffer, s: number, e: number): boolean {
  if (e === s || src[s] !== 0x7b) return false;
  const start = out.pos;
  out.ensure(e - s);
  const buf = out.buf;
  let pos = start;
  let depth = 0;
  for (let i = s; i < e; i++) {
    const c = src[i];
    if (c === 0x7b) {
      buf[pos++] = 0x5b; // { → [
      depth++;
    } else if (c === 0x7d) {
      buf[pos++] = 0x5d; // } → ]
      if (--depth < 0 || (depth === 0 && i !== e - 1)) {
        depth = -1; // unbalanced, or more after the outer brace
        break;
      }
    }
    else if (c === 0x2c || c === 0x2d || (c >= 0x30 && c <= 0x39)) buf[pos++] = c;
    else if (c === 0x4e && i + 3 < e && src[i + 1] === 0x55 && src[i + 2] === 0x4c && src[i + 3] === 0x4c) {
      buf[pos++] = 0x6e; // NULL → null
      buf[pos++] = 0x75;
      buf[pos++] = 0x6c;
      buf[pos++] = 0x6c;
      i += 3;
    } else {
      depth = -1;
      break;
    }
  }
  if (depth !== 0) {
    out.pos = start;
    return false;
  }
  out.pos = pos;
  return true;
}

interface RelationBytes {
  /** `,"schema":"s","table":"t"` */
  readonly head: Buffer;
  /** `"name":` per column, and `,"name":`. */
  readonly names: readonly Buffer[];
  readonly commaNames: readonly Buffer[];
  /** {@link QUOTE}, {@link BARE}, {@link BOOL}, ... or 0 per column, for text-format values. */
  readonly fast: Uint8Array;
  /** A mode of {@link BINARY_FAST} or 0 per column, for binary-format values. */
  readonly fastBinary: Uint8Array;
}

const relations = new WeakMap<RelationInfo, RelationBytes>();

function relationBytes(r: RelationInfo): RelationBytes {
  let b = relations.get(r);
  if (b === undefined) {
    const names = r.columns.map((c) => Buffer.from(`${JSON.stringify(c.name)}:`));
    const fast = new Uint8Array(r.columns.length);
    r.columns.forEach((c, i) => {
      const f = TEXT_FAST.get(c.typeOid);
      fast[i] = f === undefined ? 0 : MODES[f];
    });
    const fastBinary = new Uint8Array(r.columns.length);
    r.columns.forEach((c, i) => {
      fastBinary[i] = BINARY_FAST.get(c.typeOid) ?? 0;
    });
    b = {
      fastBinary,
      head: Buffer.from(`,"schema":${JSON.stringify(r.schema)},"table":${JSON.stringify(r.name)}`),
      names,
      commaNames: names.map((n) => Buffer.concat([Buffer.from(','), n])),
      fast,
    };
    relations.set(r, b);
  }
  return b;
}

const XID = Buffer.from(',"xid":');
const IN_STREAM = Buffer.from(',"inStream":true');
const TOP_XID = Buffer.from(',"topXid":');
const KEY = Buffer.from(',"key":');
const OLD = Buffer.from(',"old":');
const NEW = Buffer.from(',"new":');
const END = Buffer.from('}\n');
const TYPE_PREFIX = {
  insert: Buffer.from('{"type":"insert","lsn":"'),
  update: Buffer.from('{"type":"update","lsn":"'),
  delete: Buffer.from('{"type":"delete","lsn":"'),
};
const TWO_32 = 4294967296;

function lsn(out: ByteBuffer, l: Lsn): void {
  const v = l.value;
  if (v > 9007199254740991n) return out.ascii(l.toString());
  const n = Number(v);
  const hi = Math.floor(n / TWO_32);
  out.hex(hi);
  out.byte(0x2f);
  out.hex(n - hi * TWO_32);
}

type SideLists = [Record<string, string[]> | undefined, Record<string, string[]> | undefined, Record<string, string[]> | undefined];

function note(sides: SideLists, which: 0 | 1 | 2, tuple: string, name: string): void {
  const lists = (sides[which] ??= {});
  (lists[tuple] ??= []).push(name);
}

/**
 * Writes one message as its JSON line (newline included) into `out`: byte for byte the text of
 * `messageToJsonLine(msg, { raw })` (docs/json-output.md) for messages whose rows were decoded
 * with `JSON_TYPE_OPTIONS`. Insert, Update and Delete are written from the frame's bytes: a text
 * value of a common built-in type is copied (escaped where JSON needs it) without becoming a
 * JavaScript string.
 * @throws {ColumnValueError} for a value that cannot be decoded (typed mode).
 */
export function encodeJsonLine(out: ByteBuffer, msg: PgoutputMessage, raw: boolean): void {
  switch (msg.type) {
    case 'insert':
    case 'update':
    case 'delete':
      if (!raw) return encodeChange(out, msg);
      break;
    case 'begin':
      return encodeBegin(out, msg);
    case 'commit':
      return encodeCommit(out, msg);
    default:
      break;
  }
  out.utf8(messageToJsonLine(msg, { raw }));
}

const B = (s: string) => Buffer.from(s, 'latin1');
const BEGIN = [B('{"type":"begin","lsn":"'), B('","finalLsn":"'), B('","commitTime":"'), B('","xid":'), B('}\n')];
const COMMIT = [B('{"type":"commit","lsn":"'), B('","flags":'), B(',"commitLsn":"'), B('","endLsn":"'), B('","commitTime":"'), B('"}\n')];

function encodeBegin(out: ByteBuffer, msg: BeginMessage): void {
  out.bytes(BEGIN[0]);
  lsn(out, msg.lsn);
  out.bytes(BEGIN[1]);
  lsn(out, msg.finalLsn);
  out.bytes(BEGIN[2]);
  time(out, msg.commitTime);
  out.bytes(BEGIN[3]);
  out.uint(msg.xid);
  out.bytes(BEGIN[4]);
}

function encodeCommit(out: ByteBuffer, msg: CommitMessage): void {
  out.bytes(COMMIT[0]);
  lsn(out, msg.lsn);
  out.bytes(COMMIT[1]);
  out.uint(msg.flags);
  out.bytes(COMMIT[2]);
  lsn(out, msg.commitLsn);
  out.bytes(COMMIT[3]);
  lsn(out, msg.endLsn);
  out.bytes(COMMIT[4]);
  time(out, msg.commitTime);
  out.bytes(COMMIT[5]);
}

const EPOCH_OFFSET_US = 946_684_800_000_000;
let cachedSecond = NaN;
let cachedPrefix = Buffer.alloc(0);

/** pgTimestampToIso's text (`2026-11-21T05:31:29.123456Z`), with the part up to the second cached. */
function time(out: ByteBuffer, us: bigint): void {
  if (us > 4_000_000_000_000_000n || us < -4_000_000_000_000_000n) return out.ascii(pgTimestampToIso(us));
  const unixUs = Number(us) + EPOCH_OFFSET_US;
  const second = Math.floor(unixUs / 1_000_000);
  if (second !== cachedSecond) {
    cachedPrefix = Buffer.from(`${new Date(second * 1000).toISOString().slice(0, 19)}.`, 'latin1');
    cachedSecond = second;
  }
  out.bytes(cachedPrefix);
  out.sixDigits(unixUs - second * 1_000_000);
  out.byte(0x5a); // Z
}

function encodeChange(out: ByteBuffer, msg: InsertMessage | UpdateMessage | DeleteMessage): void {
  const rel = relationBytes(msg.relation);
  out.bytes(TYPE_PREFIX[msg.type]);
  lsn(out, msg.lsn);
  out.byte(0x22);
  if (msg.xid !== undefined) {
    out.bytes(XID);
    out.uint(msg.xid);
  }
  if (msg.inStream) out.bytes(IN_STREAM);
  if (msg.topXid !== undefined) {
    out.bytes(TOP_XID);
    out.uint(msg.topXid);
  }
  out.bytes(rel.head);
  const sides: SideLists = [undefined, undefined, undefined];
  if (msg.type !== 'insert') {
    if (msg.key !== undefined) {
      out.bytes(KEY);
      encodeRow(out, msg.key, 'key', rel, sides);
    }
    if (msg.old !== undefined) {
      out.bytes(OLD);
      encodeRow(out, msg.old, 'old', rel, sides);
    }
  }
  if (msg.type !== 'delete') {
    out.bytes(NEW);
    encodeRow(out, msg.new, 'new', rel, sides);
  }
  if (sides[0] !== undefined) out.utf8(`,"unchangedToast":${JSON.stringify(sides[0])}`);
  if (sides[1] !== undefined) out.utf8(`,"binaryColumns":${JSON.stringify(sides[1])}`);
  if (sides[2] !== undefined) out.utf8(`,"jsonNull":${JSON.stringify(sides[2])}`);
  out.bytes(END);
}

/**
 * A binary value `b[s, e)` of a {@link BINARY_FAST} type as its JSON; false (anything written is
 * dropped by the caller) to go the long way.
 */
function binaryValue(out: ByteBuffer, mode: number, b: Buffer, s: number, e: number): boolean {
  const n = e - s;
  switch (mode) {
    case QUOTE:
      out.quoted(b, s, e);
      return true;
    case BYTEA:
      byteaJson(out, b, s, e);
      return true;
    case BOOL:
      if (n !== 1) return false;
      out.bytes(b[s] !== 0 ? TRUE : FALSE);
      return true;
    case INT2:
      if (n !== 2) return false;
      out.int(((b[s] << 24) >> 16) | b[s + 1]);
      return true;
    case INT4:
      if (n !== 4) return false;
      out.int(i32(b, s));
      return true;
    case UINT4:
      if (n !== 4) return false;
      out.int(i32(b, s) >>> 0);
      return true;
    case INT8: {
      if (n !== 8) return false;
      const hi = i32(b, s);
      if (hi < -TWO_21 || hi >= TWO_21) return false; // beyond 2^53: BigInt's text
      out.byte(0x22);
      out.int(hi * TWO_32 + (i32(b, s + 4) >>> 0));
      out.byte(0x22);
      return true;
    }
    case FLOAT4:
      if (n !== 4) return false;
      number(out, float4Number(b.readFloatBE(s)));
      return true;
    case FLOAT8:
      if (n !== 8) return false;
      number(out, b.readDoubleBE(s));
      return true;
    case JSONB:
      return n > 0 && b[s] === 1 && compactJsonb(out, b, s + 1, e);
    case INT_ARRAY:
      return binaryIntArray(out, b, s, e);
    case DATE:
      return dateJson(out, b, s, e);
    case TIMESTAMP:
      return timestampJson(out, b, s, e, false);
    case TIMESTAMPTZ:
      return timestampJson(out, b, s, e, true);
    case TIME:
      return timeJson(out, b, s, e);
    case TIMETZ:
      return timetzJson(out, b, s, e);
    case INTERVAL:
      return intervalJson(out, b, s, e);
    case NUMERIC:
      return numericJson(out, b, s, e);
    case UUID:
      return uuidJson(out, b, s, e);
    case INET:
      return inetJson(out, b, s, e);
    default:
      return false;
  }
}

const K_TEXT = 0x74;
const K_BINARY = 0x62;
const K_NULL = 0x6e;

/**
 * A row's columns as a JSON object. Values are read where they lie in the received frame
 * (`Row#frame` and `Row#offsetTable`), without a Buffer view per value; a value no fast path
 * prints goes through `Row#get` and {@link jsonValue}.
 */
function encodeRow(out: ByteBuffer, row: Row, tuple: 'key' | 'old' | 'new', rel: RelationBytes, sides: SideLists): void {
  const keyOnly = tuple === 'key';
  const columns = row.columns;
  const fast = rel.fast;
  const fastBinary = rel.fastBinary;
  const frame = row.frame;
  const table = row.offsetTable();
  out.byte(0x7b);
  let first = true;
  for (let i = 0; i < row.length; i++) {
    if (keyOnly && !columns[i].isKey) continue;
    const kind = table[i * 3];
    if (kind === K_NULL) {
      out.bytes(first ? rel.names[i] : rel.commaNames[i]);
      out.bytes(NULL);
      first = false;
      continue;
    }
    const s = table[i * 3 + 1];
    const e = s + table[i * 3 + 2];
    if (kind === K_BINARY) {
      const fb = fastBinary[i];
      if (fb !== 0) {
        const mark = out.pos;
        out.bytes(first ? rel.names[i] : rel.commaNames[i]);
        if (binaryValue(out, fb, frame, s, e)) {
          first = false;
          continue;
        }
        out.pos = mark;
      }
    } else if (kind === K_TEXT) {
      const f = fast[i];
      if (f !== 0 && (f !== BYTEA || (e - s >= 2 && frame[s] === 0x5c && frame[s + 1] === 0x78))) {
        const mark = out.pos;
        out.bytes(first ? rel.names[i] : rel.commaNames[i]);
        if (f === QUOTE || f === BYTEA) out.quoted(frame, s, e);
        else if (f === BARE) out.bytesAt(frame, s, e);
        else if (f === BOOL) out.bytes(frame[s] === 0x74 ? TRUE : FALSE);
        else if (f === JSONB ? !compactJsonb(out, frame, s, e) : !intArray(out, frame, s, e)) out.pos = mark;
        if (out.pos !== mark) {
          first = false;
          continue;
        }
      }
    }
    const v = row.get(i);
    let text: string | undefined;
    if (typeof v === 'string') {
      out.bytes(first ? rel.names[i] : rel.commaNames[i]);
      first = false;
      out.jsonString(v);
      continue;
    } else if (typeof v === 'number') {
      out.bytes(first ? rel.names[i] : rel.commaNames[i]);
      first = false;
      number(out, v);
      continue;
    } else if (typeof v === 'boolean') text = v ? 'true' : 'false';
    else if (v === null) text = 'null';
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
    if (text === undefined) continue; // what JSON.stringify leaves out
    out.bytes(first ? rel.names[i] : rel.commaNames[i]);
    first = false;
    out.utf8(text);
  }
  out.byte(0x7d);
}
