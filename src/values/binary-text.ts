/**
 * More binary-format readers (issue 18, binary parity): each turns a type's `*_send` bytes into
 * the exact text its `*_out` function prints, so that in binary mode these types decode to what
 * `pg` returns for them in text mode. The sources followed are in `src/backend/utils/adt/`:
 * cash.c, varbit.c, geo_ops.c, tsvector.c, tsquery.c, xml.c, rangetypes.c, multirangetypes.c,
 * rowtypes.c, enum.c, and contrib/hstore/hstore_io.c.
 */
import { BinaryFormatError } from './binary';

function need(b: Buffer, n: number, type: string): void {
  if (b.length !== n) throw new BinaryFormatError(`binary ${type} must be ${n} bytes, got ${b.length}`);
}

function atLeast(b: Buffer, n: number, type: string): void {
  if (b.length < n) throw new BinaryFormatError(`binary ${type} needs at least ${n} bytes, got ${b.length}`);
}

/**
 * A float8 as float8out prints it (PostgreSQL 12+, extra_float_digits ≥ 1: the shortest digits
 * that read back, src/common/d2s.c): fixed notation for decimal exponents -4 to 14, otherwise
 * `d.ddde+XX` with at least two exponent digits; `NaN`, `Infinity`, `-Infinity`, `-0`.
 */
export function float8Text(x: number): string {
  if (Number.isNaN(x)) return 'NaN';
  if (x === Infinity) return 'Infinity';
  if (x === -Infinity) return '-Infinity';
  if (x === 0) return Object.is(x, -0) ? '-0' : '0';
  // JavaScript also prints the shortest round-tripping digits, nearest the exact value; but it may
  // pick a decimal lying exactly halfway to a neighbouring double (it reads back by ties-to-even),
  // which PostgreSQL's Ryu does not: then take one digit more, as it does.
  let e = x.toExponential();
  let at = e.indexOf('e');
  if (onDoubleBoundary(x, e.slice(0, at), Number(e.slice(at + 1)))) {
    for (let p = e.slice(0, at).replace(/[-.]/g, '').length; p < 17; p++) {
      const t = x.toExponential(p);
      const a = t.indexOf('e');
      if (Number(t) === x && !onDoubleBoundary(x, t.slice(0, a), Number(t.slice(a + 1)))) {
        e = t;
        break;
      }
    }
    at = e.indexOf('e');
  }
  const exp = Number(e.slice(at + 1));
  let mantissa = e.slice(0, at);
  if (exp >= -4 && exp < 15) {
    // Fixed notation from the same digits.
    const neg = mantissa[0] === '-';
    const digits = mantissa.replace(/[-.]/g, '');
    let out: string;
    if (exp < 0) out = `0.${'0'.repeat(-exp - 1)}${digits}`;
    else if (digits.length <= exp + 1) out = digits + '0'.repeat(exp + 1 - digits.length);
    else out = `${digits.slice(0, exp + 1)}.${digits.slice(exp + 1)}`;
    return neg ? `-${out}` : out;
  }
  if (mantissa.includes('.')) mantissa = mantissa.replace(/0+$/, '').replace(/\.$/, '');
  const digits = Math.abs(exp) < 10 ? `0${Math.abs(exp)}` : String(Math.abs(exp));
  return `${mantissa}e${exp < 0 ? '-' : '+'}${digits}`;
}

const f64 = new Float64Array(1);
const u64 = new BigUint64Array(f64.buffer);

/** Whether the decimal `mantissa` × 10^`exp10` lies exactly halfway between `x` and a neighbouring double. */
function onDoubleBoundary(x: number, mantissa: string, exp10: number): boolean {
  f64[0] = Math.abs(x);
  const bits = u64[0];
  const biased = Number((bits >> 52n) & 0x7ffn);
  let m = bits & 0xfffffffffffffn;
  let e2: number;
  if (biased === 0) e2 = -1074;
  else {
    m |= 1n << 52n;
    e2 = biased - 1075;
  }
  const frac = mantissa.replace('-', '').split('.')[1] ?? '';
  const D = BigInt(mantissa.replace(/[-.]/g, ''));
  const k = exp10 - frac.length; // value = D × 10^k
  const equals = (M: bigint, E: number) => {
    let left = D;
    let right = M;
    if (k >= 0) left *= 10n ** BigInt(k);
    else right *= 10n ** BigInt(-k);
    if (E >= 0) right <<= BigInt(E);
    else left <<= BigInt(-E);
    return left === right;
  };
  const lowerGapHalves = m === 1n << 52n && biased > 1;
  return equals(2n * m + 1n, e2 - 1) || (lowerGapHalves ? equals(4n * m - 1n, e2 - 2) : equals(2n * m - 1n, e2 - 1));
}

