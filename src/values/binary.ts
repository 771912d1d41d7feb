/**
 * Binary-format readers: each turns a type's `*_send` bytes (`src/backend/utils/adt/`) into the
 * exact text its `*_out` function prints, so a binary value goes through the same text parser as
 * a text value and both formats give identical JavaScript values. Types whose text needs no
 * parsing (integers, floats, text, bytea, json) also have direct readers, used when no user parser
 * or option asks for the text.
 *
 * Text is formatted as with DateStyle ISO, IntervalStyle postgres and TimeZone UTC (a binary
 * timestamptz carries no zone).
 */

import { asciiAt } from './ascii';

/**
 * A binary-format value of a type the decoder has no reader for (extension types other than hstore
 * and citext, user types whose bytes are neither an enum label nor a record):
 * a copy of the `*_send` bytes, with the column's type OID. Register a parser to decode it.
 *
 * @example
 * const v = row.get('geom'); // a PostGIS geometry in binary mode
 * if (v instanceof BinaryValue) console.log(v.typeOid, v.bytes.toString('hex'));
 */
export class BinaryValue {
  constructor(
    readonly typeOid: number,
    readonly bytes: Buffer,
  ) {}
}

/** Thrown inside a reader when the bytes do not fit the type; the Row wraps it with table and column. */
export class BinaryFormatError extends Error {}

function need(b: Buffer, n: number, type: string): void {
  if (b.length !== n) throw new BinaryFormatError(`binary ${type} must be ${n} bytes, got ${b.length}`);
}

const pad2 = (n: number) => (n < 10 ? `0${n}` : String(n));

const USECS_PER_DAY = 86_400_000_000n;
const INT64_MAX = 0x7fffffffffffffffn;
const INT64_MIN = -0x8000000000000000n;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
/** Days from 0000-03-01 (proleptic Gregorian) to 2000-01-01, PostgreSQL's epoch. */
const DAYS_0000_03_01_TO_2000 = 730_425;

/** civil's result without an array per call (the hot binary date/timestamp readers): written to CIVIL. */
const CIVIL = { y: 0, m: 0, d: 0 };
function civilInto(days: number): void {
  const z = days + DAYS_0000_03_01_TO_2000;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const m = mp < 10 ? mp + 3 : mp - 9;
  CIVIL.y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  CIVIL.m = m;
  CIVIL.d = doy - Math.floor((153 * mp + 2) / 5) + 1;
}

/** Proleptic Gregorian date of a day count since 2000-01-01, for any range (H. Hinnant's civil_from_days). */
function civil(days: number): [number, number, number] {
  civilInto(days);
  return [CIVIL.y, CIVIL.m, CIVIL.d];
}

/** `YYYY-MM-DD`, or `YYYY-MM-DD BC` for years before 1, as EncodeDateOnly (ISO) prints it. */
function dateText(days: number): [string, string] {
  const [y, m, d] = civil(days);
  const year = y > 0 ? y : 1 - y;
  return [`${String(year).padStart(4, '0')}-${pad2(m)}-${pad2(d)}`, y > 0 ? '' : ' BC'];
}

/** `HH:MM:SS` plus the fraction without trailing zeros (AppendSeconds). */
function clockText(hours: number | bigint, minutes: number, seconds: number, micros: number): string {
  const h = typeof hours === 'bigint' ? hours.toString().padStart(2, '0') : pad2(hours);
  let s = `${h}:${pad2(minutes)}:${pad2(seconds)}`;
  if (micros !== 0) s += `.${String(micros).padStart(6, '0').replace(/0+$/, '')}`;
  return s;
}

function timeOfDay(us: number): string {
  const micros = us % 1_000_000;
  const secs = (us - micros) / 1_000_000;
  return clockText(Math.floor(secs / 3600), Math.floor(secs / 60) % 60, secs % 60, micros);
}

/** date_send: Int32 days since 2000-01-01; INT32_MIN/MAX are -infinity/infinity. */
export function dateToText(b: Buffer): string {
  need(b, 4, 'date');
  const days = b.readInt32BE(0);
  if (days === INT32_MAX) return 'infinity';
  if (days === INT32_MIN) return '-infinity';
  const [date, era] = dateText(days);
  return date + era;
}

