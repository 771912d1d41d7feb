import fc from 'fast-check';
import { float4Value, halfEven, onBoundary } from '../../src/values/binary';

/**
 * float4Value's binary search for the fewest digits (issue 18) against the linear search it
 * replaced, which spec/integration/binary-property.spec.ts proved against the server's float4out.
 */
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
