import { ConfigurationError, Lsn } from '../../src';
import { parseTimelineHistory } from '../../src/protocol';
import { createSlotCommand } from '../../src/control/client';
import { UnsupportedOptionError } from '../../src/errors';

describe('CREATE_REPLICATION_SLOT syntax by server version', () => {
  it.each([
    [{}, 140013, `CREATE_REPLICATION_SLOT "s" LOGICAL "pgoutput" NOEXPORT_SNAPSHOT`],
    [{ temporary: true, snapshot: 'export' }, 140013, `CREATE_REPLICATION_SLOT "s" TEMPORARY LOGICAL "pgoutput" EXPORT_SNAPSHOT`],
    [{ snapshot: 'use' }, 140013, `CREATE_REPLICATION_SLOT "s" LOGICAL "pgoutput" USE_SNAPSHOT`],
    [{ physical: true, reserveWal: true }, 140013, `CREATE_REPLICATION_SLOT "s" PHYSICAL RESERVE_WAL`],
    [{ physical: true, temporary: true }, 140013, `CREATE_REPLICATION_SLOT "s" TEMPORARY PHYSICAL`],
    [{}, 150000, `CREATE_REPLICATION_SLOT "s" LOGICAL "pgoutput" (SNAPSHOT 'nothing')`],
    [{ snapshot: 'export', twoPhase: true, plugin: 'test_decoding' }, 160000, `CREATE_REPLICATION_SLOT "s" LOGICAL "test_decoding" (SNAPSHOT 'export', TWO_PHASE true)`],
    [{ twoPhase: true, failover: true }, 170000, `CREATE_REPLICATION_SLOT "s" LOGICAL "pgoutput" (SNAPSHOT 'nothing', TWO_PHASE true, FAILOVER true)`],
    [{ physical: true, reserveWal: true }, 180000, `CREATE_REPLICATION_SLOT "s" PHYSICAL (RESERVE_WAL true)`],
  ] as const)('%j on %i', (options, version, sql) => {
    expect(createSlotCommand('s', options, version)).toBe(sql);
  });

  it('refuses options the server does not have, naming the version', () => {
    expect(() => createSlotCommand('s', { failover: true }, 160000)).toThrow(UnsupportedOptionError);
    expect(() => createSlotCommand('s', { failover: true }, 160000)).toThrow(/failover needs PostgreSQL 17\+/);
    // PostgreSQL 14's replication grammar has no TWO_PHASE: it answers a syntax error.
    expect(() => createSlotCommand('s', { twoPhase: true }, 140013)).toThrow(/twoPhase needs PostgreSQL 15\+/);
  });

  it.each([
    [{ physical: true, snapshot: 'export' }],
    [{ physical: true, failover: true }],
    [{ reserveWal: true }],
    [{ temporary: true, failover: true }],
    [{ snapshot: 'later' }],
  ] as const)('refuses %j', (options) => {
    expect(() => createSlotCommand('s', options as never, 180000)).toThrow(ConfigurationError);
  });
});

describe('parseTimelineHistory', () => {
  it('reads the entries of a history file and skips comments', () => {
    expect(parseTimelineHistory('# comment\n1\t0/3000158\tno recovery target specified\n\n2\t1/A0000000\tat restore point "x"\n')).toEqual([
      { timeline: 1, switchpoint: Lsn.parse('0/3000158'), reason: 'no recovery target specified' },
      { timeline: 2, switchpoint: Lsn.parse('1/A0000000'), reason: 'at restore point "x"' },
    ]);
  });
});