/**
 * money (cash_send: Int64 in the currency's smallest unit), as cash_out prints it in the C and
 * en_US locales: `$`, two fraction digits, `,` every three digits, a leading `-`.
 */
export function moneyText(b: Buffer): string {
  need(b, 8, 'money');
  const v = b.readBigInt64BE(0);
  const neg = v < 0n;
  const digits = (neg ? -v : v).toString().padStart(3, '0');
  const whole = digits.slice(0, -2);
  const grouped = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${neg ? '-' : ''}$${grouped}.${digits.slice(-2)}`;
}

/** bit and varbit (bit_send/varbit_send): Int32 bit length, then the bits, most significant first. */
export function bitText(b: Buffer): string {
  atLeast(b, 4, 'bit');
  const n = b.readInt32BE(0);
  if (n < 0 || b.length !== 4 + Math.ceil(n / 8)) throw new BinaryFormatError(`binary bit string of ${n} bits cannot be ${b.length} bytes`);
  let s = '';
  for (let i = 0; i < n; i++) s += (b[4 + (i >> 3)] >> (7 - (i & 7))) & 1 ? '1' : '0';
  return s;
}

const pointAt = (b: Buffer, at: number) => `(${float8Text(b.readDoubleBE(at))},${float8Text(b.readDoubleBE(at + 8))})`;

/** point_send: two float8, printed `(x,y)`. */
export function pointText(b: Buffer): string {
  need(b, 16, 'point');
  return pointAt(b, 0);
}

/** lseg_send: two points, printed `[(x1,y1),(x2,y2)]`. */
export function lsegText(b: Buffer): string {
  need(b, 32, 'lseg');
  return `[${pointAt(b, 0)},${pointAt(b, 16)}]`;
}

/** box_send: the high then the low corner, printed `(x1,y1),(x2,y2)`. */
export function boxText(b: Buffer): string {
  need(b, 32, 'box');
  return `${pointAt(b, 0)},${pointAt(b, 16)}`;
}

/** line_send: A, B, C of Ax + By + C = 0, printed `{A,B,C}`. */
export function lineText(b: Buffer): string {
  need(b, 24, 'line');
  return `{${float8Text(b.readDoubleBE(0))},${float8Text(b.readDoubleBE(8))},${float8Text(b.readDoubleBE(16))}}`;
}

/** circle_send: center and radius, printed `<(x,y),r>`. */
export function circleText(b: Buffer): string {
  need(b, 24, 'circle');
  return `<${pointAt(b, 0)},${float8Text(b.readDoubleBE(16))}>`;
}

function points(b: Buffer, at: number, type: string): string {
  atLeast(b, at + 4, type);
  const n = b.readInt32BE(at);
  if (n < 0 || b.length !== at + 4 + 16 * n) throw new BinaryFormatError(`binary ${type} of ${n} points cannot be ${b.length} bytes`);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pointAt(b, at + 4 + 16 * i));
  return out.join(',');
}

/** path_send: a closed flag byte, Int32 point count, the points; printed `((…))` closed, `[(…)]` open. */
export function pathText(b: Buffer): string {
  atLeast(b, 1, 'path');
  const list = points(b, 1, 'path');
  return b[0] ? `(${list})` : `[${list}]`;
}

/** poly_send: Int32 point count, the points; printed `((x,y),…)`. */
export function polygonText(b: Buffer): string {
  return `(${points(b, 0, 'polygon')})`;
}

/** Reads a NUL-terminated string at `at`; returns it and the offset after the NUL. */
function cstring(b: Buffer, at: number, type: string): [string, number] {
  const end = b.indexOf(0, at);
  if (end < 0) throw new BinaryFormatError(`binary ${type} has an unterminated string`);
  return [b.toString('utf8', at, end), end + 1];
}

/** A lexeme or operand quoted as tsvectorout/tsqueryout do: `'…'`, with `'` and `\` doubled. */
const tsQuote = (s: string) => `'${s.replace(/['\\]/g, (c) => c + c)}'`;

/**
 * tsvectorsend: Int32 lexeme count; per lexeme its NUL-terminated text, UInt16 position count and
 * the positions (14 bits of position, 2 of weight). Printed `'a':1A,2 'b'` (tsvectorout).
 */
export function tsvectorText(b: Buffer): string {
  atLeast(b, 4, 'tsvector');
  const n = b.readInt32BE(0);
  let at = 4;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const [lexeme, next] = cstring(b, at, 'tsvector');
    at = next;
    atLeast(b, at + 2, 'tsvector');
    const npos = b.readUInt16BE(at);
    at += 2;
    atLeast(b, at + 2 * npos, 'tsvector');
    let s = tsQuote(lexeme);
    if (npos > 0) {
      const pos: string[] = [];
      for (let j = 0; j < npos; j++) {
        const p = b.readUInt16BE(at + 2 * j);
        pos.push(`${p & 0x3fff}${['', 'C', 'B', 'A'][p >> 14]}`);
      }
      s += `:${pos.join(',')}`;
      at += 2 * npos;
    }
    out.push(s);
  }
  if (at !== b.length) throw new BinaryFormatError(`binary tsvector has ${b.length - at} bytes after its last lexeme`);
  return out.join(' ');
}

