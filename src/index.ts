/**
 * pg-walstream: PostgreSQL's write-ahead log as RxJS Observables.
 *
 * The root holds what a change-data-capture consumer needs: the sources, the acknowledgement
 * channel, the control connection, LSNs, rows and the errors. Everything else lives in a named
 * subpath (docs/architecture.md lists them): `pg-walstream/operators`, `pg-walstream/protocol`,
 * `pg-walstream/values`, `pg-walstream/physical`, `pg-walstream/snapshot`, `pg-walstream/testing`,
 * `pg-walstream/metrics`, `pg-walstream/sinks/*` and `pg-walstream/browser`.
 * spec/unit/public-surface.spec.ts pins the runtime names below: adding one is a deliberate choice.
 *
 * @packageDocumentation
 * @module pg-walstream
 */

/* Sources: Observables of a slot's changes, a server's raw WAL, or a table's existing rows */
export { logicalReplication } from './source/logical';
export { physicalReplication } from './source/physical';
export { initialSnapshot } from './snapshot/initial-snapshot';

/* Acknowledgement: the only thing that flows back to the server */
export { LsnFeedback } from './source/feedback';

/* Control: slots and walsender commands */
export { ReplicationClient } from './control/client';

/* Positions and rows */
export { Lsn } from './lsn';
export { Row, UNCHANGED_TOAST } from './pgoutput/row';

/* Errors: every one extends WalstreamError */
export {
  WalstreamError,
  PgError,
  ConnectionError,
  TlsHandshakeError,
  AuthenticationError,
  ProtocolError,
  ParseError,
  LsnFormatError,
  ConfigurationError,
  UnsupportedOptionError,
  SlotLostError,
} from './errors';
export { ConsumerFailedError } from './source/feedback';
export { ColumnValueError } from './values/errors';
export { SnapshotError, BackfillError } from './snapshot/errors';

/* Types: options, messages, rows and events (no runtime names) */
export type { PgErrorFields } from './errors';
export type { ColumnLocation } from './values/errors';
export type { ConnectionOptions, SslMode, SslNegotiation, ChannelBinding, TlsProtocolVersion } from './wire/config';
export type { TargetSessionAttrs } from './wire/multi-host';
export type { LogicalReplicationOptions } from './source/logical';
export type { PgoutputOptions, ProtoVersion } from './source/start-replication';
export type { FlowControlOptions } from './source/flow-control';
export type { ReceiveTimeoutOptions } from './source/copy-both';
export type { PhysicalFlowControlOptions } from './source/pending-bytes';
export type {
  PhysicalReplicationOptions,
  PhysicalFrame,
  PhysicalStreamStart,
  TimelineHistoryFile,
  TimelineSwitch,
  StandbyXmin,
} from './source/physical';
export type { ReplicationFrame, XLogData, PrimaryKeepalive, StandbyStatus, HotStandbyFeedback } from './protocol/frames';
export type * from './pgoutput/messages';
export type { UnchangedToast, RawValue, ColumnKind } from './pgoutput/row';
export type { PgoutputDecoderOptions, TypeInfo } from './pgoutput/decoder';
export type { TypeOptions, TypeParser, TextParser, BinaryParser, AnnouncedType, JsonNull } from './values/registry';
export type {
  CreateReplicationSlotOptions,
  CreatedSlot,
  SystemIdentity,
  ReplicationSlotInfo,
  TimelineHistory,
  TimelineHistoryEntry,
} from './control/client';
export type { QueryResult, ReplicationMode } from './wire/connection';
export type { Logger, LoggedError } from './logger';
export type { ReplicationObserver, SourceConnected, ObservabilityOptions } from './source/observer';
export type {
  InitialSnapshotOptions,
  SnapshotFlowControl,
  SnapshotEvent,
  SnapshotStartEvent,
  SnapshotTableStartEvent,
  SnapshotRowsEvent,
  SnapshotTableEndEvent,
  SnapshotCompleteEvent,
  SnapshotProgress,
  StateStore,
  CopyFormat,
} from './snapshot/index';
