/**
 * Binary-format date/time, interval, numeric, uuid and inet values written straight from their
 * `*_send` bytes into the output as the JSON string the CLI's slow path prints for them: `Row#get`
 * decodes them with `JSON_TYPE_OPTIONS` to the text of src/values/binary.ts's printers
 * (`dateToText`, `timestampToText`, `timestamptzToText`, `timeToText`, `timetzToText`,
 * `intervalToText`, `numericTextAt`, `uuidText`, `inetText`: PostgreSQL's `*_out` with DateStyle
 * ISO, IntervalStyle postgres, TimeZone UTC), and `JSON.stringify` quotes that ASCII text.
 *
 * Each writer reads the value at `b[s, e)` and returns true with the JSON string written, or false
 * with nothing written for a value outside the forms it prints (a wrong length, a timestamp beyond
 * ±2^53 µs or ±infinity, IPv6, a corrupt numeric): the caller then goes the long way, which prints
 * it or reports it. spec/unit/cli-binary-json.spec.ts checks them against that long way.
 */
import type { ByteBuffer } from './byte-buffer';

const USECS_PER_DAY = 86_400_000_000;
/** Days from 0000-03-01 (proleptic Gregorian) to 2000-01-01, PostgreSQL's epoch. */
const DAYS_0000_03_01_TO_2000 = 730_425;
const INT32_MAX = 0x7fffffff;
const INT32_MIN = -0x80000000;
const TWO_32 = 4_294_967_296;
/** 2^21: an Int64 whose high word is within ±2^21 is a safe integer. */
const TWO_21 = 2_097_152;

const i32 = (b: Buffer, s: number) => (b[s] << 24) | (b[s + 1] << 16) | (b[s + 2] << 8) | b[s + 3];
const u32 = (b: Buffer, s: number) => i32(b, s) >>> 0;

/** Two digits of `n` (0 to 99) at `buf[pos]`. */
function two(buf: Buffer, pos: number, n: number): void {
  const t = Math.floor(n / 10);
  buf[pos] = 48 + t;
  buf[pos + 1] = 48 + (n - 10 * t);
}

/** `n` (≥ 0) as pad2 in binary.ts prints it: two digits below 100, else all of them. */
function pad2(out: ByteBuffer, n: number): void {
  if (n < 100) {
    out.ensure(2);
    two(out.buf, out.pos, n);
    out.pos += 2;
  } else out.int(n);
}

/**
 * The date of a day count since 2000-01-01 as EncodeDateOnly prints it (`YYYY-MM-DD`, the year
 * padded to 4 digits), from H. Hinnant's civil_from_days as binary.ts's civil; returns whether the
 * year is before 1 (the caller then adds ` BC`, where the printer puts it).
 */
function date(out: ByteBuffer, days: number): boolean {
  const z = days + DAYS_0000_03_01_TO_2000;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  const year = y > 0 ? y : 1 - y;
  out.ensure(16);
  if (year < 10000) {
    const buf = out.buf;
    const pos = out.pos;
    const hi = Math.floor(year / 100);
    two(buf, pos, hi);
    two(buf, pos + 2, year - 100 * hi);
    out.pos = pos + 4;
  } else out.int(year);
  out.ensure(6);
  const buf = out.buf;
  const pos = out.pos;
  buf[pos] = 0x2d;
  two(buf, pos + 1, m);
  buf[pos + 3] = 0x2d;
  two(buf, pos + 4, d);
  out.pos = pos + 6;
  return y <= 0;
}

/** `HH:MM:SS` and the fraction without trailing zeros (AppendSeconds) of `us` (0 ≤ us < 2^53) since midnight. */
function clock(out: ByteBuffer, us: number): void {
  const micros = us % 1_000_000;
  const secs = (us - micros) / 1_000_000;
  const hours = Math.floor(secs / 3600);
  pad2(out, hours);
  const minutes = Math.floor(secs / 60) % 60;
  const seconds = secs % 60;
  out.ensure(14);
  const buf = out.buf;
  let pos = out.pos;
  buf[pos] = 0x3a;
  two(buf, pos + 1, minutes);
  buf[pos + 3] = 0x3a;
  two(buf, pos + 4, seconds);
  pos += 6;
  if (micros !== 0) {
    buf[pos] = 0x2e;
    let f = micros;
    for (let i = pos + 6; i > pos; i--) {
      buf[i] = 48 + (f % 10);
      f = Math.floor(f / 10);
    }
    pos += 7;
    while (buf[pos - 1] === 48) pos--;
  }
  out.pos = pos;
}

const INFINITY = Buffer.from('"infinity"');
const MINUS_INFINITY = Buffer.from('"-infinity"');
const BC = Buffer.from(' BC');
const UTC = Buffer.from('+00');

