import fc from 'fast-check';
import { getTypeParser } from 'pg-types';
import * as postgresArray from 'postgres-array';
import { dateLocalDate, dateToText, int8Text, intervalToText, readArray, timestampLocalDate, timestampToText, timestamptzDate } from '../../src/values/binary';
import { intervalFromBinary, parseArray, parseInterval, parseTimestamp } from '../../src/values/fast-text';
import { TypeRegistry } from '../../src/values/registry';

/**
 * The fast value decoders of issue 18 against the pg-types path they replace: the same result for
 * every input, canonical server text or not.
 */
const pgDate = getTypeParser(1184) as (s: string) => unknown;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Invalid Dates differ under toEqual; compare their time values. */
const same = (v: unknown): unknown => (v instanceof Date ? { date: v.getTime() } : Array.isArray(v) ? v.map(same) : v);

const year = fc.oneof(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 300_000 }), fc.integer({ min: 1, max: 99 }));
const fraction = fc.oneof(fc.constant(''), fc.stringMatching(/^\.[0-9]{1,6}$/));
const zone = fc.oneof(
  fc.constant(''),
  fc.constant('+00'),
  fc.tuple(fc.constantFrom('+', '-'), fc.integer({ min: 0, max: 15 }), fc.option(fc.integer({ min: 0, max: 59 })), fc.option(fc.integer({ min: 0, max: 59 }))).map(
    ([sign, h, m, s]) => `${sign}${pad(h)}${m === null ? '' : `:${pad(m)}${s === null ? '' : `:${pad(s)}`}`}`,
  ),
);
const canonical = fc
  .tuple(year, fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 31 }), fc.integer({ min: 0, max: 24 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 60 }), fraction, zone, fc.boolean(), fc.boolean())
  .map(([y, mo, d, h, mi, s, f, z, bc, dateOnly]) => `${pad(y, 4)}-${pad(mo)}-${pad(d)}${dateOnly ? '' : ` ${pad(h)}:${pad(mi)}:${pad(s)}${f}${z}`}${bc ? ' BC' : ''}`);
// Anything else: the fast path must hand it to postgres-date and give its answer.
const odd = fc.oneof(fc.constantFrom('infinity', '-infinity', '2024-01-01T00:00:00Z', '24-01-01', '2024-1-1', '2024-01-01 1:00:00', ''), fc.string({ maxLength: 30 }), fc.stringMatching(/^[0-9 :.+\-BC]{0,30}$/));

