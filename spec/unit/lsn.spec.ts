import { Lsn, LsnFormatError } from '../../src';

describe('Lsn', () => {
  it.each([
    ['0/0', 0n],
    ['0/1', 1n],
    ['16/B374D848', 0x16_b374_d848n],
    ['16/b374d848', 0x16_b374_d848n],
    ['00000016/0B374D84', 0x16_0b37_4d84n],
    ['FFFFFFFF/FFFFFFFF', (1n << 64n) - 1n],
  ])('parses %s', (text, value) => {
    expect(Lsn.parse(text).value).toBe(value);
  });

  it.each(['', '0', '/0', '0/', '1/2/3', '123456789/0', '0/123456789', ' 0/1', '0/1 ', '0x1/2', '-1/0', '+1/0', 'G/0', '0/1\n', '1_0/0'])(
    'rejects %j with a typed error',
    (text) => {
      expect(() => Lsn.parse(text)).toThrow(LsnFormatError);
    },
  );

  it('formats like pg_lsn: uppercase, unpadded', () => {
    expect(Lsn.from(0x16_0b37_4d84n).toString()).toBe('16/B374D84');
    expect(Lsn.from(0n).toString()).toBe('0/0');
    expect(Lsn.parse('0000000A/0000000B').toString()).toBe('A/B');
    expect(JSON.stringify({ at: Lsn.parse('1/2') })).toBe('{"at":"1/2"}');
  });

  it('compares with relational operators, compare() and equals()', () => {
    const a = Lsn.parse('1/FFFFFFFF');
    const b = Lsn.parse('2/0');
    expect(a < b).toBe(true);
    expect(b > a).toBe(true);
    expect(a.compare(b)).toBe(-1);
    expect(b.compare(a)).toBe(1);
    expect(a.compare(Lsn.parse('1/ffffffff'))).toBe(0);
    expect(a.equals(Lsn.parse('1/FFFFFFFF'))).toBe(true);
    expect(Lsn.max(a, b)).toBe(b);
    expect(Lsn.min(a, b)).toBe(a);
  });

  it('rejects values outside 64 bits', () => {
    expect(() => Lsn.from(-1n)).toThrow(RangeError);
    expect(() => Lsn.from(1n << 64n)).toThrow(RangeError);
    expect(() => Lsn.from(0.5)).toThrow(RangeError);
    expect(Lsn.from(5).add(3).value).toBe(8n);
  });

  it('reads big-endian values from a buffer', () => {
    const b = Buffer.from('00000016b374d848', 'hex');
    expect(Lsn.read(b, 0).toString()).toBe('16/B374D848');
  });
});
