import { float8Text } from '../../src/values/binary-text';
import {
  BinaryFormatError,
  dateToText,
  float4Value,
  inetText,
  intervalToText,
  numericToText,
  readArray,
  timestampToText,
  timestamptzToText,
  timetzToText,
  timeToText,
} from '../../src/values/binary';
import { BinaryValue, TypeRegistry } from '../../src/values';

const i64 = (v: bigint) => {
  const b = Buffer.alloc(8);
  b.writeBigInt64BE(v);
  return b;
};
const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};
const u16s = (...v: number[]) => {
  const b = Buffer.alloc(2 * v.length);
  v.forEach((x, i) => b.writeUInt16BE(x, 2 * i));
  return b;
};
/** numeric_send bytes: ndigits, weight, sign, dscale, digits. */
const numeric = (weight: number, sign: number, dscale: number, ...digits: number[]) => {
  const b = u16s(digits.length, 0, sign, dscale, ...digits);
  b.writeInt16BE(weight, 2);
  return b;
};

describe('binary numeric', () => {
  it.each([
    [numeric(0, 0, 0), '0'],
    [numeric(0, 0, 4), '0.0000'],
    [numeric(1, 0, 0, 1, 0), '10000'],
    [numeric(1, 0x4000, 2, 9999, 9999, 9999), '-99999999.99'],
    [numeric(-2, 0x4000, 6, 100), '-0.000001'],
    [numeric(-5, 0, 20, 1), '0.00000000000000000001'],
    [numeric(2, 0, 3, 12, 3456, 7890, 1230), '1234567890.123'],
    [numeric(0, 0xc000, 0), 'NaN'],
    [numeric(0, 0xd000, 0), 'Infinity'],
    [numeric(0, 0xf000, 0), '-Infinity'],
  ])('case %#: prints the text get_str_from_var prints', (bytes, text) => {
    expect(numericToText(bytes)).toBe(text);
  });

  it('rejects an invalid sign and a wrong length', () => {
    expect(() => numericToText(numeric(0, 0x1234, 0))).toThrow(BinaryFormatError);
    expect(() => numericToText(numeric(0, 0, 0, 1).subarray(0, 9))).toThrow(BinaryFormatError);
  });
});

describe('binary dates and times', () => {
  it('prints dates, BC dates, far-future dates and infinities', () => {
    expect(dateToText(i32(0))).toBe('2000-01-01');
    expect(dateToText(i32(-1))).toBe('1999-12-31');
    expect(dateToText(i32(-730119))).toBe('0001-01-01');
    expect(dateToText(i32(-730120))).toBe('0001-12-31 BC');
    expect(dateToText(i32(-2451545))).toBe('4714-11-24 BC'); // Julian day 0
    expect(dateToText(i32(2147483493 - 2451545))).toBe('5874897-12-31');
    expect(dateToText(i32(0x7fffffff))).toBe('infinity');
    expect(dateToText(i32(-0x80000000))).toBe('-infinity');
  });

  it('prints timestamps with trimmed microseconds, before 2000 and BC', () => {
    expect(timestampToText(i64(0n))).toBe('2000-01-01 00:00:00');
    expect(timestampToText(i64(-1n))).toBe('1999-12-31 23:59:59.999999');
    expect(timestampToText(i64(500_000n))).toBe('2000-01-01 00:00:00.5');
    expect(timestamptzToText(i64(86_400_000_001n))).toBe('2000-01-02 00:00:00.000001+00');
    expect(timestamptzToText(i64(-730120n * 86_400_000_000n))).toBe('0001-12-31 00:00:00+00 BC');
    expect(timestampToText(i64(0x7fffffffffffffffn))).toBe('infinity');
    expect(timestamptzToText(i64(-0x8000000000000000n))).toBe('-infinity');
  });

  it('prints time, 24:00:00, and timetz offsets west of UTC as negative', () => {
    expect(timeToText(i64(0n))).toBe('00:00:00');
    expect(timeToText(i64(86_400_000_000n))).toBe('24:00:00');
    expect(timeToText(i64(45_000_123_000n))).toBe('12:30:00.123');
    expect(timetzToText(Buffer.concat([i64(0n), i32(-19800)]))).toBe('00:00:00+05:30');
    expect(timetzToText(Buffer.concat([i64(0n), i32(3723)]))).toBe('00:00:00-01:02:03');
    expect(timetzToText(Buffer.concat([i64(0n), i32(0)]))).toBe('00:00:00+00');
  });

  it('prints intervals in IntervalStyle postgres', () => {
    const interval = (us: bigint, days: number, months: number) => intervalToText(Buffer.concat([i64(us), i32(days), i32(months)]));
    expect(interval(0n, 0, 0)).toBe('00:00:00');
    expect(interval(14_706_789_000n, 3, 14)).toBe('1 year 2 mons 3 days 04:05:06.789');
    expect(interval(-14_706_000_000n, 3, -14)).toBe('-1 years -2 mons +3 days -04:05:06');
    expect(interval(-1_000_000n, 1, 0)).toBe('1 day -00:00:01');
    expect(interval(0n, -1, 0)).toBe('-1 days');
    expect(interval(9_223_372_036_854_775_807n, 2147483647, 2147483647)).toBe('infinity');
    expect(interval(-9_223_372_036_854_775_808n, -2147483648, -2147483648)).toBe('-infinity');
    expect(interval(9_223_372_036_000_000_000n, 0, 0)).toBe('2562047787:46:40');
  });
});

