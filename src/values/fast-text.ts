/**
 * Fast text parsers for the hottest types (issue 18, item 4). Each reads the canonical text the
 * server prints (DateStyle ISO, `array_out`) by character codes, without regular expressions or
 * intermediate strings, and gives exactly what the pg-types parser gives: any text outside the
 * canonical form goes to that parser (postgres-date, postgres-array) unchanged.
 */
import * as postgresArray from 'postgres-array';
import { getTypeParser } from 'pg-types';

/** pg-types' timestamp parser (postgres-date), for the forms the fast path leaves to it. */
const parseDateSlow = getTypeParser(1184) as (text: string) => Date | number | null;

const ZERO = 48;
const DASH = 45;
const COLON = 58;
const DOT = 46;
const SPACE = 32;
const PLUS = 43;

const digit = (s: string, i: number) => s.charCodeAt(i) - ZERO;
const isDigit = (c: number) => c >= ZERO && c <= ZERO + 9;
const two = (s: string, i: number) => {
  const a = digit(s, i);
  const b = digit(s, i + 1);
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : -1;
};

/**
 * date, timestamp and timestamptz text (`YYYY-MM-DD[ HH:MM:SS[.f…][±HH[:MM[:SS]]]][ BC]`) as the
 * `Date` postgres-date makes of it: UTC when the text has a zone, local time otherwise; years 0 to
 * 99 set exactly; milliseconds as `1000 * fraction`, which the Date truncates. `infinity` and any
 * other form go to postgres-date itself.
 * @example
 * parseTimestamp('2024-01-01 12:34:56.789012+00'); // 2024-01-01T12:34:56.789Z
 */
export function parseTimestamp(s: string): Date | number | null {
  const n = s.length;
  let i = 0;
  let year = 0;
  let c = s.charCodeAt(0);
  while (isDigit(c)) {
    year = year * 10 + (c - ZERO);
    c = s.charCodeAt(++i);
  }
  if (i < 4 || c !== DASH || s.charCodeAt(i + 3) !== DASH) return parseDateSlow(s);
  const month = two(s, i + 1);
  const day = two(s, i + 4);
  if (month < 0 || day < 0) return parseDateSlow(s);
  i += 6;
  let bc = false;
  if (i === n || (i + 3 === n && s.charCodeAt(i) === SPACE && s.charCodeAt(i + 1) === 66 && s.charCodeAt(i + 2) === 67)) {
    // A date: local midnight.
    bc = i !== n;
    const y = bc ? 1 - year : year;
    const d = new Date(y, month - 1, day);
    if (y >= 0 && y < 100) d.setFullYear(y);
    return d;
  }
  if (s.charCodeAt(i) !== SPACE || s.charCodeAt(i + 3) !== COLON || s.charCodeAt(i + 6) !== COLON) return parseDateSlow(s);
  const hour = two(s, i + 1);
  const minute = two(s, i + 4);
  const second = two(s, i + 7);
  if (hour < 0 || minute < 0 || second < 0) return parseDateSlow(s);
  i += 9;
  let ms = 0;
  if (s.charCodeAt(i) === DOT) {
    let f = 0;
    let scale = 1;
    c = s.charCodeAt(++i);
    while (isDigit(c) && scale < 1e15) {
      f = f * 10 + (c - ZERO);
      scale *= 10;
      c = s.charCodeAt(++i);
    }
    if (scale === 1 || isDigit(c)) return parseDateSlow(s);
    // postgres-date: 1000 * parseFloat('.ffffff'); f / 10^k is that same correctly rounded double.
    ms = 1000 * (f / scale);
  }
  let offset: number | undefined;
  c = s.charCodeAt(i);
  if (c === PLUS || c === DASH) {
    const h = two(s, i + 1);
    if (h < 0) return parseDateSlow(s);
    let secs = h * 3600;
    i += 3;
    if (s.charCodeAt(i) === COLON) {
      const m = two(s, i + 1);
      if (m < 0) return parseDateSlow(s);
      secs += m * 60;
      i += 3;
      if (s.charCodeAt(i) === COLON) {
        const sec = two(s, i + 1);
        if (sec < 0) return parseDateSlow(s);
        secs += sec;
        i += 3;
      }
    }
    offset = (c === DASH ? -secs : secs) * 1000;
  }
  if (i + 3 === n && s.charCodeAt(i) === SPACE && s.charCodeAt(i + 1) === 66 && s.charCodeAt(i + 2) === 67) {
    bc = true;
    i += 3;
  }
  if (i !== n) return parseDateSlow(s);
  return civilDate(bc ? 1 - year : year, month, day, hour, minute, second, ms, offset);
}

