import { getTypeParser } from 'pg-types';
import type { RelationInfo } from '../pgoutput/messages';
import { Row } from '../pgoutput/row';
import { parseInterval, parseTimestamp } from '../values/fast-text';
import { OID } from '../values/oids';
import { type TextParser, type TypeRegistry, identity, parseJsonDocument } from '../values/registry';

const K_TEXT = 0x74;

/**
 * V8 copies a substring shorter than this; a longer one is a SlicedString that keeps its whole
 * parent (here a socket chunk's text) alive as long as the value lives.
 */
const SLICE_MIN = 13;
/** Socket chunks are at most 64 KB; a larger buffer is one large CopyData message, read field by field. */
const MAX_CHUNK_TEXT = 1024 * 1024;
/** Bit 30 of a row's plain mask stands for every column from 30 on. */
const OVERFLOW_BIT = 30;
/** Every column plain. @internal */
export const ALL_PLAIN = 0x7fffffff;

/** The text parser is the identity: the value is its text (text, varchar, uuid, numeric, int8 as a string, ...). */
const VERBATIM = 0;
/** pg-types' `parseInt(text, 10)` (int2, int4, oid): read from the bytes. */
const INT = 1;
/** A built-in parser whose result holds no substring of its input: it may parse a slice of the chunk's text. */
const TRANSIENT = 2;
/** Any other parser (user parsers, arrays): given a string of its own. */
const OTHER = 3;
const METHOD = ['verbatim', 'int', 'parsed', 'parsed'] as const;

const NO_PARSE = getTypeParser(OID.text, 'text'); // pg-types' `String(text)`, for the types it does not parse
const PARSE_INT = getTypeParser(OID.int4, 'text');
const TRANSIENT_PARSERS = new Set<unknown>([parseTimestamp, parseJsonDocument, parseInterval, BigInt, getTypeParser(OID.float8, 'text'), getTypeParser(OID.bool, 'text')]);

/** `latin1Slice` is Buffer's own decoder, what `toString('latin1', ...)` calls after checking its arguments. */
const latin1: (buf: Buffer, start: number, end: number) => string =
  typeof (Buffer.prototype as { latin1Slice?: unknown }).latin1Slice === 'function'
    ? (buf, start, end) => (buf as unknown as { latin1Slice(s: number, e: number): string }).latin1Slice(start, end)
    : (buf, start, end) => buf.toString('latin1', start, end);

/**
 * One buffer of COPY data (a socket chunk, or a CopyData message that spanned chunks) and its text,
 * decoded once as latin1 on first use. The values of plain fields (ASCII, no escapes) are taken
 * from it: one decode per chunk instead of one per value.
 * @internal
 */
export class ChunkText {
  private text: string | undefined;

  private constructor(readonly buf: Buffer) {}

  /** A chunk for `buf`, or undefined for a buffer too large to decode whole. */
  static of(buf: Buffer): ChunkText | undefined {
    return buf.length <= MAX_CHUNK_TEXT ? new ChunkText(buf) : undefined;
  }

  /** `buf[start, end)` as a string, which may keep the chunk's text alive (a slice, when 13 bytes or more). */
  slice(start: number, end: number): string {
    return (this.text ??= latin1(this.buf, 0, this.buf.length)).substring(start, end);
  }

  /** `buf[start, end)` as a string of its own: a slice of the chunk's text when short (V8 copies those), else decoded. */
  own(start: number, end: number): string {
    return end - start < SLICE_MIN ? this.slice(start, end) : latin1(this.buf, start, end);
  }
}

/** Makes the object `toObject()` returns, as one literal: one hidden class per table, no keyed stores. */
type ObjectMaker = (row: CopyRow) => Record<string, unknown>;

/**
 * How the text values of one table's columns become JavaScript values, picked from the registry
 * once (and again whenever it learns a type), and the maker of its rows' `toObject()` objects.
 * The values are exactly what `Row.get` gives: the same parser on the same text, except that the
 * text comes from the chunk's, and int2/int4/oid digits are read from the bytes as `parseInt` reads them.
 * @internal
 */
export class CopyColumns {
  /** Undefined where a literal cannot stand for `Row.toObject()`'s object; then it is `Row.toObject()`. */
  make: ObjectMaker | undefined;
  readonly kinds: number[] = [];
  readonly parsers: TextParser[] = [];
  private version = -1;

  constructor(
    readonly relation: RelationInfo,
    readonly types: TypeRegistry,
  ) {}

  /** Picks the parsers again if the registry learnt a type since. */
  check(): void {
    if (this.version !== this.types.version) this.pick();
  }

  private pick(): void {
    const columns = this.relation.columns;
    for (let i = 0; i < columns.length; i++) {
      const p = this.types.text(columns[i].typeOid);
      this.parsers[i] = p;
      this.kinds[i] = p === identity || p === NO_PARSE ? VERBATIM : p === PARSE_INT ? INT : TRANSIENT_PARSERS.has(p) ? TRANSIENT : OTHER;
    }
    this.make = objectMaker(
      columns.map((c) => c.name),
      this.kinds,
    );
    this.version = this.types.version;
  }
}

