import fc from 'fast-check';
import { TypeRegistry } from '../../src/values/registry';

/**
 * The in-place decoders Row#get calls (issue 18), TypeRegistry#textAt and #binaryAt, against the
 * string and view path they stand for: `text(oid)(buf.toString('utf8', s, e))` and
 * `binary(oid)(buf.subarray(s, e))`, for any bytes, with other bytes around the value (a decoder
 * must not read past its end), including what each throws.
 */
const types = new TypeRegistry();
const bigint = new TypeRegistry({ int8: 'bigint', timestamps: 'string' });
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** Invalid Dates and NaN differ under toEqual; compare what can be compared. */
const same = (v: unknown): unknown => (v instanceof Date ? { date: v.getTime() } : typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v);
const outcome = (f: () => unknown): unknown => {
  try {
    return { value: same(f()) };
  } catch (err) {
    return { error: String(err) };
  }
};

const around = fc.uint8Array({ maxLength: 3 });
const canonicalTimestamp = fc
  .tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.option(fc.integer({ min: 0, max: 999_999 })), fc.constantFrom('', '+00', '-05:30', '+01', ' BC', '+00 BC'), fc.boolean())
  .map(([y, mo, d, h, mi, s, us, z, dateOnly]) => (dateOnly ? `${pad(y, 4)}-${pad(mo)}-${pad(d)}` : `${pad(y, 4)}-${pad(mo)}-${pad(d)} ${pad(h)}:${pad(mi)}:${pad(s)}${us === null ? '' : `.${pad(us, 6)}`}${z}`));
