import { LsnFormatError } from './errors';

const HALF = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;
const MAX = (1n << 64n) - 1n;

/**
 * A WAL position (Log Sequence Number): an unsigned 64-bit byte offset into the write-ahead log.
 *
 * Held as its two 32-bit halves (numbers), as `XLogRecPtr` is printed; the `bigint` {@link value}
 * is built when first read. `valueOf()` returns that bigint, so `<`, `>` and `<=` compare two LSNs
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
  static readonly ZERO = new Lsn(0, 0);

  /** @internal The high 32 bits, an unsigned integer. */
  readonly hi: number;
  /** @internal The low 32 bits, an unsigned integer. */
  readonly lo: number;
  // The bigint, built on first read: the replication hot path compares the halves and never needs it.
  #value: bigint | undefined;

  private constructor(hi: number, lo: number) {
    this.hi = hi;
    this.lo = lo;
  }

  /** The position as an unsigned 64-bit `bigint`. */
  get value(): bigint {
    return (this.#value ??= this.hi === 0 ? BigInt(this.lo) : (BigInt(this.hi) << 32n) | BigInt(this.lo));
  }

  /** @internal An LSN from its halves (unsigned 32-bit integers, unchecked). */
  static fromParts(hi: number, lo: number): Lsn {
    return hi === 0 && lo === 0 ? Lsn.ZERO : new Lsn(hi, lo);
  }

  /** @internal `a > b` on halves, without building the bigints. */
  static after(aHi: number, aLo: number, b: Lsn): boolean {
    return aHi > b.hi || (aHi === b.hi && aLo > b.lo);
  }

  /**
   * Parses `X/Y`: two halves of 1 to 8 hexadecimal digits each, padded or not, any case.
   * @throws {LsnFormatError} for anything else, including whitespace, signs and `0x` prefixes.
   */
  static parse(text: string): Lsn {
    const m = HALF.exec(text);
    if (m === null) throw new LsnFormatError(text);
    return Lsn.fromParts(parseInt(m[1], 16), parseInt(m[2], 16));
  }

  /**
   * Wraps a 64-bit unsigned value (a `bigint`, or a safe non-negative integer `number`), or returns an `Lsn` as is.
   * @throws {RangeError} when the value is negative, fractional or above 2^64 - 1.
   */
  static from(value: bigint | number | Lsn): Lsn {
    if (value instanceof Lsn) return value;
    const v = typeof value === 'number' ? toBigInt(value) : value;
    if (v < 0n || v > MAX) throw new RangeError(`LSN out of range: ${value}`);
    return v === 0n ? Lsn.ZERO : new Lsn(Number(v >> 32n), Number(v & 0xffffffffn));
  }

  /** Reads a big-endian unsigned 64-bit LSN at `offset`; the caller bounds the read. */
  static read(buf: Buffer, offset: number): Lsn {
    const hi = ((buf[offset] << 24) | (buf[offset + 1] << 16) | (buf[offset + 2] << 8) | buf[offset + 3]) >>> 0;
    const lo = ((buf[offset + 4] << 24) | (buf[offset + 5] << 16) | (buf[offset + 6] << 8) | buf[offset + 7]) >>> 0;
    return hi === 0 && lo === 0 ? Lsn.ZERO : new Lsn(hi, lo);
  }

  /** The larger of two LSNs. */
  static max(a: Lsn, b: Lsn): Lsn {
    return a.compare(b) >= 0 ? a : b;
  }

  /** The smaller of two LSNs. */
  static min(a: Lsn, b: Lsn): Lsn {
    return a.compare(b) <= 0 ? a : b;
  }

  /** -1, 0 or 1, for sorting. */
  compare(other: Lsn): number {
    if (this.hi !== other.hi) return this.hi < other.hi ? -1 : 1;
    return this.lo < other.lo ? -1 : this.lo > other.lo ? 1 : 0;
  }

  equals(other: Lsn): boolean {
    return this.hi === other.hi && this.lo === other.lo;
  }

  isZero(): boolean {
    return this.hi === 0 && this.lo === 0;
  }

  /** This LSN plus `bytes`. */
  add(bytes: bigint | number): Lsn {
    return Lsn.from(this.value + BigInt(bytes));
  }

  valueOf(): bigint {
    return this.value;
  }

  toString(): string {
    return `${this.hi.toString(16).toUpperCase()}/${this.lo.toString(16).toUpperCase()}`;
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
