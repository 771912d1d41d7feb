// The operator lives with the WAL segment writer in src/physical, which receiveWal and
// backupToDirectory build on; this file keeps it among the operators (`pg-walstream/operators`).
export { writeWalSegments, type WriteWalSegmentsOptions, type WalWriterEvent } from '../src/physical/write-wal-segments';
