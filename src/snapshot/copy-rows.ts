import type { RelationInfo } from '../pgoutput/messages';
import type { Row } from '../pgoutput/row';
import type { TypeRegistry } from '../values/registry';
import { ALL_PLAIN, ChunkText, CopyColumns, CopyRow, plainBit } from './copy-row';
import { SnapshotError } from './errors';

const K_NULL = 0x6e;
const K_TEXT = 0x74;
const K_BINARY = 0x62;

const TAB = 0x09;
const NEWLINE = 0x0a;
const BACKSLASH = 0x5c;
/** `PGCOPY\n\377\r\n\0`: the binary COPY signature ("COPY", File Formats, Binary Format). */
const BINARY_SIGNATURE = Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1');
const ESCAPES: Record<number, number> = { 0x62: 0x08, 0x66: 0x0c, 0x6e: 0x0a, 0x72: 0x0d, 0x74: 0x09, 0x76: 0x0b };

const columnsOf = new WeakMap<RelationInfo, CopyColumns>();

/** The relation's {@link CopyColumns} for `types`, made once (backfill parses each chunk anew). */
function copyColumns(relation: RelationInfo, types: TypeRegistry): CopyColumns {
  let c = columnsOf.get(relation);
  if (c === undefined || c.types !== types) {
    c = new CopyColumns(relation, types);
    columnsOf.set(relation, c);
  }
  return c;
}

/** COPY's data formats: `text` (tab-separated, backslash escapes) or `binary` (each type's send function). */
export type CopyFormat = 'text' | 'binary';

/**
 * Turns the CopyData messages of `COPY ... TO STDOUT` into {@link Row}s of `relation`, without
 * copying values: each Row (a {@link CopyRow}) is a view of the message with the offsets table
 * found while framing, and with which text fields are plain (ASCII, no escapes), whose values it
 * reads from the chunk's text. Text fields with backslash escapes are unescaped in place (the
 * result is never longer).
 * The server sends one row per CopyData ("Copy-out mode"), the binary header with the first;
 * the parser accepts any number of rows per message all the same.
 * Follows "COPY" (File Formats) and `src/backend/commands/copyto.c`.
 * @internal
 */
export class CopyRowParser {
  private headerSeen = false;
  private messageStart = 0;
  private ended = false;
  private readonly width: number;
  private readonly columns: CopyColumns;
  /** The buffer of the last message parsed, and its text (text COPY). */
  private chunkBuf: Buffer | undefined;
  private chunk: ChunkText | undefined;
  /** Where {@link unescape} stopped writing. */
  private written = 0;

  constructor(
    private readonly relation: RelationInfo,
    private readonly format: CopyFormat,
    private readonly types: TypeRegistry,
    private readonly table: string,
  ) {
    this.width = relation.columns.length;
    this.columns = copyColumns(relation, types);
  }

  /** Whether the binary trailer was seen (text COPY has none). */
  get complete(): boolean {
    return this.format === 'text' || this.ended;
  }

  /**
   * Parses one CopyData body `buf[start, end)` and pushes its rows to `out`.
   * @throws {SnapshotError} for a row that does not fit the relation's columns or the format, with the byte offset.
   */
  parse(buf: Buffer, start: number, end: number, out: Row[]): void {
    this.messageStart = start;
    if (this.format === 'text') this.parseText(buf, start, end, out);
    else this.parseBinary(buf, start, end, out);
  }

