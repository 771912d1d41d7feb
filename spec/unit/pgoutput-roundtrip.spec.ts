import fc from 'fast-check';
import { Lsn, ParseError, Row, UNCHANGED_TOAST } from '../../src';
import { PgoutputDecoder } from '../../src/protocol';
import type { Column, PgoutputMessage, RawValue, RelationInfo, ReplicaIdentity } from '../../src';
import { encodePgoutput, rowOf } from '../../src/pgoutput/encoder';

// Property tests: any pgoutput message encodes and decodes to itself, and any truncation of a
// valid frame is a ParseError that leaves the decoder as it was.

const u32 = fc.integer({ min: 0, max: 0xffffffff });
const i32 = fc.integer({ min: -0x80000000, max: 0x7fffffff });
const lsn = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }).map((v) => Lsn.from(v));
const walLsn = fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }).map((v) => Lsn.from(v));
const time = fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n });
const cstring = fc.string({ unit: 'grapheme', maxLength: 12 }).filter((s) => !s.includes('\0'));
const flags = fc.integer({ min: 0, max: 255 });

const column: fc.Arbitrary<Column> = fc.record({ name: cstring, typeOid: u32, typeModifier: i32, isKey: fc.boolean() });

function relationArb(oid: number): fc.Arbitrary<RelationInfo> {
  return fc
    .record({
      schema: cstring,
      name: cstring,
      replicaIdentity: fc.constantFrom<ReplicaIdentity>('d', 'n', 'f', 'i'),
      columns: fc.array(column, { maxLength: 6 }),
    })
    .map((r) => ({ oid, ...r, keyColumns: r.columns.filter((c) => c.isKey).map((c) => c.name) }));
}

const rawValue: fc.Arbitrary<RawValue> = fc.oneof(
  fc.constant(null),
  fc.constant(UNCHANGED_TOAST),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
);

function rowArb(relation: RelationInfo): fc.Arbitrary<Row> {
  return fc.tuple(...relation.columns.map(() => rawValue)).map((values) => rowOf(relation, values));
}

/** The relations a stream has announced, and one message that may use them. */
interface Case {
  relations: RelationInfo[];
  msg: PgoutputMessage;
}