const texts = fc.oneof(
  canonicalTimestamp,
  fc.integer().map(String),
  fc.double().map(String),
  fc.float().map(String),
  fc.constantFrom('t', 'f', 'true', 'yes', '', '-', '--1', '12345678901', '-2147483648', 'NaN', 'Infinity', '-Infinity', 'infinity', '1e400', '0.1', '00012', '+5', ' 1'),
  fc.stringMatching(/^-?[0-9]{1,20}(\.[0-9]{1,12})?$/),
  fc.string({ maxLength: 40 }),
  // bytea (hex form, odd, invalid digits, escape form) and int array texts, well-formed or not.
  fc.uint8Array({ maxLength: 20 }).map((a) => `\\x${Buffer.from(a).toString('hex')}`),
  fc.stringMatching(/^\\x[0-9a-fA-FgG]{0,9}$/),
  fc.stringMatching(/^(\\[0-3][0-7][0-7]|\\\\|[a-z]){0,6}$/),
  fc.array(fc.option(fc.integer({ min: -2147483648, max: 2147483647 })), { maxLength: 6 }).map((a) => `{${a.map((x) => (x === null ? 'NULL' : String(x))).join(',')}}`),
  fc.stringMatching(/^\{[-0-9,NUL" {}]{0,14}\}?$/),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
);
const TEXT_OIDS = [16, 17, 20, 21, 23, 25, 26, 700, 701, 1005, 1007, 1028, 1043, 1082, 1114, 1184, 1700];

/** numeric_send bytes of a decimal string (any sign, digits, scale). */
function numericBytes(int: string, frac: string, negative: boolean): Buffer {
  const intDigits = int.replace(/^0+/, '');
  const intGroups: number[] = [];
  for (let e = intDigits.length; e > 0; e -= 4) intGroups.unshift(Number(intDigits.slice(Math.max(0, e - 4), e)));
  const fracGroups: number[] = [];
  for (let i = 0; i < frac.length; i += 4) fracGroups.push(Number(frac.slice(i, i + 4).padEnd(4, '0')));
  const digits = [...intGroups, ...fracGroups];
  const b = Buffer.alloc(8 + 2 * digits.length);
  b.writeUInt16BE(digits.length, 0);
  b.writeInt16BE(intGroups.length - 1, 2);
  b.writeUInt16BE(negative ? 0x4000 : 0, 4);
  b.writeUInt16BE(frac.length, 6);
  digits.forEach((d, i) => b.writeUInt16BE(d, 8 + 2 * i));
  return b;
}

const binaries = fc.oneof(
  fc.uint8Array({ maxLength: 20 }).map((a) => Buffer.from(a)),
  fc.constantFrom(1, 2, 4, 8).chain((n) => fc.uint8Array({ minLength: n, maxLength: n }).map((a) => Buffer.from(a))),
  fc.tuple(fc.stringMatching(/^[0-9]{0,20}$/), fc.stringMatching(/^[0-9]{0,12}$/), fc.boolean()).map(([i, f, neg]) => numericBytes(i, f, neg)),
  fc.string({ maxLength: 20 }).map((s) => Buffer.from(s)),
  // time_send's range and around it (µs since midnight), and 16-byte uuids.
  fc.oneof(fc.integer({ min: 0, max: 86_400_000_000 }), fc.integer({ min: 0, max: 2 ** 40 }), fc.constantFrom(0, 1, 10, 999_999, 1_000_000, 86_400_000_000)).map((us) => {
    const b = Buffer.alloc(8);
    b.writeBigInt64BE(BigInt(us));
    return b;
  }),
  fc.uint8Array({ minLength: 16, maxLength: 16 }).map((a) => Buffer.from(a)),
);
const BINARY_OIDS = [16, 20, 21, 23, 25, 26, 700, 701, 1043, 1083, 1184, 1700, 2950, 3802];

describe('TypeRegistry#textAt and #binaryAt', () => {
  it('text in place equals the parser on the decoded string', () => {
    fc.assert(
      fc.property(texts, around, around, fc.constantFrom(...TEXT_OIDS), fc.boolean(), (text, before, after, oid, other) => {
        const reg = other ? bigint : types;
        const value = Buffer.from(text);
        const buf = Buffer.concat([Buffer.from(before), value, Buffer.from(after)]);
        const s = before.length;
        expect(outcome(() => reg.textAt(oid)(buf, s, s + value.length))).toEqual(outcome(() => reg.text(oid)(buf.toString('utf8', s, s + value.length))));
      }),
      { numRuns: 20000 },
    );
  });

  it('binary in place equals the reader on a view', () => {
    fc.assert(
      fc.property(binaries, around, around, fc.constantFrom(...BINARY_OIDS), fc.boolean(), (value, before, after, oid, other) => {
        const reg = other ? bigint : types;
        const buf = Buffer.concat([Buffer.from(before), value, Buffer.from(after)]);
        const s = before.length;
        expect(outcome(() => reg.binaryAt(oid)(buf, s, s + value.length))).toEqual(outcome(() => reg.binary(oid)(buf.subarray(s, s + value.length))));
      }),
      { numRuns: 20000 },
    );
  });

  it('numeric in place prints the decimal it was made of (short and long texts)', () => {
    fc.assert(
      fc.property(fc.stringMatching(/^[0-9]{0,24}$/), fc.stringMatching(/^[0-9]{0,14}$/), fc.boolean(), around, (int, frac, neg, before) => {
        const value = numericBytes(int, frac, neg);
        const b = Buffer.concat([Buffer.from(before), value, Buffer.from([7])]);
        const text = `${neg ? '-' : ''}${int.replace(/^0+/, '') || '0'}${frac === '' ? '' : `.${frac}`}`;
        expect(types.binaryAt(1700)(b, before.length, before.length + value.length)).toBe(text);
        expect(types.binary(1700)(value)).toBe(text);
      }),
      { numRuns: 5000 },
    );
  });

  it('numeric in place equals get_str_from_var on any header: NaN, ±Infinity, negative weights, dscale padding and cuts, errors', () => {
    // get_str_from_var, written from its definition: group i is worth 10000^(weight - i); digits
    // past ndigits are zeros; the first group without its leading zeros, the next ones of 4 digits
    // (so an unnormalized zero with weight 1 prints 00000, as the server's function would), the
    // fraction cut at dscale.
    const reference = (ndigits: number, weight: number, sign: number, dscale: number, digits: number[], length: number): string => {
      if (sign === 0xc000) return 'NaN';
      if (sign === 0xd000) return 'Infinity';
      if (sign === 0xf000) return '-Infinity';
      if (sign !== 0 && sign !== 0x4000) return `error: invalid sign`;
      if (length !== 8 + 2 * ndigits) return 'error: length';
      const group = (i: number) => String(i >= 0 && i < ndigits ? digits[i] : 0).padStart(4, '0');
      let int = '0';
      if (weight >= 0) {
        int = String(ndigits > 0 ? digits[0] : 0);
        for (let i = 1; i <= weight; i++) int += group(i);
      }
      let frac = '';
      for (let i = weight + 1; frac.length < dscale; i++) frac += group(i);
      return `${sign === 0x4000 ? '-' : ''}${int}${dscale > 0 ? `.${frac.slice(0, dscale)}` : ''}`;
    };
    const header = fc.record({
      digits: fc.array(fc.integer({ min: 0, max: 9999 }), { maxLength: 7 }),
      weight: fc.oneof(fc.integer({ min: -4, max: 6 }), fc.integer({ min: -200, max: 200 })),
      sign: fc.constantFrom(0, 0x4000, 0x4000, 0xc000, 0xd000, 0xf000, 0x1234),
      dscale: fc.oneof(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 1000 })),
      lengthDelta: fc.constantFrom(0, 0, 0, 0, -1, 2),
    });
    fc.assert(
      fc.property(header, around, around, ({ digits, weight, sign, dscale, lengthDelta }, before, after) => {
        const full = Buffer.alloc(8 + 2 * digits.length);
        full.writeUInt16BE(digits.length, 0);
        full.writeInt16BE(weight, 2);
        full.writeUInt16BE(sign, 4);
        full.writeUInt16BE(dscale, 6);
        digits.forEach((x, i) => full.writeUInt16BE(x, 8 + 2 * i));
        const value = lengthDelta <= 0 ? full.subarray(0, Math.max(0, full.length + lengthDelta)) : Buffer.concat([full, Buffer.alloc(lengthDelta)]);
        const buf = Buffer.concat([Buffer.from(before), value, Buffer.from(after)]);
        const s = before.length;
        const got = outcome(() => types.binaryAt(1700)(buf, s, s + value.length));
        expect(got).toEqual(outcome(() => types.binary(1700)(value)));
        if (value.length < 8) return expect(got).toEqual({ error: expect.stringContaining('8 header bytes') });
        const ref = reference(digits.length, weight, sign, dscale, digits, value.length);
        if (ref.startsWith('error')) return expect(got).toEqual({ error: expect.stringContaining('binary numeric') });
        expect(got).toEqual({ value: ref });
      }),
      { numRuns: 20000 },
    );
  });

  it('text-like arrays in place (text[], varchar[], bpchar[], name[]) equal the elements and the reader on a view', () => {
    const int32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeInt32BE(n);
      return b;
    };
    const element = fc.option(fc.oneof(fc.string({ maxLength: 20 }), fc.string({ unit: 'grapheme', maxLength: 12 }), fc.string({ minLength: 15, maxLength: 40 }), fc.constantFrom('', 'NULL', 'alpha', 'a,b', '"q"')), { nil: null });
    const arrays = fc.tuple(fc.constantFrom([1009, 25], [1015, 1043], [1014, 1042], [1003, 19]), fc.array(element, { maxLength: 7 }), fc.constantFrom(1, 1, 1, 0, 2), fc.constantFrom('none', 'none', 'cut', 'extra', 'overrun', 'invalid utf-8'));
    fc.assert(
      fc.property(arrays, ([[oid, el], xs, ndim, corrupt]) => {
        const parts = [int32(ndim), int32(xs.includes(null) ? 1 : 0), int32(el)];
        if (ndim >= 1) parts.push(int32(ndim === 2 ? 1 : xs.length), int32(1));
        if (ndim === 2) parts.push(int32(xs.length), int32(1));
        for (const x of xs) {
          if (x === null) parts.push(int32(-1));
          else {
            const bytes = corrupt === 'invalid utf-8' ? Buffer.concat([Buffer.from(x), Buffer.from([0xe2, 0x82])]) : Buffer.from(x);
            parts.push(int32(corrupt === 'overrun' ? bytes.length + 3 : bytes.length), bytes);
          }
        }
        let value = Buffer.concat(parts);
        if (corrupt === 'cut' && value.length > 0) value = value.subarray(0, value.length - 1);
        if (corrupt === 'extra') value = Buffer.concat([value, Buffer.from([0])]);
        const before = Buffer.from([1, 2]);
        const buf = Buffer.concat([before, value, Buffer.from([3, 4, 5, 6])]);
        const got = outcome(() => types.binaryAt(oid)(buf, 2, 2 + value.length));
        expect(got).toEqual(outcome(() => types.binary(oid)(buf.subarray(2, 2 + value.length))));
        if (ndim === 1 && corrupt === 'none') expect(got).toEqual({ value: xs });
      }),
      { numRuns: 10000 },
    );
  });

  it('numeric in place prints what the server prints', () => {
    const cases: [string, string, boolean, string][] = [
      ['123456', '7890', false, '123456.7890'],
      ['0', '000001', true, '-0.000001'],
      ['', '', false, '0'],
      ['10000', '', false, '10000'],
    ];
    for (const [int, frac, neg, text] of cases) {
      const b = Buffer.concat([Buffer.from([9, 9]), numericBytes(int, frac, neg), Buffer.from([9])]);
      expect(types.binaryAt(1700)(b, 2, b.length - 1)).toBe(text);
    }
  });
});
