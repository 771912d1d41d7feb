import { ConfigurationError } from '../errors';
import { Lsn } from '../lsn';

/**
 * WAL file names as the server writes them in `pg_wal` (`src/include/access/xlog_internal.h`:
 * `XLogFileName`, `TLHistoryFileName`, `XLogFromFileName`).
 */

/** A WAL segment: timeline and segment number (`XLogSegNo`). */
export interface SegmentId {
  timeline: number;
  segment: bigint;
}

const SEGMENT_NAME = /^([0-9A-F]{8})([0-9A-F]{8})([0-9A-F]{8})$/;

function hex8(n: number | bigint): string {
  return n.toString(16).toUpperCase().padStart(8, '0');
}

function segmentsPerId(segmentSize: number): bigint {
  return 0x1_0000_0000n / BigInt(segmentSize);
}

/**
 * `XLogFileName`: 24 hex digits, timeline then segment number split in two 32-bit halves.
 * @example
 * segmentFileName(1, 256n, 16 * 1024 * 1024); // '000000010000000100000000'
 */
export function segmentFileName(timeline: number, segment: bigint, segmentSize: number): string {
  const per = segmentsPerId(segmentSize);
  return hex8(timeline) + hex8(segment / per) + hex8(segment % per);
}

/**
 * `XLogFromFileName`: the timeline and segment of a file name, or undefined for another name.
 * @example
 * parseSegmentFileName('0000000200000001000000FF', 16 * 1024 * 1024); // { timeline: 2, segment: 511n }
 */
export function parseSegmentFileName(name: string, segmentSize: number): SegmentId | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (m === null) return undefined;
  const per = segmentsPerId(segmentSize);
  const low = BigInt(parseInt(m[3], 16));
  if (low >= per) return undefined;
  return { timeline: parseInt(m[1], 16), segment: BigInt(parseInt(m[2], 16)) * per + low };
}

/** `TLHistoryFileName`: `00000002.history`. */
export function historyFileName(timeline: number): string {
  return `${hex8(timeline)}.history`;
}

/** The segment that holds `lsn` (`XLByteToSeg`). */
export function segmentOf(lsn: Lsn, segmentSize: number): bigint {
  return lsn.value / BigInt(segmentSize);
}

/** The offset of `lsn` in its segment (`XLogSegmentOffset`). */
export function segmentOffset(lsn: Lsn, segmentSize: number): number {
  return Number(lsn.value % BigInt(segmentSize));
}

/** The first LSN of a segment (`XLogSegNoOffsetToRecPtr` with offset 0). */
export function segmentStart(segment: bigint, segmentSize: number): Lsn {
  return Lsn.from(segment * BigInt(segmentSize));
}

/** `lsn` rounded down to the start of its segment, where pg_receivewal always starts streaming. */
export function roundDownToSegment(lsn: Lsn, segmentSize: number): Lsn {
  return segmentStart(segmentOf(lsn, segmentSize), segmentSize);
}

const UNITS: Record<string, number> = { B: 1, kB: 1024, MB: 1024 ** 2, GB: 1024 ** 3 };

/**
 * Parses `SHOW wal_segment_size` (`16MB`, `1GB`, `1048576`): a power of two from 1 MB to 1 GB
 * (`IsValidWalSegSize`), as pg_receivewal's `RetrieveWalSegSize` checks it.
 * @throws {ConfigurationError} for anything else.
 */
export function parseWalSegmentSize(text: string): number {
  const m = /^(\d+)\s*(B|kB|MB|GB)?$/.exec(text.trim());
  const size = m === null ? NaN : Number(m[1]) * UNITS[m[2] ?? 'B'];
  if (!(size >= 1024 ** 2 && size <= 1024 ** 3 && (size & (size - 1)) === 0)) {
    throw new ConfigurationError(`invalid wal_segment_size ${JSON.stringify(text)}: expected a power of two between 1 MB and 1 GB`);
  }
  return size;
}
