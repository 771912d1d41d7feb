import { ParseError } from '../errors';
import { Lsn } from '../lsn';
import { HOT_STANDBY_FEEDBACK, PRIMARY_KEEPALIVE, STANDBY_STATUS_UPDATE, XLOG_DATA_HEADER } from './layouts';

/**
 * An XLogData message: WAL bytes (physical) or one output-plugin message (logical).
 * Follows "Streaming Replication Protocol", START_REPLICATION, XLogData (B).
 *
 * In a logical stream `walStart` and `walEnd` are the LSN of the WAL record that produced the
 * message, and 0/0 for messages the walsender writes ahead of it (pgoutput's Relation and Type).
 */
export interface XLogData {
  readonly type: 'xlogdata';
  /** Position of the first byte of `data` in the WAL (physical), or of the decoded record (logical). */
  readonly walStart: Lsn;
  /** The server's current end of WAL. */
  readonly walEnd: Lsn;
  /** Server clock at transmission, microseconds since 2000-01-01 UTC. */
  readonly sendTime: bigint;
  /** The payload. A view into the received bytes that stays valid; copy it only if you will mutate it. */
  readonly data: Buffer;
}

/** A primary keepalive message ("Streaming Replication Protocol", Primary keepalive message (B)). */
export interface PrimaryKeepalive {
  readonly type: 'keepalive';
  /** The server's current end of WAL. */
  readonly walEnd: Lsn;
  /** Server clock at transmission, microseconds since 2000-01-01 UTC. */
  readonly sendTime: bigint;
  /** The server asks for a standby status update at once, or it will time the client out. */
  readonly replyRequested: boolean;
}

/** What a replication source emits. */
export type ReplicationFrame = XLogData | PrimaryKeepalive;

/** @internal */
export const TAG_XLOG_DATA = 0x77; // 'w'
const TAG_KEEPALIVE = 0x6b; // 'k'
/** @internal Bytes of the XLogData header before the payload (tag, walStart, walEnd, sendTime). */
export const XLOG_HEADER_SIZE = XLOG_DATA_HEADER.span;
/** @internal Offsets of walStart and walEnd in an XLogData message. */
export const WAL_START = XLOG_DATA_HEADER.offsetOf('walStart')!;
/** @internal */
export const WAL_END = XLOG_DATA_HEADER.offsetOf('walEnd')!;
const SEND_TIME = XLOG_DATA_HEADER.offsetOf('sendTime')!;

/**
 * Decodes the CopyData body `buf[start, end)` of a replication stream.
 * XLogData is read at the offsets its declared layout gives, without building an intermediate
 * object, because it is the hot path; the rare keepalive goes through the layout itself.
 * @throws {ParseError} for an unknown frame tag or a frame shorter than its fixed fields.
 */
export function decodeReplicationFrame(buf: Buffer, start = 0, end = buf.length): ReplicationFrame {
  const size = end - start;
  const tag = size > 0 ? buf[start] : -1;
  if (tag === TAG_XLOG_DATA) {
    if (size < XLOG_HEADER_SIZE) throw truncated('w', size, XLOG_HEADER_SIZE);
    const walStart = Lsn.read(buf, start + WAL_START);
    const walEnd = Lsn.read(buf, start + WAL_END);
    return {
      type: 'xlogdata',
      walStart,
      walEnd: walEnd.value === walStart.value ? walStart : walEnd,
      sendTime: buf.readBigInt64BE(start + SEND_TIME),
      data: buf.subarray(start + XLOG_HEADER_SIZE, end),
    };
  }
  if (tag === TAG_KEEPALIVE) {
    if (size < PRIMARY_KEEPALIVE.span) throw truncated('k', size, PRIMARY_KEEPALIVE.span);
    const k = PRIMARY_KEEPALIVE.decode(buf, start);
    return { type: 'keepalive', walEnd: Lsn.from(k.walEnd), sendTime: k.sendTime, replyRequested: k.replyRequested !== 0 };
  }
  if (tag === -1) throw new ParseError('empty replication frame', undefined, undefined, 0);
  throw new ParseError('unknown replication frame', String.fromCharCode(tag), undefined, 0);
}

