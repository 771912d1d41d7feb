/**
 * pgoutput message tags (the first byte of a logical XLogData payload) that the sources read
 * without decoding the message: "Logical Replication Message Formats". @internal
 */
export const TAG_COMMIT = 0x43; // C
export const TAG_STREAM_COMMIT = 0x63; // c
export const TAG_PREPARE = 0x50; // P
export const TAG_STREAM_PREPARE = 0x70; // p
export const TAG_COMMIT_PREPARED = 0x4b; // K
export const TAG_ROLLBACK_PREPARED = 0x72; // r
export const TAG_MESSAGE = 0x4d; // M
export const TAG_STREAM_START = 0x53; // S
export const TAG_STREAM_STOP = 0x45; // E