const QI_VAL = 1;
const QI_OPR = 2;
const OP_NOT = 1;
const OP_AND = 2;
const OP_OR = 3;
const OP_PHRASE = 4;
/** tsearch_op_priority, by operator code. */
const PRIORITY = [0, 4, 2, 1, 3];

type TsNode = { val: string; weight: number; prefix: number } | { op: number; distance: number };

/**
 * tsquerysend: Int32 item count, then the items in the order the query stores them (an operator,
 * its right operand, its left operand): operands as type 1, weight bits, prefix flag and
 * NUL-terminated text; operators as type 2, code and (for `<N>`) Int16 distance. Printed as
 * tsqueryout's infix() does, parentheses by operator priority.
 */
export function tsqueryText(b: Buffer): string {
  atLeast(b, 4, 'tsquery');
  const n = b.readInt32BE(0);
  if (n === 0) return '';
  const items: TsNode[] = [];
  let at = 4;
  for (let i = 0; i < n; i++) {
    atLeast(b, at + 2, 'tsquery');
    const type = b[at++];
    if (type === QI_VAL) {
      const weight = b[at++];
      const prefix = b[at++];
      const [val, next] = cstring(b, at, 'tsquery');
      at = next;
      items.push({ val, weight, prefix });
    } else if (type === QI_OPR) {
      const op = b[at++];
      if (op < OP_NOT || op > OP_PHRASE) throw new BinaryFormatError(`binary tsquery has an unknown operator ${op}`);
      let distance = 0;
      if (op === OP_PHRASE) {
        atLeast(b, at + 2, 'tsquery');
        distance = b.readInt16BE(at);
        at += 2;
      }
      items.push({ op, distance });
    } else throw new BinaryFormatError(`binary tsquery has an unknown item type ${type}`);
  }
  if (at !== b.length) throw new BinaryFormatError(`binary tsquery has ${b.length - at} bytes after its last item`);
  let cur = 0;
  const infix = (parentPriority: number, rightPhraseOp: boolean): string => {
    if (cur >= items.length) throw new BinaryFormatError('binary tsquery ends inside an operator');
    const item = items[cur++];
    if ('val' in item) {
      let s = tsQuote(item.val);
      if (item.weight || item.prefix) {
        s += ':';
        if (item.prefix) s += '*';
        if (item.weight & 8) s += 'A';
        if (item.weight & 4) s += 'B';
        if (item.weight & 2) s += 'C';
        if (item.weight & 1) s += 'D';
      }
      return s;
    }
    const priority = PRIORITY[item.op];
    if (item.op === OP_NOT) {
      const inner = `!${infix(priority, false)}`;
      return priority < parentPriority ? `( ${inner} )` : inner;
    }
    const paren = priority < parentPriority || (item.op === OP_PHRASE && rightPhraseOp);
    const right = infix(priority, item.op === OP_PHRASE);
    const left = infix(priority, false);
    const op = item.op === OP_OR ? '|' : item.op === OP_AND ? '&' : item.distance !== 1 ? `<${item.distance}>` : '<->';
    const s = `${left} ${op} ${right}`;
    return paren ? `( ${s} )` : s;
  };
  const s = infix(-1, false);
  if (cur !== items.length) throw new BinaryFormatError('binary tsquery has items outside its tree');
  return s;
}

/**
 * hstore_send (contrib/hstore): Int32 pair count; per pair Int32 key length and key, Int32 value
 * length (-1 for NULL) and value. Printed as hstore_out: `"k"=>"v", "n"=>NULL`, with `"` and `\`
 * escaped by a backslash.
 */