  private parseText(buf: Buffer, start: number, end: number, out: Row[]): void {
    if (buf !== this.chunkBuf) {
      this.chunkBuf = buf;
      this.chunk = ChunkText.of(buf);
    }
    const n = this.width;
    let pos = start;
    while (pos < end) {
      const rowStart = pos;
      const offsets: number[] = new Array(n * 3);
      let plain = ALL_PLAIN;
      for (let i = 0; i < n; i++) {
        const fieldStart = pos;
        let high = 0; // the OR of the field's bytes: 0x80 or more once one is not ASCII
        while (pos < end) {
          const c = buf[pos];
          if (c === TAB || c === NEWLINE || c === BACKSLASH) break;
          high |= c;
          pos++;
        }
        let fieldEnd = pos;
        const escaped = pos < end && buf[pos] === BACKSLASH;
        if (escaped) {
          pos = this.unescape(buf, pos, end);
          fieldEnd = this.written;
        }
        if (pos >= end) throw this.error(`row ends after ${i} of ${n} columns`, pos);
        const last = buf[pos];
        if ((last === NEWLINE) !== (i === n - 1)) throw this.error(last === NEWLINE ? `row has ${i + 1} columns, the relation ${n}` : `row has more than ${n} columns`, pos);
        if (escaped && fieldEnd - fieldStart === 1 && buf[fieldStart] === 0x4e && pos - fieldStart === 2) {
          offsets[i * 3] = K_NULL; // \N
          offsets[i * 3 + 1] = 0;
          offsets[i * 3 + 2] = 0;
        } else {
          offsets[i * 3] = K_TEXT;
          offsets[i * 3 + 1] = fieldStart;
          offsets[i * 3 + 2] = fieldEnd - fieldStart;
          if (escaped || high >= 0x80) plain &= ~plainBit(i);
        }
        pos++;
      }
      if (n === 0) {
        if (buf[pos] !== NEWLINE) throw this.error('row has columns, the relation none', pos);
        pos++;
      }
      out.push(new CopyRow(this.relation, buf, rowStart, n, this.types, pos, offsets, this.columns, this.chunk, this.chunk === undefined ? 0 : plain) as unknown as Row);
    }
  }

  /**
   * Undoes the backslash escapes of the field that goes on at `pos` (a backslash), in place (the
   * result is never longer); returns where the field ends (its tab or newline, or `end`) and leaves
   * the end of the unescaped bytes in `written`.
   */
  private unescape(buf: Buffer, pos: number, end: number): number {
    let write = pos;
    while (pos < end) {
      const c = buf[pos];
      if (c === TAB || c === NEWLINE) break;
      if (c === BACKSLASH) {
        if (pos + 1 >= end) throw this.error('a backslash ends the data', pos);
        const e = buf[pos + 1];
        buf[write++] = ESCAPES[e] ?? e;
        pos += 2;
        continue;
      }
      buf[write++] = c;
      pos++;
    }
    this.written = write;
    return pos;
  }

  private parseBinary(buf: Buffer, start: number, end: number, out: Row[]): void {
    let pos = start;
    if (!this.headerSeen) {
      if (end - pos < 19 || !buf.subarray(pos, pos + 11).equals(BINARY_SIGNATURE)) throw this.error('missing binary COPY signature', pos);
      const extension = buf.readUInt32BE(pos + 15);
      pos += 19 + extension;
      if (pos > end) throw this.error('binary COPY header extension runs past the message', end);
      this.headerSeen = true;
    }
    const n = this.width;
    while (pos < end) {
      if (this.ended) throw this.error('data after the binary COPY trailer', pos);
      if (end - pos < 2) throw this.error('truncated field count', pos);
      const count = buf.readInt16BE(pos);
      if (count === -1) {
        this.ended = true;
        pos += 2;
        continue;
      }
      if (count !== n) throw this.error(`row has ${count} columns, the relation ${n}`, pos);
      const rowStart = pos;
      pos += 2;
      const offsets: number[] = new Array(n * 3);
      for (let i = 0; i < n; i++) {
        if (end - pos < 4) throw this.error('truncated field length', pos);
        const len = buf.readInt32BE(pos);
        pos += 4;
        if (len === -1) {
          offsets[i * 3] = K_NULL;
          offsets[i * 3 + 1] = 0;
          offsets[i * 3 + 2] = 0;
          continue;
        }
        if (len < 0 || end - pos < len) throw this.error(`field length ${len} runs past the message`, pos - 4);
        offsets[i * 3] = K_BINARY;
        offsets[i * 3 + 1] = pos;
        offsets[i * 3 + 2] = len;
        pos += len;
      }
      out.push(new CopyRow(this.relation, buf, rowStart, n, this.types, pos, offsets, this.columns, undefined, 0) as unknown as Row);
    }
  }

  private error(what: string, offset: number): SnapshotError {
    return new SnapshotError(`malformed ${this.format} COPY data of ${this.table}: ${what} (byte ${offset - this.messageStart} of the CopyData message)`, { table: this.table, offset: offset - this.messageStart });
  }
}
