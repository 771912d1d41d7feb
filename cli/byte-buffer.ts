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
    const n = b.length;
    this.ensure(n);
    if (n > 32) {
      b.copy(this.buf, this.pos);
      this.pos += n;
      return;
    }
    // Short keys and values: a loop costs less than Buffer#copy's checks.
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = b[i];
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
    this.ascii(String(n));
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
   * UTF-8 bytes as a JSON string, escaped exactly as `JSON.stringify` escapes them: `"` and `\`
   * with a backslash, `\b \f \n \r \t`, other control characters as `\u00XX`; every other byte is
   * copied (the server sends valid UTF-8).
   */
  quoted(src: Buffer): void {
    const n = src.length;
    this.ensure(n * 6 + 2);
    const buf = this.buf;
    let pos = this.pos;
    buf[pos++] = 0x22;
    let from = 0;
    for (let i = 0; i < n; i++) {
      const c = src[i];
      if (c >= 0x20 && c !== 0x22 && c !== 0x5c) continue;
      if (i > from) pos += src.copy(buf, pos, from, i);
      from = i + 1;
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
    if (n > from) pos += src.copy(buf, pos, from, n);
    buf[pos++] = 0x22;
    this.pos = pos;
  }
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
