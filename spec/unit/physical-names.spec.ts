import { ConfigurationError, Lsn } from '../../src';
import { historyFileName, parseSegmentFileName, parseWalSegmentSize, segmentFileName } from '../../src/physical';
import { baseBackupCommand } from '../../src/physical/base-backup';
import { startPhysicalReplicationCommand } from '../../src/physical/commands';
import { roundDownToSegment, segmentOffset } from '../../src/physical/wal-names';
import { parseCompress } from '../../cli/basebackup';

const MB16 = 16 * 1024 * 1024;

describe('WAL file names (xlog_internal.h)', () => {
  it('names segments as XLogFileName does, for 16 MB and 1 GB segments', () => {
    expect(segmentFileName(1, 1n, MB16)).toBe('000000010000000000000001');
    expect(segmentFileName(1, 256n, MB16)).toBe('000000010000000100000000');
    expect(segmentFileName(0x1a, 0x1ffn, MB16)).toBe('0000001A00000001000000FF');
    expect(segmentFileName(2, 5n, 1024 ** 3)).toBe('000000020000000100000001');
  });

  it('parses names back, and rejects other files and out-of-range low halves', () => {
    expect(parseSegmentFileName('0000001A00000001000000FF', MB16)).toEqual({ timeline: 0x1a, segment: 0x1ffn });
    expect(parseSegmentFileName('000000010000000000000100', MB16)).toBeUndefined(); // only 256 segments per id
    expect(parseSegmentFileName('00000002.history', MB16)).toBeUndefined();
    expect(parseSegmentFileName('000000010000000000000001.partial', MB16)).toBeUndefined();
    expect(historyFileName(10)).toBe('0000000A.history');
  });

  it('rounds an LSN down to its segment start', () => {
    expect(roundDownToSegment(Lsn.parse('0/3000148'), MB16).toString()).toBe('0/3000000');
    expect(segmentOffset(Lsn.parse('1/FF000010'), MB16)).toBe(16);
  });

  it('parses SHOW wal_segment_size and refuses sizes PostgreSQL refuses', () => {
    expect(parseWalSegmentSize('16MB')).toBe(MB16);
    expect(parseWalSegmentSize('1GB')).toBe(1024 ** 3);
    expect(parseWalSegmentSize('1048576')).toBe(1024 * 1024);
    for (const bad of ['24MB', '512kB', '2GB', 'big']) expect(() => parseWalSegmentSize(bad)).toThrow(ConfigurationError);
  });
});

describe('physical replication commands', () => {
  it('builds START_REPLICATION with and without slot and timeline', () => {
    expect(startPhysicalReplicationCommand(Lsn.parse('0/3000000'))).toBe('START_REPLICATION PHYSICAL 0/3000000');
    expect(startPhysicalReplicationCommand(Lsn.parse('1/0'), { slot: 'archive_1', timeline: 2 })).toBe('START_REPLICATION SLOT "archive_1" PHYSICAL 1/0 TIMELINE 2');
    // A name the server would refuse never reaches it (physical slot creation: spec/unit/create-slot-command.spec.ts).
    expect(() => startPhysicalReplicationCommand(Lsn.parse('1/0'), { slot: 'Arch"ive' })).toThrow(ConfigurationError);
  });
});

describe('BASE_BACKUP command', () => {
  it('uses the option list on 15+', () => {
    expect(
      baseBackupCommand(
        {
          label: "it's",
          checkpoint: 'fast',
          wal: true,
          wait: false,
          compression: 'zstd',
          compressionDetail: 'level=3,workers=2',
          maxRate: 1024,
          tablespaceMap: true,
          verifyChecksums: false,
          manifestChecksums: 'SHA256',
        },
        150000,
      ),
    ).toBe(
      "BASE_BACKUP (LABEL 'it''s', PROGRESS, CHECKPOINT 'fast', WAL, WAIT false, COMPRESSION 'zstd', COMPRESSION_DETAIL 'level=3,workers=2', MAX_RATE 1024, TABLESPACE_MAP, VERIFY_CHECKSUMS false, MANIFEST 'yes', MANIFEST_CHECKSUMS 'SHA256')",
    );
    expect(baseBackupCommand({ progress: false, incremental: true, manifest: 'force-encode' }, 170000)).toBe(
      "BASE_BACKUP (LABEL 'pg-walstream base backup', MANIFEST 'force-encode', INCREMENTAL)",
    );
  });

  it('uses keywords on 14 and refuses what 14 lacks', () => {
    expect(baseBackupCommand({ label: 'b', checkpoint: 'fast', wal: true, wait: false, maxRate: 32, verifyChecksums: false }, 140000)).toBe(
      "BASE_BACKUP LABEL 'b' PROGRESS FAST WAL NOWAIT MAX_RATE 32 NOVERIFY_CHECKSUMS MANIFEST 'yes'",
    );
    expect(() => baseBackupCommand({ compression: 'gzip' }, 140000)).toThrow(ConfigurationError);
    expect(() => baseBackupCommand({ incremental: true }, 160000)).toThrow(ConfigurationError);
    expect(() => baseBackupCommand({ maxRate: 10 }, 160000)).toThrow(ConfigurationError);
  });

  it('parses pg_basebackup --compress values for server-side compression', () => {
    expect(parseCompress('server-zstd:level=3')).toEqual({ compression: 'zstd', compressionDetail: 'level=3' });
    expect(parseCompress('gzip:9')).toEqual({ compression: 'gzip', compressionDetail: 'level=9' });
    expect(parseCompress('server-lz4')).toEqual({ compression: 'lz4', compressionDetail: undefined });
    expect(parseCompress('none')).toEqual({ compression: 'none', compressionDetail: undefined });
    expect(() => parseCompress('client-gzip')).toThrow(ConfigurationError);
    expect(() => parseCompress('bzip2')).toThrow(ConfigurationError);
  });
});