/** timestamp_send: Int64 µs since 2000-01-01 00:00; the zone suffix is added for timestamptz. */
function timestampText(b: Buffer, zone: string, type: string): string {
  need(b, 8, type);
  const us = b.readBigInt64BE(0);
  if (us === INT64_MAX) return 'infinity';
  if (us === INT64_MIN) return '-infinity';
  let days = us / USECS_PER_DAY;
  let rest = us % USECS_PER_DAY;
  if (rest < 0n) {
    rest += USECS_PER_DAY;
    days -= 1n;
  }
  const [date, era] = dateText(Number(days));
  return `${date} ${timeOfDay(Number(rest))}${zone}${era}`;
}

/** Microseconds from 1970-01-01 to 2000-01-01. */
const UNIX_EPOCH_OFFSET_US = 946_684_800_000_000n;

/**
 * timestamptz as the `Date` (or ±Infinity) postgres-date makes of its text: milliseconds rounded
 * down, Invalid Date outside the range a Date can hold. Skips printing and parsing the text.
 */
export function timestamptzDate(b: Buffer): Date | number {
  need(b, 8, 'timestamptz');
  // Within ±250 years of 2000 the microseconds since 1970 fit a double exactly: no BigInt on the hot path.
  const hi = b.readInt32BE(0);
  if (hi > -0x1c0000 && hi < 0x1c0000) {
    const unix = hi * 4_294_967_296 + b.readUInt32BE(4) + 946_684_800_000_000;
    const rest = ((unix % 1000) + 1000) % 1000;
    return new Date((unix - rest) / 1000);
  }
  const us = b.readBigInt64BE(0);
  if (us === INT64_MAX) return Infinity;
  if (us === INT64_MIN) return -Infinity;
  const unix = us + UNIX_EPOCH_OFFSET_US;
  let ms = unix / 1000n;
  if (unix < 0n && unix % 1000n !== 0n) ms -= 1n;
  return new Date(Number(ms));
}

export const timestampToText = (b: Buffer) => timestampText(b, '', 'timestamp');

/**
 * timestamp as the local-time `Date` postgres-date makes of its text, built from the fields
 * without printing and parsing them (within ±250 years of 2000; `fallback` gets the others).
 */
export function timestampLocalDate(b: Buffer, fallback: (b: Buffer) => unknown): unknown {
  need(b, 8, 'timestamp');
  const hi = b.readInt32BE(0);
  if (hi <= -0x1c0000 || hi >= 0x1c0000) return fallback(b);
  return localDateOfMicros(hi * 4_294_967_296 + b.readUInt32BE(4));
}

/**
 * The local-time `Date` of timestamp_send's µs since 2000-01-01 (within ±250 years of 2000), as
 * postgres-date makes it of the printed text. @internal
 */
export function localDateOfMicros(us: number): Date {
  const rest = ((us % 86_400_000_000) + 86_400_000_000) % 86_400_000_000;
  civilInto((us - rest) / 86_400_000_000);
  const y = CIVIL.y;
  const m = CIVIL.m;
  const d = CIVIL.d;
  const micros = rest % 1_000_000;
  const secs = (rest - micros) / 1_000_000;
  // postgres-date: 1000 * parseFloat('.ffffff'), the same double as 1000 * (micros / 1e6).
  const date = new Date(y, m - 1, d, Math.floor(secs / 3600), Math.floor(secs / 60) % 60, secs % 60, micros === 0 ? 0 : 1000 * (micros / 1_000_000));
  if (y >= 0 && y < 100) date.setFullYear(y);
  return date;
}

/** date as the local-midnight `Date` postgres-date makes of its text; `fallback` gets ±infinity. */
export function dateLocalDate(b: Buffer, fallback: (b: Buffer) => unknown): unknown {
  need(b, 4, 'date');
  const days = b.readInt32BE(0);
  if (days === INT32_MAX || days === INT32_MIN) return fallback(b);
  return localDateOfDays(days);
}

/** The local-midnight `Date` of date_send's days since 2000-01-01 (not ±infinity). @internal */
export function localDateOfDays(days: number): Date {
  civilInto(days);
  const y = CIVIL.y;
  const m = CIVIL.m;
  const d = CIVIL.d;
  const date = new Date(y, m - 1, d);
  if (y >= 0 && y < 100) date.setFullYear(y);
  return date;
}
export const timestamptzToText = (b: Buffer) => timestampText(b, '+00', 'timestamptz');

