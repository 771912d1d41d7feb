/**
 * A growable output buffer that JSON text is written into directly, so that the values of a row
 * go from the received frame to the output as bytes, without a JavaScript string in between.
 */
export class ByteBuffer {
  buf: Buffer;
  pos = 0;

  constructor(size = 512 << 10) {
    this.buf = Buffer.allocUnsafe(size);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  /** Bytes written so far, and a fresh (or reused) buffer for what follows. */
  take(reuse: boolean): Buffer {
    const out = reuse ? this.buf.subarray(0, this.pos) : Buffer.from(this.buf.subarray(0, this.pos));
    this.pos = 0;
    return out;
  }

  /** A string known to be ASCII (keys, LSNs, numbers). */
  ascii(s: string): void {
    this.ensure(s.length);
    this.pos += this.buf.write(s, this.pos, 'latin1');
  }

  /** Any string, as UTF-8. */
  utf8(s: string): void {
    this.ensure(s.length * 3);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }

  bytes(b: Buffer): void {
    this.bytesAt(b, 0, b.length);
  }

  /** The bytes `src[s, e)`: a loop for short runs, which costs less than Buffer#copy's checks. */
  bytesAt(src: Buffer, s: number, e: number): void {
    const n = e - s;
    this.ensure(n);
    if (n > 32) {
      this.pos += src.copy(this.buf, this.pos, s, e);
      return;
    }
    const buf = this.buf;
    let pos = this.pos;
    for (let i = s; i < e; i++) buf[pos++] = src[i];
    this.pos = pos;
  }

  byte(c: number): void {
    this.ensure(1);
    this.buf[this.pos++] = c;
  }

  /** An unsigned integer below 2^53, in decimal. */
  uint(n: number): void {
    if (n < 10) {
      this.ensure(1);
      this.buf[this.pos++] = 0x30 + n;
      return;
    }
    this.int(n); // not String(n): V8 caches number strings, and the cache keeps them alive past scavenges
  }

  /** A safe integer (|n| < 2^53, not -0) in decimal, as `String(n)` prints it. */
  int(n: number): void {
    this.ensure(17);
    const buf = this.buf;
    if (n < 0) {
      buf[this.pos++] = 0x2d;
      n = -n;
    }
    if (n < 10) {
      buf[this.pos++] = 0x30 + n;
      return;
    }
    if (n < 2147483648) {
      // Below 2^31: small-integer arithmetic.
      const digits = n < 100 ? 2 : n < 1000 ? 3 : n < 10000 ? 4 : n < 100000 ? 5 : n < 1000000 ? 6 : n < 10000000 ? 7 : n < 100000000 ? 8 : n < 1000000000 ? 9 : 10;
      let at = this.pos + digits;
      this.pos = at;
      let v = n | 0;
      while (v >= 10) {
        const q = (v / 10) | 0;
        buf[--at] = 0x30 + v - 10 * q;
        v = q;
      }
      buf[--at] = 0x30 + v;
      return;
    }
    let digits = 0;
    for (let v = n; v >= 1; v = Math.floor(v / 10)) digits++;
    let at = this.pos + digits;
    this.pos = at;
    for (let v = n; v >= 1; v = Math.floor(v / 10)) buf[--at] = 0x30 + (v % 10);
  }

  /**
   * A string as `JSON.stringify(s)` writes it, in UTF-8. Printable ASCII (dates, numbers, names,
   * most text) is copied character by character; anything else goes through `JSON.stringify`.
   */
  jsonString(s: string): void {
    const n = s.length;
    if (n > 256) return this.utf8(JSON.stringify(s));
    this.ensure(n + 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 0x22;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c < 0x20 || c > 0x7e || c === 0x22 || c === 0x5c) return this.utf8(JSON.stringify(s));
      buf[pos++] = c;
    }
    buf[pos++] = 0x22;
    this.pos = pos;
  }

  /** ASCII text known to need no JSON escaping, character by character (short number texts). */
  asciiChars(s: string): void {
    const n = s.length;
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
  }