/** The byte at i, or NaN past the end (as charCodeAt past a string's end). */
const byteAt = (b: Buffer, i: number, n: number) => (i < n ? b[i] : NaN);
const twoAt = (b: Buffer, n: number, i: number) => {
  const x = byteAt(b, i, n) - ZERO;
  const y = byteAt(b, i + 1, n) - ZERO;
  return x >= 0 && x <= 9 && y >= 0 && y <= 9 ? x * 10 + y : -1;
};

/**
 * {@link parseTimestamp} of the UTF-8 text at `b[s0, n)`, read from the bytes without making a string
 * (the same steps, by byte instead of character code; any other form goes to postgres-date).
 * @example
 * parseTimestampAt(Buffer.from('2024-01-01 00:00:00+00'), 0, 22); // 2024-01-01T00:00:00.000Z
 */
export function parseTimestampAt(b: Buffer, s0: number, n: number): Date | number | null {
  let i = s0;
  let year = 0;
  let c = byteAt(b, s0, n);
  while (isDigit(c)) {
    year = year * 10 + (c - ZERO);
    c = byteAt(b, ++i, n);
  }
  if (i - s0 < 4 || c !== DASH || byteAt(b, i + 3, n) !== DASH) return parseDateSlow(b.toString('utf8', s0, n));
  const month = twoAt(b, n, i + 1);
  const day = twoAt(b, n, i + 4);
  if (month < 0 || day < 0) return parseDateSlow(b.toString('utf8', s0, n));
  i += 6;
  let bc = false;
  if (i === n || (i + 3 === n && byteAt(b, i, n) === SPACE && byteAt(b, i + 1, n) === 66 && byteAt(b, i + 2, n) === 67)) {
    // A date: local midnight.
    bc = i !== n;
    const y = bc ? 1 - year : year;
    const d = new Date(y, month - 1, day);
    if (y >= 0 && y < 100) d.setFullYear(y);
    return d;
  }
  if (byteAt(b, i, n) !== SPACE || byteAt(b, i + 3, n) !== COLON || byteAt(b, i + 6, n) !== COLON) return parseDateSlow(b.toString('utf8', s0, n));
  const hour = twoAt(b, n, i + 1);
  const minute = twoAt(b, n, i + 4);
  const second = twoAt(b, n, i + 7);
  if (hour < 0 || minute < 0 || second < 0) return parseDateSlow(b.toString('utf8', s0, n));
  i += 9;
  let ms = 0;
  if (byteAt(b, i, n) === DOT) {
    let f = 0;
    let scale = 1;
    c = byteAt(b, ++i, n);
    while (isDigit(c) && scale < 1e15) {
      f = f * 10 + (c - ZERO);
      scale *= 10;
      c = byteAt(b, ++i, n);
    }
    if (scale === 1 || isDigit(c)) return parseDateSlow(b.toString('utf8', s0, n));
    // postgres-date: 1000 * parseFloat('.ffffff'); f / 10^k is that same correctly rounded double.
    ms = 1000 * (f / scale);
  }
  let offset: number | undefined;
  c = byteAt(b, i, n);
  if (c === PLUS || c === DASH) {
    const h = twoAt(b, n, i + 1);
    if (h < 0) return parseDateSlow(b.toString('utf8', s0, n));
    let secs = h * 3600;
    i += 3;
    if (byteAt(b, i, n) === COLON) {
      const m = twoAt(b, n, i + 1);
      if (m < 0) return parseDateSlow(b.toString('utf8', s0, n));
      secs += m * 60;
      i += 3;
      if (byteAt(b, i, n) === COLON) {
        const sec = twoAt(b, n, i + 1);
        if (sec < 0) return parseDateSlow(b.toString('utf8', s0, n));
        secs += sec;
        i += 3;
      }
    }
    offset = (c === DASH ? -secs : secs) * 1000;
  }
  if (i + 3 === n && byteAt(b, i, n) === SPACE && byteAt(b, i + 1, n) === 66 && byteAt(b, i + 2, n) === 67) {
    bc = true;
    i += 3;
  }
  if (i !== n) return parseDateSlow(b.toString('utf8', s0, n));
  return civilDate(bc ? 1 - year : year, month, day, hour, minute, second, ms, offset);
}

