import { getTypeParser } from 'pg-types';
import * as at from './at';
import * as atFns from './at';
import type { ValueAt } from './at';
import { checkByteaText } from './bytea-text';
import { intervalFromBinary, parseArray, parseInterval, parseTimestamp } from './fast-text';
import * as bin from './binary';
import { BinaryValue } from './binary';
import * as more from './binary-text';
import { ARRAY_ELEMENT, BUILTIN_NAME, BUILTIN_OID, OID, isBuiltinOid } from './oids';

/** Turns a value's text form into a JavaScript value. */
export type TextParser = (text: string) => unknown;
/** Turns a value's binary form (the type's `*_send` bytes, a view valid only during the call) into a JavaScript value. */
export type BinaryParser = (bytes: Buffer) => unknown;

/** A user parser for one type: for the text format, the binary format, or both. */
export interface TypeParser {
  text?: TextParser;
  binary?: BinaryParser;
}

/**
 * How column values become JavaScript values. The defaults give what a `SELECT` through `pg`
 * returns (see docs/types.md).
 */
export interface TypeOptions {
  /** int8 (and int8[] elements) as a decimal `string` (default, like `pg`) or as a `bigint`. */
  int8?: 'string' | 'bigint';
  /**
   * date, timestamp and timestamptz (and their arrays) as a `Date` (default, like `pg`; milliseconds
   * only, date and timestamp in the process's local time zone) or as the exact text, microseconds
   * included. `infinity` and `-infinity` become `Infinity`/`-Infinity` as `Date`, the text as string.
   */
  timestamps?: 'date' | 'string';
  /**
   * Parsers by type OID (`16385` or `'16385'`) or type name (`'hstore'`, `'public.hstore'`,
   * `'int4'`, `'_int4'` for its array). A function is a text parser; binary values of that type are
   * given to it as their text form where the decoder can print it, and are a {@link BinaryValue}
   * otherwise. A parser for a base type also applies to domains over it.
   */
  parsers?: Readonly<Record<string, TextParser | TypeParser>>;
}

/**
 * The type a Type message named. The walsender (`logicalrep_write_typ`) names a domain by its base
 * type, so a domain over a built-in type decodes as that type.
 */
export interface AnnouncedType {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
}

interface Handler {
  readonly text: TextParser;
  readonly binary: BinaryParser;
  /** The binary parser gives a real value (not a {@link BinaryValue}). */
  readonly binaryKnown: boolean;
  /** In-place decoders, when the handler has its own (else found from the parsers, see withAt). */
  readonly textAt?: ValueAt;
  readonly binaryAt?: ValueAt;
}

/** The text parser of types whose value is their text (text, varchar, int8 as string, ...). @internal */
export const identity: TextParser = (s) => s;

/** A handler with its in-place decoders (what Row#get calls). */
interface ResolvedHandler extends Handler {
  readonly textAt: ValueAt;
  readonly binaryAt: ValueAt;
}

const pgTypesParser = (oid: number) => getTypeParser(oid, 'text') as TextParser;
/** In-place text decoders of the default parsers, by the parser function they stand for. */
const TEXT_AT = new Map<TextParser, ValueAt>([
  [identity, at.textAt],
  [pgTypesParser(25), at.textAt], // pg-types' noParse: String(text), the text itself
  [pgTypesParser(23), at.intAt], // parseInt(text, 10), also int2 and oid
  [pgTypesParser(16), at.boolAt],
  [pgTypesParser(701), at.floatAt], // parseFloat, also float4
  [parseTimestamp, at.timestampAt],
  [parseInterval, at.intervalAt],
]);
/** In-place binary decoders of the default readers, by the reader function they stand for. */
const BINARY_AT = new Map<BinaryParser, ValueAt>([
  [bin.int2Value, at.int2BinAt],
  [bin.int4Value, at.int4BinAt],
  [bin.uint4Value, at.uint4BinAt],
  [bin.float4Value, at.float4BinAt],
  [bin.float8Value, at.float8BinAt],
  [bin.boolValue, at.boolBinAt],
  [bin.int8Text, at.int8TextBinAt],
  [bin.timestamptzDate, at.timestamptzBinAt],
  [bin.utf8Text, at.utf8BinAt],
  [bin.numericToText, at.numericBinAt],
  [bin.uuidText, at.uuidBinAt],
  [bin.timeToText, at.timeBinAt],
  [bin.byteaValue, at.byteaBinAt],
  [bin.inetText, at.inetBinAt],
]);

