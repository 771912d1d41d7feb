/**
 * Value decoders that read a column where it lies in the received frame, `buf[start, end)`, for the
 * hottest types (issue 18): no `Buffer` view for a binary value, and for a text value no
 * `Buffer#toString` call (whose fixed cost is most of a short value's decoding) or no string at all.
 * Each gives exactly what its registry parser gives on `buf.toString('utf8', start, end)` (text)
 * or on `buf.subarray(start, end)` (binary): anything outside the forms read here goes to that parser.
 */
import { getTypeParser } from 'pg-types';
import { asciiAt } from './ascii';
import { NOT_READ, readJsonAt } from './json-bytes';
import type { TypeRegistry } from './registry';
import * as bin from './binary';
import { intervalFields, parseIntervalAt, parseTimestampAt } from './fast-text';

/**
 * A decoder of the column value lying at `buf[start, end)` (byte offsets into a received frame):
 * what {@link TypeRegistry.textAt} and {@link TypeRegistry.binaryAt} return, and what `Row#get` calls.
 * It throws what the type's parser throws.
 * @example
 * const decode: ValueAt = new TypeRegistry().textAt(23);
 * decode(Buffer.from('x42'), 1, 3); // 42
 */
export type ValueAt = (buf: Buffer, start: number, end: number) => unknown;

const fcc = String.fromCharCode;

/**
 * The string of `buf[start, end)`: one `String.fromCharCode` call for ASCII up to 16 bytes (about
 * 4× faster than `toString` there), `toString('utf8')` otherwise.
 * @example
 * textAt(Buffer.from('x12.5'), 1, 5); // '12.5'
 */
export function textAt(b: Buffer | Uint8Array, s: number, e: number): string {
  const n = e - s;
  if (n > 16) return longTextAt(b as Buffer, s, e);
  let or = 0;
  for (let i = s; i < e; i++) or |= b[i];
  if (or >= 0x80) return b.toString('utf8', s, e);
  return asciiAt(b, s, n);
}


const parseIntText = getTypeParser(23) as (s: string) => number;

/** int2, int4 and oid text as pg-types' `parseInt(text, 10)`: `-?digits` (at most 10) read from the bytes. */
export function intAt(b: Buffer, s: number, e: number): number {
  let i = s;
  let neg = false;
  if (i < e && b[i] === 45) {
    neg = true;
    i++;
  }
  if (i === e || e - i > 10) return parseIntText(b.toString('utf8', s, e));
  let v = 0;
  for (; i < e; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return parseIntText(b.toString('utf8', s, e));
    v = v * 10 + d;
  }
  return neg ? -v : v;
}

const parseBoolText = getTypeParser(16) as (s: string) => boolean;

/** bool text (`t`/`f`) as pg-types' parseBool. */
export function boolAt(b: Buffer, s: number, e: number): boolean {
  if (e - s === 1) {
    if (b[s] === 116) return true;
    if (b[s] === 102) return false;
  }
  return parseBoolText(b.toString('utf8', s, e));
}

/** Exact powers of ten as doubles (10^0 to 10^22: every one below 2^53 · 2^22 is exact). */
const EXACT_POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
/** The largest mantissa m for which m * 10 + 9 still is at most 2^53 (every step exact). */
const MANTISSA_LIMIT = (2 ** 53 - 9) / 10;

/**
 * float4 and float8 text as pg-types' `parseFloat`. `-?digits[.digits]` whose digits, without the
 * point, make an integer m ≤ 2^53 with k ≤ 22 digits after the point is m / 10^k: both are exact
 * doubles, so the one division is the correctly rounded value, which is what parseFloat gives
 * (Clinger's fast path). Anything else (exponents, NaN, Infinity, longer mantissas) is parseFloat.
 */