/**
 * A one-dimensional array text without escapes or dimension decoration (`{1,NULL,"a b"}`), split
 * at its commas; an unquoted `NULL` is null, every other element goes through `element`. Any
 * other array text goes to postgres-array, whose results these are.
 * @example
 * parseArray('{1,NULL,3}', Number); // [1, null, 3]
 */
export function parseArray(s: string, element: (text: string) => unknown): unknown[] {
  const n = s.length;
  if (n < 2 || s.charCodeAt(0) !== 123 || s.charCodeAt(n - 1) !== 125) return postgresArray.parse(s, element);
  if (n === 2) return [];
  const out: unknown[] = [];
  let i = 1;
  const last = n - 1;
  while (i < last) {
    let c = s.charCodeAt(i);
    if (c === 34) {
      // A quoted element without escapes: up to the next quote, which must end the element.
      const close = s.indexOf('"', i + 1);
      if (close < 0 || close >= last) return postgresArray.parse(s, element);
      const backslash = s.indexOf('\\', i + 1);
      if (backslash !== -1 && backslash < close) return postgresArray.parse(s, element);
      out.push(element(s.slice(i + 1, close)));
      i = close + 1;
      c = s.charCodeAt(i);
      if (i === last) break;
      if (c !== 44) return postgresArray.parse(s, element);
      i++;
      if (i === last) return postgresArray.parse(s, element);
      continue;
    }
    const start = i;
    while (i < last) {
      c = s.charCodeAt(i);
      // A quote, a backslash or a brace inside an unquoted element: not the simple form.
      if (c === 34 || c === 92 || c === 123 || c === 125) return postgresArray.parse(s, element);
      if (c === 44) break;
      i++;
    }
    const v = entry(s, start, i, element);
    if (v === EMPTY) return postgresArray.parse(s, element);
    out.push(v);
    if (i === last) break;
    i++; // the comma
    if (i === last) return postgresArray.parse(s, element);
  }
  return out;
}

const EMPTY = Symbol('empty');

function entry(s: string, start: number, end: number, element: (text: string) => unknown): unknown {
  // postgres-array drops an empty unquoted element (the server never prints one): not the simple form.
  if (start === end) return EMPTY;
  if (end - start === 4 && s.charCodeAt(start) === 78 && s.charCodeAt(start + 1) === 85 && s.charCodeAt(start + 2) === 76 && s.charCodeAt(start + 3) === 76) return null;
  return element(s.slice(start, end));
}

/** pg-types' interval parser (postgres-interval), and the class of what it returns. */
const parseIntervalSlow = getTypeParser(1186) as (text: string) => object;
const INTERVAL_PROTO = Object.getPrototypeOf(parseIntervalSlow('1 day')) as object;