/** time_send: Int64 µs since midnight. */
export function timeToText(b: Buffer): string {
  need(b, 8, 'time');
  return timeOfDay(Number(b.readBigInt64BE(0)));
}

/** timetz_send: Int64 µs since midnight, Int32 zone in seconds west of UTC (EncodeTimezone). */
export function timetzToText(b: Buffer): string {
  need(b, 12, 'timetz');
  const tz = b.readInt32BE(8);
  let sec = Math.abs(tz);
  let min = Math.floor(sec / 60);
  sec -= min * 60;
  const hour = Math.floor(min / 60);
  min -= hour * 60;
  let zone = (tz <= 0 ? '+' : '-') + pad2(hour);
  if (sec !== 0) zone += `:${pad2(min)}:${pad2(sec)}`;
  else if (min !== 0) zone += `:${pad2(min)}`;
  return timeOfDay(Number(b.readBigInt64BE(0))) + zone;
}

/** interval_send: Int64 µs, Int32 days, Int32 months; printed as IntervalStyle postgres (EncodeInterval). */
export function intervalToText(b: Buffer): string {
  need(b, 16, 'interval');
  const time = b.readBigInt64BE(0);
  const days = b.readInt32BE(8);
  const months = b.readInt32BE(12);
  if (time === INT64_MAX && days === INT32_MAX && months === INT32_MAX) return 'infinity';
  if (time === INT64_MIN && days === INT32_MIN && months === INT32_MIN) return '-infinity';
  const parts: string[] = [];
  let before = false;
  const add = (value: number, unit: string) => {
    if (value === 0) return;
    parts.push(`${before && value > 0 ? '+' : ''}${value} ${unit}${value !== 1 ? 's' : ''}`);
    before = value < 0;
  };
  add(Math.trunc(months / 12), 'year');
  add(months % 12, 'mon');
  add(days, 'day');
  const hours = time / 3_600_000_000n;
  const rest = Number(time % 3_600_000_000n);
  const minutes = Math.trunc(rest / 60_000_000);
  const seconds = Math.trunc((rest % 60_000_000) / 1_000_000);
  const micros = rest % 1_000_000;
  if (parts.length === 0 || time !== 0n) {
    const sign = time < 0n ? '-' : before ? '+' : '';
    const abs = (n: number) => Math.abs(n);
    parts.push(sign + clockText(hours < 0n ? -hours : hours, abs(minutes), abs(seconds), abs(micros)));
  }
  return parts.join(' ');
}

const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;
const NUMERIC_NEG = 0x4000;

/** numeric_send: Int16 ndigits, weight, sign, dscale, then base-10000 digits (get_str_from_var). */
export function numericToText(b: Buffer): string {
  return numericTextAt(b, 0, b.length);
}

/** The base-10000 digit i of a binary numeric whose digits start at d. */
function numericDigit(b: Buffer, d: number, i: number): number {
  return (b[d + 2 * i] << 8) | b[d + 2 * i + 1];
}

/**
 * {@link numericToText} of `b[at, end)`, read in place. Up to 16 characters (the common values) are
 * written as character codes from a table of the 0000–9999 groups and made a string by one
 * `String.fromCharCode` call; no closure (a closure over `b` would put `b` in a context allocated
 * per call, and every byte read would go through it).
 */
