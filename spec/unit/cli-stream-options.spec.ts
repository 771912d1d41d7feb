import { InvalidArgumentError } from 'commander';
import { UnsupportedOptionError } from '../../src/errors';
import { describeError } from '../../cli/errors';
import { createSlotFrom, flagOf, millisecondsArg, pgoutputOptionsFrom, protoVersionArg } from '../../cli/stream-options';
import { resolvePgoutputOptions } from '../../src/source/start-replication';

describe('stream command flags', () => {
  it('maps each pgoutput flag to its START_REPLICATION option, and sends nothing unasked', () => {
    expect(pgoutputOptionsFrom({})).toEqual({});
    expect(pgoutputOptionsFrom({ protoVersion: 'auto', binary: true, messages: true, streaming: 'parallel', twoPhase: true, origin: 'none' })).toEqual({
      protoVersion: 'auto',
      binary: true,
      messages: true,
      streaming: 'parallel',
      twoPhase: true,
      origin: 'none',
    });
  });

  it('parses --proto-version', () => {
    expect([protoVersionArg('1'), protoVersionArg('4'), protoVersionArg('auto')]).toEqual([1, 4, 'auto']);
    for (const bad of ['0', '5', '2.0', 'two', '']) expect(() => protoVersionArg(bad)).toThrow(InvalidArgumentError);
  });

  it('creates the slot --create-slot asks for, two-phase with --two-phase, failover with --failover', () => {
    expect(createSlotFrom({})).toBeUndefined();
    expect(createSlotFrom({ createSlot: true })).toEqual({ temporary: false });
    expect(createSlotFrom({ createSlot: true, temporary: true, twoPhase: true })).toEqual({ temporary: true, twoPhase: true });
    expect(createSlotFrom({ createSlot: true, failover: true })).toEqual({ temporary: false, failover: true });
    expect(() => createSlotFrom({ failover: true })).toThrow(/--failover needs --create-slot/);
    expect(() => createSlotFrom({ temporary: true })).toThrow(/--temporary needs --create-slot/);
  });

  it('parses millisecond flags: whole numbers, 0 for off', () => {
    expect([millisecondsArg('0'), millisecondsArg('250'), millisecondsArg('2147483647')]).toEqual([0, 250, 2147483647]);
    for (const bad of ['abc', '-1', '1.5', '', ' ', '1e3', '0x10', '2147483648']) expect(() => millisecondsArg(bad)).toThrow(InvalidArgumentError);
  });

  it('names CLI flags, not API options, in option errors', () => {
    expect([flagOf('twoPhase true'), flagOf("streaming 'on'"), flagOf("streaming 'parallel'"), flagOf('protoVersion 3'), flagOf('binary'), flagOf('origin')]).toEqual([
      '--two-phase', '--streaming on', '--streaming parallel', '--proto-version 3', '--binary', '--origin',
    ]);
    const fail = (o: object, server: number) => {
      try {
        resolvePgoutputOptions({ publications: 'p', ...o }, server);
      } catch (err) {
        expect(err).toBeInstanceOf(UnsupportedOptionError);
        return describeError(err);
      }
      throw new Error('no error');
    };
    expect(fail({ twoPhase: true }, 180000)).toBe('--two-phase needs --proto-version 3 or later (or --proto-version auto)');
    expect(fail({ streaming: 'on', protoVersion: 1 }, 180000)).toBe('--streaming on needs --proto-version 2 or later (or --proto-version auto)');
    expect(fail({ origin: 'none' }, 150000)).toBe('--origin needs PostgreSQL 16 or later; the server is PostgreSQL 15');
    expect(fail({ protoVersion: 3 }, 140000)).toBe('--proto-version 3 needs PostgreSQL 15 or later; the server is PostgreSQL 14');
  });
});
