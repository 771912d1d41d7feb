/** Microseconds between 1970-01-01 and 2000-01-01 00:00:00 UTC, PostgreSQL's epoch. */
const EPOCH_OFFSET_US = 946_684_800_000_000n;

/**
 * Converts a PostgreSQL timestamp (signed microseconds since 2000-01-01 00:00:00 UTC, as in
 * replication frames and pgoutput messages) to a `Date`. A `Date` holds milliseconds, so the last
 * three digits are dropped; use {@link pgTimestampToIso} to keep them.
 *
 * @example
 * pgTimestampToDate(commit.commitTime).toISOString();
 */
export function pgTimestampToDate(us: bigint): Date {
  return new Date(Number((us + EPOCH_OFFSET_US) / 1000n));
}

const INT64_MAX = 0x7fff_ffff_ffff_ffffn;
const INT64_MIN = -0x8000_0000_0000_0000n;
const US_PER_DAY = 86_400_000_000n;
/** The largest |milliseconds since 1970| a `Date` holds (ECMA-262 "Time Values and Time Range"). */
const MAX_DATE_MS = 8_640_000_000_000_000n;

/**
 * Formats a PostgreSQL timestamp as ISO 8601 in UTC with all six fractional digits,
 * e.g. `2026-11-21T05:31:29.123456Z`. Any Int64 works, including those outside `Date`'s range
 * (±275,760 years), which a corrupted frame can hold: years beyond 0000–9999 take ISO 8601's
 * expanded form (`+294247-01-10T04:00:54.775807Z`), and PostgreSQL's `infinity` and `-infinity`
 * (Int64 max and min, `timestamp.h`) read as those words.
 */
export function pgTimestampToIso(us: bigint): string {
  if (us === INT64_MAX) return 'infinity';
  if (us === INT64_MIN) return '-infinity';
  const unixUs = us + EPOCH_OFFSET_US;
  let ms = unixUs / 1000n;
  let micros = unixUs % 1_000_000n;
  if (micros < 0n) {
    micros += 1_000_000n;
    ms = (unixUs - micros) / 1000n;
  }
  if (ms >= -MAX_DATE_MS && ms <= MAX_DATE_MS) {
    const base = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ, or ±YYYYYY-...
    return `${base.slice(0, base.length - 5)}.${micros.toString().padStart(6, '0')}Z`;
  }
  // Floor division: days since 1970-01-01 and microseconds into that day.
  let days = unixUs / US_PER_DAY;
  let inDay = unixUs % US_PER_DAY;
  if (inDay < 0n) {
    inDay += US_PER_DAY;
    days -= 1n;
  }
  const { year, month, day } = civilFromDays(days);
  const seconds = inDay / 1_000_000n;
  const two = (n: bigint) => n.toString().padStart(2, '0');
  const yearText = year >= 0n && year <= 9999n ? year.toString().padStart(4, '0') : `${year < 0n ? '-' : '+'}${(year < 0n ? -year : year).toString().padStart(6, '0')}`;
  return `${yearText}-${two(month)}-${two(day)}T${two(seconds / 3600n)}:${two((seconds / 60n) % 60n)}:${two(seconds % 60n)}.${(inDay % 1_000_000n).toString().padStart(6, '0')}Z`;
}

/** Proleptic Gregorian date of a day count since 1970-01-01 (Howard Hinnant's `civil_from_days`). */
function civilFromDays(z: bigint): { year: bigint; month: bigint; day: bigint } {
  const shifted = z + 719_468n;
  const era = (shifted >= 0n ? shifted : shifted - 146_096n) / 146_097n;
  const doe = shifted - era * 146_097n;
  const yoe = (doe - doe / 1460n + doe / 36_524n - doe / 146_096n) / 365n;
  const doy = doe - (365n * yoe + yoe / 4n - yoe / 100n);
  const mp = (5n * doy + 2n) / 153n;
  const day = doy - (153n * mp + 2n) / 5n + 1n;
  const month = mp < 10n ? mp + 3n : mp - 9n;
  return { year: yoe + era * 400n + (month <= 2n ? 1n : 0n), month, day };
}

/** Converts a `Date` (or milliseconds since 1970) to PostgreSQL microseconds since 2000-01-01. */
export function dateToPgTimestamp(date: Date | number): bigint {
  const ms = typeof date === 'number' ? date : date.getTime();
  return BigInt(Math.trunc(ms)) * 1000n - EPOCH_OFFSET_US;
}

/** The current time as PostgreSQL microseconds since 2000-01-01, for standby status updates. */
export function nowPgTimestamp(): bigint {
  return dateToPgTimestamp(Date.now());
}