function withAt(h: Handler): ResolvedHandler {
  const { text, binary } = h;
  const textAt = h.textAt ?? TEXT_AT.get(text) ?? ((b: Buffer, s: number, e: number) => text(b.toString('utf8', s, e)));
  const binaryAt = h.binaryAt ?? BINARY_AT.get(binary) ?? ((b: Buffer, s: number, e: number) => binary(b.subarray(s, e)));
  return { text, binary, binaryKnown: h.binaryKnown, textAt, binaryAt };
}

/**
 * What a json or jsonb column holds when its document is JSON `null` (`'null'::jsonb`), so that it
 * cannot be mistaken for SQL NULL (`null`). Also an element of json[] and jsonb[] arrays. Any other
 * document is parsed with `JSON.parse`.
 * @example
 * const doc = row.get('payload'); // null: SQL NULL; JSON_NULL: the document null
 */
export const JSON_NULL: unique symbol = Symbol.for('pg-walstream.jsonNull');
export type JsonNull = typeof JSON_NULL;

/** A json/jsonb document: `JSON.parse`, with the document `null` as {@link JSON_NULL}. */
export function parseJsonDocument(text: string): unknown {
  const v: unknown = JSON.parse(text);
  return v === null ? JSON_NULL : v;
}

/** Binary to the exact text the type's output function prints. */
const TO_TEXT = new Map<number, (b: Buffer) => string>([
  [OID.bool, (b) => (bin.boolValue(b) ? 't' : 'f')],
  [OID.bytea, bin.byteaText],
  [OID.char, bin.charText],
  [OID.name, bin.utf8Text],
  [OID.int8, bin.int8Text],
  [OID.int2, (b) => String(bin.int2Value(b))],
  [OID.int4, (b) => String(bin.int4Value(b))],
  [OID.text, bin.utf8Text],
  [OID.oid, (b) => String(bin.uint4Value(b))],
  [OID.tid, bin.tidText],
  [OID.xid, (b) => String(bin.uint4Value(b))],
  [OID.cid, (b) => String(bin.uint4Value(b))],
  [OID.json, bin.utf8Text],
  [OID.cidr, bin.inetText],
  [OID.float4, (b) => bin.floatText(bin.float4Value(b))],
  [OID.float8, (b) => bin.floatText(bin.float8Value(b))],
  [OID.macaddr8, bin.macaddr8Text],
  [OID.macaddr, bin.macaddrText],
  [OID.inet, bin.inetText],
  [OID.bpchar, bin.utf8Text],
  [OID.varchar, bin.utf8Text],
  [OID.date, bin.dateToText],
  [OID.time, bin.timeToText],
  [OID.timestamp, bin.timestampToText],
  [OID.timestamptz, bin.timestamptzToText],
  [OID.interval, bin.intervalToText],
  [OID.timetz, bin.timetzToText],
  [OID.numeric, bin.numericToText],
  [OID.uuid, bin.uuidText],
  [OID.pg_lsn, bin.pgLsnText],
  [OID.jsonb, bin.jsonbText],
  [OID.xml, bin.utf8Text],
  [OID.refcursor, bin.utf8Text],
  [OID.jsonpath, bin.jsonbText],
  [OID.money, more.moneyText],
  [OID.bit, more.bitText],
  [OID.varbit, more.bitText],
  [OID.point, more.pointText],
  [OID.lseg, more.lsegText],
  [OID.path, more.pathText],
  [OID.box, more.boxText],
  [OID.polygon, more.polygonText],
  [OID.line, more.lineText],
  [OID.circle, more.circleText],
  [OID.tsvector, more.tsvectorText],
  [OID.tsquery, more.tsqueryText],
]);

