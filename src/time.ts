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

/**
 * Formats a PostgreSQL timestamp as ISO 8601 in UTC with all six fractional digits,
 * e.g. `2026-11-21T05:31:29.123456Z`.
 */
export function pgTimestampToIso(us: bigint): string {
  const unixUs = us + EPOCH_OFFSET_US;
  let ms = unixUs / 1000n;
  let micros = unixUs % 1_000_000n;
  if (micros < 0n) {
    micros += 1_000_000n;
    ms = (unixUs - micros) / 1000n;
  }
  const base = new Date(Number(ms)).toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  return `${base.slice(0, 19)}.${micros.toString().padStart(6, '0')}Z`;
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
