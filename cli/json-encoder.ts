import { jsonValue, messageToJsonLine } from '../src/json';
import type { Lsn } from '../src/lsn';
import type { BeginMessage, CommitMessage, DeleteMessage, InsertMessage, PgoutputMessage, RelationInfo, UpdateMessage } from '../src/pgoutput/messages';
import { pgTimestampToIso } from '../src/time';
import { type Row, UNCHANGED_TOAST } from '../src/pgoutput/row';
import { BinaryValue } from '../src/values/binary';
import { JSON_NULL } from '../src/values/registry';
import type { ByteBuffer } from './byte-buffer';

/**
 * How a text-format value of a built-in type is printed when rows are decoded with
 * `JSON_TYPE_OPTIONS` (what the CLI decodes with): `quote` its text as a JSON string, print its
 * text `bare` (it is already a JSON number), or `bool`. Other types go through `Row#get` and
 * {@link jsonValue}. float4/float8 are not here: JavaScript prints some of them differently from
 * float8out (`1e+15` is `1000000000000000`), and the documented output is JavaScript's.
 */
const TEXT_FAST = new Map<number, 'quote' | 'bare' | 'bool' | 'bytea' | 'intArray'>([
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
/**
 * Binary-format values whose JSON follows from the bytes: the text types send their characters
 * (UTF-8), which are quoted; bytea sends its bytes, printed as `\x` and lower-case hex.
 */
const BINARY_FAST = new Map<number, number>([
  [25, 1], // text (QUOTE)
  [1043, 1], // varchar
  [1042, 1], // bpchar
  [19, 1], // name
  [17, 4], // bytea (BYTEA)
]);
const BYTEA_PREFIX = Buffer.from('"\\\\x');
const MODES = { quote: QUOTE, bare: BARE, bool: BOOL, bytea: BYTEA, intArray: INT_ARRAY } as const;

/**
 * An int2[] or int4[] text (`{1,NULL,-3}`, `{{1,2},{3,4}}`) as its JSON array, or false when it
 * has anything else (explicit bounds `[0:1]={...}`, quotes) and must go the long way.
 */
function intArray(out: ByteBuffer, src: Buffer): boolean {
  const n = src.length;
  if (n === 0 || src[0] !== 0x7b) return false;
  const start = out.pos;
  out.ensure(n);
  const buf = out.buf;
  let pos = start;
  for (let i = 0; i < n; i++) {
    const c = src[i];
    if (c === 0x7b) buf[pos++] = 0x5b; // { → [
    else if (c === 0x7d) buf[pos++] = 0x5d; // } → ]
    else if (c === 0x2c || c === 0x2d || (c >= 0x30 && c <= 0x39)) buf[pos++] = c;
    else if (c === 0x4e && src[i + 1] === 0x55 && src[i + 2] === 0x4c && src[i + 3] === 0x4c) {
      buf[pos++] = 0x6e; // NULL → null
      buf[pos++] = 0x75;
      buf[pos++] = 0x6c;
      buf[pos++] = 0x6c;
      i += 3;
    } else {
      out.pos = start;
      return false;
    }
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
  /** {@link QUOTE} or {@link BYTEA} or 0 per column, for binary-format values. */
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

function encodeRow(out: ByteBuffer, row: Row, tuple: 'key' | 'old' | 'new', rel: RelationBytes, sides: SideLists): void {
  const keyOnly = tuple === 'key';
  const columns = row.columns;
  const fast = rel.fast;
  out.byte(0x7b);
  let first = true;
  for (let i = 0; i < row.length; i++) {
    if (keyOnly && !columns[i].isKey) continue;
    const kind = fast[i] === 0 && rel.fastBinary[i] === 0 ? '' : row.kind(i);
    if (kind === 'b' && rel.fastBinary[i] !== 0) {
      const bytes = row.bytes(i)!;
      out.bytes(first ? rel.names[i] : rel.commaNames[i]);
      first = false;
      if (rel.fastBinary[i] === QUOTE) out.quoted(bytes);
      else {
        out.bytes(BYTEA_PREFIX);
        out.ascii(bytes.toString('hex'));
        out.byte(0x22);
      }
      continue;
    }
    const f = kind === 't' ? fast[i] : 0;
    const bytes = f === 0 ? null : row.bytes(i);
    if (bytes !== null && (f !== BYTEA || (bytes[0] === 0x5c && bytes[1] === 0x78))) {
      const mark = out.pos;
      out.bytes(first ? rel.names[i] : rel.commaNames[i]);
      if (f === QUOTE || f === BYTEA) out.quoted(bytes);
      else if (f === BARE) out.bytes(bytes);
      else if (f === BOOL) out.ascii(bytes[0] === 0x74 ? 'true' : 'false');
      else if (!intArray(out, bytes)) out.pos = mark;
      if (out.pos !== mark) {
        first = false;
        continue;
      }
    }
    const v = row.get(i);
    let text: string | undefined;
    if (typeof v === 'string') text = JSON.stringify(v);
    else if (typeof v === 'number') text = Number.isFinite(v) && !Object.is(v, -0) ? String(v) : JSON.stringify(jsonValue(v));
    else if (typeof v === 'boolean') text = v ? 'true' : 'false';
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