/** Built-in range and multirange types by their subtype (rangetypes.c, multirangetypes.c). */
const RANGE_SUBTYPE: ReadonlyArray<readonly [range: number, multirange: number, subtype: number]> = [
  [OID.int4range, OID.int4multirange, OID.int4],
  [OID.numrange, OID.nummultirange, OID.numeric],
  [OID.tsrange, OID.tsmultirange, OID.timestamp],
  [OID.tstzrange, OID.tstzmultirange, OID.timestamptz],
  [OID.daterange, OID.datemultirange, OID.date],
  [OID.int8range, OID.int8multirange, OID.int8],
];
for (const [range, multirange, subtype] of RANGE_SUBTYPE) {
  const sub = TO_TEXT.get(subtype)!;
  TO_TEXT.set(range, (b) => more.rangeText(b, sub));
  TO_TEXT.set(multirange, (b) => more.multirangeText(b, sub));
}

/** A binary-to-text printer that may not know the bytes (a user type told only by its bytes): undefined then. */
type Printer = (b: Buffer) => string | undefined;

/** Binary readers that skip the text step; they give exactly what the text parser gives. */
const DIRECT = new Map<number, BinaryParser>([
  [OID.bool, bin.boolValue],
  [OID.bytea, bin.byteaValue],
  [OID.name, bin.utf8Text],
  [OID.int2, bin.int2Value],
  [OID.int4, bin.int4Value],
  [OID.text, bin.utf8Text],
  [OID.oid, bin.uint4Value],
  [OID.json, (b) => parseJsonDocument(bin.utf8Text(b))],
  [OID.float4, bin.float4Value],
  [OID.float8, bin.float8Value],
  [OID.bpchar, bin.utf8Text],
  [OID.varchar, bin.utf8Text],
  [OID.jsonb, (b) => parseJsonDocument(bin.jsonbText(b))],
]);

/** PostgreSQL's FirstNormalObjectId: built-in OIDs are below it. */
const FIRST_NORMAL_OID = 16384;

const TIMESTAMP_TYPES = new Set<number>([OID.date, OID.timestamp, OID.timestamptz]);

/**
 * regproc, regclass and regtype: their binary form (regprocsend, regclasssend, regtypesend) is the
 * object's OID, and the name their text form prints needs the catalog as of the change, which
 * the walsender does not send and a later query cannot reproduce (the object may be renamed or
 * dropped since). Binary values are that OID as a number, as `pg` gives `col::oid`; they are not
 * `binaryKnown` (they differ from the text form's name), so COPY `auto` keeps text for them.
 */
const REG_TYPES = new Set<number>([BUILTIN_OID.get('regproc')!, BUILTIN_OID.get('regclass')!, BUILTIN_OID.get('regtype')!]);

/**
 * Resolves, per type OID, how text and binary column values become JavaScript values: user parsers
 * first, then pg-types (node-postgres's parsers) for text and this library's readers for binary.
 * One registry serves one replication stream: it learns the stream's Type messages through
 * {@link announce}. Parsers are resolved once per OID and cached; rows only hold a reference.
 *
 * @example
 * const types = new TypeRegistry({ int8: 'bigint', parsers: { hstore: parseHstore } });
 * types.text(20)('9007199254740993'); // 9007199254740993n
 */
export class TypeRegistry {
  private readonly handlers = new Map<number, ResolvedHandler>();
  /** textAt/binaryAt by OID for the built-in range (OIDs below 16384), cleared with handlers: an array load per Row#get instead of a Map lookup. */
  private textAts: (ValueAt | undefined)[] = [];
  private binaryAts: (ValueAt | undefined)[] = [];
  private readonly announced = new Map<number, AnnouncedType>();
  private announcements = 0;

  constructor(readonly options: Readonly<TypeOptions> = {}) {}

  /** Records a Type message's OID and name (and forgets handlers resolved before it). */
  announce(type: AnnouncedType): void {
    // The walsender writes pg_catalog as an empty namespace (logicalrep_write_namespace).
    this.announced.set(type.oid, type.schema === '' ? { ...type, schema: 'pg_catalog' } : type);
    this.handlers.clear();
    this.textAts = [];
    this.binaryAts = [];
    this.announcements++;
  }

