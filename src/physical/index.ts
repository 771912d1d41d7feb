/**
 * `pg-walstream/physical`: what pg_receivewal and pg_basebackup do, as Observables: receive WAL
 * into segment files, take a base backup into a directory, and the pieces they are built from
 * (the segment writer, WAL file names, the BASE_BACKUP command). `physicalReplication` itself
 * is in the root, and the `writeWalSegments` and `writeBaseBackup` operators in
 * `pg-walstream/operators`.
 *
 * @packageDocumentation
 * @module pg-walstream/physical
 */

/* pg_receivewal */
export { receiveWal, type ReceiveWalOptions } from './receive-wal';
export {
  WalSegmentWriter,
  WalWriteError,
  findStreamingStart,
  type WalSegmentWriterOptions,
  type CompletedSegment,
  type StreamingStart,
} from './wal-writer';
export type { WalWriterEvent, WriteWalSegmentsOptions } from './write-wal-segments';
export { segmentFileName, parseSegmentFileName, historyFileName, parseWalSegmentSize, type SegmentId } from './wal-names';

/* pg_basebackup */
export { backupToDirectory, type BackupToDirectoryOptions } from './backup-to-directory';
export {
  baseBackup,
  baseBackupCommand,
  type BaseBackupOptions,
  type BaseBackupCommandOptions,
  type BaseBackupEvent,
  type BackupTablespace,
  type BackupCompression,
} from './base-backup';
export type { WriteBaseBackupOptions } from './write-base-backup';
export { Backpressure } from './backpressure';
export { UnsafeBackupPathError } from '../errors';