export const floatAt: ValueAt = (b, s, e) => {
  let i = s;
  let neg = false;
  if (i < e && b[i] === 45) {
    neg = true;
    i++;
  }
  let m = 0;
  let digits = 0;
  let k = -1;
  for (; i < e; i++) {
    const c = b[i];
    const d = c - 48;
    if (d >= 0 && d <= 9) {
      if (m > MANTISSA_LIMIT) return parseFloat(textAt(b, s, e));
      m = m * 10 + d;
      digits++;
      if (k >= 0) k++;
    } else if (c === 46 && k < 0) k = 0;
    else return parseFloat(textAt(b, s, e));
  }
  if (digits === 0 || k > 22) return parseFloat(textAt(b, s, e));
  const v = k > 0 ? m / EXACT_POW10[k] : m;
  return neg ? -v : v;
};

/** date, timestamp and timestamptz text as {@link parseTimestamp}, read from the bytes. */
export const timestampAt: ValueAt = parseTimestampAt;

// Binary values in place (their readers check lengths the same way; a wrong length goes to them).

export const int2BinAt: ValueAt = (b, s, e) => (e - s === 2 ? b.readInt16BE(s) : bin.int2Value(b.subarray(s, e)));
export const int4BinAt: ValueAt = (b, s, e) => (e - s === 4 ? b.readInt32BE(s) : bin.int4Value(b.subarray(s, e)));
export const uint4BinAt: ValueAt = (b, s, e) => (e - s === 4 ? b.readUInt32BE(s) : bin.uint4Value(b.subarray(s, e)));
export const float8BinAt: ValueAt = (b, s, e) => (e - s === 8 ? b.readDoubleBE(s) : bin.float8Value(b.subarray(s, e)));
export const float4BinAt: ValueAt = (b, s, e) => (e - s === 4 ? bin.float4Number(b.readFloatBE(s)) : bin.float4Value(b.subarray(s, e)));
export const boolBinAt: ValueAt = (b, s, e) => (e - s === 1 ? b[s] !== 0 : bin.boolValue(b.subarray(s, e)));

/** int8 as its decimal text, as bin.int8Text. */
export const int8TextBinAt: ValueAt = (b, s, e) => {
  if (e - s === 8) {
    const hi = b.readInt32BE(s);
    if (hi >= -0x200000 && hi < 0x200000) return String(hi * 4_294_967_296 + b.readUInt32BE(s + 4));
  }
  return bin.int8Text(b.subarray(s, e));
};

/** timestamptz as bin.timestamptzDate. */
export const timestamptzBinAt: ValueAt = (b, s, e) => {
  if (e - s === 8) {
    const hi = b.readInt32BE(s);
    if (hi > -0x1c0000 && hi < 0x1c0000) {
      const unix = hi * 4_294_967_296 + b.readUInt32BE(s + 4) + 946_684_800_000_000;
      const rest = ((unix % 1000) + 1000) % 1000;
      return new Date((unix - rest) / 1000);
    }
  }
  return bin.timestamptzDate(b.subarray(s, e));
};

/** text, varchar, bpchar, name: the characters. */
export const utf8BinAt: ValueAt = textAt;

/** numeric as bin.numericToText, read in place. */
export const numericBinAt: ValueAt = (b, s, e) => bin.numericTextAt(b, s, e);

/** Character codes of the two hex digits of a byte. */
const HEX_HI = new Uint8Array(256);
const HEX_LO = new Uint8Array(256);
for (let i = 0; i < 256; i++) {
  const h = i.toString(16).padStart(2, '0');
  HEX_HI[i] = h.charCodeAt(0);
  HEX_LO[i] = h.charCodeAt(1);
}

/** uuid as bin.uuidText (`8-4-4-4-12` lowercase hex), in one `String.fromCharCode` call. */
export const uuidBinAt: ValueAt = (b, s, e) => {
  if (e - s !== 16) return bin.uuidText(b.subarray(s, e));
  const h = (i: number) => HEX_HI[b[s + i]];
  const l = (i: number) => HEX_LO[b[s + i]];
  // prettier-ignore
  return fcc(h(0), l(0), h(1), l(1), h(2), l(2), h(3), l(3), 45, h(4), l(4), h(5), l(5), 45, h(6), l(6), h(7), l(7), 45,
    h(8), l(8), h(9), l(9), 45, h(10), l(10), h(11), l(11), h(12), l(12), h(13), l(13), h(14), l(14), h(15), l(15));
};

