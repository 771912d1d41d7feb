import { LsnFormatError } from './errors';

const HALF = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const MAX = (1n << 64n) - 1n;

/**
 * A WAL position (Log Sequence Number): an unsigned 64-bit byte offset into the write-ahead log.
 *
 * Backed by a `bigint`. `valueOf()` returns that bigint, so `<`, `>` and `<=` compare two LSNs
 * directly; `===` compares identity, so use {@link Lsn.equals} for equality. `toString()` and
 * `toJSON()` give PostgreSQL's `X/Y` form (uppercase hexadecimal, no padding), as `pg_lsn` prints it.
 * Follows `src/include/access/xlogdefs.h` (`XLogRecPtr`, `LSN_FORMAT_ARGS`).
 *
 * @example
 * const a = Lsn.parse('16/B374D848');
 * const b = Lsn.from(0x16_B374_D900n);
 * a < b;            // true
 * b.toString();     // '16/B374D900'
 */
export class Lsn {
  /** `0/0`, the invalid position (`InvalidXLogRecPtr`); as a start position it means "where the slot is". */
  static readonly ZERO = new Lsn(0n);

  private constructor(readonly value: bigint) {}

  /**
   * Parses `X/Y`: two halves of 1 to 8 hexadecimal digits each, padded or not, any case.
   * @throws {LsnFormatError} for anything else, including whitespace, signs and `0x` prefixes.
   */
  static parse(text: string): Lsn {
    const m = HALF.exec(text);
    if (m === null) throw new LsnFormatError(text);
    return new Lsn((BigInt(parseInt(m[1], 16)) << 32n) | BigInt(parseInt(m[2], 16)));
  }

  /**
   * Wraps a 64-bit unsigned value (a `bigint`, or a safe non-negative integer `number`), or returns an `Lsn` as is.
   * @throws {RangeError} when the value is negative, fractional or above 2^64 - 1.
   */
  static from(value: bigint | number | Lsn): Lsn {
    if (value instanceof Lsn) return value;
    const v = typeof value === 'number' ? toBigInt(value) : value;
    if (v < 0n || v > MAX) throw new RangeError(`LSN out of range: ${value}`);
    return v === 0n ? Lsn.ZERO : new Lsn(v);
  }

  /** Reads a big-endian unsigned 64-bit LSN at `offset`; the caller bounds the read. */
  static read(buf: Buffer, offset: number): Lsn {
    const hi = buf.readUInt32BE(offset);
    const lo = buf.readUInt32BE(offset + 4);
    if (hi === 0 && lo === 0) return Lsn.ZERO;
    return new Lsn((BigInt(hi) << 32n) | BigInt(lo));
  }

  /** The larger of two LSNs. */
  static max(a: Lsn, b: Lsn): Lsn {
    return a.value >= b.value ? a : b;
  }

  /** The smaller of two LSNs. */
  static min(a: Lsn, b: Lsn): Lsn {
    return a.value <= b.value ? a : b;
  }

  /** -1, 0 or 1, for sorting. */
  compare(other: Lsn): number {
    return this.value < other.value ? -1 : this.value > other.value ? 1 : 0;
  }

  equals(other: Lsn): boolean {
    return this.value === other.value;
  }

  isZero(): boolean {
    return this.value === 0n;
  }

  /** This LSN plus `bytes`. */
  add(bytes: bigint | number): Lsn {
    return Lsn.from(this.value + BigInt(bytes));
  }

  valueOf(): bigint {
    return this.value;
  }

  toString(): string {
    return `${(this.value >> 32n).toString(16).toUpperCase()}/${(this.value & 0xffffffffn).toString(16).toUpperCase()}`;
  }

  toJSON(): string {
    return this.toString();
  }

  [Symbol.for('nodejs.util.inspect.custom')](): string {
    return `Lsn(${this.toString()})`;
  }
}

function toBigInt(n: number): bigint {
  if (!Number.isSafeInteger(n)) throw new RangeError(`LSN out of range: ${n}`);
  return BigInt(n);
}
