export { initialSnapshot, snapshotStateKey, type InitialSnapshotOptions, type SnapshotFlowControl } from './initial-snapshot';
export type { SnapshotEvent, SnapshotStartEvent, SnapshotTableStartEvent, SnapshotRowsEvent, SnapshotTableEndEvent, SnapshotCompleteEvent, SnapshotProgress } from './events';
export { settleSnapshotEvent } from './settle';
export { type StateStore, MemoryStateStore, PostgresStateStore } from './state-store';
export { SnapshotError } from './errors';
export type { CopyFormat } from './copy-rows';
export type { BackfillEvent, BackfillStartEvent, BackfillRowsEvent, BackfillEndEvent, BackfillProgress, BackfillRequest } from './backfill-events';
export { BackfillError } from './errors';
