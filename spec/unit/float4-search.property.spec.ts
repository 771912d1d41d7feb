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

  it('gives the same where a digit count ties exactly (integers, halves, g / 3 of the wide scenario)', () => {
    const same = (x: number) => {
      const b = Buffer.alloc(4);
      b.writeFloatBE(x);
      return Object.is(float4Value(b), linear(b.readFloatBE(0)));
    };
    for (let g = 1; g <= 70_000; g++) {
      if (!same(g) || !same(-g) || !same(g / 3) || !same(g + 0.5) || !same(g * 1000)) throw new Error(`float4 of ${g}: differs from the linear search`);
    }
    // Decimals ending in 5 at every scale: exact ties at some digit count where the float4 holds them.
    const ties = fc.tuple(fc.integer({ min: 0, max: 9_999_999 }), fc.integer({ min: -30, max: 30 }), fc.boolean()).map(([m, e, neg]) => Number(`${neg ? '-' : ''}${m}5e${e}`));
    fc.assert(
      fc.property(ties, (x) => same(x)),
      { numRuns: 20000 },
    );
  });
});
