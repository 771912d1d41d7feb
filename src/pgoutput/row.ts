import { BinaryFormatError } from '../values/binary';
import { ColumnValueError } from '../values/errors';
import { TypeRegistry } from '../values/registry';
import type { Column, RelationInfo } from './messages';

/**
 * Stands for a TOASTed column the server did not send because the change left it unchanged
 * (TupleData kind `u`). It is neither `null` nor `undefined`: the column has a value, only not here.
 */
export const UNCHANGED_TOAST: unique symbol = Symbol.for('pg-walstream.unchangedToast');
export type UnchangedToast = typeof UNCHANGED_TOAST;

/** A column value as it travelled: text (`t`), binary bytes (`b`), SQL NULL (`n`) or unchanged TOAST (`u`). */
export type RawValue = string | Buffer | null | UnchangedToast;

/** TupleData column kinds ("Logical Replication Message Formats", TupleData). */
export type ColumnKind = 'n' | 'u' | 't' | 'b';

const K_NULL = 0x6e;
const K_TOAST = 0x75;
const K_TEXT = 0x74;
const K_BINARY = 0x62;

const columnIndexes = new WeakMap<RelationInfo, Map<string, number>>();

/** Rows built without a registry (tests, hand-made decoders) decode with the defaults. */
const DEFAULT_TYPES = new TypeRegistry();

/**
 * One tuple of an Insert, Update or Delete, bound to its relation's columns.
 *
 * Decoding is lazy: the decoder checks the tuple's bounds and records each column's offsets in the
 * same walk, and decodes no value, so a pipeline that filters on the relation pays nothing for
 * values it never reads. A value is decoded each time {@link get} reads it, by the parsers of the
 * stream's {@link TypeRegistry} (see docs/types.md). The bytes are a view of the received socket
 * chunk and stay valid.
 *
 * Iterating a row gives `[name, value]` pairs in column order, so `new Map(row)` and
 * `Object.fromEntries(row)` work.
 *
 * @example
 * if (msg.type === 'insert') console.log(msg.new.get('id'), msg.new.toObject());
 */
export class Row implements Iterable<[string, unknown]> {
  private offsets: number[] | undefined;

  /**
   * @internal Built by the decoder, which has checked that `buf[start, end)` holds `count` columns,
   * or by the snapshot's COPY reader, which passes the offsets table (`[kind, start, length]` per
   * column) it found while framing the COPY row.
   */
  constructor(
    readonly relation: RelationInfo,
    private readonly buf: Buffer,
    private readonly start: number,
    readonly length: number,
    private readonly types: TypeRegistry = DEFAULT_TYPES,
    private readonly end: number = buf.length,
    offsets?: number[],
  ) {
    this.offsets = offsets;
  }

  /**
   * Bytes this tuple took on the wire (TupleData after the column count: kinds, lengths, values),
   * known without decoding anything; what `bufferTransaction()` counts against `maxBytes`.
   */
  get byteLength(): number {
    return this.end - this.start;
  }

  get columns(): readonly Column[] {
    return this.relation.columns;
  }

  /** Index of a column by name or position. @throws {RangeError} for a name or index the relation does not have. */
  indexOf(column: string | number): number {
    if (typeof column === 'number') {
      if (column >= 0 && column < this.length) return column;
      throw new RangeError(`column index ${column} out of range for ${this.relation.schema}.${this.relation.name} (${this.length} columns)`);
    }
    let names = columnIndexes.get(this.relation);
    if (names === undefined) {
      names = new Map(this.relation.columns.map((c, i) => [c.name, i]));
      columnIndexes.set(this.relation, names);
    }
    const i = names.get(column);
    if (i === undefined) throw new RangeError(`no column "${column}" in ${this.relation.schema}.${this.relation.name}`);
    return i;
  }

  /** How the column travelled: `t` text, `b` binary, `n` null, `u` unchanged TOAST. */
  kind(column: string | number): ColumnKind {
    return String.fromCharCode(this.table()[this.indexOf(column) * 3]) as ColumnKind;
  }

  isNull(column: string | number): boolean {
    return this.table()[this.indexOf(column) * 3] === K_NULL;
  }

  isUnchangedToast(column: string | number): boolean {
    return this.table()[this.indexOf(column) * 3] === K_TOAST;
  }

  /** The value as sent: a string for text, a Buffer (a view) for binary, `null`, or {@link UNCHANGED_TOAST}. */
  raw(column: string | number): RawValue {
    const o = this.table();
    const at = this.indexOf(column) * 3;
    const kind = o[at];
    if (kind === K_NULL) return null;
    if (kind === K_TOAST) return UNCHANGED_TOAST;
    const s = o[at + 1];
    const e = s + o[at + 2];
    return kind === K_TEXT ? this.buf.toString('utf8', s, e) : this.buf.subarray(s, e);
  }