export function numericTextAt(b: Buffer, at: number, end: number): string {
  const length = end - at;
  if (length < 8) throw new BinaryFormatError(`binary numeric needs 8 header bytes, got ${length}`);
  const ndigits = (b[at] << 8) | b[at + 1];
  const weight = ((b[at + 2] << 24) >> 16) | b[at + 3];
  const sign = (b[at + 4] << 8) | b[at + 5];
  const dscale = (b[at + 6] << 8) | b[at + 7];
  if (sign !== 0 && sign !== NUMERIC_NEG) {
    if (sign === NUMERIC_NAN) return 'NaN';
    if (sign === NUMERIC_PINF) return 'Infinity';
    if (sign === NUMERIC_NINF) return '-Infinity';
    throw new BinaryFormatError(`binary numeric has an invalid sign 0x${sign.toString(16)}`);
  }
  if (length !== 8 + 2 * ndigits) throw new BinaryFormatError(`binary numeric must be ${8 + 2 * ndigits} bytes, got ${length}`);
  const d = at + 8;
  const first = weight < 0 || ndigits === 0 ? 0 : (b[d] << 8) | b[d + 1];
  const intLength = weight < 0 ? 1 : (first >= 1000 ? 4 : first >= 100 ? 3 : first >= 10 ? 2 : 1) + 4 * weight;
  const total = (sign === NUMERIC_NEG ? 1 : 0) + intLength + (dscale > 0 ? 1 + dscale : 0);
  if (total <= 16 && first < 10000) {
    // Each group's four characters by one 32-bit store (little-endian codes from a table); the
    // first group at [4, 8), so that the string starts after its leading zeros (and the sign
    // before them); the fraction's last group written whole and the string cut at dscale.
    const o = NUMERIC_SCRATCH;
    const v = NUMERIC_VIEW;
    let from: number;
    if (weight < 0) {
      o[7] = 48;
      from = 7;
    } else {
      v.setUint32(4, GROUP_CODES[first], true);
      from = 8 - (intLength - 4 * weight);
    }
    let n = 8;
    for (let i = 1; i <= weight; i++, n += 4) v.setUint32(n, GROUP_CODES[i < ndigits ? (b[d + 2 * i] << 8) | b[d + 2 * i + 1] : 0], true);
    let stop = n;
    if (dscale > 0) {
      o[n++] = 46;
      stop = n + dscale;
      for (let i = weight + 1; n < stop; i++, n += 4) v.setUint32(n, GROUP_CODES[i >= 0 && i < ndigits ? (b[d + 2 * i] << 8) | b[d + 2 * i + 1] : 0], true);
    }
    if (sign === NUMERIC_NEG) o[--from] = 45;
    return asciiAt(o, from, stop - from);
  }
  // Base-10000 digits from a table of their four-character forms: no padStart.
  let s = sign === NUMERIC_NEG ? '-' : '';
  let i = 0;
  if (weight < 0) s += '0';
  else {
    s += ndigits > 0 ? String(numericDigit(b, d, 0)) : '0';
    for (i = 1; i <= weight; i++) s += i < ndigits ? digits4(numericDigit(b, d, i)) : '0000';
  }
  if (dscale > 0) {
    let frac = '';
    for (i = weight + 1; frac.length < dscale; i++) frac += i >= 0 && i < ndigits ? digits4(numericDigit(b, d, i)) : '0000';
    s += `.${frac.length === dscale ? frac : frac.slice(0, dscale)}`;
  }
  return s;
}

/** Character codes of a short numeric's text (numericTextAt): sign at 3, first group at 4, up to 37 bytes. */
const NUMERIC_SCRATCH = Buffer.alloc(48); // a Buffer, as the frames asciiAt reads: one shape at its loads
const NUMERIC_VIEW = new DataView(NUMERIC_SCRATCH.buffer, NUMERIC_SCRATCH.byteOffset, NUMERIC_SCRATCH.length);
/**
 * The four digit characters of 0000 to 9999 as one little-endian 32-bit word each (the first
 * character in the low byte), for one store per group; 40 kB. A digit above 9999 (never sent by
 * numeric_send) reads undefined, stored as four NULs, as the byte table this replaces stored them.
 */
const GROUP_CODES = new Uint32Array(10_000);
for (let k = 0; k < 10_000; k++) {
  GROUP_CODES[k] = (48 + Math.floor(k / 1000)) | ((48 + (Math.floor(k / 100) % 10)) << 8) | ((48 + (Math.floor(k / 10) % 10)) << 16) | ((48 + (k % 10)) << 24);
}

let DIGITS4: string[] | undefined;
/** `0000` to `9999`, built on first use. */
function digits4(d: number): string {
  if (DIGITS4 === undefined) {
    DIGITS4 = new Array<string>(10000);
    for (let k = 0; k < 10000; k++) DIGITS4[k] = String(k).padStart(4, '0');
  }
  return DIGITS4[d] ?? String(d).padStart(4, '0');
}

/** float4_send: the shortest decimal that reads back as the same float4, as float4out prints it. */
export function float4Value(b: Buffer): number {
  need(b, 4, 'float4');
  return float4Number(b.readFloatBE(0));
}