/** time as bin.timeToText (`HH:MM:SS` and the fraction without trailing zeros), without BigInt. */
export const timeBinAt: ValueAt = (b, s, e) => {
  if (e - s !== 8) return bin.timeToText(b.subarray(s, e));
  const hi = b.readInt32BE(s);
  // time_send's range is 0 to 24:00:00 (86,400,000,000 µs, below 2^37); anything else as the reader does.
  if (hi < 0 || hi > 32) return bin.timeToText(b.subarray(s, e));
  const us = hi * 4_294_967_296 + b.readUInt32BE(s + 4);
  const micros = us % 1_000_000;
  const secs = (us - micros) / 1_000_000;
  const hours = Math.floor(secs / 3600);
  if (hours > 99) return bin.timeToText(b.subarray(s, e));
  const minutes = Math.floor(secs / 60) % 60;
  const seconds = secs % 60;
  const t = TEXT_SCRATCH;
  t[0] = 48 + Math.floor(hours / 10);
  t[1] = 48 + (hours % 10);
  t[2] = 58;
  t[3] = 48 + Math.floor(minutes / 10);
  t[4] = 48 + (minutes % 10);
  t[5] = 58;
  t[6] = 48 + Math.floor(seconds / 10);
  t[7] = 48 + (seconds % 10);
  if (micros === 0) return asciiAt(t, 0, 8);
  // The six fraction digits without trailing zeros: one string of up to 15 characters.
  t[8] = 46;
  let f = micros;
  for (let i = 14; i >= 9; i--) {
    t[i] = 48 + (f % 10);
    f = Math.floor(f / 10);
  }
  let n = 15;
  while (t[n - 1] === 48) n--;
  return asciiAt(t, 0, n);
};

/** Characters of a printed value, made into one string by asciiAt: a Buffer, as the frames asciiAt reads (one shape at its loads). */
const TEXT_SCRATCH = Buffer.alloc(24);

/** The value of each byte as a hex digit (`0-9a-fA-F`), -1 for any other byte: one load per digit. */
const HEX_VALUE = new Int8Array(256).fill(-1);
for (let i = 0; i < 10; i++) HEX_VALUE[48 + i] = i;
for (let i = 0; i < 6; i++) HEX_VALUE[97 + i] = HEX_VALUE[65 + i] = 10 + i;

/**
 * bytea text in byteaout's hex form (`\x` and an even count of hex digits) as the Buffer pg-types
 * makes of it (`Buffer.from(hex, 'hex')`), decoded from the bytes; undefined for any other text.
 */
export function byteaHexAt(b: Buffer, s: number, e: number): Buffer | undefined {
  const n = e - s;
  if (n < 2 || b[s] !== 92 || b[s + 1] !== 120 || (n & 1) !== 0) return undefined;
  const out = Buffer.allocUnsafe((n - 2) >> 1);
  for (let i = s + 2, j = 0; i < e; i += 2, j++) {
    const hi = HEX_VALUE[b[i]];
    const lo = HEX_VALUE[b[i + 1]];
    if (hi < 0 || lo < 0) return undefined;
    out[j] = (hi << 4) | lo;
  }
  return out;
}

/**
 * A one-dimensional int2/int4/oid array text (`{1,-2,NULL}`) as parseArray with parseInt gives
 * it, read from the bytes; undefined for any other form (quotes, spaces, dimensions, nesting).
 */
export function intArrayAt(b: Buffer, s: number, e: number): unknown[] | undefined {
  if (e - s < 2 || b[s] !== 123 || b[e - 1] !== 125) return undefined;
  const out: unknown[] = [];
  const last = e - 1;
  let i = s + 1;
  if (i === last) return out;
  for (;;) {
    if (b[i] === 78) {
      if (i + 4 > last || b[i + 1] !== 85 || b[i + 2] !== 76 || b[i + 3] !== 76) return undefined;
      out.push(null);
      i += 4;
    } else {
      let neg = false;
      if (b[i] === 45) {
        neg = true;
        i++;
      }
      const d0 = i;
      let v = 0;
      while (i < last) {
        const d = b[i] - 48;
        if (d < 0 || d > 9) break;
        v = v * 10 + d;
        i++;
      }
      if (i === d0 || i - d0 > 15) return undefined;
      out.push(neg ? -v : v);
    }
    if (i === last) return out;
    if (b[i] !== 44 || i + 1 === last) return undefined;
    i++;
  }
}