  /**
   * Changes whenever {@link announce} may have changed a parser: whoever caches parsers per
   * column (the snapshot's COPY rows) picks them again when it differs.
   * @internal
   */
  get version(): number {
    return this.announcements;
  }

  /** The type's name as `schema.name`, if the registry knows it. */
  typeName(oid: number): string | undefined {
    const a = this.announced.get(oid);
    if (a !== undefined) return `${a.schema}.${a.name}`;
    const n = BUILTIN_NAME.get(oid);
    return n === undefined ? undefined : `pg_catalog.${n}`;
  }

  /** The parser for text values of this type. */
  text(oid: number): TextParser {
    return this.handler(oid).text;
  }

  /** The parser for binary values of this type; unknown types give a {@link BinaryValue}. */
  binary(oid: number): BinaryParser {
    return this.handler(oid).binary;
  }

  /**
   * The decoder of a text value lying at `buf[start, end)` (UTF-8): what {@link text} gives on
   * `buf.toString('utf8', start, end)`, without that call for the hottest types (issue 18).
   * @example
   * types.textAt(23)(Buffer.from('42'), 0, 2); // 42
   */
  textAt(oid: number): ValueAt {
    if (oid < FIRST_NORMAL_OID) {
      const f = this.textAts[oid];
      if (f !== undefined) return f;
      this.fillAt(oid);
    }
    return this.handler(oid).textAt;
  }

  /**
   * The decoder of a binary value lying at `buf[start, end)`: what {@link binary} gives on
   * `buf.subarray(start, end)`, without that view for the hottest types (issue 18).
   * @example
   * types.binaryAt(23)(Buffer.from([0, 0, 0, 42]), 0, 4); // 42
   */
  binaryAt(oid: number): ValueAt {
    if (oid < FIRST_NORMAL_OID) {
      const f = this.binaryAts[oid];
      if (f !== undefined) return f;
      this.fillAt(oid);
    }
    return this.handler(oid).binaryAt;
  }

  /** Caches a low OID's decoders in the arrays (filled up to oid with holes: they stay packed-holey, not dictionaries). */
  private fillAt(oid: number): void {
    const h = this.handler(oid);
    while (this.textAts.length < oid) {
      this.textAts.push(undefined);
      this.binaryAts.push(undefined);
    }
    this.textAts[oid] = h.textAt;
    this.binaryAts[oid] = h.binaryAt;
  }

  /** Whether binary values of this type decode to the same value as text ones (not a {@link BinaryValue}). */
  binaryKnown(oid: number): boolean {
    return this.handler(oid).binaryKnown;
  }

  private handler(oid: number): ResolvedHandler {
    let h = this.handlers.get(oid);
    if (h === undefined) {
      h = withAt(this.resolve(oid));
      this.handlers.set(oid, h);
    }
    return h;
  }

  private userParser(oid: number): TypeParser | undefined {
    const parsers = this.options.parsers;
    if (parsers === undefined) return undefined;
    const a = this.announced.get(oid);
    const name = a?.name ?? BUILTIN_NAME.get(oid);
    const schema = a?.schema ?? 'pg_catalog';
    const p = parsers[String(oid)] ?? (name === undefined ? undefined : parsers[`${schema}.${name}`] ?? parsers[name]);
    return typeof p === 'function' ? { text: p } : p;
  }

