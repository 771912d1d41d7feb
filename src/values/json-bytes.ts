/**
 * A JSON reader for the common small documents of json/jsonb columns (issue 18): it reads the
 * UTF-8 bytes where they lie and builds what `JSON.parse` builds, without making the document's
 * string first and with object keys interned in a small cache. It covers a subset of JSON (ASCII
 * without escapes, numbers without exponents whose digits fit Clinger's fast path, nesting up to
 * 64 levels, no `__proto__` key); for any other document, valid or not, it returns {@link NOT_READ}
 * and the caller runs `JSON.parse` on the text, which gives the value or throws.
 */
import { asciiAt } from './ascii';

/** What {@link readJsonAt} returns for a document outside its subset. */
export const NOT_READ: unique symbol = Symbol('not read');

const EXACT_POW10 = [1, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22];
const MANTISSA_LIMIT = (2 ** 53 - 9) / 10;
const MAX_DEPTH = 64;

/** Interned object keys: 512 slots by a hash of the key's bytes, checked byte by byte on a hit. */
const KEYS: (string | undefined)[] = new Array(512).fill(undefined);

let buf: Buffer = Buffer.alloc(0);
let pos = 0;
let end = 0;
let failed = false;

function ws(): void {
  while (pos < end) {
    const c = buf[pos];
    if (c === 32 || c === 10 || c === 13 || c === 9) pos++;
    else return;
  }
}

/** The ASCII string at [s, e) (no escapes, no control characters: checked by the caller). */
function str(s: number, e: number): string {
  const n = e - s;
  return n <= 16 ? asciiAt(buf, s, n) : (buf as Buffer & { latin1Slice(s: number, e: number): string }).latin1Slice(s, e);
}

/** Scans a string body after its opening quote; returns its end (the closing quote), or -1. */
function stringEnd(): number {
  let i = pos;
  while (i < end) {
    const c = buf[i];
    if (c === 34) return i;
    // Escapes, control characters (invalid unescaped) and non-ASCII: not this reader's subset.
    if (c === 92 || c < 0x20 || c >= 0x80) return -1;
    i++;
  }
  return -1;
}

function key(s: number, e: number): string | undefined {
  const n = e - s;
  let h = n;
  for (let i = s; i < e; i++) h = (h * 31 + buf[i]) | 0;
  const slot = h & 511;
  const k = KEYS[slot];
  if (k !== undefined && k.length === n) {
    let i = 0;
    while (i < n && k.charCodeAt(i) === buf[s + i]) i++;
    if (i === n) return k;
  }
  const made = str(s, e);
  if (made === '__proto__') return undefined;
  KEYS[slot] = made;
  return made;
}

function number(): number {
  let neg = false;
  if (buf[pos] === 45) {
    neg = true;
    pos++;
  }
  let m = 0;
  const d0 = pos;
  while (pos < end) {
    const d = buf[pos] - 48;
    if (d < 0 || d > 9) break;
    if (m > MANTISSA_LIMIT) {
      failed = true;
      return 0;
    }
    m = m * 10 + d;
    pos++;
  }
  const nInt = pos - d0;
  // JSON: at least one digit, no leading zero before more digits.
  if (nInt === 0 || (nInt > 1 && buf[d0] === 48)) {
    failed = true;
    return 0;
  }
  let k = 0;
  if (pos < end && buf[pos] === 46) {
    pos++;
    const f0 = pos;
    while (pos < end) {
      const d = buf[pos] - 48;
      if (d < 0 || d > 9) break;
      if (m > MANTISSA_LIMIT) {
        failed = true;
        return 0;
      }
      m = m * 10 + d;
      pos++;
    }
    k = pos - f0;
    if (k === 0 || k > 22) {
      failed = true;
      return 0;
    }
  }
  if (pos < end && (buf[pos] | 0x20) === 101) {
    failed = true;
    return 0;
  }
  const v = k > 0 ? m / EXACT_POW10[k] : m;
  return neg ? -v : v;
}

function value(depth: number): unknown {
  if (pos >= end) {
    failed = true;
    return undefined;
  }
  const c = buf[pos];
  if (c === 34) {
    pos++;
    const e = stringEnd();
    if (e < 0) {
      failed = true;
      return undefined;
    }
    const s = str(pos, e);
    pos = e + 1;
    return s;
  }
  if (c === 123) {
    if (depth >= MAX_DEPTH) {
      failed = true;
      return undefined;
    }
    pos++;
    const o: Record<string, unknown> = {};
    ws();
    if (pos < end && buf[pos] === 125) {
      pos++;
      return o;
    }
    for (;;) {
      if (pos >= end || buf[pos] !== 34) {
        failed = true;
        return undefined;
      }
      pos++;
      const e = stringEnd();
      if (e < 0) {
        failed = true;
        return undefined;
      }
      const k = key(pos, e);
      if (k === undefined) {
        failed = true;
        return undefined;
      }
      pos = e + 1;
      ws();
      if (pos >= end || buf[pos] !== 58) {
        failed = true;
        return undefined;
      }
      pos++;
      ws();
      const v = value(depth + 1);
      if (failed) return undefined;
      o[k] = v;
      ws();
      if (pos < end && buf[pos] === 44) {
        pos++;
        ws();
        continue;
      }
      if (pos < end && buf[pos] === 125) {
        pos++;
        return o;
      }
      failed = true;
      return undefined;
    }
  }
  if (c === 91) {
    if (depth >= MAX_DEPTH) {
      failed = true;
      return undefined;
    }
    pos++;
    const a: unknown[] = [];
    ws();
    if (pos < end && buf[pos] === 93) {
      pos++;
      return a;
    }
    for (;;) {
      const v = value(depth + 1);
      if (failed) return undefined;
      a.push(v);
      ws();
      if (pos < end && buf[pos] === 44) {
        pos++;
        ws();
        continue;
      }
      if (pos < end && buf[pos] === 93) {
        pos++;
        return a;
      }
      failed = true;
      return undefined;
    }
  }
  if (c === 45 || (c >= 48 && c <= 57)) return number();
  if (c === 116 && pos + 4 <= end && buf[pos + 1] === 114 && buf[pos + 2] === 117 && buf[pos + 3] === 101) {
    pos += 4;
    return true;
  }
  if (c === 102 && pos + 5 <= end && buf[pos + 1] === 97 && buf[pos + 2] === 108 && buf[pos + 3] === 115 && buf[pos + 4] === 101) {
    pos += 5;
    return false;
  }
  if (c === 110 && pos + 4 <= end && buf[pos + 1] === 117 && buf[pos + 2] === 108 && buf[pos + 3] === 108) {
    pos += 4;
    return null;
  }
  failed = true;
  return undefined;
}

/**
 * The value `JSON.parse` gives for the UTF-8 JSON text at `b[s, e)`, or {@link NOT_READ} when the
 * text is outside this reader's subset (then `JSON.parse` must be asked; it may throw).
 * @example
 * readJsonAt(Buffer.from('{"a": [1, 2.5]}'), 0, 15); // { a: [1, 2.5] }
 */
export function readJsonAt(b: Buffer, s: number, e: number): unknown {
  buf = b;
  pos = s;
  end = e;
  failed = false;
  ws();
  const v = value(0);
  ws();
  const ok = !failed && pos === e;
  buf = EMPTY;
  return ok ? v : NOT_READ;
}
const EMPTY = Buffer.alloc(0);