/**
 * The string of `buf[start, end)` (UTF-8), longer than 16 bytes: ASCII is decoded as latin1 (the
 * same characters by a cheaper decoder than UTF-8's; one String.fromCharCode call with 36 arguments
 * was 3× slower for a uuid), anything else by `utf8Slice` (`toString('utf8')`).
 */
/** Node's Buffer decoders without `toString`'s encoding dispatch (public methods, untyped in @types/node). */
interface SliceBuffer extends Buffer {
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
}

function longTextAt(b: Buffer, s: number, e: number): string {
  let or = 0;
  for (let i = s; i < e; i++) or |= b[i];
  if (or >= 0x80) return (b as SliceBuffer).utf8Slice(s, e);
  return (b as SliceBuffer).latin1Slice(s, e);
}

/** The string of `buf[start, end)` (UTF-8), as {@link textAt}. */
export const utf8At = (b: Buffer, s: number, e: number): string => textAt(b, s, e);

/**
 * json and jsonb text as parseJsonDocument (`parse`, the document null as `jsonNull`): read from the
 * bytes by readJsonAt (the documents in its subset), else `parse` on the string made once from the bytes.
 */
export function jsonAt(parse: (text: string) => unknown, jsonNull: unknown): ValueAt {
  return (b, s, e) => {
    const v = readJsonAt(b, s, e);
    if (v === NOT_READ) return parse(utf8At(b, s, e));
    return v === null ? jsonNull : v;
  };
}

/** jsonb binary (version byte 1, then the text) as {@link jsonAt}; any other version to `slow`. */
export function jsonbBinAt(parse: (text: string) => unknown, jsonNull: unknown, slow: (b: Buffer) => unknown): ValueAt {
  const text = jsonAt(parse, jsonNull);
  return (b, s, e) => (e - s >= 1 && b[s] === 1 ? text(b, s + 1, e) : slow(b.subarray(s, e)));
}

/** A copy of the binary bytea bytes (as bin.byteaValue): one allocation, no view in between. */
export const byteaBinAt: ValueAt = (b, s, e) => {
  const n = e - s;
  const out = Buffer.allocUnsafe(n);
  if (n <= 64) for (let i = 0; i < n; i++) out[i] = b[s + i];
  else b.copy(out, 0, s, e);
  return out;
};

/** Writes the decimal digits of a byte value (0-255) at t[n]; returns the index after them. */
function decimalByte(t: Buffer, n: number, v: number): number {
  if (v >= 100) {
    t[n++] = 48 + Math.floor(v / 100);
    t[n++] = 48 + (Math.floor(v / 10) % 10);
  } else if (v >= 10) t[n++] = 48 + Math.floor(v / 10);
  t[n++] = 48 + (v % 10);
  return n;
}

/** inet/cidr binary as bin.inetText: IPv4 written as character codes; anything else to it. */
export const inetBinAt: ValueAt = (b, s, e) => {
  if (e - s === 8 && b[s] === 2 && b[s + 3] === 4) {
    // `a.b.c.d[/bits]` written as character codes, one string (up to 18 characters).
    const t = TEXT_SCRATCH;
    let n = 0;
    for (let i = 4; i < 8; i++) {
      if (i > 4) t[n++] = 46;
      n = decimalByte(t, n, b[s + i]);
    }
    const bits = b[s + 1];
    if (bits !== 32 || b[s + 2] !== 0) {
      t[n++] = 47;
      n = decimalByte(t, n, bits);
    }
    return n <= 16 ? asciiAt(t, 0, n) : (t as SliceBuffer).latin1Slice(0, n);
  }
  return bin.inetText(b.subarray(s, e));
};

/**
 * A one-dimensional binary array (array_send) read in place with an element reader at its offset,
 * as bin.readArray gives it; any other shape, and anything that does not check out, goes to
 * `slow` on a view (which gives the same value or throws the same error).
 */