/** @internal A big-endian unsigned 32-bit integer at `at`; the caller bounds the read. */
export function u32At(buf: Buffer, at: number): number {
  return ((buf[at] << 24) | (buf[at + 1] << 16) | (buf[at + 2] << 8) | buf[at + 3]) >>> 0;
}

/** @internal The error for an XLogData shorter than its header. */
export function truncatedXLogData(size: number): ParseError {
  return truncated('w', size, XLOG_HEADER_SIZE);
}

function truncated(tag: string, size: number, need: number): ParseError {
  return new ParseError(`replication frame of ${size} bytes, shorter than its ${need}-byte header`, tag, undefined, size);
}

/** Positions for a standby status update; each is the LSN just past the last byte done. */
export interface StandbyStatus {
  written: Lsn;
  flushed: Lsn;
  applied: Lsn;
  /** Client clock, microseconds since 2000-01-01 UTC. */
  clientTime: bigint;
  /** Ask the server to answer with a keepalive at once. */
  replyRequested?: boolean;
}

/** Encodes a standby status update `r` (34 bytes), to send inside CopyData. */
export function encodeStandbyStatusUpdate(s: StandbyStatus): Buffer {
  const b = Buffer.alloc(STANDBY_STATUS_UPDATE.span);
  STANDBY_STATUS_UPDATE.encode(
    { tag: 0x72, written: s.written.value, flushed: s.flushed.value, applied: s.applied.value, clientTime: s.clientTime, replyRequested: s.replyRequested ? 1 : 0 },
    b,
  );
  return b;
}

/** Decodes a standby status update; the counterpart of {@link encodeStandbyStatusUpdate}, for tests and proxies. */
export function decodeStandbyStatusUpdate(b: Buffer): StandbyStatus {
  if (b.length < STANDBY_STATUS_UPDATE.span || b[0] !== 0x72) throw new ParseError('not a standby status update', String.fromCharCode(b[0] ?? 0), undefined, 0);
  const s = STANDBY_STATUS_UPDATE.decode(b);
  return { written: Lsn.from(s.written), flushed: Lsn.from(s.flushed), applied: Lsn.from(s.applied), clientTime: s.clientTime, replyRequested: s.replyRequested !== 0 };
}

/** Transaction horizons for hot standby feedback; a 0 xmin means "no hold". */
export interface HotStandbyFeedback {
  clientTime: bigint;
  xmin: number;
  xminEpoch: number;
  catalogXmin: number;
  catalogXminEpoch: number;
}

/** Encodes hot standby feedback `h` (25 bytes), to send inside CopyData. */
export function encodeHotStandbyFeedback(f: HotStandbyFeedback): Buffer {
  const b = Buffer.alloc(HOT_STANDBY_FEEDBACK.span);
  HOT_STANDBY_FEEDBACK.encode({ tag: 0x68, ...f }, b);
  return b;
}

/** Encodes an XLogData frame; the server's side, for tests and replays. */
export function encodeXLogData(walStart: Lsn, walEnd: Lsn, sendTime: bigint, data: Buffer): Buffer {
  const b = Buffer.allocUnsafe(XLOG_HEADER_SIZE + data.length);
  XLOG_DATA_HEADER.encode({ tag: TAG_XLOG_DATA, walStart: walStart.value, walEnd: walEnd.value, sendTime }, b);
  data.copy(b, XLOG_HEADER_SIZE);
  return b;
}

/** Encodes a primary keepalive; the server's side, for tests and replays. */
export function encodePrimaryKeepalive(walEnd: Lsn, sendTime: bigint, replyRequested: boolean): Buffer {
  const b = Buffer.alloc(PRIMARY_KEEPALIVE.span);
  PRIMARY_KEEPALIVE.encode({ tag: TAG_KEEPALIVE, walEnd: walEnd.value, sendTime, replyRequested: replyRequested ? 1 : 0 }, b);
  return b;
}