/** date_send (Int32 days since 2000-01-01) as dateToText's text, quoted. */
export function dateJson(out: ByteBuffer, b: Buffer, s: number, e: number): boolean {
  if (e - s !== 4) return false;
  const days = i32(b, s);
  if (days === INT32_MAX) out.bytes(INFINITY);
  else if (days === INT32_MIN) out.bytes(MINUS_INFINITY);
  else {
    out.byte(0x22);
    if (date(out, days)) out.bytes(BC);
    out.byte(0x22);
  }
  return true;
}

/** timestamp_send and timestamptz_send (Int64 µs since 2000-01-01) as timestampToText's or (`zone`) timestamptzToText's text, quoted. */
export function timestampJson(out: ByteBuffer, b: Buffer, s: number, e: number, zone: boolean): boolean {
  if (e - s !== 8) return false;
  const hi = i32(b, s);
  if (hi < -TWO_21 || hi >= TWO_21) return false; // ±infinity and the far past or future: BigInt, the long way
  const us = hi * TWO_32 + u32(b, s + 4);
  const rest = ((us % USECS_PER_DAY) + USECS_PER_DAY) % USECS_PER_DAY;
  out.byte(0x22);
  const bc = date(out, (us - rest) / USECS_PER_DAY);
  out.byte(0x20);
  clock(out, rest);
  if (zone) out.bytes(UTC);
  if (bc) out.bytes(BC);
  out.byte(0x22);
  return true;
}

/** time_send (Int64 µs since midnight) as timeToText's text, quoted. */
export function timeJson(out: ByteBuffer, b: Buffer, s: number, e: number): boolean {
  if (e - s !== 8) return false;
  const hi = i32(b, s);
  if (hi < 0 || hi >= TWO_21) return false;
  out.byte(0x22);
  clock(out, hi * TWO_32 + u32(b, s + 4));
  out.byte(0x22);
  return true;
}

/** timetz_send (Int64 µs since midnight, Int32 zone in seconds west of UTC) as timetzToText's text (EncodeTimezone), quoted. */
export function timetzJson(out: ByteBuffer, b: Buffer, s: number, e: number): boolean {
  if (e - s !== 12) return false;
  const hi = i32(b, s);
  if (hi < 0 || hi >= TWO_21) return false;
  out.byte(0x22);
  clock(out, hi * TWO_32 + u32(b, s + 4));
  const tz = i32(b, s + 8);
  let sec = Math.abs(tz);
  let min = Math.floor(sec / 60);
  sec -= min * 60;
  const hour = Math.floor(min / 60);
  min -= hour * 60;
  out.byte(tz <= 0 ? 0x2b : 0x2d);
  pad2(out, hour);
  if (sec !== 0) {
    out.byte(0x3a);
    pad2(out, min);
    out.byte(0x3a);
    pad2(out, sec);
  } else if (min !== 0) {
    out.byte(0x3a);
    pad2(out, min);
  }
  out.byte(0x22);
  return true;
}

const UNITS = [Buffer.from(' year'), Buffer.from(' mon'), Buffer.from(' day')];

/**
 * interval_send (Int64 µs, Int32 days, Int32 months) as intervalToText's text (EncodeInterval,
 * IntervalStyle postgres), quoted: `1 year -2 mons +3 days -04:05:06.7`.
 */
export function intervalJson(out: ByteBuffer, b: Buffer, s: number, e: number): boolean {
  if (e - s !== 16) return false;
  const hi = i32(b, s);
  if (hi < -TWO_21 || hi >= TWO_21) return false; // ±infinity and beyond ±2^53 µs: the long way
  const time = hi * TWO_32 + u32(b, s + 4);
  const days = i32(b, s + 8);
  const months = i32(b, s + 12);
  out.byte(0x22);
  let any = false;
  let before = false;
  for (let u = 0; u < 3; u++) {
    const value = u === 0 ? Math.trunc(months / 12) : u === 1 ? months % 12 : days;
    if (value === 0) continue;
    if (any) out.byte(0x20);
    if (before && value > 0) out.byte(0x2b);
    out.int(value);
    out.bytes(UNITS[u]);
    if (value !== 1) out.byte(0x73); // s
    before = value < 0;
    any = true;
  }
  if (!any || time !== 0) {
    if (any) out.byte(0x20);
    if (time < 0) out.byte(0x2d);
    else if (before) out.byte(0x2b);
    clock(out, time < 0 ? -time : time);
  }
  out.byte(0x22);
  return true;
}

const HEX = Buffer.from('0123456789abcdef');

/** uuid_send (16 bytes) as uuidText's `8-4-4-4-12` lower-case hex, quoted. */
export function uuidJson(out: ByteBuffer, b: Buffer, s: number, e: number): boolean {
  if (e - s !== 16) return false;
  out.ensure(38);
  const buf = out.buf;
  let pos = out.pos;
  buf[pos++] = 0x22;
  for (let i = 0; i < 16; i++) {
    if (i === 4 || i === 6 || i === 8 || i === 10) buf[pos++] = 0x2d;
    const c = b[s + i];
    buf[pos++] = HEX[c >> 4];
    buf[pos++] = HEX[c & 15];
  }
  buf[pos++] = 0x22;
  out.pos = pos;
  return true;
}