/** A float4's value (read into a double) as float4Value gives it: the shortest decimal that reads back. */
export function float4Number(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const fast = float4Shortest(x);
  return fast === undefined ? float4Search(x) : fast;
}

/** 10^k split into two parts of at most 26 significant bits each (10^k = 2^k·5^k), k = 0..22. */
const POW10_HIGH: number[] = [];
const POW10_LOW: number[] = [];
for (let k = 0; k <= 22; k++) {
  const five = 5n ** BigInt(k);
  const low = five % (1n << 26n);
  POW10_HIGH.push(Number(five - low) * 2 ** k);
  POW10_LOW.push(Number(low) * 2 ** k);
}

const POW10 = [1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];

/**
 * The same search as {@link float4Search} from one `toExponential(16)` of x: the nearest p-digit
 * decimal is rounded from its first 10 digits (exact integers), and its double is one correctly
 * rounded multiplication or division by an exact power of ten. Undefined (the caller searches the
 * slow way) when a rounding could be a tie or the power of ten is not exact.
 */
function float4Shortest(x: number): number | undefined {
  const ax = x < 0 ? -x : x;
  let n10: number;
  let tailZero: boolean;
  let e = Math.floor(Math.log10(ax));
  const k = 9 - e;
  if (k >= 0 && k <= 22) {
    // ax·10^k exactly, as A + B: ax has 24 significant bits and each half of 10^k at most 26.
    const A = ax * POW10_HIGH[k];
    const B = ax * POW10_LOW[k];
    n10 = Math.floor(A + B);
    const rem = A - n10 + B; // A - n10 is exact (Sterbenz); the sum's sign and zero are exact
    if (rem < 0 || rem >= 1 || n10 < 1e9 || n10 >= 1e10) return float4ShortestSlow(x);
    tailZero = rem === 0;
  } else return float4ShortestSlow(x);
  return float4Pick(x, ax, n10, tailZero, e);
}

/** float4Shortest from `toExponential(16)`: slower, but for any exponent. */
function float4ShortestSlow(x: number): number | undefined {
  const ax = x < 0 ? -x : x;
  const s = ax.toExponential(16); // d.dddddddddddddddde±N, correctly rounded from x's exact decimal
  let n10 = s.charCodeAt(0) - 48;
  for (let i = 2; i < 11; i++) n10 = n10 * 10 + (s.charCodeAt(i) - 48);
  let tailZero = true;
  for (let i = 11; i < 18; i++) {
    if (s.charCodeAt(i) !== 48) {
      tailZero = false;
      break;
    }
  }
  let e = 0;
  for (let i = 20; i < s.length; i++) e = e * 10 + (s.charCodeAt(i) - 48);
  if (s.charCodeAt(19) === 45) e = -e;
  return float4Pick(x, ax, n10, tailZero, e);
}

/** The binary search over the digit count, given x's first 10 digits, whether the rest are zero, and its exponent. */
function float4Pick(x: number, ax: number, n10: number, tailZero: boolean, e: number): number | undefined {
  let lo = 1;
  let hi = 9;
  let best = NaN;
  while (lo < hi) {
    const p = (lo + hi) >> 1;
    const y = float4Candidate(ax, n10, tailZero, e, p);
    if (y === undefined) return undefined;
    if (Math.fround(y) === ax && !onBoundary(ax, y)) {
      hi = p;
      best = y;
    } else lo = p + 1;
  }
  // As in float4Search: 9 digits always read back (even on a boundary); below 9, best is lo's.
  const y = lo === 9 ? float4Candidate(ax, n10, tailZero, e, 9) : best;
  if (y === undefined) return undefined;
  return x < 0 ? -y : y;
}

