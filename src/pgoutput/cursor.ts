import { ParseError } from '../errors';
import { Lsn } from '../lsn';

/**
 * A bounded reader over one pgoutput message. Every read checks the frame's end, so a truncated
 * or lying frame becomes a ParseError naming the tag, the LSN and the byte offset, never a read of
 * another message's bytes. One cursor is reused for every message of a stream.
 * @internal
 */
export class Cursor {
  buf: Buffer = Buffer.alloc(0);
  pos = 0;
  end = 0;
  /** Where the message starts in `buf`; offsets in errors count from here. */
  start = 0;
  private lsn: Lsn = Lsn.ZERO;

  /** Reads the message `buf[start, end)` (a socket chunk's bytes, read in place). */
  reset(buf: Buffer, lsn: Lsn, start = 0, end = buf.length): void {
    this.buf = buf;
    this.pos = start;
    this.start = start;
    this.end = end;
    this.lsn = lsn;
  }

  /** Offset from the start of the payload, for error reports. */
  get offset(): number {
    return this.pos - this.start;
  }

  get remaining(): number {
    return this.end - this.pos;
  }

  error(message: string, offset = this.offset): ParseError {
    const tag = this.end > this.start ? String.fromCharCode(this.buf[this.start]) : undefined;
    return new ParseError(message, tag, this.lsn.toString(), offset);
  }

  private need(n: number, what: string): void {
    if (this.pos + n > this.end) throw this.error(`frame ends inside ${what}`);
  }

  u8(what = 'Int8'): number {
    this.need(1, what);
    return this.buf[this.pos++];
  }

  i16(what = 'Int16'): number {
    this.need(2, what);
    const v = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return v;
  }

  u32(what = 'Int32'): number {
    this.need(4, what);
    const v = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  i32(what = 'Int32'): number {
    this.need(4, what);
    const v = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return v;
  }

  lsnField(what = 'LSN'): Lsn {
    this.need(8, what);
    const v = Lsn.read(this.buf, this.pos);
    this.pos += 8;
    return v;
  }

  /** A timestamp: signed microseconds since 2000-01-01. */
  time(what = 'timestamp'): bigint {
    this.need(8, what);
    const v = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return v;
  }

  cstring(what = 'String'): string {
    const nul = this.buf.indexOf(0, this.pos);
    if (nul < 0 || nul >= this.end) throw this.error(`frame ends inside ${what} (no terminating NUL)`);
    const s = this.buf.toString('utf8', this.pos, nul);
    this.pos = nul + 1;
    return s;
  }

  bytes(n: number, what = 'bytes'): Buffer {
    if (n < 0) throw this.error(`negative length ${n} for ${what}`);
    this.need(n, what);
    const b = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return b;
  }

  /** Rejects bytes left after the last field: a frame longer than its message is as wrong as a shorter one. */
  done(): void {
    if (this.pos !== this.end) throw this.error(`${this.end - this.pos} unexpected bytes after the message`);
  }
}
