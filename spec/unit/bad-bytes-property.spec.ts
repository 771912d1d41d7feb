import fc from 'fast-check';
import { ColumnValueError, Lsn, ParseError } from '../../src';
import { PgoutputDecoder } from '../../src/protocol';
import { messageToJson } from '../../src/values';
import { Bytes } from '../support/bytes';

// Issue 11, item 9: bad bytes never hang the consumer. Each property below feeds one class of
// corrupted input and demands a typed error (or a value) at once; 100k+ cases in a few seconds,
// so one that loops or allocates without bound shows up as a timeout.

const WAL = Lsn.parse('0/1000');
const INT4_ARRAY = 1007;
const BYTEA = 17;
/** Each property's time bound (generous: the machine is shared); a hang fails here. 105k cases in all. */
const BOUND_MS = 30_000;

function decoderFor(typeOid: number): PgoutputDecoder {
  const d = new PgoutputDecoder();
  d.decode(new Bytes().u8('R').u32(16384).cstr('public').cstr('t').u8('d').i16(1).u8(0).cstr('v').u32(typeOid).i32(-1).build(), WAL);
  return d;
}

function insertOf(kind: 't' | 'b', value: Buffer): Buffer {
  return new Bytes().u8('I').u32(16384).u8('N').i16(1).u8(kind).i32(value.length).raw(value).build();
}

/** Decodes the row's one column: its value, or the ColumnValueError (any other exception propagates). */
function readColumn(d: PgoutputDecoder, frame: Buffer): unknown {
  const msg = d.decode(frame, WAL);
  if (msg.type !== 'insert') throw new Error(`expected an insert, got ${msg.type}`);
  try {
    return msg.new.get('v');
  } catch (err) {
    if (err instanceof ColumnValueError) return err;
    throw err;
  }
}

/** array_send's header with the given dimension sizes, then `tail` as the elements. */
function arrayBytes(dims: number[], tail: Buffer): Buffer {
  const b = new Bytes().i32(dims.length).i32(0).u32(23);
  for (const size of dims) b.i32(size).i32(1);
  return Buffer.concat([b.build(), tail]);
}

describe('bad bytes: typed errors at once (property)', () => {
  it('a binary array whose dimensions exceed its bytes is a ColumnValueError, not a huge allocation', () => {
    const d = decoderFor(INT4_ARRAY);
    const elements = fc.array(fc.oneof(fc.constant(Buffer.from('ffffffff', 'hex')), fc.constant(Buffer.from('0000000400000007', 'hex'))), { maxLength: 4 }).map((parts) => Buffer.concat(parts));
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.integer({ min: -2, max: 5 }), fc.integer()), { minLength: 1, maxLength: 6 }), elements, fc.uint8Array({ maxLength: 6 }), (dims, tail, junk) => {
        const value = readColumn(d, insertOf('b', arrayBytes(dims, Buffer.concat([tail, junk]))));
        return value instanceof ColumnValueError || Array.isArray(value);
      }),
      { numRuns: 25_000 },
    );
    // The reported case: 41 bytes claiming 2^31-1 × 3 elements.
    expect(readColumn(d, insertOf('b', arrayBytes([0x7fffffff, 3], Buffer.from('ffffffffffffffffff', 'hex'))))).toBeInstanceOf(ColumnValueError);
  }, BOUND_MS);

  it('text bytea with a lone or bad backslash is a ColumnValueError; valid escapes decode', () => {
    const d = decoderFor(BYTEA);
    const piece = fc.oneof(fc.constantFrom('\\', '\\\\', '\\x', '\\0', '\\377', '\\400', 'a', '0', 'f', 'Z', ' '), fc.string({ maxLength: 3 }));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const value = readColumn(d, insertOf('t', Buffer.from(pieces.join(''))));
        return value instanceof ColumnValueError || Buffer.isBuffer(value);
      }),
      { numRuns: 30_000 },
    );
    expect(readColumn(d, insertOf('t', Buffer.from('ab\\c')))).toBeInstanceOf(ColumnValueError);
    expect(readColumn(d, insertOf('t', Buffer.from('\\')))).toBeInstanceOf(ColumnValueError);
    expect(readColumn(d, insertOf('t', Buffer.from('a\\\\b\\001')))).toEqual(Buffer.from('a\\b\x01', 'latin1'));
    expect(readColumn(d, insertOf('t', Buffer.from('\\x0aff')))).toEqual(Buffer.from('0aff', 'hex'));
  }, BOUND_MS);

  it('any Int64 timestamp turns into JSON without a RangeError, outside Date range too', () => {
    const d = new PgoutputDecoder();
    const iso = /^(?:[+-]\d{6}|\d{4})-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$|^-?infinity$/;
    const commitAt = (time: bigint) => messageToJson(d.decode(new Bytes().u8('C').u8(0).u64(0x1000n).u64(0x1008n).raw(int64(time)).build(), WAL)).commitTime as string;
    // Gregorian dates repeat every 400 years (146,097 days): a far timestamp shifted back by whole
    // cycles into Date's range must print the same but for the year.
    const CYCLE_US = 146_097n * 86_400_000_000n;
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 2n }), (time) => {
        const text = commitAt(time);
        if (!iso.test(text)) return false;
        const cycles = time / CYCLE_US;
        if (cycles === 0n) return true;
        const near = commitAt(time - cycles * CYCLE_US);
        const year = (t: string) => BigInt(t.slice(0, t.indexOf('-', 1)));
        return year(text) === year(near) + 400n * cycles && text.slice(text.indexOf('-', 1)) === near.slice(near.indexOf('-', 1));
      }),
      { numRuns: 30_000 },
    );
    expect(commitAt(2n ** 62n)).toBe('+148138-07-06T14:00:27.387904Z');
    expect(commitAt(2n ** 63n - 1n)).toBe('infinity');
    expect(commitAt(-(2n ** 63n))).toBe('-infinity');
  }, BOUND_MS);

  it('block structure: Stream Start inside a block, Stream Stop outside one, Begin inside one are ParseErrors', () => {
    const frames = {
      S: new Bytes().u8('S').u32(7).u8(1).build(),
      E: new Bytes().u8('E').build(),
      B: new Bytes().u8('B').u64(0x1000n).u64(0n).u32(7).build(),
      C: new Bytes().u8('C').u8(0).u64(0x1000n).u64(0x1008n).u64(0n).build(),
      A: new Bytes().u8('A').u32(7).u32(7).build(), // the unsolicited Stream Abort: tolerated anywhere outside a block
      c: new Bytes().u8('c').u32(7).u8(0).u64(0x1000n).u64(0x1008n).u64(0n).build(),
    };
    type Tag = keyof typeof frames;
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...(Object.keys(frames) as Tag[])), { maxLength: 12 }), (tags) => {
        const d = new PgoutputDecoder();
        let block = false;
        for (const tag of tags) {
          const invalid = (tag === 'S' && block) || (tag === 'E' && !block) || (tag === 'B' && block);
          try {
            d.decode(frames[tag], WAL);
            if (invalid) return false;
          } catch (err) {
            if (!invalid || !(err instanceof ParseError)) throw err;
            continue;
          }
          if (tag === 'S') block = true;
          if (tag === 'E') block = false;
          if (d.streaming !== block) return false;
        }
        return true;
      }),
      { numRuns: 20_000 },
    );
  }, BOUND_MS);
});

function int64(v: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
}
