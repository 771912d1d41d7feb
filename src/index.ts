export { Lsn } from './lsn';
export {
  WalstreamError,
  PgError,
  type PgErrorFields,
  ConnectionError,
  ProtocolError,
  AuthenticationError,
  LsnFormatError,
  ConfigurationError,
  ParseError,
  SlotLostError,
} from './errors';
export { pgTimestampToDate, pgTimestampToIso, dateToPgTimestamp } from './time';
export type { ConnectionOptions } from './wire/config';
export {
  type ReplicationFrame,
  type XLogData,
  type PrimaryKeepalive,
  type StandbyStatus,
  type HotStandbyFeedback,
  decodeReplicationFrame,
  encodeStandbyStatusUpdate,
  decodeStandbyStatusUpdate,
  encodeHotStandbyFeedback,
  encodeXLogData,
  encodePrimaryKeepalive,
} from './protocol/frames';
export * from './pgoutput/messages';
export { Row, UNCHANGED_TOAST, type UnchangedToast, type RawValue, type ColumnKind } from './pgoutput/row';
export { PgoutputDecoder, type TypeInfo } from './pgoutput/decoder';
export { LsnFeedback, ConsumerFailedError } from './source/feedback';
export { logicalReplication, type LogicalReplicationOptions } from './source/logical';
export type { PgoutputOptions } from './source/start-replication';
export {
  ReplicationClient,
  type SystemIdentity,
  type CreateLogicalSlotOptions,
  type CreatedSlot,
} from './control/client';
export { quoteIdent, quoteLiteral, quoteSlotName } from './sql';
export { messageToJson, type JsonRecord } from './json';
export { TlsHandshakeError } from './errors';
export { UnsafeBackupPathError } from './errors';
export type { SslMode, SslNegotiation, ChannelBinding, TlsProtocolVersion } from './wire/config';
export { JSON_NULL, type JsonNull } from './values/registry';
export { TypeRegistry, type TypeOptions, type TypeParser, type TextParser, type BinaryParser, type AnnouncedType } from './values/registry';
export { BinaryValue } from './values/binary';
export { ColumnValueError, RowMappingError, type RowMappingProblem, type ColumnLocation } from './values/errors';
export type { PgoutputDecoderOptions } from './pgoutput/decoder';
export { mapRow, type RowMapper, type RowSchema, type RowOf, type RowWithToastOf, type Field, type FieldSpec, type FieldType, type MapRowOptions } from './values/map-row';
export { relationKey, isChangeOf } from './values/relation-key';
export { JSON_TYPE_OPTIONS, jsonValue, type MessageToJsonOptions } from './json';
export { updatedValues } from './values/updated-values';
export { type FlowControlOptions, DEFAULT_MAX_PENDING_TRANSACTIONS, DEFAULT_MAX_PENDING_BYTES } from './source/flow-control';
export {
  physicalReplication,
  type PhysicalReplicationOptions,
  type PhysicalFrame,
  type PhysicalStreamStart,
  type TimelineHistoryFile,
  type TimelineSwitch,
  type StandbyXmin,
} from './source/physical';
export { type PhysicalFlowControlOptions } from './source/pending-bytes';
export { type ReceiveTimeoutOptions } from './source/copy-both';
export { WalSegmentWriter, WalWriteError, findStreamingStart, type WalSegmentWriterOptions, type CompletedSegment, type StreamingStart } from './physical/wal-writer';
export { receiveWal, type ReceiveWalOptions } from './physical/receive-wal';
export { segmentFileName, parseSegmentFileName, historyFileName, parseWalSegmentSize, type SegmentId } from './physical/wal-names';
export {
  baseBackup,
  baseBackupCommand,
  type BaseBackupOptions,
  type BaseBackupCommandOptions,
  type BaseBackupEvent,
  type BackupTablespace,
  type BackupCompression,
} from './physical/base-backup';
export { backupToDirectory, type BackupToDirectoryOptions } from './physical/backup-to-directory';
export { Backpressure } from './physical/backpressure';
export { UnsupportedOptionError } from './errors';
export { encodePgoutput, rowOf } from './pgoutput/encoder';
export { resolvePgoutputOptions, maxProtoVersion, type ProtoVersion } from './source/start-replication';
export {
  type CreateReplicationSlotOptions,
  type ReplicationSlotInfo,
  type TimelineHistory,
  type TimelineHistoryEntry,
  parseTimelineHistory,
} from './control/client';
export type { Logger, LoggedError } from './logger';
export type { ReplicationObserver, SourceConnected, ObservabilityOptions } from './source/observer';
export * from './snapshot/index';
