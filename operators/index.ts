export { parsePgoutput } from './parse-pgoutput';
export { writeWalSegments, type WriteWalSegmentsOptions, type WalWriterEvent } from './write-wal-segments';