  private resolve(oid: number): Handler {
    const user = this.userParser(oid);
    const a = this.announced.get(oid);
    // A domain's Type message names its base type; a built-in base decodes as that type.
    const base = a === undefined ? (BUILTIN_NAME.has(oid) ? oid : undefined) : a.schema === 'pg_catalog' ? BUILTIN_OID.get(a.name) : undefined;
    const baseHandler = base === undefined ? undefined : base === oid ? this.builtin(oid) : this.handler(base);
    const unknownBinary = (b: Buffer) => new BinaryValue(oid, Buffer.from(b));
    // Types outside pg_catalog (enums, composites, arrays of them, hstore, citext): printed to the
    // text `pg` gets where the bytes tell what they are, a BinaryValue where they do not.
    const print = base === undefined && a !== undefined ? this.userPrinter(oid) : undefined;
    const printed = (p: Printer, text: TextParser) => (b: Buffer) => {
      const t = p(b);
      return t === undefined ? unknownBinary(b) : text(t);
    };
    if (user === undefined) {
      if (baseHandler !== undefined) return baseHandler;
      // binaryKnown stays false: a value may still come back as a BinaryValue (COPY keeps text for them).
      return { text: identity, binary: print === undefined ? unknownBinary : printed(print, identity), binaryKnown: false };
    }
    const text = user.text ?? baseHandler?.text ?? identity;
    let binary: BinaryParser | undefined = user.binary;
    let known = binary !== undefined;
    if (binary === undefined) {
      const toText = base === undefined ? undefined : TO_TEXT.get(base);
      if (user.text !== undefined && toText !== undefined) binary = (b) => text(toText(b));
      else if (user.text === undefined && baseHandler?.binaryKnown) binary = baseHandler.binary;
      known = binary !== undefined;
      if (binary === undefined && print !== undefined) binary = printed(print, text);
    }
    return { text, binary: binary ?? unknownBinary, binaryKnown: known };
  }

  /**
   * Binary to text for any type OID this stream may carry, or undefined: built-in types by OID
   * (arrays of them too), announced types outside pg_catalog by what they are.
   */
  private printerOf(oid: number): Printer | undefined {
    const builtin = TO_TEXT.get(oid);
    if (builtin !== undefined) return builtin;
    const element = ARRAY_ELEMENT.get(oid);
    if (element !== undefined) {
      const el = this.printerOf(element);
      // box[] is the one built-in array with another delimiter (box's typdelim is ';').
      return el === undefined ? undefined : (b) => more.arrayText(b, () => el, element === OID.box ? ';' : ',');
    }
    if (isBuiltinOid(oid)) return undefined;
    const a = this.announced.get(oid);
    if (a !== undefined && a.schema === 'pg_catalog') {
      const base = BUILTIN_OID.get(a.name);
      return base === undefined ? undefined : this.printerOf(base);
    }
    return this.userPrinter(oid);
  }

  /**
   * A user type's printer. hstore and citext go by name (hstore_send, citext's textsend); a name
   * with a leading `_` is an array type (array_send names its element type); any other is read as
   * an enum label (enum_send: the label's text) or a composite (record_send, which names each
   * column's type), whichever the bytes are: a record starts with a zero byte, a label cannot hold one.
   */
  private userPrinter(oid: number): Printer {
    const name = this.announced.get(oid)?.name;
    if (name === 'hstore') return more.hstoreText;
    if (name === 'citext') return bin.utf8Text;
    const column = (o: number) => this.printerOf(o);
    if (name?.startsWith('_')) return (b) => (b.length >= 12 && b[0] === 0 ? more.arrayText(b, column) : undefined);
    return (b) => (more.isEnumLabel(b) ? bin.utf8Text(b) : b.length >= 4 && b[0] === 0 ? more.recordText(b, column) : undefined);
  }

