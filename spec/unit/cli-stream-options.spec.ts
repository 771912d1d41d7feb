import { InvalidArgumentError } from 'commander';
import { createSlotFrom, pgoutputOptionsFrom, protoVersionArg } from '../../src/cli/stream-options';

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
});