describe('fast value decoders give what pg-types gives', () => {
  it('timestamps and dates: parseTimestamp equals postgres-date', () => {
    fc.assert(
      fc.property(fc.oneof(canonical, odd), (s) => {
        expect(same(parseTimestamp(s))).toEqual(same(pgDate(s)));
      }),
      { numRuns: 1500 },
    );
  });

  it('arrays: parseArray equals postgres-array for any text and element parser', () => {
    const element = fc.oneof(fc.stringMatching(/^[a-z0-9.\-]{1,8}$/), fc.constant('NULL'), fc.string({ maxLength: 6 }));
    const simple = fc.array(element, { maxLength: 8 }).map((xs) => `{${xs.join(',')}}`);
    const any = fc.oneof(simple, fc.string({ maxLength: 20 }).map((s) => `{${s}}`), fc.string({ maxLength: 20 }));
    for (const parse of [(s: string) => s, (s: string) => parseInt(s, 10), (s: string) => `<${s}>`] as Array<(s: string) => unknown>) {
      fc.assert(
        fc.property(any, (s) => {
          let expected: unknown;
          let threw = false;
          try {
            expected = postgresArray.parse(s, parse as (s: string) => string);
          } catch {
            threw = true;
          }
          if (threw) expect(() => parseArray(s, parse)).toThrow();
          else expect(parseArray(s, parse)).toEqual(expected);
        }),
        { numRuns: 800 },
      );
    }
  });

  it('binary timestamptz: the number path equals the BigInt one', () => {
    const viaBigInt = (us: bigint) => {
      const unix = us + 946_684_800_000_000n;
      let ms = unix / 1000n;
      if (unix < 0n && unix % 1000n !== 0n) ms -= 1n;
      return new Date(Number(ms)).getTime();
    };
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 2n }), fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n })), (us) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(us);
        const got = timestamptzDate(b);
        expect(got instanceof Date ? got.getTime() : got).toEqual(viaBigInt(us));
      }),
      { numRuns: 1500 },
    );
  });

  it('binary timestamp and date: the local Date from the fields equals postgres-date on the printed text', () => {
    const fail = () => 'fallback';
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -(2n ** 63n) + 1n, max: 2n ** 63n - 2n }), fc.bigInt({ min: -(2n ** 53n), max: 2n ** 53n }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n })), (us) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(us);
        const got = timestampLocalDate(b, fail);
        if (got !== 'fallback') expect(same(got)).toEqual(same(pgDate(timestampToText(b))));
      }),
      { numRuns: 1500 },
    );
    fc.assert(
      fc.property(fc.integer({ min: -2_451_545, max: 2_000_000 }), (days) => {
        const b = Buffer.alloc(4);
        b.writeInt32BE(days);
        expect(same(dateLocalDate(b, fail))).toEqual(same(pgDate(dateToText(b))));
      }),
      { numRuns: 800 },
    );
  });

  it('binary arrays: reading elements in place equals reading views of them', () => {
    const types = new TypeRegistry();
    const arrays = fc.array(fc.option(fc.string({ maxLength: 8 }), { nil: null }), { maxLength: 6 });
    fc.assert(
      fc.property(arrays, fc.array(fc.option(fc.integer(), { nil: null }), { maxLength: 6 }), (texts, ints) => {
        const encode = (oid: number, xs: (Buffer | null)[]) => {
          const head = Buffer.alloc(20);
          head.writeInt32BE(1, 0);
          head.writeInt32BE(xs.includes(null) ? 1 : 0, 4);
          head.writeInt32BE(oid, 8);
          head.writeInt32BE(xs.length, 12);
          head.writeInt32BE(1, 16);
          const parts = xs.map((x) => {
            const len = Buffer.alloc(4);
            len.writeInt32BE(x === null ? -1 : x.length);
            return x === null ? len : Buffer.concat([len, x]);
          });
          return xs.length === 0 ? Buffer.alloc(12) : Buffer.concat([head, ...parts]);
        };
        const t = encode(25, texts.map((x) => (x === null ? null : Buffer.from(x))));
        expect(types.binary(1009)(t)).toEqual(readArray(t, (b) => b.toString('utf8')));
        expect(types.binary(1009)(t)).toEqual(texts);
        const i = encode(23, ints.map((x) => (x === null ? null : Buffer.from([x >>> 24, (x >>> 16) & 255, (x >>> 8) & 255, x & 255]))));
        expect(types.binary(1007)(i)).toEqual(ints);
      }),
      { numRuns: 500 },
    );
  });

  it('binary int8 text: the number path equals BigInt printing', () => {
    fc.assert(
      fc.property(fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(2n ** 54n), max: 2n ** 54n })), (v) => {
        const b = Buffer.alloc(8);
        b.writeBigInt64BE(v);
        expect(int8Text(b)).toBe(v.toString());
      }),
      { numRuns: 1500 },
    );
  });

  it('intervals: parseInterval equals postgres-interval (class, properties and their order)', () => {
    const pgInterval = getTypeParser(1186) as (s: string) => unknown;
    const part = (n: number, unit: string, force: boolean) => (n === 0 && !force ? '' : `${n} ${unit}${Math.abs(n) === 1 ? '' : 's'}`);
    const canonical = fc
      .tuple(fc.integer({ min: -200_000_000, max: 200_000_000 }), fc.integer({ min: -11, max: 11 }), fc.integer({ min: -100_000, max: 100_000 }), fc.option(fc.tuple(fc.constantFrom('', '-', '+'), fc.integer({ min: 0, max: 3_000_000 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.option(fc.stringMatching(/^[0-9]{1,6}$/)))))
      .map(([y, m, d, t]) => {
        const parts = [part(y, 'year', false), part(m, 'mon', false), part(d, 'day', false)].filter(Boolean);
        if (t !== null) parts.push(`${t[0]}${pad(t[1])}:${pad(t[2])}:${pad(t[3])}${t[4] === null ? '' : `.${t[4]}`}`);
        return parts.length ? parts.join(' ') : '00:00:00';
      });
    const odd = fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[0-9 :.+\-a-z]{1,24}$/), fc.constantFrom('1 day 1 year', '1 years', '1 mon', ' 1 day', '1 day ', '-0 days', '1:2:3', '10:00:00.1234567'));
    fc.assert(
      fc.property(fc.oneof(canonical, odd), (s) => {
        let expected: unknown;
        try {
          expected = pgInterval(s);
        } catch {
          expect(() => parseInterval(s)).toThrow();
          return;
        }
        const got = parseInterval(s);
        expect(Object.getPrototypeOf(got)).toBe(Object.getPrototypeOf(expected));
        expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
        expect(got).toEqual(expected);
      }),
      { numRuns: 3000 },
    );
  });

  it('binary intervals: the object from the fields equals postgres-interval on the printed text', () => {
    const pgInterval = getTypeParser(1186) as (s: string) => unknown;
    fc.assert(
      fc.property(
        fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.constant(0n)),
        fc.oneof(fc.integer(), fc.integer({ min: -40, max: 40 }), fc.constant(0)),
        fc.oneof(fc.integer(), fc.integer({ min: -40, max: 40 }), fc.constant(0)),
        (time, days, months) => {
          const b = Buffer.alloc(16);
          b.writeBigInt64BE(time, 0);
          b.writeInt32BE(days, 8);
          b.writeInt32BE(months, 12);
          const got = intervalFromBinary(b, () => 'fallback');
          if (got === 'fallback') return;
          const expected = pgInterval(intervalToText(b));
          expect(Object.getPrototypeOf(got)).toBe(Object.getPrototypeOf(expected));
          expect(JSON.stringify(got)).toBe(JSON.stringify(expected));
          expect(got).toEqual(expected);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('the registry uses them for dates, timestamps and arrays', () => {
    const types = new TypeRegistry();
    for (const oid of [1082, 1114, 1184]) expect(same(types.text(oid)('2024-01-01 12:00:00.5+01'))).toEqual(same(pgDate('2024-01-01 12:00:00.5+01')));
    expect(types.text(1007)('{1,NULL,3}')).toEqual([1, null, 3]);
    expect(types.text(1009)('{a,"b,c",NULL,"NULL"}')).toEqual(['a', 'b,c', null, 'NULL']);
  });
});