/** The double of x's nearest `p`-digit decimal (p ≤ 9), from its first 10 digits `n10` and exponent `e`. */
function float4Candidate(ax: number, n10: number, tailZero: boolean, e: number, p: number): number | undefined {
  const pow = POW10[10 - p];
  let q = Math.floor(n10 / pow);
  const r = n10 - q * pow;
  const half = pow / 2;
  const k = e - p + 1;
  // Exactly half in the first 17 digits: maybe a tie (float4out rounds those to even), maybe a
  // 17-digit rounding up of something below half. Left to the slow search, unless neither p-digit
  // neighbour reads back as x: then no p-digit decimal does (those that read back form an interval
  // around x), whichever way the tie goes, and NaN fails the caller's check as they would. Not at
  // 9 digits, which the caller takes as they come.
  if (r === half && tailZero) {
    if (p === 9 || k > 22 || k < -22) return undefined;
    const down = k >= 0 ? q * POW10[k] : q / POW10[-k];
    const up = k >= 0 ? (q + 1) * POW10[k] : (q + 1) / POW10[-k];
    return Math.fround(down) !== ax && Math.fround(up) !== ax ? NaN : undefined;
  }
  if (r >= half) q++;
  if (k >= 0) return k <= 22 ? q * POW10[k] : undefined;
  return k >= -22 ? q / POW10[-k] : undefined;
}

/** float4Value's search with toPrecision, for the values float4Shortest leaves. */
function float4Search(x: number): number {
  // The fewest digits that read back. Reading back is monotone in the digit count (the nearest
  // p+1-digit decimal is at least as near as the nearest p-digit one), so a binary search over
  // 1..9 finds the same count as trying 1, 2, 3... in turn, with 3 or 4 toPrecision calls instead of up to 9.
  let lo = 1;
  let hi = 9; // 9 digits always read back
  let best = NaN;
  while (lo < hi) {
    const p = (lo + hi) >> 1;
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x && !onBoundary(x, y)) {
      hi = p;
      best = y;
    } else lo = p + 1;
  }
  if (lo === 9) return Number(x.toPrecision(9));
  if (Number.isNaN(best)) best = Number(x.toPrecision(lo));
  return halfEven(x, lo) ?? best;
}

const f32 = new Float32Array(1);
const f32bits = new Uint32Array(f32.buffer);

/** float4out does not pick a decimal lying exactly halfway to a neighbouring float4, though it reads back. */
export function onBoundary(x: number, y: number): boolean {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  f32[0] = ax;
  const bits = f32bits[0];
  f32bits[0] = bits + 1;
  const up = f32[0];
  f32bits[0] = bits - 1;
  const down = f32[0];
  return ay === (ax + up) / 2 || ay === (ax + down) / 2;
}

/**
 * When `x` lies exactly halfway between two `p`-digit decimals, toPrecision rounds away from zero
 * but float4out (Ryu) rounds to the even digit: returns that one, or undefined when there is no tie.
 */
export function halfEven(x: number, p: number): number | undefined {
  const [mantissa, exp] = Math.abs(x).toExponential(p).split('e');
  if (!mantissa.endsWith('5') || Number(`${mantissa}e${exp}`) !== Math.abs(x)) return undefined;
  const digits = BigInt(mantissa.replace('.', '').slice(0, p));
  const even = digits % 2n === 0n ? digits : digits + 1n;
  return Math.sign(x) * Number(`${even}e${Number(exp) - (p - 1)}`);
}

export function float8Value(b: Buffer): number {
  need(b, 8, 'float8');
  return b.readDoubleBE(0);
}

/** JS text of a float as float4out/float8out would print it: `NaN`, `Infinity`, `-0` included. */
export function floatText(x: number): string {
  return Object.is(x, -0) ? '-0' : String(x);
}

export function boolValue(b: Buffer): boolean {
  need(b, 1, 'bool');
  return b[0] !== 0;
}

export function int2Value(b: Buffer): number {
  need(b, 2, 'int2');
  return b.readInt16BE(0);
}

export function int4Value(b: Buffer): number {
  need(b, 4, 'int4');
  return b.readInt32BE(0);
}

/** oid, xid and cid are unsigned 32-bit. */
export function uint4Value(b: Buffer): number {
  need(b, 4, 'oid');
  return b.readUInt32BE(0);
}

/** int8 as its decimal text; without BigInt within ±2^53. */
export function int8Text(b: Buffer): string {
  need(b, 8, 'int8');
  const hi = b.readInt32BE(0);
  if (hi >= -0x200000 && hi < 0x200000) return String(hi * 4_294_967_296 + b.readUInt32BE(4));
  return b.readBigInt64BE(0).toString();
}

export function int8Value(b: Buffer): bigint {
  need(b, 8, 'int8');
  return b.readBigInt64BE(0);
}