  /**
   * The column's value as a JavaScript value: `null` for SQL NULL, {@link UNCHANGED_TOAST} for a
   * TOASTed value the server did not send, otherwise the value parsed for its type (text or binary
   * format alike; a binary value of a type without a reader is a `BinaryValue`).
   * @throws {RangeError} for a column the relation does not have.
   * @throws {ColumnValueError} when the value's bytes do not fit its type, or a user parser throws.
   */
  get(column: string | number): unknown {
    const o = this.table();
    const i = this.indexOf(column);
    const at = i * 3;
    const kind = o[at];
    if (kind === K_NULL) return null;
    if (kind === K_TOAST) return UNCHANGED_TOAST;
    const s = o[at + 1];
    const e = s + o[at + 2];
    const oid = this.relation.columns[i].typeOid;
    try {
      return kind === K_TEXT ? this.types.textAt(oid)(this.buf, s, e) : this.types.binaryAt(oid)(this.buf, s, e);
    } catch (err) {
      const r = this.relation;
      const location = { schema: r.schema, table: r.name, column: r.columns[i].name, typeOid: oid };
      const what = err instanceof BinaryFormatError ? err.message : `the ${kind === K_TEXT ? 'text' : 'binary'} parser failed: ${err instanceof Error ? err.message : String(err)}`;
      throw new ColumnValueError(location, what, { cause: err });
    }
  }

  /** Every column's value by name, decoded as {@link get} does. */
  toObject(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    const cols = this.relation.columns;
    for (let i = 0; i < this.length; i++) setColumn(out, cols[i].name, this.get(i));
    return out;
  }

  /** `[name, value]` pairs in column order. */
  *[Symbol.iterator](): Iterator<[string, unknown]> {
    const cols = this.relation.columns;
    for (let i = 0; i < this.length; i++) yield [cols[i].name, this.get(i)];
  }

  /** The raw bytes of a text or binary value, `null` otherwise. */
  bytes(column: string | number): Buffer | null {
    const o = this.table();
    const at = this.indexOf(column) * 3;
    return o[at] === K_TEXT || o[at] === K_BINARY ? this.buf.subarray(o[at + 1], o[at + 1] + o[at + 2]) : null;
  }

  /**
   * @internal The buffer the values lie in, for the CLI's JSON encoder, which copies each value
   * from where it lies (with {@link offsetTable}) instead of taking a {@link bytes} view of it.
   */
  get frame(): Buffer {
    return this.buf;
  }

  /**
   * @internal The offsets table: `[kind, start, length]` per column, the kind as its TupleData byte
   * (`t`, `b`, `n`, `u`), the value at `frame[start, start + length)`. Not to be changed.
   */
  offsetTable(): readonly number[] {
    return this.table();
  }

  /** Every column's raw value by name. */
  rawObject(): Record<string, RawValue> {
    const out: Record<string, RawValue> = {};
    const cols = this.relation.columns;
    for (let i = 0; i < this.length; i++) out[cols[i].name] = this.raw(i);
    return out;
  }

  /** The offsets table: [kind, start, length] for each column (found on first use for a row built without one). */
  private table(): number[] {
    return this.offsets ?? (this.offsets = this.scan());
  }

  private scan(): number[] {
    // A plain array of small integers allocates faster than an Int32Array; the decoder has checked
    // every length against the frame, so the big-endian lengths are read without bounds checks.
    const n = this.length;
    const out: number[] = new Array(n * 3);
    const buf = this.buf;
    let pos = this.start;
    for (let i = 0; i < n; i++) {
      const kind = buf[pos++];
      out[i * 3] = kind;
      if (kind === K_TEXT || kind === K_BINARY) {
        const len = ((buf[pos] << 24) | (buf[pos + 1] << 16) | (buf[pos + 2] << 8) | buf[pos + 3]) >>> 0;
        out[i * 3 + 1] = pos + 4;
        out[i * 3 + 2] = len;
        pos += 4 + len;
      } else {
        out[i * 3 + 1] = 0;
        out[i * 3 + 2] = 0;
      }
    }
    return out;
  }
}

/**
 * Checks a TupleData's column kinds and lengths against `end` and returns where it ends,
 * or a negative error code: -1 truncated, -2 unknown kind (the failing offset is in `errorAt.offset`).
 * With `offsets`, it records the offsets table of {@link Row} (`[kind, start, length]` per column)
 * on the way, so a row whose values are read never walks its tuple a second time.
 * @internal
 */
export function skipTuple(buf: Buffer, pos: number, end: number, count: number, errorAt: { offset: number }, offsets?: number[]): number {
  for (let i = 0; i < count; i++) {
    if (pos >= end) {
      errorAt.offset = pos;
      return -1;
    }
    const kind = buf[pos];
    if (kind === K_TEXT || kind === K_BINARY) {
      if (pos + 5 > end) {
        errorAt.offset = pos;
        return -1;
      }
      const len = (buf[pos + 1] << 24) | (buf[pos + 2] << 16) | (buf[pos + 3] << 8) | buf[pos + 4];
      if (len < 0 || pos + 5 + len > end) {
        errorAt.offset = pos + 1;
        return -1;
      }
      if (offsets !== undefined) {
        offsets[i * 3] = kind;
        offsets[i * 3 + 1] = pos + 5;
        offsets[i * 3 + 2] = len;
      }
      pos += 5 + len;
    } else if (kind === K_NULL || kind === K_TOAST) {
      if (offsets !== undefined) {
        offsets[i * 3] = kind;
        offsets[i * 3 + 1] = 0;
        offsets[i * 3 + 2] = 0;
      }
      pos += 1;
    } else {
      errorAt.offset = pos;
      return -2;
    }
  }
  return pos;
}

/**
 * `out[name] = value`, also for a column named `__proto__` (legal in PostgreSQL), which plain
 * assignment would turn into a prototype change and silently drop from the object.
 */
export function setColumn(out: Record<string, unknown>, name: string, value: unknown): void {
  if (name === '__proto__') Object.defineProperty(out, name, { value, enumerable: true, writable: true, configurable: true });
  else out[name] = value;
}