/** Reads `[+-]digits` at i; returns [value, next index] or undefined. */
function signedInt(s: string, i: number): [number, number] | undefined {
  const start = i;
  let c = s.charCodeAt(i);
  if (c === PLUS || c === DASH) c = s.charCodeAt(++i);
  const digits = i;
  while (isDigit(c)) c = s.charCodeAt(++i);
  if (i === digits || i - digits > 15) return undefined;
  return [parseInt(s.slice(start, i), 10), i];
}

/**
 * interval text as IntervalStyle postgres prints it (`1 year 2 mons -3 days -04:05:06.789`) as the
 * object postgres-interval makes of it: the same class, the same properties in the same order
 * (zeros left out, the time's sign on every time field, microseconds as fractional milliseconds).
 * Any other form goes to postgres-interval itself.
 * @example
 * parseInterval('1 day 02:00:00'); // { days: 1, hours: 2 }
 */
export function parseInterval(s: string): unknown {
  const n = s.length;
  let i = 0;
  let years = 0;
  let months = 0;
  let days = 0;
  let unitIndex = 0;
  const UNITS = ['year', 'mon', 'day'];
  // Date parts: `N unit[s]`, in order, separated by single spaces.
  while (unitIndex < 3 && i < n) {
    const num = signedInt(s, i);
    if (num === undefined || s.charCodeAt(num[1]) !== SPACE) break;
    let u = unitIndex;
    while (u < 3 && !s.startsWith(UNITS[u], num[1] + 1)) u++;
    if (u === 3) break;
    let j = num[1] + 1 + UNITS[u].length;
    if (s.charCodeAt(j) === 115) j++; // plural s
    if (j !== n && s.charCodeAt(j) !== SPACE) return parseIntervalSlow(s);
    if (u === 0) years = num[0];
    else if (u === 1) months = num[0];
    else days = num[0];
    unitIndex = u + 1;
    i = j === n ? j : j + 1;
  }
  let hours = 0;
  let minutes = 0;
  let seconds = 0;
  let ms = 0;
  let negative = false;
  if (i < n) {
    // The time part: [+-]H+:MM:SS[.f{1,6}] and the end.
    let c = s.charCodeAt(i);
    if (c === PLUS || c === DASH) {
      negative = c === DASH;
      c = s.charCodeAt(++i);
    }
    const h0 = i;
    while (isDigit(c)) c = s.charCodeAt(++i);
    if (i === h0 || i - h0 > 15 || c !== COLON || s.charCodeAt(i + 3) !== COLON) return parseIntervalSlow(s);
    hours = parseInt(s.slice(h0, i), 10);
    minutes = two(s, i + 1);
    seconds = two(s, i + 4);
    if (minutes < 0 || seconds < 0) return parseIntervalSlow(s);
    i += 6;
    if (s.charCodeAt(i) === DOT) {
      const f0 = ++i;
      while (isDigit(s.charCodeAt(i))) i++;
      if (i === f0 || i - f0 > 6) return parseIntervalSlow(s);
      ms = parseInt(s.slice(f0, i) + '000000'.slice(i - f0), 10) / 1000;
    }
    if (i !== n) return parseIntervalSlow(s);
  }
  if (n === 0) return parseIntervalSlow(s);
  // postgres-interval leaves out zeros (parseInt's -0 included) and negates the time fields.
  const sign = negative ? -1 : 1;
  return makeInterval(years, months, days, hours * sign, minutes * sign, seconds * sign, ms * sign);
}

/**
 * An object of postgres-interval's class (its prototype: `toPostgres`, `toISO`, `instanceof`) with
 * the non-zero fields as own properties in postgres-interval's order, built without an intermediate
 * object (issue 18).
 */
