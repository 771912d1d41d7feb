import { getTypeParser } from 'pg-types';
import { checkByteaText } from './bytea-text';
import * as postgresArray from 'postgres-array';
import * as bin from './binary';
import { BinaryValue } from './binary';
import { ARRAY_ELEMENT, BUILTIN_NAME, BUILTIN_OID, OID } from './oids';

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
}

const identity: TextParser = (s) => s;

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
  [OID.int8, (b) => bin.int8Value(b).toString()],
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
]);

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

const TIMESTAMP_TYPES = new Set<number>([OID.date, OID.timestamp, OID.timestamptz]);

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
  private readonly handlers = new Map<number, Handler>();
  private readonly announced = new Map<number, AnnouncedType>();

  constructor(readonly options: Readonly<TypeOptions> = {}) {}

  /** Records a Type message's OID and name (and forgets handlers resolved before it). */
  announce(type: AnnouncedType): void {
    // The walsender writes pg_catalog as an empty namespace (logicalrep_write_namespace).
    this.announced.set(type.oid, type.schema === '' ? { ...type, schema: 'pg_catalog' } : type);
    this.handlers.clear();
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

  /** Whether binary values of this type decode to the same value as text ones (not a {@link BinaryValue}). */
  binaryKnown(oid: number): boolean {
    return this.handler(oid).binaryKnown;
  }

  private handler(oid: number): Handler {
    let h = this.handlers.get(oid);
    if (h === undefined) {
      h = this.resolve(oid);
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
    if (user === undefined) return baseHandler ?? { text: identity, binary: unknownBinary, binaryKnown: false };
    const text = user.text ?? baseHandler?.text ?? identity;
    let binary: BinaryParser | undefined = user.binary;
    if (binary === undefined) {
      const toText = base === undefined ? undefined : TO_TEXT.get(base);
      if (user.text !== undefined && toText !== undefined) binary = (b) => text(toText(b));
      else if (user.text === undefined && baseHandler?.binaryKnown) binary = baseHandler.binary;
    }
    return { text, binary: binary ?? unknownBinary, binaryKnown: binary !== undefined };
  }

  private builtin(oid: number): Handler {
    const { int8 = 'string', timestamps = 'date' } = this.options;
    const element = ARRAY_ELEMENT.get(oid);
    if (element !== undefined) {
      const el = this.handler(element);
      const text: TextParser = (s) => postgresArray.parse(s, el.text);
      const binary: BinaryParser = el.binaryKnown ? (b) => bin.readArray(b, el.binary) : (b) => new BinaryValue(oid, Buffer.from(b));
      return { text, binary, binaryKnown: el.binaryKnown };
    }
    let text: TextParser;
    if (oid === OID.int8) text = int8 === 'bigint' ? BigInt : identity;
    else if (TIMESTAMP_TYPES.has(oid) && timestamps === 'string') text = identity;
    else if (oid === OID.json || oid === OID.jsonb) text = parseJsonDocument;
    else text = getTypeParser(oid, 'text') as TextParser;
    if (oid === OID.bytea) text = checkedBytea(text);
    let binary = oid === OID.int8 ? (int8 === 'bigint' ? bin.int8Value : (b: Buffer) => bin.int8Value(b).toString()) : DIRECT.get(oid);
    if (oid === OID.timestamptz && timestamps === 'date') binary = bin.timestamptzDate;
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