describe('binary floats', () => {
  it('gives float4 the shortest decimal that reads back, as float4out prints it', () => {
    const f4 = (x: number) => {
      const b = Buffer.alloc(4);
      b.writeFloatBE(x);
      return float4Value(b);
    };
    expect(f4(1.1)).toBe(1.1);
    expect(f4(0.1)).toBe(0.1);
    expect(f4(350925.625)).toBe(350925.62); // a tie: Ryu rounds to the even digit
    expect(f4(-350925.625)).toBe(-350925.62);
    expect(f4(57439352)).toBe(57439352); // 5.743935e7 reads back only by rounding a tie
    expect(f4(-57439352)).toBe(-57439352);
    expect(f4(3.4028234663852886e38)).toBe(3.4028235e38);
    expect(f4(1.401298464324817e-45)).toBe(1e-45);
    expect(Object.is(f4(-0), -0)).toBe(true);
    expect(f4(Number.NaN)).toBeNaN();
    expect(f4(-Infinity)).toBe(-Infinity);
  });
});

describe('binary inet', () => {
  const inet = (family: number, bits: number, cidr: boolean, addr: number[]) => inetText(Buffer.from([family, bits, cidr ? 1 : 0, addr.length, ...addr]));
  const v6 = (...words: number[]) => [...u16s(...words)];
  it('prints IPv4 with the mask only where network_out does', () => {
    expect(inet(2, 32, false, [10, 0, 0, 1])).toBe('10.0.0.1');
    expect(inet(2, 24, false, [10, 0, 0, 1])).toBe('10.0.0.1/24');
    expect(inet(2, 32, true, [10, 0, 0, 1])).toBe('10.0.0.1/32');
  });
  it('compresses the first longest zero run of IPv6, never a single group', () => {
    expect(inet(3, 128, false, v6(0, 0, 0, 0, 0, 0, 0, 1))).toBe('::1');
    expect(inet(3, 128, false, v6(0, 0, 0, 0, 0, 0, 0, 0))).toBe('::');
    expect(inet(3, 128, false, v6(1, 0, 0, 1, 1, 0, 0, 1))).toBe('1::1:1:0:0:1');
    expect(inet(3, 128, false, v6(0x2001, 0xdb8, 0, 1, 1, 1, 1, 1))).toBe('2001:db8:0:1:1:1:1:1');
    expect(inet(3, 64, true, v6(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0))).toBe('2001:db8::/64');
    expect(inet(3, 128, false, v6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304))).toBe('::ffff:1.2.3.4');
  });
  it('rejects a family with the wrong address length', () => {
    expect(() => inet(2, 32, false, [1, 2, 3])).toThrow(BinaryFormatError);
  });
});

describe('binary arrays', () => {
  const array = (dims: number[], elementOid: number, elements: (Buffer | null)[]) =>
    Buffer.concat([
      i32(dims.length),
      i32(elements.includes(null) ? 1 : 0),
      i32(elementOid),
      ...dims.flatMap((d) => [i32(d), i32(1)]),
      ...elements.map((e) => (e === null ? i32(-1) : Buffer.concat([i32(e.length), e]))),
    ]);
  it('nests multi-dimensional arrays with NULLs in row-major order', () => {
    const bytes = array([2, 2], 23, [i32(1), i32(2), i32(3), null]);
    expect(readArray(bytes, (b) => b.readInt32BE(0))).toEqual([
      [1, 2],
      [3, null],
    ]);
    expect(new TypeRegistry().binary(1007)(bytes)).toEqual([
      [1, 2],
      [3, null],
    ]);
  });
  it('reads an empty array and rejects trailing or missing bytes', () => {
    expect(readArray(Buffer.concat([i32(0), i32(0), i32(23)]), () => 0)).toEqual([]);
    const bytes = array([1], 23, [i32(1)]);
    expect(() => readArray(Buffer.concat([bytes, Buffer.from([0])]), (b) => b.readInt32BE(0))).toThrow(BinaryFormatError);
    expect(() => readArray(bytes.subarray(0, bytes.length - 1), (b) => b.readInt32BE(0))).toThrow(BinaryFormatError);
  });
});