export function hstoreText(b: Buffer): string {
  atLeast(b, 4, 'hstore');
  const n = b.readInt32BE(0);
  let at = 4;
  const quote = (s: string) => `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"`;
  const out: string[] = [];
  const str = (): string | null => {
    atLeast(b, at + 4, 'hstore');
    const len = b.readInt32BE(at);
    at += 4;
    if (len === -1) return null;
    if (len < 0 || at + len > b.length) throw new BinaryFormatError('binary hstore string overruns the value');
    const s = b.toString('utf8', at, at + len);
    at += len;
    return s;
  };
  for (let i = 0; i < n; i++) {
    const key = str();
    if (key === null) throw new BinaryFormatError('binary hstore has a NULL key');
    const value = str();
    out.push(`${quote(key)}=>${value === null ? 'NULL' : quote(value)}`);
  }
  if (at !== b.length) throw new BinaryFormatError(`binary hstore has ${b.length - at} bytes after its last pair`);
  return out.join(', ');
}

const RANGE_EMPTY = 0x01;
const RANGE_LB_INC = 0x02;
const RANGE_UB_INC = 0x04;
const RANGE_LB_INF = 0x08;
const RANGE_UB_INF = 0x10;

/**
 * A range bound as range_bound_escape quotes it: in double quotes when empty or holding `"`, `\`,
 * `(`, `)`, `[`, `]`, `,` or white space; `"` and `\` doubled inside.
 */
