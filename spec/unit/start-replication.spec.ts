import { ConfigurationError, Lsn } from '../../src';
import { UnsupportedOptionError } from '../../src/errors';
import { type PgoutputOptions, maxProtoVersion, resolvePgoutputOptions, startLogicalReplicationCommand } from '../../src/source/start-replication';

const PG = { 14: 140013, 15: 150008, 16: 160004, 17: 170002, 18: 180001 } as const;

function rejection(o: Partial<PgoutputOptions>, server: number): UnsupportedOptionError | ConfigurationError | undefined {
  try {
    resolvePgoutputOptions({ publications: 'p', ...o }, server);
    return undefined;
  } catch (err) {
    return err as ConfigurationError;
  }
}

describe('START_REPLICATION options', () => {
  it('builds the command with every option quoted', () => {
    const sql = startLogicalReplicationCommand(
      'my_slot',
      Lsn.parse('16/B374D848'),
      { publications: ['a', 'B"c'], protoVersion: 4, binary: true, messages: false, streaming: 'parallel', twoPhase: true, origin: 'none' },
      PG[18],
    );
    expect(sql).toBe(
      `START_REPLICATION SLOT "my_slot" LOGICAL 16/B374D848 (proto_version '4', publication_names '"a","B""c"', binary 'on', messages 'off', streaming 'parallel', two_phase 'on', origin 'none')`,
    );
  });

  it('defaults to protocol 1 and sends only the options given', () => {
    expect(startLogicalReplicationCommand('s', Lsn.ZERO, { publications: 'p' }, PG[14])).toBe(`START_REPLICATION SLOT "s" LOGICAL 0/0 (proto_version '1', publication_names '"p"')`);
  });

  it.each([
    [14, 2],
    [15, 3],
    [16, 4],
    [17, 4],
    [18, 4],
  ] as const)("protoVersion 'auto' on PostgreSQL %i is %i", (major, proto) => {
    expect(resolvePgoutputOptions({ publications: 'p', protoVersion: 'auto' }, PG[major]).protoVersion).toBe(proto);
    expect(maxProtoVersion(PG[major])).toBe(proto);
  });

  // [options, server, option named, required server, required proto]
  const unsupported: [Partial<PgoutputOptions>, number, string, number | undefined, number | undefined][] = [
    [{ protoVersion: 2 }, 130000, 'protoVersion 2', 140000, undefined],
    [{ protoVersion: 3 }, PG[14], 'protoVersion 3', 150000, undefined],
    [{ protoVersion: 4 }, PG[15], 'protoVersion 4', 160000, undefined],
    [{ binary: true }, 130000, 'binary', 140000, undefined],
    [{ messages: true }, 130000, 'messages', 140000, undefined],
    [{ streaming: 'on' }, PG[18], "streaming 'on'", undefined, 2],
    [{ streaming: 'on', protoVersion: 2 }, 130000, 'protoVersion 2', 140000, undefined],
    [{ streaming: 'parallel', protoVersion: 4 }, PG[15], 'protoVersion 4', 160000, undefined],
    [{ streaming: 'parallel', protoVersion: 3 }, PG[16], "streaming 'parallel'", undefined, 4],
    [{ streaming: 'parallel', protoVersion: 'auto' }, PG[15], "streaming 'parallel'", 160000, undefined],
    [{ twoPhase: true, protoVersion: 2 }, PG[15], 'twoPhase true', undefined, 3],
    [{ twoPhase: true, protoVersion: 'auto' }, PG[14], 'twoPhase true', 150000, undefined],
    [{ twoPhase: false }, PG[14], 'twoPhase false', 150000, undefined],
    [{ origin: 'none' }, PG[15], 'origin', 160000, undefined],
  ];
  it.each(unsupported)('%j on server %i is an UnsupportedOptionError for %s', (o, server, option, needServer, needProto) => {
    const err = rejection(o, server);
    expect(err).toBeInstanceOf(UnsupportedOptionError);
    expect(err).toBeInstanceOf(ConfigurationError);
    const e = err as UnsupportedOptionError;
    expect(e.option).toBe(option);
    expect(e.requiredServerVersion).toBe(needServer);
    expect(e.requiredProtoVersion).toBe(needProto);
    expect(e.message).toMatch(needServer ? `PostgreSQL ${needServer / 10000}+` : `proto_version ${needProto}+`);
  });

  it.each([
    [{ streaming: 'on', protoVersion: 2 }, PG[14]],
    [{ streaming: 'off' }, PG[14]],
    [{ twoPhase: true, protoVersion: 3 }, PG[15]],
    [{ twoPhase: false, protoVersion: 1 }, PG[15]],
    [{ streaming: 'parallel', protoVersion: 'auto', twoPhase: true, origin: 'any', binary: false, messages: true }, PG[16]],
  ] as [Partial<PgoutputOptions>, number][])('%j on server %i is accepted', (o, server) => {
    expect(rejection(o, server)).toBeUndefined();
  });

  it.each([
    [{ publications: [] }],
    [{ publications: '' }],
    [{ protoVersion: 5 }],
    [{ streaming: 'yes' }],
    [{ origin: 'local' }],
    [{ binary: 'on' }],
  ] as unknown as [Partial<PgoutputOptions>][])('%j is a ConfigurationError', (o) => {
    const err = rejection(o, PG[18]);
    expect(err).toBeInstanceOf(ConfigurationError);
    expect(err).not.toBeInstanceOf(UnsupportedOptionError);
  });
});