const caseArb: fc.Arbitrary<Case> = fc
  .uniqueArray(u32, { minLength: 1, maxLength: 3 })
  .chain((oids) => fc.tuple(...oids.map(relationArb)))
  .chain((relations) => {
    const rel = fc.constantFrom(...relations);
    const stream = fc.oneof(fc.constant({ inStream: false, xid: undefined, topXid: undefined }), fc.tuple(u32, u32).map(([xid, topXid]) => ({ inStream: true, xid, topXid })));
    const base = { lsn: walLsn };
    const withRow = <T>(f: (r: RelationInfo) => fc.Arbitrary<T>) => rel.chain(f);
    const msg: fc.Arbitrary<PgoutputMessage> = fc.oneof(
      fc.record({ ...base, type: fc.constant('begin' as const), finalLsn: lsn, commitTime: time, xid: u32 }),
      fc.record({ ...base, type: fc.constant('commit' as const), flags, commitLsn: lsn, endLsn: lsn, commitTime: time }),
      fc.record({ ...base, type: fc.constant('origin' as const), originLsn: lsn, name: cstring }),
      fc.tuple(rel, stream, walLsn).map(([relation, s, l]) => ({ type: 'relation' as const, lsn: l, ...s, relation })),
      fc.record({ ...base, type: fc.constant('type' as const), typeOid: u32, schema: cstring, name: cstring, s: stream }).map(({ s, ...m }) => ({ ...m, ...s })),
      withRow((r) => fc.tuple(rowArb(r), stream, walLsn).map(([row, s, l]) => ({ type: 'insert' as const, lsn: l, ...s, relation: r, new: row }))),
      withRow((r) =>
        fc.tuple(rowArb(r), rowArb(r), fc.constantFrom('none', 'key', 'old'), stream, walLsn).map(([oldRow, row, which, s, l]) => ({
          type: 'update' as const,
          lsn: l,
          ...s,
          relation: r,
          key: which === 'key' ? oldRow : undefined,
          old: which === 'old' ? oldRow : undefined,
          new: row,
        })),
      ),
      withRow((r) =>
        fc.tuple(rowArb(r), fc.boolean(), stream, walLsn).map(([row, isKey, s, l]) => ({
          type: 'delete' as const,
          lsn: l,
          ...s,
          relation: r,
          key: isKey ? row : undefined,
          old: isKey ? undefined : row,
        })),
      ),
      fc.tuple(fc.array(rel, { maxLength: 4 }), fc.boolean(), fc.boolean(), stream, walLsn).map(([rels, cascade, restartIdentity, s, l]) => ({
        type: 'truncate' as const,
        lsn: l,
        ...s,
        relations: rels,
        cascade,
        restartIdentity,
      })),
      fc.tuple(fc.boolean(), lsn, cstring, fc.uint8Array({ maxLength: 40 }), stream, walLsn).map(([transactional, messageLsn, prefix, content, s, l]) => ({
        type: 'message' as const,
        lsn: l,
        ...s,
        transactional,
        messageLsn,
        prefix,
        content: Buffer.from(content),
      })),
      fc.record({ ...base, type: fc.constant('streamStart' as const), xid: u32, firstSegment: fc.boolean() }),
      fc.record({ ...base, type: fc.constant('streamStop' as const) }),
      fc.record({ ...base, type: fc.constant('streamCommit' as const), xid: u32, flags, commitLsn: lsn, endLsn: lsn, commitTime: time }),
      fc.tuple(u32, u32, fc.option(fc.tuple(lsn, time), { nil: undefined }), walLsn).map(([xid, subXid, info, l]) => ({
        type: 'streamAbort' as const,
        lsn: l,
        xid,
        subXid,
        abortLsn: info?.[0],
        abortTime: info?.[1],
      })),
      fc.record({ ...base, type: fc.constant('beginPrepare' as const), prepareLsn: lsn, endLsn: lsn, prepareTime: time, xid: u32, gid: cstring }),
      fc.record({ ...base, type: fc.constantFrom('prepare' as const, 'streamPrepare' as const), flags, prepareLsn: lsn, endLsn: lsn, prepareTime: time, xid: u32, gid: cstring }),
      fc.record({ ...base, type: fc.constant('commitPrepared' as const), flags, commitLsn: lsn, endLsn: lsn, commitTime: time, xid: u32, gid: cstring }),
      fc.record({
        ...base,
        type: fc.constant('rollbackPrepared' as const),
        flags,
        prepareEndLsn: lsn,
        rollbackEndLsn: lsn,
        prepareTime: time,
        rollbackTime: time,
        xid: u32,
        gid: cstring,
      }),
    );
    return msg.map((m) => ({ relations, msg: m }));
  });

/** A decoder that has seen the case's Relation messages and, for a message inside a stream, its Stream Start. */
function primedDecoder({ relations, msg }: Case): PgoutputDecoder {
  const d = new PgoutputDecoder({ abortInfo: msg.type === 'streamAbort' ? msg.abortLsn !== undefined : undefined });
  for (const relation of relations) d.decode(encodePgoutput({ type: 'relation', lsn: msg.lsn, xid: undefined, inStream: false, topXid: undefined, relation }), msg.lsn);
  // A Stream Stop closes a block, so it needs one open.
  if (msg.type === 'streamStop') d.decode(encodePgoutput({ type: 'streamStart', lsn: msg.lsn, xid: 1, firstSegment: true }), msg.lsn);
  if ('inStream' in msg && msg.inStream) d.decode(encodePgoutput({ type: 'streamStart', lsn: msg.lsn, xid: msg.topXid as number, firstSegment: true }), msg.lsn);
  return d;
}

/** Rows compared by what they hold: each column's kind and bytes. */
function plain(msg: PgoutputMessage): unknown {
  return JSON.parse(
    JSON.stringify(msg, (_k, v: unknown) => {
      if (v instanceof Row) return Array.from({ length: v.length }, (_, i) => [v.kind(i), v.bytes(i)?.toString('hex') ?? null]);
      if (typeof v === 'bigint') return `${v}n`;
      if (v instanceof Lsn) return v.toString();
      if (v === undefined) return '<undefined>';
      return v;
    }),
  );
}