function rangeBound(s: string): string {
  if (s !== '' && !/["\\()[\],\s]/.test(s)) return s;
  return `"${s.replace(/["\\]/g, (c) => c + c)}"`;
}

/**
 * range_send: a flags byte, then the lower and upper bound each as Int32 length and the subtype's
 * send bytes (absent when infinite). Printed as range_out: `empty`, or `[lower,upper)`.
 */
export function rangeText(b: Buffer, subtype: (bytes: Buffer) => string): string {
  atLeast(b, 1, 'range');
  const flags = b[0];
  if (flags & RANGE_EMPTY) {
    if (b.length !== 1) throw new BinaryFormatError('binary empty range has bytes after its flags');
    return 'empty';
  }
  let at = 1;
  const bound = (): string => {
    atLeast(b, at + 4, 'range');
    const len = b.readInt32BE(at);
    at += 4;
    if (len < 0 || at + len > b.length) throw new BinaryFormatError('binary range bound overruns the value');
    const s = subtype(b.subarray(at, at + len));
    at += len;
    return rangeBound(s);
  };
  const lower = flags & RANGE_LB_INF ? '' : bound();
  const upper = flags & RANGE_UB_INF ? '' : bound();
  if (at !== b.length) throw new BinaryFormatError(`binary range has ${b.length - at} bytes after its bounds`);
  return `${flags & RANGE_LB_INC ? '[' : '('}${lower},${upper}${flags & RANGE_UB_INC ? ']' : ')'}`;
}

/** multirange_send: Int32 range count, then each range as Int32 length and range_send bytes; printed `{r1,r2}`. */
export function multirangeText(b: Buffer, subtype: (bytes: Buffer) => string): string {
  atLeast(b, 4, 'multirange');
  const n = b.readInt32BE(0);
  let at = 4;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    atLeast(b, at + 4, 'multirange');
    const len = b.readInt32BE(at);
    at += 4;
    if (len < 0 || at + len > b.length) throw new BinaryFormatError('binary multirange range overruns the value');
    out.push(rangeText(b.subarray(at, at + len), subtype));
    at += len;
  }
  if (at !== b.length) throw new BinaryFormatError(`binary multirange has ${b.length - at} bytes after its last range`);
  return `{${out.join(',')}}`;
}

/**
 * record_send: Int32 column count; per column its type OID, Int32 length (-1 for NULL) and the
 * type's send bytes. Printed as record_out: `(a,b,)`, a NULL as nothing, a value quoted when
 * empty or holding `"`, `\`, `(`, `)`, `,` or white space, with `"` and `\` doubled.
 * `column(oid)` gives the text printer of a column type, or undefined when there is none: the
 * whole record is then unreadable (returns undefined).
 */
export function recordText(b: Buffer, column: (oid: number) => ((bytes: Buffer) => string | undefined) | undefined): string | undefined {
  atLeast(b, 4, 'record');
  const n = b.readInt32BE(0);
  if (n < 0) throw new BinaryFormatError(`binary record has ${n} columns`);
  let at = 4;
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    atLeast(b, at + 8, 'record');
    const oid = b.readUInt32BE(at);
    const len = b.readInt32BE(at + 4);
    at += 8;
    if (len === -1) {
      out.push('');
      continue;
    }
    if (len < 0 || at + len > b.length) throw new BinaryFormatError('binary record column overruns the value');
    const print = column(oid);
    if (print === undefined) return undefined;
    const s = print(b.subarray(at, at + len));
    if (s === undefined) return undefined;
    at += len;
    out.push(s !== '' && !/["\\(),\s]/.test(s) ? s : `"${s.replace(/["\\]/g, (c) => c + c)}"`);
  }
  if (at !== b.length) throw new BinaryFormatError(`binary record has ${b.length - at} bytes after its last column`);
  return `(${out.join(',')})`;
}

/**
 * Whether binary bytes are an enum label as enum_send sends it: 1 to 63 bytes (NAMEDATALEN - 1)
 * of UTF-8 text with no control character. A record (record_send) always starts with a zero byte,
 * an array (array_send) too, so neither can be taken for a label.
 */
export function isEnumLabel(b: Buffer): boolean {
  if (b.length === 0 || b.length > 63) return false;
  for (let i = 0; i < b.length; i++) if (b[i] < 0x20 || b[i] === 0x7f) return false;
  return isUtf8(b);
}

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

function isUtf8(b: Buffer): boolean {
  try {
    strictUtf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** An array element as array_out quotes it: empty, `NULL` in any case, or holding `"`, `\`, `{`, `}`, the delimiter or white space. */
function arrayElement(s: string, delimiter: string): string {
  let quote = s === '' || s.length === 4 && s.toUpperCase() === 'NULL';
  if (!quote) {
    for (let i = 0; i < s.length; i++) {
      const c = s[i];
      if (c === '"' || c === '\\' || c === '{' || c === '}' || c === delimiter || c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f') {
        quote = true;
        break;
      }
    }
  }
  return quote ? `"${s.replace(/["\\]/g, (c) => `\\${c}`)}"` : s;
}

/**
 * array_send bytes printed as array_out does: `{a,NULL,"b c"}`, nested braces per dimension, and
 * `[lower:upper]=` dimension decoration when a lower bound is not 1. `element(oid)` gives the
 * printer of the element type the array names, or undefined (then the result is undefined too, as
 * it is when an element printer gives undefined).
 */
export function arrayText(b: Buffer, element: (oid: number) => ((bytes: Buffer) => string | undefined) | undefined, delimiter = ','): string | undefined {
  atLeast(b, 12, 'array');
  const ndim = b.readInt32BE(0);
  if (ndim === 0) return '{}';
  if (ndim < 0 || ndim > 6) throw new BinaryFormatError(`binary array has ${ndim} dimensions`);
  atLeast(b, 12 + 8 * ndim, 'array');
  const print = element(b.readUInt32BE(8));
  if (print === undefined) return undefined;
  const dims: number[] = [];
  let decoration = '';
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const size = b.readInt32BE(12 + 8 * d);
    const lower = b.readInt32BE(16 + 8 * d);
    count *= size;
    if (size < 0 || count * 4 > b.length) throw new BinaryFormatError(`binary array dimensions need more than the ${b.length} bytes of the value`);
    dims.push(size);
    decoration += `[${lower}:${lower + size - 1}]`;
  }
  const decorate = [...Array(ndim).keys()].some((d) => b.readInt32BE(16 + 8 * d) !== 1);
  let pos = 12 + 8 * ndim;
  let failed = false;
  const next = (): string => {
    atLeast(b, pos + 4, 'array');
    const len = b.readInt32BE(pos);
    pos += 4;
    if (len === -1) return 'NULL';
    if (len < 0 || pos + len > b.length) throw new BinaryFormatError('binary array element overruns the value');
    const s = print(b.subarray(pos, pos + len));
    pos += len;
    if (s === undefined) {
      failed = true;
      return '';
    }
    return arrayElement(s, delimiter);
  };
  const build = (d: number): string => {
    const parts: string[] = [];
    for (let i = 0; i < dims[d]; i++) parts.push(d + 1 === ndim ? next() : build(d + 1));
    return `{${parts.join(delimiter)}}`;
  };
  const text = build(0);
  if (failed) return undefined;
  if (pos !== b.length) throw new BinaryFormatError(`binary array has ${b.length - pos} bytes after its last element`);
  return decorate ? `${decoration}=${text}` : text;
}