  private builtin(oid: number): Handler {
    const { int8 = 'string', timestamps = 'date' } = this.options;
    const element = ARRAY_ELEMENT.get(oid);
    if (element !== undefined) {
      const el = this.handler(element);
      const text: TextParser = (s) => parseArray(s, el.text);
      // The element's own reader at its place in the bytes, when the element decodes by default.
      const at = el.binary === DIRECT.get(element) ? bin.ARRAY_ELEMENT_AT.get(element) : undefined;
      const binary: BinaryParser = el.binaryKnown || REG_TYPES.has(element) ? (b) => bin.readArray(b, el.binary, at) : (b) => new BinaryValue(oid, Buffer.from(b));
      // int2[], int4[], oid[] (parseInt elements): the simple form read from the bytes.
      const textAt: ValueAt | undefined = el.text === pgTypesParser(OID.int4) ? (b, s, e) => atFns.intArrayAt(b, s, e) ?? text(b.toString('utf8', s, e)) : undefined;
      // One-dimensional arrays of those elements read in place, without a view of the array.
      // Text-like elements (text, varchar, bpchar, name) by their own loop, the string made as textAt makes it.
      const binaryAt: ValueAt | undefined = at === undefined || !el.binaryKnown ? undefined : el.binary === bin.utf8Text ? atFns.textArrayBinAt(binary) : atFns.arrayBinAt(at, binary);
      return { text, binary, binaryKnown: el.binaryKnown, textAt, binaryAt };
    }
    let text: TextParser;
    if (oid === OID.int8) text = int8 === 'bigint' ? BigInt : identity;
    else if (TIMESTAMP_TYPES.has(oid)) text = timestamps === 'string' ? identity : parseTimestamp;
    else if (oid === OID.json || oid === OID.jsonb) text = parseJsonDocument;
    else if (oid === OID.interval) text = parseInterval;
    else text = getTypeParser(oid, 'text') as TextParser;
    if (oid === OID.bytea) {
      const checked = checkedBytea(text);
      // byteaout's hex form decoded from the bytes when the parser is pg-types' own.
      const textAt: ValueAt | undefined = text === pgTypesParser(OID.bytea) ? (b, s, e) => atFns.byteaHexAt(b, s, e) ?? checked(b.toString('utf8', s, e)) : undefined;
      text = checked;
      if (textAt !== undefined) return withAt({ ...this.builtinBinary(oid, text), textAt });
    }
    if (oid === OID.json || oid === OID.jsonb) {
      const h = this.builtinBinary(oid, text);
      const binaryAt = oid === OID.jsonb ? atFns.jsonbBinAt(parseJsonDocument, JSON_NULL, h.binary) : atFns.jsonAt(parseJsonDocument, JSON_NULL);
      return { ...h, textAt: atFns.jsonAt(parseJsonDocument, JSON_NULL), binaryAt };
    }
    if ((oid === OID.date || oid === OID.timestamp) && text === parseTimestamp) {
      const h = this.builtinBinary(oid, text);
      return { ...h, binaryAt: oid === OID.date ? atFns.dateBinAt(h.binary) : atFns.timestampBinAt(h.binary) };
    }
    if (oid === OID.interval && text === parseInterval) {
      const h = this.builtinBinary(oid, text);
      return { ...h, binaryAt: atFns.intervalBinAt(h.binary) };
    }
    return this.builtinBinary(oid, text);
  }

  private builtinBinary(oid: number, text: TextParser): Handler {
    const { int8 = 'string', timestamps = 'date' } = this.options;
    let binary = oid === OID.int8 ? (int8 === 'bigint' ? bin.int8Value : bin.int8Text) : DIRECT.get(oid);
    if (oid === OID.timestamptz && timestamps === 'date') binary = bin.timestamptzDate;
    if (oid === OID.timestamp && timestamps === 'date') binary = (b) => bin.timestampLocalDate(b, (x) => text(bin.timestampToText(x)));
    if (oid === OID.date && timestamps === 'date') binary = (b) => bin.dateLocalDate(b, (x) => text(bin.dateToText(x)));
    if (oid === OID.interval) binary = (b) => intervalFromBinary(b, (x) => text(bin.intervalToText(x)));
    // pg-types leaves numeric, uuid and time their text (noParse): the printed text is the value.
    if ((oid === OID.numeric || oid === OID.uuid || oid === OID.time || oid === OID.inet || oid === OID.cidr) && text === pgTypesParser(oid)) binary = TO_TEXT.get(oid);
    if (REG_TYPES.has(oid)) return { text, binary: bin.uint4Value, binaryKnown: false };
    if (binary === undefined) {
      const toText = TO_TEXT.get(oid);
      if (toText !== undefined) binary = (b) => text(toText(b));
    }
    return { text, binary: binary ?? ((b) => new BinaryValue(oid, Buffer.from(b))), binaryKnown: binary !== undefined };
  }
}

/** pg-types' bytea parser, run only on text it cannot loop forever on. */
function checkedBytea(parse: TextParser): TextParser {
  return (text) => {
    checkByteaText(text);
    return parse(text);
  };
}
