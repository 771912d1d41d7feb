export { parsePgoutput } from './parse-pgoutput';
export { writeWalSegments, type WriteWalSegmentsOptions, type WalWriterEvent } from './write-wal-segments';
export { writeBaseBackup, type WriteBaseBackupOptions } from './write-base-backup';