describe('pgoutput encoder and decoder', () => {
  it('any message encodes and decodes to itself, and re-encodes to the same bytes', () => {
    fc.assert(
      fc.property(caseArb, (c) => {
        const bytes = encodePgoutput(c.msg);
        const decoded = primedDecoder(c).decode(bytes, c.msg.lsn);
        expect(plain(decoded)).toEqual(plain(c.msg));
        expect(encodePgoutput(decoded)).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('any truncation of a valid frame is a ParseError and leaves the decoder unchanged', () => {
    fc.assert(
      fc.property(caseArb, fc.nat(), (c, cut) => {
        const bytes = encodePgoutput(c.msg);
        const d = primedDecoder(c);
        const before = { streaming: d.streaming, relations: new Map(d.relations), types: new Map(d.types) };
        const short = bytes.subarray(0, cut % bytes.length);
        expect(() => d.decode(short, c.msg.lsn)).toThrow(ParseError);
        expect({ streaming: d.streaming, relations: d.relations, types: d.types }).toEqual(before);
        // and the full frame still decodes afterwards
        expect(encodePgoutput(d.decode(bytes, c.msg.lsn))).toEqual(bytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('decoding in place, inside a larger chunk, gives what decoding the message alone gives: messages, errors and offsets', () => {
    fc.assert(
      fc.property(caseArb, fc.uint8Array({ maxLength: 16 }), fc.uint8Array({ maxLength: 16 }), fc.nat(), (c, before, after, cut) => {
        const bytes = encodePgoutput(c.msg);
        // The socket chunk: other bytes before and after the message, as the framer hands it out.
        const chunk = Buffer.concat([Buffer.from(before), bytes, Buffer.from(after)]);
        const start = before.length;
        const alone = primedDecoder(c).decode(bytes, c.msg.lsn);
        const inPlace = primedDecoder(c).decodeFrom(chunk, start, start + bytes.length, c.msg.lsn.hi, c.msg.lsn.lo);
        expect(plain(inPlace)).toEqual(plain(alone));
        expect(encodePgoutput(inPlace)).toEqual(bytes);
        // A truncated message fails the same way, offsets counted from the message's start.
        const end = start + (cut % bytes.length);
        const failure = (f: () => unknown) => {
          try {
            f();
          } catch (err) {
            return err;
          }
          return undefined;
        };
        const a = failure(() => primedDecoder(c).decode(bytes.subarray(0, end - start), c.msg.lsn)) as ParseError;
        const b = failure(() => primedDecoder(c).decodeFrom(chunk, start, end, c.msg.lsn.hi, c.msg.lsn.lo)) as ParseError;
        expect(b).toBeInstanceOf(ParseError);
        expect({ message: b.message, offset: b.offset, tag: b.tag, lsn: b.lsn }).toEqual({ message: a.message, offset: a.offset, tag: a.tag, lsn: a.lsn });
      }),
      { numRuns: 2000 },
    );
  });

  it('arbitrary bytes either decode or give a ParseError, never another exception', () => {
    const d = new PgoutputDecoder();
    d.decode(encodePgoutput({ type: 'relation', lsn: Lsn.from(1n), xid: undefined, inStream: false, topXid: undefined, relation: { oid: 1, schema: 's', name: 'r', replicaIdentity: 'd', columns: [{ name: 'a', typeOid: 23, typeModifier: -1, isKey: true }], keyColumns: ['a'] } }), Lsn.from(1n));
    fc.assert(
      fc.property(fc.constantFrom(...'BCORYIUDTMSEcAbPKrpZ'), fc.uint8Array({ maxLength: 64 }), (tag, rest) => {
        const frame = Buffer.concat([Buffer.from(tag), Buffer.from(rest)]);
        try {
          d.decode(frame, Lsn.from(1n));
        } catch (err) {
          expect(err).toBeInstanceOf(ParseError);
        }
      }),
      { numRuns: 5000 },
    );
  });
});
