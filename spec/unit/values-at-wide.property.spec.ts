import fc from 'fast-check';
import { getTypeParser } from 'pg-types';
import { floatAt } from '../../src/values/at';
import { intervalToText } from '../../src/values/binary';
import { parseInterval, parseIntervalAt } from '../../src/values/fast-text';
import { NOT_READ, readJsonAt } from '../../src/values/json-bytes';
import { JSON_NULL, TypeRegistry } from '../../src/values/registry';
import { shape } from '../support/value-shape';

/**
 * The in-place decoders added for the wide scenario's columns (issue 18: float text by Clinger's
 * fast path, json/jsonb read from the bytes, interval read from the bytes and built without its
 * regular expression, binary jsonb, bytea, inet, int arrays, date, timestamp and interval in place)
 * against what pg-types gives on the decoded text, or the reader on a view: the same value, the
 * same class, the same own properties in the same order, the same error.
 */
const types = new TypeRegistry();
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const around = fc.uint8Array({ maxLength: 3 });

const outcome = (f: () => unknown): unknown => {
  try {
    return { value: shape(f()) };
  } catch (err) {
    return { error: String(err) };
  }
};

/** jsonb_out's layout: `", "` between items, `": "` after keys. */
function pgJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(pgJson).join(', ')}]`;
  if (v !== null && typeof v === 'object') return `{${Object.entries(v).map(([k, x]) => `${JSON.stringify(k)}: ${pgJson(x)}`).join(', ')}}`;
  return JSON.stringify(v);
}
const jsonTexts = fc.oneof(
  fc.jsonValue().map((v) => JSON.stringify(v)),
  fc.jsonValue().map(pgJson),
  fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v, null, 2)),
  fc.json(),
  fc.stringMatching(/^[\s{}[\]",:0-9.eE+\-a-z]{0,30}$/),
  fc.string({ maxLength: 30 }),
  fc.constantFrom(
    '{"__proto__": 1}', '{"a": {"__proto__": []}}', '{"a": 1, "a": 2}', '{"b": 1, "2": 2, "1": 3, "a": 4}', '{"constructor": 1, "toString": 2}',
    '-0', '0', '-0.0', '01', '1.', '.5', '1e5', '1E-5', '2.5e+3', '9007199254740993', '0.1234567890123456789012', '123456789012345678901234',
    '"\\u0041"', '"a\\nb"', '"é"', '"\u0001"', '{"é": 1}', 'true', 'false', 'null', 'nul', 'tru', '[1,]', '{"a":1,}', '{"a" 1}', '[1 2]',
    ' [ 1 , { "x" : null } ] ', '\t\n{}\r', '[]', '{}', '""', '[[[[[[[[[[]]]]]]]]]]', `${'['.repeat(70)}${']'.repeat(70)}`, `${'['.repeat(64)}${']'.repeat(64)}`,
    '{"id": 1234, "tags": ["a", "b"]}', 'x', '', ' ',
  ),
);

describe('in-place decoders of the wide scenario equal the pg-types path', () => {
  it('float text: the fast path equals parseFloat on the text', () => {
    const decimal = fc.tuple(fc.boolean(), fc.stringMatching(/^[0-9]{0,20}$/), fc.option(fc.stringMatching(/^[0-9]{0,25}$/))).map(([neg, i, f]) => `${neg ? '-' : ''}${i}${f === null ? '' : `.${f}`}`);
    const texts = fc.oneof(
      decimal,
      fc.double().map(String),
      fc.float().map(String),
      fc.double().map((x) => x.toPrecision(17)),
      fc.float().map((x) => x.toPrecision(9)),
      fc.integer({ min: 1, max: 2 ** 53 }).map((m) => `${m}`.replace(/^(\d)/, '$1.')),
      fc.constantFrom('9007199254740992', '9007199254740993', '0.9007199254740993', '1e400', 'NaN', 'Infinity', '-Infinity', '-', '.', '-.', '+1', ' 1', '1 ', '1..2', '0x10', '١', '0.0000000000000000000001', '0.00000000000000000000001'),
    );
    fc.assert(
      fc.property(texts, around, around, (text, before, after) => {
        const value = Buffer.from(text);
        const buf = Buffer.concat([Buffer.from(before), value, Buffer.from(after)]);
        const got = floatAt(buf, before.length, before.length + value.length);
        expect(Object.is(got, parseFloat(text))).toBe(true);
        expect(Object.is(types.textAt(700)(buf, before.length, before.length + value.length), parseFloat(text))).toBe(true);
      }),
      { numRuns: 30000 },
    );
  });

  it('json text read from the bytes equals JSON.parse (value, key order, prototypes, errors)', () => {
    fc.assert(
      fc.property(jsonTexts, around, around, (text, before, after) => {
        const value = Buffer.from(text);
        const buf = Buffer.concat([Buffer.from(before), value, Buffer.from(after)]);
        const s = before.length;
        const read = readJsonAt(buf, s, s + value.length);
        if (read !== NOT_READ) {
          expect(shape(read)).toEqual(shape(JSON.parse(text)));
          expect(JSON.stringify(read)).toBe(JSON.stringify(JSON.parse(text)));
        }
        const parsed = () => {
          const v: unknown = JSON.parse(text);
          return v === null ? JSON_NULL : v;
        };
        for (const oid of [114, 3802]) expect(outcome(() => types.textAt(oid)(buf, s, s + value.length))).toEqual(outcome(parsed));
        expect(outcome(() => types.text(3802)(text))).toEqual(outcome(parsed));
      }),
      { numRuns: 20000 },
    );
  });

  it('json objects of recurring shapes (made by a compiled literal) equal JSON.parse, shape after shape', () => {
    // A few shapes, each document repeated past the point where its shape gets its literal, with
    // keys that test the literal's semantics: repeated keys, index-like keys, prototype names, and
    // documents that leave the subset half-way (the reader must start clean after them).
    const keyName = fc.oneof(fc.constantFrom('id', 'a', 'b', '0', '1', '10', '4294967295', '-1', '01', 'constructor', 'toString', 'hasOwnProperty', '__proto__', 'length', '', ' ', "it's", 'a b'), fc.stringMatching(/^[a-z0-9_$]{1,6}$/));
    const scalar = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.constant(null), fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 4 }));
    const shapes = fc.array(fc.array(keyName, { maxLength: 8 }), { minLength: 1, maxLength: 4 });
    fc.assert(
      fc.property(shapes, fc.array(fc.tuple(fc.nat(), fc.array(fc.oneof(scalar, fc.jsonValue({ maxDepth: 2 })), { maxLength: 8 }), fc.boolean(), fc.constantFrom('', ' ', '\n  ')), { minLength: 1, maxLength: 12 }), (keyLists, docs) => {
        for (const [which, values, nest, gap] of docs) {
          const keys = keyLists[which % keyLists.length];
          const members = keys.map((k, i) => `${JSON.stringify(k)}:${gap}${JSON.stringify(values[i] ?? i)}`);
          const inner = `{${members.join(`,${gap}`)}}`;
          const text = nest ? `[${inner}, {"x": ${inner}, "y": [${inner}]}]` : inner;
          const value = Buffer.from(text);
          for (let r = 0; r < 6; r++) {
            const buf = Buffer.concat([Buffer.from([r]), value, Buffer.from('}')]);
            const read = readJsonAt(buf, 1, 1 + value.length);
            const expected: unknown = JSON.parse(text);
            if (read !== NOT_READ) {
              expect(shape(read)).toEqual(shape(expected));
              expect(JSON.stringify(read)).toBe(JSON.stringify(expected));
            }
            expect(outcome(() => types.textAt(3802)(buf, 1, 1 + value.length))).toEqual(outcome(() => expected));
            // A document given up half-way (a broken tail) between two readings.
            expect(readJsonAt(buf, 1, value.length)).toBe(NOT_READ);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('json keys that Object.prototype has (a setter, a read-only property) are own properties, as JSON.parse makes them', () => {
    const proto = Object.prototype as Record<string, unknown>;
    Object.defineProperty(proto, 'pgWalstreamSetter', { set: () => { throw new Error('setter called'); }, get: () => 'inherited', configurable: true });
    Object.defineProperty(proto, 'pgWalstreamReadOnly', { value: 'inherited', writable: false, configurable: true });
    try {
      for (const text of ['{"pgWalstreamSetter": 1, "a": 2}', '{"pgWalstreamReadOnly": [1], "pgWalstreamReadOnly": 3}', '{"x": {"pgWalstreamSetter": null}}']) {
        const b = Buffer.from(text);
        // Past the 4th reading the shape's literal makes the object: both paths.
        for (let r = 0; r < 6; r++) expect(shape(readJsonAt(b, 0, b.length))).toEqual(shape(JSON.parse(text)));
      }
    } finally {
      delete proto.pgWalstreamSetter;
      delete proto.pgWalstreamReadOnly;
    }
  });

  it('json objects of a recurring shape are fresh objects with plain prototypes and no shared state', () => {
    const b = Buffer.from('{"id": 1, "tags": ["a", "b"], "nested": {"n": 1.5, "ok": true}}');
    const seen = Array.from({ length: 10 }, () => types.textAt(3802)(b, 0, b.length) as { id: number; tags: string[]; nested: { n: number } });
    for (const v of seen) {
      expect(v).toEqual(JSON.parse(b.toString()));
      expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
      expect(Object.getPrototypeOf(v.nested)).toBe(Object.prototype);
    }
    seen[9].id = 2;
    seen[9].tags.push('c');
    seen[9].nested.n = 3;
    expect(seen[8]).toEqual(JSON.parse(b.toString()));
    expect(new Set(seen).size).toBe(10);
    expect(new Set(seen.map((v) => v.nested)).size).toBe(10);
  });

  it('json read from the bytes makes own __proto__ keys as JSON.parse does, or leaves them to it', () => {
    const b = Buffer.from('{"__proto__": {"x": 1}}');
    const v = types.textAt(3802)(b, 0, b.length) as Record<string, unknown>;
    expect(Object.getPrototypeOf(v)).toBe(Object.prototype);
    expect(Object.keys(v)).toEqual(['__proto__']);
  });

  it('interval text read from the bytes equals postgres-interval (class, properties and order, methods)', () => {
    const pgInterval = getTypeParser(1186) as (s: string) => { toPostgres(): string; toISO(): string };
    const part = (n: number, unit: string) => (n === 0 ? '' : `${n} ${unit}${Math.abs(n) === 1 ? '' : 's'}`);
    const canonical = fc
      .tuple(fc.integer({ min: -200_000_000, max: 200_000_000 }), fc.integer({ min: -11, max: 11 }), fc.integer({ min: -100_000, max: 100_000 }), fc.option(fc.tuple(fc.constantFrom('', '-', '+'), fc.integer({ min: 0, max: 3_000_000 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.option(fc.stringMatching(/^[0-9]{1,6}$/)))))
      .map(([y, m, d, t]) => {
        const parts = [part(y, 'year'), part(m, 'mon'), part(d, 'day')].filter(Boolean);
        if (t !== null) parts.push(`${t[0]}${pad(t[1])}:${pad(t[2])}:${pad(t[3])}${t[4] === null ? '' : `.${t[4]}`}`);
        return parts.length ? parts.join(' ') : '00:00:00';
      });
    const odd = fc.oneof(fc.string({ maxLength: 20 }), fc.stringMatching(/^[0-9 :.+\-a-z]{1,24}$/), fc.constantFrom('1 day 1 year', '1 years', '1 mon', ' 1 day', '1 day ', '-0 days', '1:2:3', '10:00:00.1234567', '1 yea', '1 day 10:00', '-00:00:00.000001', '', 'P1D'));
    fc.assert(
      fc.property(fc.oneof(canonical, odd), around, around, (text, before, after) => {
        const value = Buffer.from(text);
        const buf = Buffer.concat([Buffer.from(before), value, Buffer.from(after)]);
        const s = before.length;
        const expected = outcome(() => pgInterval(text));
        expect(outcome(() => parseIntervalAt(buf, s, s + value.length))).toEqual(expected);
        expect(outcome(() => types.textAt(1186)(buf, s, s + value.length))).toEqual(expected);
        expect(outcome(() => parseInterval(text))).toEqual(expected);
        let pg: { toPostgres(): string; toISO(): string } | undefined;
        try {
          pg = pgInterval(text);
        } catch {
          return;
        }
        const ours = types.textAt(1186)(buf, s, s + value.length) as typeof pg;
        expect(ours).toBeInstanceOf(pg.constructor as new () => unknown);
        expect(ours.toPostgres()).toBe(pg.toPostgres());
        expect(ours.toISO()).toBe(pg.toISO());
      }),
      { numRuns: 5000 },
    );
  });

  it('binary values read in place equal the reader on a view (jsonb, bytea, inet, cidr, int arrays, date, timestamp, interval)', () => {
    const int32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const array = fc
      .tuple(fc.constantFrom(21, 23), fc.array(fc.option(fc.integer({ min: -2147483648, max: 2147483647 })), { maxLength: 6 }), fc.constantFrom(0, 1, 2), fc.boolean())
      .map(([el, xs, ndim, corrupt]) => {
        const parts = [int32(ndim), int32(xs.includes(null) ? 1 : 0), int32(el)];
        if (ndim >= 1) parts.push(int32(ndim === 2 ? 1 : xs.length), int32(1));
        if (ndim === 2) parts.push(int32(xs.length), int32(1));
        for (const x of xs) {
          if (x === null) parts.push(int32(-1));
          else if (el === 21) parts.push(int32(2), Buffer.from([(x >> 8) & 0xff, x & 0xff]));
          else parts.push(int32(4), int32(x));
        }
        const b = Buffer.concat(parts);
        return corrupt && b.length > 0 ? b.subarray(0, b.length - 1) : b;
      });
    const inet = fc.tuple(fc.constantFrom(2, 3, 1), fc.integer({ min: 0, max: 255 }), fc.constantFrom(0, 1), fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.constantFrom(4, 16, 3)).map(([family, bits, cidr, addr, n]) => Buffer.concat([Buffer.from([family, bits, cidr, n]), Buffer.from(addr.subarray(0, n))]));
    const interval = fc.tuple(fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(10n ** 12n), max: 10n ** 12n }), fc.constant(0n)), fc.integer(), fc.oneof(fc.integer(), fc.integer({ min: -40, max: 40 }))).map(([t, d, m]) => {
      const b = Buffer.alloc(16);
      b.writeBigInt64BE(t, 0);
      b.writeInt32BE(d, 8);
      b.writeInt32BE(m, 12);
      return b;
    });
    const micros = fc.oneof(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), fc.bigInt({ min: -(10n ** 16n), max: 10n ** 16n }), fc.constantFrom(2n ** 63n - 1n, -(2n ** 63n))).map((us) => {
      const b = Buffer.alloc(8);
      b.writeBigInt64BE(us);
      return b;
    });
    const days = fc.oneof(fc.integer(), fc.integer({ min: -800_000, max: 800_000 }), fc.constantFrom(2147483647, -2147483648)).map(int32);
    const jsonb = fc.tuple(fc.constantFrom(1, 1, 2), jsonTexts).map(([v, t]) => Buffer.concat([Buffer.from([v]), Buffer.from(t)]));
    const cases = fc.oneof(
      fc.tuple(fc.constantFrom(1005, 1007), array),
      fc.tuple(fc.constantFrom(869, 650), inet),
      fc.tuple(fc.constant(1186), interval),
      fc.tuple(fc.constant(1114), micros),
      fc.tuple(fc.constant(1082), days),
      fc.tuple(fc.constantFrom(3802, 114), jsonb),
      fc.tuple(fc.constant(17), fc.uint8Array({ maxLength: 100 }).map((a) => Buffer.from(a))),
      fc.tuple(fc.constantFrom(17, 114, 650, 869, 1005, 1007, 1082, 1114, 1186, 3802), fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a))),
    );
    fc.assert(
      fc.property(cases, around, around, ([oid, value], before, after) => {
        const buf = Buffer.concat([Buffer.from(before), value, Buffer.from(after)]);
        const s = before.length;
        expect(outcome(() => types.binaryAt(oid)(buf, s, s + value.length))).toEqual(outcome(() => types.binary(oid)(buf.subarray(s, s + value.length))));
      }),
      { numRuns: 30000 },
    );
  });

  it('binary bytea is a copy of its own, and binary intervals print as pg prints them', () => {
    const frame = Buffer.from([1, 2, 3, 4, 5]);
    const v = types.binaryAt(17)(frame, 1, 4) as Buffer;
    frame[2] = 9;
    expect([...v]).toEqual([2, 3, 4]);
    const b = Buffer.alloc(16);
    b.writeBigInt64BE(-3_723_004_005n, 0);
    b.writeInt32BE(-2, 8);
    b.writeInt32BE(14, 12);
    const pg = (getTypeParser(1186) as (s: string) => { toPostgres(): string })(intervalToText(b));
    const ours = types.binaryAt(1186)(Buffer.concat([Buffer.from([0]), b]), 1, 17) as typeof pg;
    expect(ours).toBeInstanceOf(pg.constructor as new () => unknown);
    expect(ours.toPostgres()).toBe(pg.toPostgres());
    expect(shape(ours)).toEqual(shape(pg));
  });

  it('long text values (uuid, ASCII, UTF-8) equal toString', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uuid(), fc.string({ minLength: 17, maxLength: 60 }), fc.string({ unit: 'grapheme', minLength: 10, maxLength: 40 }), fc.string({ minLength: 36, maxLength: 36 })), around, around, (text, before, after) => {
        const value = Buffer.from(text);
        const buf = Buffer.concat([Buffer.from(before), value, Buffer.from(after)]);
        for (const oid of [25, 1043, 2950]) expect(types.textAt(oid)(buf, before.length, before.length + value.length)).toBe(buf.toString('utf8', before.length, before.length + value.length));
      }),
      { numRuns: 5000 },
    );
  });
});
