/**
 * `pg-walstream/protocol`: the bytes of the replication protocol, for tools and tests that speak
 * it directly: CopyBoth frame codecs (both directions, so a test can play the server), the
 * pgoutput decoder and encoder, the pgoutput option resolver, PostgreSQL timestamps, command
 * quoting and the timeline history parser. A CDC consumer needs none of it: the sources and
 * `pg-walstream/operators` use it inside.
 *
 * @packageDocumentation
 * @module pg-walstream/protocol
 */

/* CopyBoth frames ("Streaming Replication Protocol"): XLogData, keepalive, standby status, hot standby feedback */
export {
  decodeReplicationFrame,
  encodeStandbyStatusUpdate,
  decodeStandbyStatusUpdate,
  encodeHotStandbyFeedback,
  encodeXLogData,
  encodePrimaryKeepalive,
  type ReplicationFrame,
  type XLogData,
  type PrimaryKeepalive,
  type StandbyStatus,
  type HotStandbyFeedback,
} from './frames';

/* pgoutput ("Logical Replication Message Formats") */
export { PgoutputDecoder, type PgoutputDecoderOptions, type TypeInfo } from '../pgoutput/decoder';
export { encodePgoutput, rowOf } from '../pgoutput/encoder';
export { resolvePgoutputOptions, maxProtoVersion, type PgoutputOptions, type ProtoVersion } from '../source/start-replication';

/* PostgreSQL timestamps: microseconds since 2000-01-01 UTC */
export { pgTimestampToDate, pgTimestampToIso, dateToPgTimestamp } from '../time';

/* Commands: quoting and answers */
export { quoteIdent, quoteLiteral, quoteSlotName } from '../sql';
export { parseTimelineHistory, type TimelineHistoryEntry } from '../control/commands';