/**
 * `(r) => ({ "id": r.int(0), "note": r.verbatim(1), ... })` for the columns' names and kinds, or
 * undefined for a column named `__proto__` (a literal would set the prototype), a very wide table,
 * or where code generation is disallowed (`--disallow-code-generation-from-strings`).
 */
function objectMaker(names: string[], kinds: number[]): ObjectMaker | undefined {
  if (names.length > 256 || names.includes('__proto__')) return undefined;
  // JSON.stringify makes each name a string literal, whatever it holds.
  const body = names.map((n, i) => `${JSON.stringify(n)}: r.${METHOD[kinds[i]]}(${i})`).join(', ');
  try {
    return new Function('r', `return { ${body} };`) as ObjectMaker;
  } catch {
    return undefined;
  }
}

/** `parseInt(text, 10)` of an optional `-` and one to ten digits; undefined for anything else. */
function intAt(buf: Buffer, start: number, end: number): number | undefined {
  let i = start;
  const negative = buf[i] === 0x2d;
  if (negative) i++;
  if (i === end || end - i > 10) return undefined;
  let v = 0;
  for (; i < end; i++) {
    const d = buf[i] - 0x30;
    if (d < 0 || d > 9) return undefined;
    v = v * 10 + d;
  }
  return negative ? -v : v;
}

const rowGet = Row.prototype.get;
const rowToObject = Row.prototype.toObject;

/**
 * A row read by COPY: a {@link Row} (its prototype chain holds `Row.prototype`, so `instanceof
 * Row` holds and Row's methods serve it) whose `get()` and `toObject()` read plain text values
 * (ASCII, no escapes) from its chunk's text with the parsers its table picked once, and build
 * `toObject()`'s object as one literal. It gives exactly what a `Row` gives, and throws the same
 * errors: any other value, and any failure, goes through `Row.get`.
 *
 * It is not a subclass: V8 constructs a derived class's instances markedly slower (about 50 ns
 * each here, a tenth of the client's CPU per COPY row). Instead it has Row's own fields under
 * their names and in their order, on which Row's methods run; spec/unit/copy-rows.spec.ts checks
 * that layout against a real Row, and that every method agrees with Row's.
 * @internal
 */
export class CopyRow {
  constructor(
    // Row's fields, as Row's constructor sets them.
    readonly relation: RelationInfo,
    readonly buf: Buffer,
    readonly start: number,
    readonly length: number,
    readonly types: TypeRegistry,
    readonly end: number,
    readonly offsets: number[],
    // Its own.
    readonly columnsOf: CopyColumns,
    readonly chunk: ChunkText | undefined,
    /** Bit i: text field i is plain (ASCII, no escapes); bit 30: every field from 30 on is. 0 without a chunk. */
    readonly plain: number,
  ) {}

  get(column: string | number): unknown {
    const i = (this as unknown as Row).indexOf(column);
    const cols = this.columnsOf;
    cols.check();
    switch (cols.kinds[i]) {
      case VERBATIM:
        return this.verbatim(i);
      case INT:
        return this.int(i);
      default:
        return this.parsed(i);
    }
  }

  toObject(): Record<string, unknown> {
    const cols = this.columnsOf;
    cols.check();
    return cols.make === undefined ? rowToObject.call(this as unknown as Row) : cols.make(this);
  }

  /** Column `i`'s start in the buffer if it is a plain text value, else -1. */
  private plainStart(i: number): number {
    const at = i * 3;
    return ((this.plain >> (i < OVERFLOW_BIT ? i : OVERFLOW_BIT)) & 1) === 1 && this.offsets[at] === K_TEXT ? this.offsets[at + 1] : -1;
  }

  /** Column `i` (a valid index) of a type whose value is its text. @internal */
  verbatim(i: number): unknown {
    const s = this.plainStart(i);
    return s < 0 ? rowGet.call(this as unknown as Row, i) : this.chunk!.own(s, s + this.offsets[i * 3 + 2]);
  }

  /** Column `i` (a valid index) of int2, int4 or oid with pg-types' parser. @internal */
  int(i: number): unknown {
    const s = this.plainStart(i);
    if (s < 0) return rowGet.call(this as unknown as Row, i);
    const e = s + this.offsets[i * 3 + 2];
    const v = intAt(this.buf, s, e);
    return v !== undefined ? v : this.parsed(i);
  }

  /** Column `i` (a valid index) of any other type. @internal */
  parsed(i: number): unknown {
    const s = this.plainStart(i);
    if (s < 0) return rowGet.call(this as unknown as Row, i);
    const e = s + this.offsets[i * 3 + 2];
    const cols = this.columnsOf;
    try {
      return cols.parsers[i](cols.kinds[i] === TRANSIENT ? this.chunk!.slice(s, e) : this.chunk!.own(s, e));
    } catch {
      return rowGet.call(this as unknown as Row, i); // the same parser on the same text: the same ColumnValueError
    }
  }
}
Object.setPrototypeOf(CopyRow.prototype, Row.prototype);

/** The bit of column `i` in a plain mask. @internal */
export function plainBit(i: number): number {
  return 1 << (i < OVERFLOW_BIT ? i : OVERFLOW_BIT);
}