  /** `n` (0 to 999999) as six decimal digits. */
  sixDigits(n: number): void {
    this.ensure(6);
    const buf = this.buf;
    for (let i = this.pos + 5; i >= this.pos; i--) {
      buf[i] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    this.pos += 6;
  }

  /** An unsigned integer below 2^53 in upper-case hexadecimal without padding (an LSN half). */
  hex(n: number): void {
    this.ensure(13);
    if (n === 0) {
      this.buf[this.pos++] = 0x30;
      return;
    }
    let digits = 0;
    for (let v = n; v >= 1; v = Math.floor(v / 16)) digits++;
    let at = this.pos + digits;
    this.pos = at;
    for (let v = n; v >= 1; v = Math.floor(v / 16)) {
      const d = v % 16;
      this.buf[--at] = d < 10 ? 0x30 + d : 0x37 + d;
    }
  }

  /**
   * UTF-8 bytes `src[s, e)` as a JSON string, escaped exactly as `JSON.stringify` escapes them:
   * `"` and `\` with a backslash, `\b \f \n \r \t`, other control characters as `\u00XX`; every
   * other byte is copied (the server sends valid UTF-8). Runs between escapes are copied by a loop
   * when short, by Buffer#copy when long; long values are scanned four bytes at a time.
   */
  quoted(src: Buffer, s = 0, e = src.length): void {
    this.ensure((e - s) * 6 + 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 0x22;
    let from = s;
    let i = s;
    for (;;) {
      if (e - i >= 64) i = plainUntil(src, i, e);
      else while (i < e && ESCAPE[src[i]] === 0) i++;
      if (i === e) break;
      const c = src[i];
      pos = copyRun(src, from, i, buf, pos);
      from = ++i;
      buf[pos++] = 0x5c;
      const short = SHORT_ESCAPES[c];
      if (short !== 0) buf[pos++] = short;
      else {
        buf[pos++] = 0x75; // u00XX
        buf[pos++] = 0x30;
        buf[pos++] = 0x30;
        buf[pos++] = HEX_LOWER[c >> 4];
        buf[pos++] = HEX_LOWER[c & 15];
      }
    }
    pos = copyRun(src, from, e, buf, pos);
    buf[pos++] = 0x22;
    this.pos = pos;
  }
}

/** `src[from, to)` into `buf` at `pos`; returns the position after it. */
function copyRun(src: Buffer, from: number, to: number, buf: Buffer, pos: number): number {
  if (to - from > 32) return pos + src.copy(buf, pos, from, to);
  for (let i = from; i < to; i++) buf[pos++] = src[i];
  return pos;
}

/** 1 for the bytes JSON escapes: control characters, `"` and `\`. */
const ESCAPE = new Uint8Array(256);
for (let c = 0; c < 0x20; c++) ESCAPE[c] = 1;
ESCAPE[0x22] = 1;
ESCAPE[0x5c] = 1;

/**
 * The index of the first byte of `src[i, e)` that JSON escapes, or `e`. Aligned words are tested
 * four bytes at a time (a byte below 0x20, or equal to `"` or `\`: the "has less" and "has zero"
 * tests of Sean Anderson's Bit Twiddling Hacks, exact as a test of the whole word), so a long value
 * with nothing to escape costs about a third of a byte-by-byte scan.
 */
function plainUntil(src: Buffer, i: number, e: number): number {
  const off = src.byteOffset;
  while (((off + i) & 3) !== 0) {
    if (ESCAPE[src[i]] !== 0) return i;
    i++;
  }
  const words = (e - i) >> 2;
  const u = new Uint32Array(src.buffer, off + i, words);
  let w = 0;
  for (; w < words; w++) {
    const x = u[w];
    const q = x ^ 0x22222222;
    const b = x ^ 0x5c5c5c5c;
    if ((((x - 0x20202020) & ~x) | ((q - 0x01010101) & ~q) | ((b - 0x01010101) & ~b)) & 0x80808080) break;
  }
  i += 4 * w;
  while (i < e && ESCAPE[src[i]] === 0) i++;
  return i;
}

const HEX_LOWER = Buffer.from('0123456789abcdef');
const SHORT_ESCAPES = new Uint8Array(0x60);
SHORT_ESCAPES[0x08] = 0x62; // \b
SHORT_ESCAPES[0x09] = 0x74; // \t
SHORT_ESCAPES[0x0a] = 0x6e; // \n
SHORT_ESCAPES[0x0c] = 0x66; // \f
SHORT_ESCAPES[0x0d] = 0x72; // \r
SHORT_ESCAPES[0x22] = 0x22; // \"
SHORT_ESCAPES[0x5c] = 0x5c; // \\
