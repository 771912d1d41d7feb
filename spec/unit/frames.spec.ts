import { Lsn, ParseError } from '../../src';
import {
  decodeReplicationFrame,
  decodeStandbyStatusUpdate,
  encodeHotStandbyFeedback,
  encodePrimaryKeepalive,
  encodeStandbyStatusUpdate,
  encodeXLogData,
} from '../../src/protocol';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('replication frames', () => {
  it('decodes XLogData byte by byte', () => {
    const bytes = hex(`77 0000000100000010 0000000100000020 0002c5f4c5d8a3c1 deadbeef`);
    const frame = decodeReplicationFrame(bytes);
    expect(frame).toEqual({
      type: 'xlogdata',
      walStart: Lsn.parse('1/10'),
      walEnd: Lsn.parse('1/20'),
      sendTime: 0x0002c5f4c5d8a3c1n,
      data: hex('deadbeef'),
    });
  });

  it('decodes a frame inside a larger buffer without copying it', () => {
    const inner = encodeXLogData(Lsn.parse('0/5'), Lsn.parse('0/5'), 7n, Buffer.from('abc'));
    const outer = Buffer.concat([Buffer.from('xx'), inner, Buffer.from('yy')]);
    const frame = decodeReplicationFrame(outer, 2, 2 + inner.length);
    if (frame.type !== 'xlogdata') throw new Error('expected xlogdata');
    expect(frame.data.toString()).toBe('abc');
    expect(frame.data.buffer).toBe(outer.buffer);
  });

  it('decodes a primary keepalive', () => {
    const bytes = hex(`6b 00000002000000ff 0000000000000064 01`);
    expect(decodeReplicationFrame(bytes)).toEqual({ type: 'keepalive', walEnd: Lsn.parse('2/FF'), sendTime: 100n, replyRequested: true });
    expect(encodePrimaryKeepalive(Lsn.parse('2/FF'), 100n, true)).toEqual(bytes);
  });

  it('encodes a standby status update as 34 bytes', () => {
    const b = encodeStandbyStatusUpdate({ written: Lsn.parse('0/30'), flushed: Lsn.parse('0/20'), applied: Lsn.parse('0/10'), clientTime: 5n, replyRequested: false });
    expect(b).toEqual(hex(`72 0000000000000030 0000000000000020 0000000000000010 0000000000000005 00`));
    expect(decodeStandbyStatusUpdate(b)).toEqual({ written: Lsn.parse('0/30'), flushed: Lsn.parse('0/20'), applied: Lsn.parse('0/10'), clientTime: 5n, replyRequested: false });
  });

  it('encodes hot standby feedback as 25 bytes', () => {
    const b = encodeHotStandbyFeedback({ clientTime: 1n, xmin: 700, xminEpoch: 0, catalogXmin: 650, catalogXminEpoch: 1 });
    expect(b).toEqual(hex(`68 0000000000000001 000002bc 00000000 0000028a 00000001`));
  });

  it.each([
    ['an empty frame', '', undefined],
    ['an unknown tag', '7a00', 'z'],
    ['a truncated XLogData header', '77 00000001000000', 'w'],
    ['a truncated keepalive', '6b 0000000200000000 00000000000000', 'k'],
  ])('rejects %s with a ParseError', (_, bytes, tag) => {
    let err: unknown;
    try {
      decodeReplicationFrame(hex(bytes));
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).tag).toBe(tag);
  });
});
