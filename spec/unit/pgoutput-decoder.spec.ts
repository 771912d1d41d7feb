import { Lsn, ParseError, UNCHANGED_TOAST } from '../../src';
import { PgoutputDecoder } from '../../src/protocol';
import type { PgoutputMessage } from '../../src';
import { encodePgoutput } from '../../src/pgoutput/encoder';

// Every message below is written out byte by byte from "Logical Replication Message Formats",
// independently of the encoder, then decoded; the encoder must give the same bytes back.

/** Concatenates hex strings (spaces ignored) and ASCII strings written as `'text'`. */
function bytes(...parts: (string | number[] | Buffer)[]): Buffer {
  return Buffer.concat(
    parts.map((p) => {
      if (Buffer.isBuffer(p)) return p;
      if (Array.isArray(p)) return Buffer.from(p);
      return Buffer.from(p.replace(/\s+/g, ''), 'hex');
    }),
  );
}
const str = (s: string) => Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]);
const ascii = (s: string) => Buffer.from(s, 'ascii');

const LSN_A = '00000001 00000010'; // 1/10
const LSN_B = '00000001 00000020'; // 1/20
const LSN_C = '00000001 00000030'; // 1/30
const TIME = '0002 b2a8 3e1d 4a40'; // 759945600000000 µs after 2000-01-01
const TIME_V = 0x0002b2a83e1d4a40n;
const TIME2 = '0002 b2a8 3e1d 4a41';
const WAL = Lsn.parse('0/1000');

/** Relation 16385 public.t (id int4 key, name text, big text), replica identity default. */
const RELATION = bytes(
  ascii('R'),
  '00004001',
  str('public'),
  str('t'),
  ascii('d'),
  '0003',
  '01', str('id'), '00000017', 'ffffffff',
  '00', str('name'), '00000019', 'ffffffff',
  '00', str('big'), '00000019', 'ffffffff',
);

function decoderWithRelation(): PgoutputDecoder {
  const d = new PgoutputDecoder();
  d.decode(RELATION, WAL);
  return d;
}

function roundTrip(d: PgoutputDecoder, frame: Buffer): PgoutputMessage {
  const msg = d.decode(frame, WAL);
  expect(encodePgoutput(msg)).toEqual(frame);
  return msg;
}