describe('float8Text (geometric types)', () => {
  it('prints float8out\'s digits, never a decimal halfway to the next double', () => {
    // As PostgreSQL 18 prints them (found by spec/integration/binary-property.spec.ts).
    expect(float8Text(-30377319409065030)).toBe('-3.0377319409065032e+16');
    expect(float8Text(1e20)).toBe('1e+20');
    expect(float8Text(0.00001)).toBe('1e-05');
    expect(float8Text(-0.00012)).toBe('-0.00012');
    expect(float8Text(123456789012345)).toBe('123456789012345');
    expect(float8Text(1234567890123456)).toBe('1.234567890123456e+15');
    expect(float8Text(-0)).toBe('-0');
  });
});

describe('TypeRegistry', () => {
  it('returns unknown binary types as a copy of their bytes with the OID', () => {
    const view = Buffer.from([1, 2, 3]);
    // A type the stream never announced (an extension type's OID).
    const value = new TypeRegistry().binary(600_000)(view) as BinaryValue;
    expect(value).toBeInstanceOf(BinaryValue);
    expect(value.typeOid).toBe(600_000);
    expect([...value.bytes]).toEqual([1, 2, 3]);
    view[0] = 9;
    expect(value.bytes[0]).toBe(1);
  });

  it('gives regclass, regtype and regproc in binary as their OID (the name needs the catalog), not binaryKnown', () => {
    const types = new TypeRegistry();
    for (const oid of [24, 2205, 2206]) {
      expect(types.binary(oid)(Buffer.from([0, 0, 4, 0xeb]))).toBe(1259);
      expect(types.binaryKnown(oid)).toBe(false);
      expect(types.text(oid)('pg_class')).toBe('pg_class');
    }
    const array = Buffer.from([0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 8, 0x9d, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 4, 0xeb, 0xff, 0xff, 0xff, 0xff]);
    expect(types.binary(2210)(array)).toEqual([1259, null]);
    // A text parser for the type expects names: binary values stay raw then.
    expect(new TypeRegistry({ parsers: { regclass: (s) => `name:${s}` } }).binary(2205)(Buffer.from([0, 0, 4, 0xeb]))).toBeInstanceOf(BinaryValue);
  });

  it('parses int8 as string or bigint in both formats', () => {
    const bytes = i64(-9223372036854775808n);
    expect(new TypeRegistry().binary(20)(bytes)).toBe('-9223372036854775808');
    expect(new TypeRegistry({ int8: 'bigint' }).binary(20)(bytes)).toBe(-9223372036854775808n);
    expect(new TypeRegistry({ int8: 'bigint' }).text(1016)('{1,NULL}')).toEqual([1n, null]);
  });

  it('decodes a domain announced with its built-in base type as that type, and other announced types as the text pg gets', () => {
    const types = new TypeRegistry();
    types.announce({ oid: 16400, schema: '', name: 'int4' });
    types.announce({ oid: 16401, schema: 'public', name: 'mood' });
    expect(types.text(16400)('42')).toBe(42);
    expect(types.binary(16400)(i32(42))).toBe(42);
    expect(types.text(16401)('happy')).toBe('happy');
    // enum_send is the label's text; bytes that are neither a label nor a record stay a BinaryValue.
    expect(types.binary(16401)(Buffer.from('happy'))).toBe('happy');
    expect(types.binary(16401)(Buffer.from([1, 2, 3]))).toBeInstanceOf(BinaryValue);
    // record_send: 2 columns, int4 7 and a NULL text.
    expect(types.binary(16401)(Buffer.concat([i32(2), i32(23), i32(4), i32(7), i32(25), i32(-1)]))).toBe('(7,)');
    expect(types.typeName(16401)).toBe('public.mood');
    expect(types.typeName(16400)).toBe('pg_catalog.int4');
  });
});
