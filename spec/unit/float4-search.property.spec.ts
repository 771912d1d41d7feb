import fc from 'fast-check';
import { float4Value } from '../../src/values/binary';

/**
 * float4Value's binary search for the fewest digits (issue 18) against the linear search it
 * replaced, which spec/integration/binary-property.spec.ts proved against the server's float4out.
 */
const f32 = new Float32Array(1);
const f32bits = new Uint32Array(f32.buffer);
function onBoundary(x: number, y: number): boolean {
  const ax = Math.abs(x);
  const ay = Math.abs(y);
  f32[0] = ax;
  const bits = f32bits[0];
  f32bits[0] = bits + 1;
  const up = f32[0];
  f32bits[0] = bits - 1;
  const down = f32[0];
  return ay === (ax + up) / 2 || ay === (ax + down) / 2;
}
function halfEven(x: number, p: number): number | undefined {
  const [mantissa, exp] = Math.abs(x).toExponential(p).split('e');
  if (!mantissa.endsWith('5') || Number(`${mantissa}e${exp}`) !== Math.abs(x)) return undefined;
  const digits = BigInt(mantissa.replace('.', '').slice(0, p));
  const even = digits % 2n === 0n ? digits : digits + 1n;
  return Math.sign(x) * Number(`${even}e${Number(exp) - (p - 1)}`);
}
function linear(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  for (let p = 1; p < 9; p++) {
    const y = Number(x.toPrecision(p));
    if (Math.fround(y) === x && !onBoundary(x, y)) return halfEven(x, p) ?? y;
  }
  return Number(x.toPrecision(9));
}

describe('float4Value', () => {
  it('finds the same shortest decimal as trying each digit count in turn', () => {
    const bits = fc.integer({ min: 0, max: 0xffffffff });
    const decimals = fc.tuple(fc.integer({ min: -99999999, max: 99999999 }), fc.integer({ min: -45, max: 38 })).map(([m, e]) => {
      const b = Buffer.alloc(4);
      b.writeFloatBE(Number(`${m}e${e}`));
      return b.readUInt32BE(0);
    });
    fc.assert(
      fc.property(fc.oneof(bits, decimals), (u) => {
        const b = Buffer.alloc(4);
        b.writeUInt32BE(u >>> 0);
        expect(Object.is(float4Value(b), linear(b.readFloatBE(0))) || (Number.isNaN(float4Value(b)) && Number.isNaN(linear(b.readFloatBE(0))))).toBe(true);
      }),
      { numRuns: 20000 },
    );
  });
});