describe('PgoutputDecoder: every message, byte by byte', () => {
  it('Begin (B)', () => {
    const msg = roundTrip(new PgoutputDecoder(), bytes(ascii('B'), LSN_A, TIME, 'fffffffe'));
    expect(msg).toEqual({ type: 'begin', lsn: WAL, finalLsn: Lsn.parse('1/10'), commitTime: TIME_V, xid: 0xfffffffe });
  });

  it('Commit (C)', () => {
    const msg = roundTrip(new PgoutputDecoder(), bytes(ascii('C'), '00', LSN_A, LSN_B, TIME));
    expect(msg).toEqual({ type: 'commit', lsn: WAL, flags: 0, commitLsn: Lsn.parse('1/10'), endLsn: Lsn.parse('1/20'), commitTime: TIME_V });
  });

  it('Origin (O)', () => {
    const msg = roundTrip(new PgoutputDecoder(), bytes(ascii('O'), LSN_A, str('node_a')));
    expect(msg).toEqual({ type: 'origin', lsn: WAL, originLsn: Lsn.parse('1/10'), name: 'node_a' });
  });

  it('Relation (R) fills the cache and is emitted every time', () => {
    const d = new PgoutputDecoder();
    const first = roundTrip(d, RELATION);
    const again = roundTrip(d, RELATION);
    expect(first).toEqual(again);
    expect(first).toMatchObject({
      type: 'relation',
      xid: undefined,
      inStream: false,
      relation: {
        oid: 16385,
        schema: 'public',
        name: 't',
        replicaIdentity: 'd',
        keyColumns: ['id'],
        columns: [
          { name: 'id', typeOid: 23, typeModifier: -1, isKey: true },
          { name: 'name', typeOid: 25, typeModifier: -1, isKey: false },
          { name: 'big', typeOid: 25, typeModifier: -1, isKey: false },
        ],
      },
    });
    expect(d.relations.get(16385)?.name).toBe('t');
  });

  it('Type (Y) fills the type cache', () => {
    const d = new PgoutputDecoder();
    const msg = roundTrip(d, bytes(ascii('Y'), '00004100', str('public'), str('mood')));
    expect(msg).toEqual({ type: 'type', lsn: WAL, xid: undefined, inStream: false, topXid: undefined, typeOid: 16640, schema: 'public', name: 'mood' });
    expect(d.types.get(16640)).toEqual({ oid: 16640, schema: 'public', name: 'mood' });
  });

  it('Insert (I) with text, null and unchanged-TOAST columns', () => {
    const msg = roundTrip(decoderWithRelation(), bytes(ascii('I'), '00004001', ascii('N'), '0003', ascii('t'), '00000001', ascii('1'), ascii('n'), ascii('u')));
    if (msg.type !== 'insert') throw new Error(msg.type);
    expect(msg.new.rawObject()).toEqual({ id: '1', name: null, big: UNCHANGED_TOAST });
    expect([msg.new.kind(0), msg.new.kind(1), msg.new.kind(2)]).toEqual(['t', 'n', 'u']);
  });

  it('Insert (I) in binary mode keeps bytes distinct from text', () => {
    const msg = roundTrip(decoderWithRelation(), bytes(ascii('I'), '00004001', ascii('N'), '0003', ascii('b'), '00000004', '0000002a', ascii('t'), '00000002', ascii('42'), ascii('n')));
    if (msg.type !== 'insert') throw new Error(msg.type);
    expect(msg.new.raw('id')).toEqual(Buffer.from([0, 0, 0, 42]));
    expect(msg.new.kind('id')).toBe('b');
    expect(msg.new.raw('name')).toBe('42');
  });

  it('Update (U) without old values, with a key (K) and with an old row (O)', () => {
    const d = decoderWithRelation();
    const newTuple = bytes(ascii('N'), '0003', ascii('t'), '00000001', ascii('2'), ascii('t'), '00000001', ascii('x'), ascii('u'));
    const plain = roundTrip(d, bytes(ascii('U'), '00004001', newTuple));
    expect(plain).toMatchObject({ type: 'update', key: undefined, old: undefined });
    const keyed = roundTrip(d, bytes(ascii('U'), '00004001', ascii('K'), '0003', ascii('t'), '00000001', ascii('1'), ascii('n'), ascii('n'), newTuple));
    if (keyed.type !== 'update') throw new Error(keyed.type);
    expect(keyed.key?.raw('id')).toBe('1');
    expect(keyed.old).toBeUndefined();
    const full = roundTrip(d, bytes(ascii('U'), '00004001', ascii('O'), '0003', ascii('t'), '00000001', ascii('1'), ascii('t'), '00000001', ascii('w'), ascii('n'), newTuple));
    if (full.type !== 'update') throw new Error(full.type);
    expect(full.old?.rawObject()).toEqual({ id: '1', name: 'w', big: null });
    expect(full.new.rawObject()).toEqual({ id: '2', name: 'x', big: UNCHANGED_TOAST });
  });

  it('Delete (D) with a key (K) or an old row (O)', () => {
    const d = decoderWithRelation();
    const tuple = bytes('0003', ascii('t'), '00000001', ascii('1'), ascii('n'), ascii('n'));
    expect(roundTrip(d, bytes(ascii('D'), '00004001', ascii('K'), tuple))).toMatchObject({ type: 'delete', old: undefined, key: expect.anything() });
    expect(roundTrip(d, bytes(ascii('D'), '00004001', ascii('O'), tuple))).toMatchObject({ type: 'delete', key: undefined, old: expect.anything() });
  });

  it('Truncate (T) with CASCADE and RESTART IDENTITY', () => {
    const msg = roundTrip(decoderWithRelation(), bytes(ascii('T'), '00000001', '03', '00004001'));
    expect(msg).toMatchObject({ type: 'truncate', cascade: true, restartIdentity: true, relations: [{ oid: 16385 }] });
  });

  it('Message (M), transactional and not', () => {
    const d = new PgoutputDecoder();
    const msg = roundTrip(d, bytes(ascii('M'), '01', LSN_C, str('app'), '00000003', '00ff10'));
    expect(msg).toEqual({ type: 'message', lsn: WAL, xid: undefined, inStream: false, topXid: undefined, transactional: true, messageLsn: Lsn.parse('1/30'), prefix: 'app', content: Buffer.from([0, 255, 16]) });
    expect(roundTrip(d, bytes(ascii('M'), '00', LSN_C, str(''), '00000000'))).toMatchObject({ transactional: false, prefix: '', content: Buffer.alloc(0) });
  });

  it('Stream Start (S), Stop (E), Commit (c): messages in between carry the xid', () => {
    const d = decoderWithRelation();
    expect(roundTrip(d, bytes(ascii('S'), '000002e9', '01'))).toEqual({ type: 'streamStart', lsn: WAL, xid: 745, firstSegment: true });
    expect(d.streaming).toBe(true);
    const rel = roundTrip(d, bytes(ascii('R'), '000002e9', RELATION.subarray(1)));
    expect(rel).toMatchObject({ type: 'relation', xid: 745, inStream: true });
    expect(roundTrip(d, bytes(ascii('Y'), '000002e9', '00004100', str('public'), str('mood')))).toMatchObject({ type: 'type', xid: 745, inStream: true });
    const ins = roundTrip(d, bytes(ascii('I'), '000002e9', '00004001', ascii('N'), '0003', ascii('n'), ascii('n'), ascii('n')));
    expect(ins).toMatchObject({ type: 'insert', xid: 745, inStream: true, topXid: 745 });
    // A change of a subtransaction carries the subtransaction's xid; topXid stays the streamed transaction's.
    expect(roundTrip(d, bytes(ascii('I'), '000002ea', '00004001', ascii('N'), '0003', ascii('n'), ascii('n'), ascii('n')))).toMatchObject({ xid: 746, topXid: 745 });
    expect(roundTrip(d, bytes(ascii('U'), '000002e9', '00004001', ascii('N'), '0003', ascii('n'), ascii('n'), ascii('n')))).toMatchObject({ xid: 745, inStream: true });
    expect(roundTrip(d, bytes(ascii('D'), '000002e9', '00004001', ascii('K'), '0003', ascii('n'), ascii('n'), ascii('n')))).toMatchObject({ xid: 745, inStream: true });
    expect(roundTrip(d, bytes(ascii('T'), '000002e9', '00000001', '00', '00004001'))).toMatchObject({ type: 'truncate', xid: 745, inStream: true });
    expect(roundTrip(d, bytes(ascii('M'), '000002e9', '01', LSN_C, str('p'), '00000000'))).toMatchObject({ type: 'message', xid: 745, inStream: true });
    expect(roundTrip(d, bytes(ascii('E')))).toEqual({ type: 'streamStop', lsn: WAL });
    expect(d.streaming).toBe(false);
    expect(roundTrip(d, bytes(ascii('I'), '00004001', ascii('N'), '0003', ascii('n'), ascii('n'), ascii('n')))).toMatchObject({ xid: undefined, inStream: false, topXid: undefined });
    expect(roundTrip(d, bytes(ascii('S'), '000002e9', '00'))).toMatchObject({ firstSegment: false });
    roundTrip(d, bytes(ascii('E')));
    expect(roundTrip(d, bytes(ascii('c'), '000002e9', '00', LSN_A, LSN_B, TIME))).toEqual({
      type: 'streamCommit', lsn: WAL, xid: 745, flags: 0, commitLsn: Lsn.parse('1/10'), endLsn: Lsn.parse('1/20'), commitTime: TIME_V,
    });
  });

  it('Stream Abort (A), protocol 2 form and protocol 4 form with abort LSN and time', () => {
    const d = new PgoutputDecoder();
    expect(roundTrip(d, bytes(ascii('A'), '000002e9', '000002ea'))).toEqual({ type: 'streamAbort', lsn: WAL, xid: 745, subXid: 746, abortLsn: undefined, abortTime: undefined });
    expect(roundTrip(d, bytes(ascii('A'), '000002e9', '000002e9', LSN_C, TIME))).toEqual({
      type: 'streamAbort', lsn: WAL, xid: 745, subXid: 745, abortLsn: Lsn.parse('1/30'), abortTime: TIME_V,
    });
  });

  it('Stream Abort outside any stream, as PostgreSQL 18 has been reported to send on protocol 1, is surfaced', () => {
    const d = decoderWithRelation();
    roundTrip(d, bytes(ascii('B'), LSN_A, TIME, '00000005'));
    expect(roundTrip(d, bytes(ascii('A'), '000002e9', '000002e9'))).toMatchObject({ type: 'streamAbort', xid: 745 });
    expect(roundTrip(d, bytes(ascii('C'), '00', LSN_A, LSN_B, TIME))).toMatchObject({ type: 'commit' });
  });

  it('with abortInfo set, the decoder insists on the matching Stream Abort form', () => {
    expect(() => new PgoutputDecoder({ abortInfo: true }).decode(bytes(ascii('A'), '000002e9', '000002ea'), WAL)).toThrow(ParseError);
    expect(() => new PgoutputDecoder({ abortInfo: false }).decode(bytes(ascii('A'), '000002e9', '000002e9', LSN_C, TIME), WAL)).toThrow(/16 unexpected bytes/);
  });

  it('Begin Prepare (b), Prepare (P), Commit Prepared (K), Rollback Prepared (r), Stream Prepare (p)', () => {
    const d = new PgoutputDecoder();
    expect(roundTrip(d, bytes(ascii('b'), LSN_A, LSN_B, TIME, '00000007', str('gid-1')))).toEqual({
      type: 'beginPrepare', lsn: WAL, prepareLsn: Lsn.parse('1/10'), endLsn: Lsn.parse('1/20'), prepareTime: TIME_V, xid: 7, gid: 'gid-1',
    });
    expect(roundTrip(d, bytes(ascii('P'), '00', LSN_A, LSN_B, TIME, '00000007', str('gid-1')))).toEqual({
      type: 'prepare', lsn: WAL, flags: 0, prepareLsn: Lsn.parse('1/10'), endLsn: Lsn.parse('1/20'), prepareTime: TIME_V, xid: 7, gid: 'gid-1',
    });
    expect(roundTrip(d, bytes(ascii('K'), '00', LSN_B, LSN_C, TIME, '00000007', str('gid-1')))).toEqual({
      type: 'commitPrepared', lsn: WAL, flags: 0, commitLsn: Lsn.parse('1/20'), endLsn: Lsn.parse('1/30'), commitTime: TIME_V, xid: 7, gid: 'gid-1',
    });
    expect(roundTrip(d, bytes(ascii('r'), '00', LSN_B, LSN_C, TIME, TIME2, '00000007', str('gid-1')))).toEqual({
      type: 'rollbackPrepared', lsn: WAL, flags: 0, prepareEndLsn: Lsn.parse('1/20'), rollbackEndLsn: Lsn.parse('1/30'), prepareTime: TIME_V, rollbackTime: TIME_V + 1n, xid: 7, gid: 'gid-1',
    });
    expect(roundTrip(d, bytes(ascii('p'), '00', LSN_A, LSN_B, TIME, '00000008', str('gid-2')))).toMatchObject({ type: 'streamPrepare', xid: 8, gid: 'gid-2' });
  });

  it('Relation and Type messages sent at WAL position 0/0 carry the last position seen', () => {
    const d = new PgoutputDecoder();
    d.decode(bytes(ascii('B'), LSN_A, TIME, '00000005'), Lsn.parse('0/5000'));
    expect(d.decode(RELATION, Lsn.ZERO).lsn).toEqual(Lsn.parse('0/5000'));
  });
});

