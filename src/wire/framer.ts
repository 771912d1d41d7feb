import { ProtocolError } from '../errors';

/** Called once per backend message: `code` is the type byte, the body is `buf[start, end)`. */
export type MessageHandler = (code: number, buf: Buffer, start: number, end: number) => void;

/** Refuse messages larger than this; the server's own limit for CopyData is 1 GB. */
const MAX_MESSAGE = 1024 * 1024 * 1024 + 5;

/**
 * Splits the backend byte stream into messages (type byte, Int32 length, body).
 *
 * A body that lies inside one socket chunk is handed out as a view of that chunk: Node allocates
 * a fresh buffer for every read, so views stay valid after later reads (unlike pg-protocol's
 * Parser, which compacts into a reused buffer; node-postgres PR 3776). A body that spans chunks is
 * assembled once into a buffer of its exact size, so large messages cost one copy, not one per chunk.
 */
export class MessageFramer {
  private partial: Buffer | undefined;
  private filled = 0;
  private header = Buffer.alloc(5);
  private headerFilled = 0;

  constructor(private readonly onMessage: MessageHandler) {}

  push(chunk: Buffer): void {
    let off = 0;
    const n = chunk.length;
    if (this.headerFilled > 0 || this.partial !== undefined) {
      off = this.continuePartial(chunk);
      if (off < 0) return;
    }
    while (off < n) {
      if (n - off < 5) {
        chunk.copy(this.header, 0, off, n);
        this.headerFilled = n - off;
        return;
      }
      const code = chunk[off];
      const len = chunk.readInt32BE(off + 1);
      checkLength(code, len);
      const end = off + 1 + len;
      if (end <= n) {
        this.onMessage(code, chunk, off + 5, end);
        off = end;
      } else {
        this.startPartial(chunk, off, len);
        return;
      }
    }
  }

  /** True while a message has been started but not completed; a socket closing now lost bytes. */
  get midMessage(): boolean {
    return this.headerFilled > 0 || this.partial !== undefined;
  }

  private startPartial(chunk: Buffer, off: number, len: number): void {
    this.partial = Buffer.allocUnsafe(len + 1);
    this.filled = chunk.copy(this.partial, 0, off);
  }

  /** Feeds the start of `chunk` into the pending header or message; returns where unread bytes begin, or -1 if the chunk was consumed. */
  private continuePartial(chunk: Buffer): number {
    let off = 0;
    if (this.partial === undefined) {
      const need = 5 - this.headerFilled;
      const take = Math.min(need, chunk.length);
      chunk.copy(this.header, this.headerFilled, 0, take);
      this.headerFilled += take;
      if (this.headerFilled < 5) return -1;
      this.headerFilled = 0;
      const len = this.header.readInt32BE(1);
      checkLength(this.header[0], len);
      this.partial = Buffer.allocUnsafe(len + 1);
      this.header.copy(this.partial, 0, 0, 5);
      this.filled = 5;
      off = take;
    }
    const p = this.partial;
    const take = Math.min(p.length - this.filled, chunk.length - off);
    chunk.copy(p, this.filled, off, off + take);
    this.filled += take;
    off += take;
    if (this.filled < p.length) return -1;
    this.partial = undefined;
    this.filled = 0;
    this.onMessage(p[0], p, 5, p.length);
    return off;
  }
}

function checkLength(code: number, len: number): void {
  if (len < 4 || len > MAX_MESSAGE) {
    throw new ProtocolError(`invalid length ${len} for backend message ${JSON.stringify(String.fromCharCode(code))}`);
  }
}
