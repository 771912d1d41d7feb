import { Layout, struct, u32be, u8 } from 'buffer-layout';

/** Big-endian unsigned 64-bit field read as a `bigint` (buffer-layout's own 64-bit layouts round to `number`). */
class U64BE extends Layout<bigint> {
  constructor(property: string) {
    super(8, property);
  }
  override decode(b: Buffer, offset = 0): bigint {
    return b.readBigUInt64BE(offset);
  }
  override encode(src: bigint, b: Buffer, offset = 0): number {
    b.writeBigUInt64BE(src, offset);
    return 8;
  }
}

/** Big-endian signed 64-bit field read as a `bigint`: timestamps in microseconds since 2000-01-01. */
class S64BE extends Layout<bigint> {
  constructor(property: string) {
    super(8, property);
  }
  override decode(b: Buffer, offset = 0): bigint {
    return b.readBigInt64BE(offset);
  }
  override encode(src: bigint, b: Buffer, offset = 0): number {
    b.writeBigInt64BE(src, offset);
    return 8;
  }
}

const u64be = (p: string) => new U64BE(p);
const s64be = (p: string) => new S64BE(p);

// The fixed frames of "Streaming Replication Protocol" (START_REPLICATION), inside CopyData.

/** XLogData `w` header; the WAL data (or pgoutput message) follows it. */
export const XLOG_DATA_HEADER = struct<{ tag: number; walStart: bigint; walEnd: bigint; sendTime: bigint }>([
  u8('tag'),
  u64be('walStart'),
  u64be('walEnd'),
  s64be('sendTime'),
]);

/** Primary keepalive `k`. */
export const PRIMARY_KEEPALIVE = struct<{ tag: number; walEnd: bigint; sendTime: bigint; replyRequested: number }>([
  u8('tag'),
  u64be('walEnd'),
  s64be('sendTime'),
  u8('replyRequested'),
]);

/** Standby status update `r`: positions are "last byte + 1", i.e. the LSN just past what is done. */
export const STANDBY_STATUS_UPDATE = struct<{
  tag: number;
  written: bigint;
  flushed: bigint;
  applied: bigint;
  clientTime: bigint;
  replyRequested: number;
}>([u8('tag'), u64be('written'), u64be('flushed'), u64be('applied'), s64be('clientTime'), u8('replyRequested')]);

/** Hot standby feedback `h`. */
export const HOT_STANDBY_FEEDBACK = struct<{
  tag: number;
  clientTime: bigint;
  xmin: number;
  xminEpoch: number;
  catalogXmin: number;
  catalogXminEpoch: number;
}>([u8('tag'), s64be('clientTime'), u32be('xmin'), u32be('xminEpoch'), u32be('catalogXmin'), u32be('catalogXminEpoch')]);