describe('PgoutputDecoder: malformed frames', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['an empty frame', Buffer.alloc(0), /empty/],
    ['an unknown tag', bytes(ascii('Z')), /unknown pgoutput message tag/],
    ['a frame with bytes after the message', bytes(ascii('S'), '00000005', '01', '00'), /1 unexpected bytes/],
    ['a row for an unknown relation', bytes(ascii('I'), '00009999', ascii('N'), '0000'), /no Relation message described/],
    ['a tuple with the wrong column count', bytes(ascii('I'), '00004001', ascii('N'), '0002', ascii('n'), ascii('n')), /tuple has 2 columns/],
    ['an unknown TupleData kind', bytes(ascii('I'), '00004001', ascii('N'), '0003', ascii('x'), ascii('n'), ascii('n')), /unknown TupleData kind/],
    ['a value longer than the frame', bytes(ascii('I'), '00004001', ascii('N'), '0003', ascii('t'), '00000009', ascii('1'), ascii('n'), ascii('n')), /frame ends inside TupleData/],
    ['a wrong tuple marker', bytes(ascii('I'), '00004001', ascii('X'), '0000'), /expected tuple marker 'N'/],
    ['a delete without K or O', bytes(ascii('D'), '00004001', ascii('N'), '0000'), /expected tuple marker 'K' or 'O'/],
    ['a relation count past the frame', bytes(ascii('T'), '00000100', '00', '00004001'), /relation count 256 exceeds/],
    ['a column count past the frame', bytes(ascii('R'), '00004002', str('s'), str('r'), ascii('d'), '0100'), /column count 256 exceeds/],
    ['an unknown replica identity', bytes(ascii('R'), '00004002', str('s'), str('r'), ascii('z'), '0000'), /unknown replica identity/],
    ['a string without its NUL', bytes(ascii('O'), LSN_A, ascii('abc')), /no terminating NUL/],
    ['a negative message length', bytes(ascii('M'), '01', LSN_C, str('p'), 'ffffffff'), /negative length/],
  ];
  it.each(cases)('%s is a ParseError with tag, LSN and offset, and leaves the decoder usable', (_name, frame, message) => {
    const d = decoderWithRelation();
    let err: unknown;
    try {
      d.decode(frame, WAL);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ParseError);
    expect((err as ParseError).message).toMatch(message);
    expect((err as ParseError).lsn).toBe('0/1000');
    expect(typeof (err as ParseError).offset).toBe('number');
    expect(d.decode(bytes(ascii('S'), '00000005', '01'), WAL).type).toBe('streamStart');
  });

  it('reports the offset of the failing field', () => {
    try {
      decoderWithRelation().decode(bytes(ascii('I'), '00004001', ascii('N'), '0003', ascii('t'), '00000001', ascii('1'), ascii('q'), ascii('n')), WAL);
      throw new Error('no error');
    } catch (err) {
      expect(err).toMatchObject({ tag: 'I', offset: 14 });
    }
  });
});