function PgInterval(this: Record<string, number>): void {}
PgInterval.prototype = INTERVAL_PROTO;
const newInterval = PgInterval as unknown as new () => Record<string, number>;
function makeInterval(years: number, months: number, days: number, hours: number, minutes: number, seconds: number, ms: number): object {
  const out = new newInterval();
  if (years) out.years = years;
  if (months) out.months = months;
  if (days) out.days = days;
  if (hours) out.hours = hours;
  if (minutes) out.minutes = minutes;
  if (seconds) out.seconds = seconds;
  if (ms) out.milliseconds = ms;
  return out;
}

/** `[+-]digits` (at most 15) at b[i, e): sets INT_AT.value and INT_AT.next, or returns false. */
const INT_AT = { value: 0, next: 0 };
function signedIntAt(b: Buffer, i: number, e: number): boolean {
  let neg = false;
  let c = i < e ? b[i] : -1;
  if (c === PLUS || c === DASH) {
    neg = c === DASH;
    i++;
  }
  const d0 = i;
  let v = 0;
  while (i < e && isDigit(b[i])) v = v * 10 + (b[i++] - ZERO);
  if (i === d0 || i - d0 > 15) return false;
  INT_AT.value = neg ? -v : v;
  INT_AT.next = i;
  return true;
}

/** Whether b[i, e) starts with the ASCII characters of unit (`year`, `mon`, `day`). */
function unitAt(b: Buffer, i: number, e: number, u: number): number {
  // year: 121 101 97 114; mon: 109 111 110; day: 100 97 121
  if (u === 0) return i + 4 <= e && b[i] === 121 && b[i + 1] === 101 && b[i + 2] === 97 && b[i + 3] === 114 ? 4 : 0;
  if (u === 1) return i + 3 <= e && b[i] === 109 && b[i + 1] === 111 && b[i + 2] === 110 ? 3 : 0;
  return i + 3 <= e && b[i] === 100 && b[i + 1] === 97 && b[i + 2] === 121 ? 3 : 0;
}

/**
 * {@link parseInterval} of the UTF-8 text at `b[s, e)`, read from the bytes without making a string
 * (the same grammar; any other form goes to parseInterval on the decoded text).
 * @example
 * parseIntervalAt(Buffer.from('1 day 02:00:00'), 0, 14); // { days: 1, hours: 2 }
 */
export function parseIntervalAt(b: Buffer, s: number, e: number): unknown {
  let i = s;
  let years = 0;
  let months = 0;
  let days = 0;
  let unitIndex = 0;
  while (unitIndex < 3 && i < e) {
    if (!signedIntAt(b, i, e) || INT_AT.next >= e || b[INT_AT.next] !== SPACE) break;
    const num = INT_AT.value;
    const at = INT_AT.next + 1;
    let u = unitIndex;
    let len = 0;
    while (u < 3 && (len = unitAt(b, at, e, u)) === 0) u++;
    if (u === 3) break;
    let j = at + len;
    if (j < e && b[j] === 115) j++; // plural s
    if (j !== e && b[j] !== SPACE) return parseInterval(b.toString('utf8', s, e));
    if (u === 0) years = num;
    else if (u === 1) months = num;
    else days = num;
    unitIndex = u + 1;
    i = j === e ? j : j + 1;
  }
  let hours = 0;
  let minutes = 0;
  let seconds = 0;
  let ms = 0;
  let sign = 1;
  if (i < e) {
    let c = b[i];
    if (c === PLUS || c === DASH) {
      if (c === DASH) sign = -1;
      i++;
    }
    const h0 = i;
    let h = 0;
    while (i < e && isDigit(b[i])) h = h * 10 + (b[i++] - ZERO);
    if (i === h0 || i - h0 > 15 || i + 6 > e || b[i] !== COLON || b[i + 3] !== COLON) return parseInterval(b.toString('utf8', s, e));
    hours = h;
    minutes = twoAt(b, e, i + 1);
    seconds = twoAt(b, e, i + 4);
    if (minutes < 0 || seconds < 0) return parseInterval(b.toString('utf8', s, e));
    i += 6;
    if (i < e && b[i] === DOT) {
      const f0 = ++i;
      let f = 0;
      while (i < e && isDigit(b[i])) f = f * 10 + (b[i++] - ZERO);
      if (i === f0 || i - f0 > 6) return parseInterval(b.toString('utf8', s, e));
      // parseInt of the digits padded to 6 (microseconds), then / 1000.
      ms = (f * POW10_6[6 - (i - f0)]) / 1000;
    }
    if (i !== e) return parseInterval(b.toString('utf8', s, e));
  }
  if (e === s) return parseInterval('');
  return makeInterval(years, months, days, hours * sign, minutes * sign, seconds * sign, ms * sign);
}
const POW10_6 = [1, 10, 100, 1000, 10000, 100000, 1000000];