/** text, varchar, bpchar, name, json: the characters in the client encoding (UTF8 for the walsender). */
export function utf8Text(b: Buffer): string {
  return b.toString('utf8');
}

/** jsonb_send: a version byte (1) and the jsonb_out text. */
export function jsonbText(b: Buffer): string {
  if (b.length < 1 || b[0] !== 1) throw new BinaryFormatError(`unsupported binary jsonb version ${b[0]}`);
  return b.toString('utf8', 1);
}

/** "char" (charout): the byte, a high-bit byte as `\ooo`, a zero byte as the empty string. */
export function charText(b: Buffer): string {
  need(b, 1, 'char');
  const c = b[0];
  if (c === 0) return '';
  return c >= 0x80 ? `\\${c.toString(8).padStart(3, '0')}` : String.fromCharCode(c);
}

/** A copy of the bytes, so the value does not keep the whole replication frame alive. */
export function byteaValue(b: Buffer): Buffer {
  return Buffer.from(b);
}

export function byteaText(b: Buffer): string {
  return `\\x${b.toString('hex')}`;
}

export function uuidText(b: Buffer): string {
  need(b, 16, 'uuid');
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function macText(b: Buffer, n: number, type: string): string {
  need(b, n, type);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(b[i].toString(16).padStart(2, '0'));
  return parts.join(':');
}

export const macaddrText = (b: Buffer) => macText(b, 6, 'macaddr');
export const macaddr8Text = (b: Buffer) => macText(b, 8, 'macaddr8');

/** pg_lsn_send: UInt64, printed `X/Y`. */
export function pgLsnText(b: Buffer): string {
  need(b, 8, 'pg_lsn');
  return `${b.readUInt32BE(0).toString(16).toUpperCase()}/${b.readUInt32BE(4).toString(16).toUpperCase()}`;
}

/** tid_send: UInt32 block, UInt16 offset, printed `(block,offset)`. */
export function tidText(b: Buffer): string {
  need(b, 6, 'tid');
  return `(${b.readUInt32BE(0)},${b.readUInt16BE(4)})`;
}

/**
 * inet_send/cidr_send: family (2 IPv4, 3 IPv6), bits, is_cidr, address length, address.
 * Printed as network_out does (`src/port/inet_net_ntop.c`): inet omits a full-length mask, cidr
 * always shows it; IPv6 compresses the first longest run of two or more zero groups and writes an
 * embedded IPv4 address in dotted form.
 */
export function inetText(b: Buffer): string {
  if (b.length < 4) throw new BinaryFormatError(`binary inet needs 4 header bytes, got ${b.length}`);
  const family = b[0];
  const bits = b[1];
  const isCidr = b[2] !== 0;
  const n = b[3];
  if ((family !== 2 || n !== 4) && (family !== 3 || n !== 16)) throw new BinaryFormatError(`binary inet has family ${family} with ${n} address bytes`);
  need(b, 4 + n, 'inet');
  const addr = b.subarray(4);
  let text: string;
  if (family === 2) {
    text = `${addr[0]}.${addr[1]}.${addr[2]}.${addr[3]}`;
    if (bits !== 32 || isCidr) text += `/${bits}`;
  } else {
    text = ipv6Text(addr);
    if (bits !== 128 || isCidr) text += `/${bits}`;
  }
  return text;
}

function ipv6Text(addr: Buffer): string {
  const words: number[] = [];
  for (let i = 0; i < 8; i++) words.push(addr.readUInt16BE(i * 2));
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && words[i] === 0) {
      if (curBase === -1) {
        curBase = i;
        curLen = 1;
      } else curLen++;
    } else if (curBase !== -1) {
      if (bestBase === -1 || curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (bestBase !== -1 && bestLen < 2) bestBase = -1;
  let s = '';
  for (let i = 0; i < 8; i++) {
    if (bestBase !== -1 && i >= bestBase && i < bestBase + bestLen) {
      if (i === bestBase) s += ':';
      continue;
    }
    if (i !== 0) s += ':';
    if (i === 6 && bestBase === 0 && (bestLen === 6 || (bestLen === 7 && words[7] !== 1) || (bestLen === 5 && words[5] === 0xffff))) {
      return `${s}${addr[12]}.${addr[13]}.${addr[14]}.${addr[15]}`;
    }
    s += words[i].toString(16);
  }
  if (bestBase !== -1 && bestBase + bestLen === 8) s += ':';
  return s;
}

/**
 * array_send: Int32 dimensions, Int32 has-nulls flag, element OID, per dimension Int32 size and
 * lower bound, then each element as Int32 length (-1 for NULL) and bytes. Returns nested arrays
 * (the lower bounds are dropped, as the text parser drops them).
 */
/**
 * Element readers that take the element's place in the array's bytes instead of a view of them
 * (no Buffer per element), for the common element types with their default decoding.
 */
export const ARRAY_ELEMENT_AT = new Map<number, (b: Buffer, start: number, length: number) => unknown>([
  [21, (b, s, n) => (n === 2 ? b.readInt16BE(s) : int2Value(b.subarray(s, s + n)))],
  [23, (b, s, n) => (n === 4 ? b.readInt32BE(s) : int4Value(b.subarray(s, s + n)))],
  [25, (b, s, n) => b.toString('utf8', s, s + n)],
  [1043, (b, s, n) => b.toString('utf8', s, s + n)],
  [1042, (b, s, n) => b.toString('utf8', s, s + n)],
  [19, (b, s, n) => b.toString('utf8', s, s + n)],
  [701, (b, s, n) => (n === 8 ? b.readDoubleBE(s) : float8Value(b.subarray(s, s + n)))],
  [16, (b, s, n) => (n === 1 ? b[s] !== 0 : boolValue(b.subarray(s, s + n)))],
]);

export function readArray(b: Buffer, element: (bytes: Buffer) => unknown, elementAt?: (b: Buffer, start: number, length: number) => unknown): unknown[] {
  if (b.length < 12) throw new BinaryFormatError(`binary array needs 12 header bytes, got ${b.length}`);
  const ndim = b.readInt32BE(0);
  if (ndim === 0) return [];
  if (ndim < 0 || ndim > 6 || b.length < 12 + 8 * ndim) throw new BinaryFormatError(`binary array has ${ndim} dimensions in ${b.length} bytes`);
  const dims: number[] = [];
  let pos = 12 + 8 * ndim;
  // Every element takes at least its 4-byte length, so the bytes bound the element count: checked
  // before allocating, a corrupted size fails here instead of building billions of slots.
  let count = 1;
  for (let d = 0; d < ndim; d++) {
    const size = b.readInt32BE(12 + 8 * d);
    count *= size;
    if (size < 0 || count * 4 > b.length - pos) throw new BinaryFormatError(`binary array dimensions ${[...dims, size].join('×')} need more than the ${b.length} bytes of the value`);
    dims.push(size);
  }
  const next = (): unknown => {
    if (pos + 4 > b.length) throw new BinaryFormatError('binary array ends inside an element');
    const len = b.readInt32BE(pos);
    pos += 4;
    if (len === -1) return null;
    if (len < 0 || pos + len > b.length) throw new BinaryFormatError('binary array element overruns the value');
    const v = elementAt === undefined ? element(b.subarray(pos, pos + len)) : elementAt(b, pos, len);
    pos += len;
    return v;
  };
  if (ndim === 1) {
    // One dimension, the common case: a plain loop.
    const n = dims[0];
    const out: unknown[] = new Array(n);
    for (let i = 0; i < n; i++) {
      if (pos + 4 > b.length) throw new BinaryFormatError('binary array ends inside an element');
      const len = b.readInt32BE(pos);
      pos += 4;
      if (len === -1) {
        out[i] = null;
        continue;
      }
      if (len < 0 || pos + len > b.length) throw new BinaryFormatError('binary array element overruns the value');
      out[i] = elementAt === undefined ? element(b.subarray(pos, pos + len)) : elementAt(b, pos, len);
      pos += len;
    }
    if (pos !== b.length) throw new BinaryFormatError(`binary array has ${b.length - pos} bytes after its last element`);
    return out;
  }
  const build = (d: number): unknown[] => {
    const out: unknown[] = new Array(dims[d]);
    for (let i = 0; i < dims[d]; i++) out[i] = d + 1 === ndim ? next() : build(d + 1);
    return out;
  };
  const result = build(0);
  if (pos !== b.length) throw new BinaryFormatError(`binary array has ${b.length - pos} bytes after its last element`);
  return result;
}
