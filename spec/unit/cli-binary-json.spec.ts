import fc from 'fast-check';
import { Lsn } from '../../src';
import { PgoutputDecoder } from '../../src/protocol';
import { JSON_TYPE_OPTIONS, messageToJsonLine } from '../../src/json';
import { ByteBuffer } from '../../cli/byte-buffer';
import { encodeJsonLine } from '../../cli/json-encoder';

// The CLI's encoder prints binary dates, times, intervals, numerics, uuids and inets straight
// from their bytes (cli/binary-json.ts) and reads every value where it lies in the frame. Each
// line must be byte for byte what the documented slow path prints (Row#get with
// JSON_TYPE_OPTIONS, then JSON.stringify), and a value the slow path rejects must be rejected.

const cstr = (s: string) => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);
const i16 = (n: number) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const u16 = (n: number) => { const b = Buffer.alloc(2); b.writeUInt16BE(n); return b; };
const i32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const i64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigInt64BE(n); return b; };

/** A relation `public.t (id int4, v <oid>, w text)`: the value under test has a column on each side. */
function relation(oid: number): Buffer {
  const col = (name: string, type: number) => [Buffer.from([0]), cstr(name), u32(type), i32(-1)];
  return Buffer.concat([Buffer.from('R'), u32(16384), cstr('public'), cstr('t'), Buffer.from('d'), i16(3), ...col('id', 23), ...col('v', oid), ...col('w', 25)]);
}

function insert(kind: 't' | 'b', value: Buffer): Buffer {
  const tail = Buffer.from('NULL:x"');
  return Buffer.concat([Buffer.from('I'), u32(16384), Buffer.from('N'), i16(3), Buffer.from('t'), i32(1), Buffer.from('1'), Buffer.from(kind), i32(value.length), value, Buffer.from('t'), i32(tail.length), tail]);
}

const decoders = new Map<number, PgoutputDecoder>();
function decoderFor(oid: number): PgoutputDecoder {
  let d = decoders.get(oid);
  if (d === undefined) {
    d = new PgoutputDecoder({ types: JSON_TYPE_OPTIONS });
    d.decode(relation(oid), Lsn.parse('0/1'));
    decoders.set(oid, d);
  }
  return d;
}

const out = new ByteBuffer(8);

/** The line the encoder writes and the line messageToJsonLine prints (or the error each throws). */
function both(oid: number, kind: 't' | 'b', value: Buffer): { fast: string; slow: string } {
  const msg = decoderFor(oid).decode(insert(kind, value), Lsn.parse('0/2'));
  let fast: string;
  let slow: string;
  try {
    out.pos = 0;
    encodeJsonLine(out, msg, false);
    fast = out.take(true).toString('utf8');
  } catch (err) {
    out.pos = 0;
    fast = `throws ${(err as Error).message}`;
  }
  try {
    slow = messageToJsonLine(msg);
  } catch (err) {
    slow = `throws ${(err as Error).message}`;
  }
  return { fast, slow };
}

function same(oid: number, kind: 't' | 'b', value: Buffer): void {
  const { fast, slow } = both(oid, kind, value);
  if (fast !== slow) throw new Error(`oid ${oid} ${kind} ${value.toString('hex')}:\n fast ${fast}\n slow ${slow}`);
}

const INT32_MIN = -0x80000000;
const INT32_MAX = 0x7fffffff;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const DAY = 86_400_000_000n;

const int32 = fc.oneof(fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: INT32_MIN, max: INT32_MAX }), fc.constantFrom(INT32_MIN, INT32_MAX, 0, 1, -1, 12, -12));
/** µs around 2000-01-01 (within ±2^53, the fast path's range), beyond it, and the edges. */
const int64 = fc.oneof(
  fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }),
  fc.bigInt({ min: -10n * DAY, max: 10n * DAY }),
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n, -1n, 1n, DAY, -DAY, DAY - 1n, -DAY - 1n, 2n ** 53n - 1n, -(2n ** 53n), 2n ** 53n, -(2n ** 53n) - 1n),
);
/** Any bytes, mostly of lengths near the type's own. */
const anyBytes = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));

const RUNS = { numRuns: 2000 };