export function arrayBinAt(elementAt: (b: Buffer, start: number, length: number) => unknown, slow: (b: Buffer) => unknown): ValueAt {
  return (b, s, e) => {
    if (e - s < 20 || b.readInt32BE(s) !== 1) return slow(b.subarray(s, e));
    const n = b.readInt32BE(s + 12);
    if (n < 0 || n * 4 > e - s - 20) return slow(b.subarray(s, e));
    const out: unknown[] = new Array(n);
    let pos = s + 20;
    for (let i = 0; i < n; i++) {
      if (pos + 4 > e) return slow(b.subarray(s, e));
      const len = b.readInt32BE(pos);
      pos += 4;
      if (len === -1) {
        out[i] = null;
        continue;
      }
      if (len < 0 || pos + len > e) return slow(b.subarray(s, e));
      out[i] = elementAt(b, pos, len);
      pos += len;
    }
    return pos === e ? out : slow(b.subarray(s, e));
  };
}

/**
 * A one-dimensional binary array of text-like elements (text, varchar, bpchar, name) read in place,
 * as {@link arrayBinAt} with the element's string made by {@link textAt} (one `String.fromCharCode`
 * call for short ASCII, no `Buffer#toString` per element): its own loop, so that the element read is
 * not a call through a parameter shared by every array type. `slow` gets a view of anything else.
 */
export function textArrayBinAt(slow: (b: Buffer) => unknown): ValueAt {
  return (b, s, e) => {
    if (e - s < 20 || b.readInt32BE(s) !== 1) return slow(b.subarray(s, e));
    const n = b.readInt32BE(s + 12);
    if (n < 0 || n * 4 > e - s - 20) return slow(b.subarray(s, e));
    const out: unknown[] = new Array(n);
    let pos = s + 20;
    for (let i = 0; i < n; i++) {
      if (pos + 4 > e) return slow(b.subarray(s, e));
      const len = b.readInt32BE(pos);
      pos += 4;
      if (len === -1) {
        out[i] = null;
        continue;
      }
      if (len < 0 || pos + len > e) return slow(b.subarray(s, e));
      out[i] = textAt(b, pos, pos + len);
      pos += len;
    }
    return pos === e ? out : slow(b.subarray(s, e));
  };
}

/** interval text, read from the bytes (parseIntervalAt). */
export const intervalAt: ValueAt = parseIntervalAt;

/** interval binary as intervalFromBinary, read in place; `slow` gets a view of what it does not cover. */
export function intervalBinAt(slow: (b: Buffer) => unknown): ValueAt {
  return (b, s, e) => {
    if (e - s !== 16) return slow(b.subarray(s, e));
    const hi = b.readInt32BE(s);
    if (hi <= -0x200000 || hi >= 0x200000) return slow(b.subarray(s, e));
    return intervalFields(hi * 4_294_967_296 + b.readUInt32BE(s + 4), b.readInt32BE(s + 8), b.readInt32BE(s + 12));
  };
}

/** date binary as bin.dateLocalDate, read in place; `slow` gets a view of anything else (±infinity, a wrong length). */
export function dateBinAt(slow: (b: Buffer) => unknown): ValueAt {
  return (b, s, e) => {
    if (e - s !== 4) return slow(b.subarray(s, e));
    const days = b.readInt32BE(s);
    return days === 0x7fffffff || days === -0x80000000 ? slow(b.subarray(s, e)) : bin.localDateOfDays(days);
  };
}

/** timestamp binary as bin.timestampLocalDate, read in place; `slow` gets a view of anything else. */
export function timestampBinAt(slow: (b: Buffer) => unknown): ValueAt {
  return (b, s, e) => {
    if (e - s !== 8) return slow(b.subarray(s, e));
    const hi = b.readInt32BE(s);
    return hi <= -0x1c0000 || hi >= 0x1c0000 ? slow(b.subarray(s, e)) : bin.localDateOfMicros(hi * 4_294_967_296 + b.readUInt32BE(s + 4));
  };
}