/**
 * Binary interval (interval_send: Int64 µs, Int32 days, Int32 months) as the object parseInterval
 * makes of its printed text, built from the fields; `fallback` gets what it does not cover
 * (infinity, times beyond ±2^53 µs).
 */
export function intervalFromBinary(b: Buffer, fallback: (b: Buffer) => unknown): unknown {
  if (b.length !== 16) return fallback(b);
  const hi = b.readInt32BE(0);
  if (hi <= -0x200000 || hi >= 0x200000) return fallback(b);
  return intervalFields(hi * 4_294_967_296 + b.readUInt32BE(4), b.readInt32BE(8), b.readInt32BE(12));
}

/** The interval object of interval_send's fields (µs within ±2^53, days, months). @internal */
export function intervalFields(time: number, days: number, months: number): object {
  // EncodeInterval prints trunc(months / 12) years and months % 12 mons; postgres-interval drops zeros.
  const years = Math.trunc(months / 12);
  const mons = months % 12;
  if (time === 0) return makeInterval(years, mons, days, 0, 0, 0, 0);
  const sign = time < 0 ? -1 : 1;
  const abs = Math.abs(time);
  const micros = abs % 1_000_000;
  const secs = (abs - micros) / 1_000_000;
  const hours = Math.floor(secs / 3600);
  const minutes = Math.floor(secs / 60) % 60;
  const seconds = secs % 60;
  return makeInterval(years, mons, days, hours * sign, minutes * sign, seconds * sign, (micros / 1000) * sign);
}

/**
 * The Date of a parsed date/time: UTC shifted by `offset` ms when the text had a zone, local time
 * otherwise; years 0-99 set apart, since the Date constructors read them as 1900-1999.
 */
function civilDate(y: number, month: number, day: number, hour: number, minute: number, second: number, ms: number, offset: number | undefined): Date {
  let date: Date;
  if (offset !== undefined && y >= 100 && y <= 9999 && month >= 1 && month <= 12) {
    // Date.UTC's arithmetic (MakeDay, MakeTime: each field truncated), without the call: far from
    // the Date range's ends nothing is clipped, and years from 100 need no setUTCFullYear.
    return new Date(daysFromCivil(y, month, 1) * 86_400_000 + (day - 1) * 86_400_000 + hour * 3_600_000 + minute * 60_000 + second * 1000 + Math.trunc(ms) - offset);
  }
  if (offset !== undefined) {
    date = new Date(Date.UTC(y, month - 1, day, hour, minute, second, ms));
    if (y >= 0 && y < 100) date.setUTCFullYear(y);
    if (offset !== 0) date.setTime(date.getTime() - offset);
  } else {
    date = new Date(y, month - 1, day, hour, minute, second, ms);
    if (y >= 0 && y < 100) date.setFullYear(y);
  }
  return date;
}

/** Days from 1970-01-01 to the proleptic Gregorian y-m-d (H. Hinnant's days_from_civil). */
function daysFromCivil(y: number, m: number, d: number): number {
  const yy = m <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (m > 2 ? m - 3 : m + 9) + 2) / 5) + d - 1;
  return era * 146_097 + yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy - 719_468;
}