describe("the CLI encoder's binary date/time, numeric, uuid and inet values", () => {
  it('date prints what dateToText prints', () => {
    fc.assert(fc.property(fc.oneof(int32, fc.integer({ min: -800_000, max: 3_000_000 })), (days) => same(1082, 'b', i32(days))), RUNS);
  });

  it.each([[1114], [1184]])('timestamp and timestamptz (%i) print what timestampToText and timestamptzToText print', (oid) => {
    fc.assert(fc.property(int64, (us) => same(oid, 'b', i64(us))), RUNS);
  });

  it('time prints what timeToText prints', () => {
    fc.assert(fc.property(fc.oneof(int64, fc.bigInt({ min: 0n, max: DAY })), (us) => same(1083, 'b', i64(us))), RUNS);
  });

  it('timetz prints what timetzToText prints', () => {
    const zone = fc.oneof(fc.integer({ min: -57_599, max: 57_599 }), int32, fc.constantFrom(0, 3600, -3600, -19800, 1800, 61, -61));
    fc.assert(fc.property(fc.oneof(int64, fc.bigInt({ min: 0n, max: DAY })), zone, (us, tz) => same(1266, 'b', Buffer.concat([i64(us), i32(tz)]))), RUNS);
  });

  it('interval prints what intervalToText prints (IntervalStyle postgres)', () => {
    const small = fc.integer({ min: -30, max: 30 });
    const time = fc.oneof(int64, fc.bigInt({ min: -3n * DAY, max: 3n * DAY }), fc.constant(0n));
    const value = fc.tuple(time, fc.oneof(small, int32), fc.oneof(small, int32)).map(([t, d, m]) => Buffer.concat([i64(t), i32(d), i32(m)]));
    const infinite = fc.constantFrom(Buffer.concat([i64(INT64_MAX), i32(INT32_MAX), i32(INT32_MAX)]), Buffer.concat([i64(INT64_MIN), i32(INT32_MIN), i32(INT32_MIN)]));
    fc.assert(fc.property(fc.oneof(value, infinite), (b) => same(1186, 'b', b)), RUNS);
  });

  it('numeric prints what numericTextAt prints, short and long, and rejects what it rejects', () => {
    const digit = fc.oneof({ weight: 9, arbitrary: fc.integer({ min: 0, max: 9999 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) });
    const numeric = fc
      .record({
        digits: fc.array(digit, { maxLength: 12 }),
        weight: fc.oneof(fc.integer({ min: -6, max: 8 }), fc.integer({ min: -0x8000, max: 0x7fff })),
        sign: fc.oneof({ weight: 8, arbitrary: fc.constantFrom(0, 0x4000) }, { weight: 2, arbitrary: fc.constantFrom(0xc000, 0xd000, 0xf000) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 0xffff }) }),
        dscale: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 2000 })),
        extra: fc.oneof({ weight: 9, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -3, max: 3 }) }),
      })
      .filter((r) => r.weight < 2000 || r.digits.length === 0)
      .map(({ digits, weight, sign, dscale, extra }) => {
        const b = Buffer.concat([u16(digits.length), i16(weight), u16(sign), u16(dscale), ...digits.map(u16)]);
        return extra >= 0 ? Buffer.concat([b, Buffer.alloc(extra)]) : b.subarray(0, Math.max(0, b.length + extra));
      });
    fc.assert(fc.property(numeric, (b) => same(1700, 'b', b)), RUNS);
    // numeric(18,6) values as the benchmark's (1.000001 × g).
    const cases: Array<[string, number, number, number, number[]]> = [
      ['1.000001', 0, 0, 6, [1, 0, 100]],
      ['-12345.678900', 1, 0x4000, 6, [1, 2345, 6789]],
      ['0.000100', -1, 0, 6, [1]],
      ['10000', 1, 0, 0, [1]],
    ];
    for (const [text, weight, sign, dscale, groups] of cases) {
      const b = Buffer.concat([u16(groups.length), i16(weight), u16(sign), u16(dscale), ...groups.map(u16)]);
      expect(both(1700, 'b', b).fast).toContain(`"v":"${text}"`);
      same(1700, 'b', b);
    }
  });

  it('uuid prints what uuidText prints', () => {
    fc.assert(fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), (a) => same(2950, 'b', Buffer.from(a))), RUNS);
  });

  it.each([[869], [650]])('inet and cidr (%i) print what inetText prints', (oid) => {
    const v4 = fc.tuple(fc.constantFrom(2, 3), fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1, 7), fc.constantFrom(4, 16), fc.uint8Array({ minLength: 4, maxLength: 16 }));
    const value = v4.map(([family, bits, cidr, n, addr]) => Buffer.concat([Buffer.from([family, bits, cidr, n]), Buffer.from(addr)]));
    fc.assert(fc.property(fc.oneof(value, value.map((b) => b.subarray(0, 8))), (b) => same(oid, 'b', b)), RUNS);
  });

  it.each([[1082], [1114], [1184], [1083], [1266], [1186], [1700], [2950], [869], [650], [17], [16], [21], [23], [26], [20], [700], [701], [1005], [1007], [25]])(
    'type %i with bytes of any length prints or rejects what the slow path does',
    (oid) => {
      fc.assert(fc.property(anyBytes, (b) => same(oid, 'b', b)), { numRuns: 500 });
    },
  );

  it('text values are quoted in place as JSON.stringify quotes them, short and long runs between escapes', () => {
    const text = fc.oneof(fc.string({ maxLength: 80, unit: 'binary' }), fc.string({ maxLength: 300, unit: fc.constantFrom('a', 'é', '"', '\\', '\n', '\u0001', 'x'.repeat(40)) }));
    fc.assert(
      fc.property(text, (s) => {
        same(25, 't', Buffer.from(s));
        same(25, 'b', Buffer.from(s));
      }),
      RUNS,
    );
  });

  it('ByteBuffer#quoted escapes bytes at any offset and alignment as JSON.stringify does, long values scanned by words', () => {
    const unit = fc.constantFrom('a', 'é', '✓', '"', '\\', '\n', '\u0001', '\u001f', ' ', '\u007f', 'x'.repeat(70), '😀');
    fc.assert(
      fc.property(fc.nat(7), fc.string({ maxLength: 200, unit }), fc.nat(7), (before, s, after) => {
        const bytes = Buffer.from(s);
        const frame = Buffer.concat([Buffer.alloc(before, 0x22), bytes, Buffer.alloc(after, 0x5c)]);
        const b = new ByteBuffer(4);
        b.quoted(frame, before, before + bytes.length);
        expect(b.take(false).toString('utf8')).toBe(JSON.stringify(s));
      }),
      RUNS,
    );
  });

  it('ByteBuffer#int prints every safe integer as String does', () => {
    const b = new ByteBuffer(4);
    const ints = fc.oneof(fc.integer(), fc.integer({ min: -(2 ** 31) - 10, max: -(2 ** 31) + 10 }), fc.integer({ min: 2 ** 31 - 10, max: 2 ** 31 + 10 }), fc.maxSafeInteger().filter((n) => !Object.is(n, -0)), fc.constantFrom(...[1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 15].flatMap((k) => [10 ** k - 1, 10 ** k, -(10 ** k)])));
    fc.assert(
      fc.property(ints, (n) => {
        b.pos = 0;
        b.int(n);
        expect(b.take(true).toString('latin1')).toBe(String(n));
      }),
      RUNS,
    );
  });

  it('jsonb documents print as JSON.stringify(JSON.parse(text)), binary and text, with and without spaces', () => {
    const doc = fc.json({ maxDepth: 3, stringUnit: 'binary' }).chain((j) => fc.constantFrom(j, j.replace(/,/g, ', ').replace(/:/g, ': ')).filter((t) => { try { JSON.parse(t); return true; } catch { return false; } }));
    fc.assert(
      fc.property(doc, (t) => {
        same(3802, 't', Buffer.from(t));
        same(3802, 'b', Buffer.concat([Buffer.from([1]), Buffer.from(t)]));
      }),
      RUNS,
    );
  });

  it('text arrays, jsonb and bytea read in place do not look past the value, and step aside for what is not whole', () => {
    for (const t of ['{1,N', '{1,NUL', '{', '{NULL}', '{1,-2,NULL}', '{1}}', '{1}{2}', '{{1},{2}}', '}']) same(1007, 't', Buffer.from(t));
    for (const t of ['\\', '\\x', '\\x0a', '']) same(17, 't', Buffer.from(t));
    for (const t of ['{"10"', '{"10" ', '{"10": 1}', '"abc"', '[1, 2', '', ' ', '{}}']) {
      same(3802, 't', Buffer.from(t));
      same(3802, 'b', Buffer.concat([Buffer.from([1]), Buffer.from(t)]));
    }
  });
});