/** bytea_send bytes as byteaText's `\x` and lower-case hex, as a JSON string (`"\\x…"`). */
export function byteaJson(out: ByteBuffer, b: Buffer, s: number, e: number): void {
  out.ensure(2 * (e - s) + 5);
  const buf = out.buf;
  let pos = out.pos;
  buf[pos++] = 0x22;
  buf[pos++] = 0x5c;
  buf[pos++] = 0x5c;
  buf[pos++] = 0x78;
  for (let i = s; i < e; i++) {
    const c = b[i];
    buf[pos++] = HEX[c >> 4];
    buf[pos++] = HEX[c & 15];
  }
  buf[pos++] = 0x22;
  out.pos = pos;
}

/** inet_send/cidr_send of an IPv4 address as inetText's text (`a.b.c.d`, `/bits` unless a full-length inet), quoted; IPv6 goes the long way. */
export function inetJson(out: ByteBuffer, b: Buffer, s: number, e: number): boolean {
  if (e - s !== 8 || b[s] !== 2 || b[s + 3] !== 4) return false;
  out.byte(0x22);
  for (let i = 4; i < 8; i++) {
    if (i > 4) out.byte(0x2e);
    out.int(b[s + i]);
  }
  const bits = b[s + 1];
  if (bits !== 32 || b[s + 2] !== 0) {
    out.byte(0x2f);
    out.int(bits);
  }
  out.byte(0x22);
  return true;
}

const NUMERIC_NAN = 0xc000;
const NUMERIC_PINF = 0xd000;
const NUMERIC_NINF = 0xf000;
const NUMERIC_NEG = 0x4000;
const NAN = Buffer.from('"NaN"');
const PINF = Buffer.from('"Infinity"');
const NINF = Buffer.from('"-Infinity"');

/** Four decimal digits of `g` (0 to 9999) at `buf[pos]`. */
function four(buf: Buffer, pos: number, g: number): void {
  const hi = Math.floor(g / 100);
  two(buf, pos, hi);
  two(buf, pos + 2, g - 100 * hi);
}

/**
 * numeric_send (Int16 ndigits, weight, sign, dscale, then base-10000 digits) as numericTextAt's
 * text (get_str_from_var), quoted. A value numericTextAt rejects, or with a digit above 9999
 * (PostgreSQL sends none), goes the long way.
 */
export function numericJson(out: ByteBuffer, b: Buffer, s: number, e: number): boolean {
  const length = e - s;
  if (length < 8) return false;
  const ndigits = (b[s] << 8) | b[s + 1];
  const weight = ((b[s + 2] << 24) >> 16) | b[s + 3];
  const sign = (b[s + 4] << 8) | b[s + 5];
  const dscale = (b[s + 6] << 8) | b[s + 7];
  if (sign === NUMERIC_NAN) out.bytes(NAN);
  else if (sign === NUMERIC_PINF) out.bytes(PINF);
  else if (sign === NUMERIC_NINF) out.bytes(NINF);
  else {
    if ((sign !== 0 && sign !== NUMERIC_NEG) || length !== 8 + 2 * ndigits) return false;
    const d = s + 8;
    for (let i = 0; i < ndigits; i++) if (((b[d + 2 * i] << 8) | b[d + 2 * i + 1]) > 9999) return false;
    // At most: sign, the integer groups, the point and dscale digits, and the quotes.
    out.ensure(4 + (weight >= 0 ? 4 * (weight + 1) : 1) + 1 + dscale + 4);
    const buf = out.buf;
    let pos = out.pos;
    buf[pos++] = 0x22;
    if (sign === NUMERIC_NEG) buf[pos++] = 0x2d;
    if (weight < 0 || ndigits === 0) buf[pos++] = 0x30;
    else {
      // The first group without its leading zeros.
      const first = (b[d] << 8) | b[d + 1];
      four(buf, pos, first);
      const skip = first >= 1000 ? 0 : first >= 100 ? 1 : first >= 10 ? 2 : 3;
      for (let k = 0; k < 4 - skip; k++) buf[pos + k] = buf[pos + k + skip];
      pos += 4 - skip;
    }
    for (let i = 1; i <= weight; i++) {
      four(buf, pos, i < ndigits ? (b[d + 2 * i] << 8) | b[d + 2 * i + 1] : 0);
      pos += 4;
    }
    if (dscale > 0) {
      buf[pos++] = 0x2e;
      const end = pos + dscale;
      for (let i = weight + 1; pos < end; i++) {
        const g = i >= 0 && i < ndigits ? (b[d + 2 * i] << 8) | b[d + 2 * i + 1] : 0;
        if (pos + 4 <= end) {
          four(buf, pos, g);
          pos += 4;
        } else {
          four(buf, pos, g); // room: ensure counted 4 bytes past the digits
          pos = end;
        }
      }
    }
    buf[pos++] = 0x22;
    out.pos = pos;
  }
  return true;
}
