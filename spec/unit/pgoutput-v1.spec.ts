import { Lsn, ParseError, UNCHANGED_TOAST } from '../../src';
import { PgoutputDecoder } from '../../src/protocol';
import { Bytes } from '../support/bytes';

const AT = Lsn.parse('0/1000');

/** Relation 16384 public.items (id int4 key, name text, blob bytea), replica identity default. */
function relationBytes(identity = 'd'): Buffer {
  return new Bytes()
    .u8('R').u32(16384).cstr('public').cstr('items').u8(identity).i16(3)
    .u8(1).cstr('id').u32(23).i32(-1)
    .u8(0).cstr('name').u32(25).i32(-1)
    .u8(0).cstr('blob').u32(17).i32(-1)
    .build();
}

function decoderWithRelation(): PgoutputDecoder {
  const d = new PgoutputDecoder();
  d.decode(relationBytes(), Lsn.ZERO);
  return d;
}

function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ParseError) return err;
    throw err;
  }
  throw new Error('expected a ParseError');
}

describe('pgoutput v1 decoding', () => {
  it('decodes Begin', () => {
    const b = new Bytes().u8('B').u64(0x1_0000_2000n).u64(123456789n).u32(0xfffffffe).build();
    expect(new PgoutputDecoder().decode(b, AT)).toEqual({ type: 'begin', lsn: AT, finalLsn: Lsn.parse('1/2000'), commitTime: 123456789n, xid: 0xfffffffe });
  });

  it('decodes Commit', () => {
    const b = new Bytes().u8('C').u8(0).u64(0x2000n).u64(0x2030n).u64(99n).build();
    expect(new PgoutputDecoder().decode(b, AT)).toEqual({ type: 'commit', lsn: AT, flags: 0, commitLsn: Lsn.parse('0/2000'), endLsn: Lsn.parse('0/2030'), commitTime: 99n });
  });

  it('decodes Origin', () => {
    const b = new Bytes().u8('O').u64(0x55n).cstr('node_a').build();
    expect(new PgoutputDecoder().decode(b, AT)).toEqual({ type: 'origin', lsn: AT, originLsn: Lsn.parse('0/55'), name: 'node_a' });
  });

  it('decodes Relation and caches it, with key columns and replica identity', () => {
    const d = new PgoutputDecoder();
    const msg = d.decode(relationBytes('f'), Lsn.ZERO);
    expect(msg).toMatchObject({
      type: 'relation',
      xid: undefined,
      inStream: false,
      relation: {
        oid: 16384,
        schema: 'public',
        name: 'items',
        replicaIdentity: 'f',
        keyColumns: ['id'],
        columns: [
          { name: 'id', typeOid: 23, typeModifier: -1, isKey: true },
          { name: 'name', typeOid: 25, typeModifier: -1, isKey: false },
          { name: 'blob', typeOid: 17, typeModifier: -1, isKey: false },
        ],
      },
    });
    expect(d.relations.get(16384)?.replicaIdentity).toBe('f');
  });

  it('gives messages with a zero walStart the last position seen', () => {
    const d = new PgoutputDecoder();
    d.decode(new Bytes().u8('B').u64(0x2000n).u64(1n).u32(5).build(), AT);
    expect(d.decode(relationBytes(), Lsn.ZERO).lsn).toBe(AT);
  });

  it('decodes Type and caches it', () => {
    const d = new PgoutputDecoder();
    const msg = d.decode(new Bytes().u8('Y').u32(90001).cstr('public').cstr('mood').build(), AT);
    expect(msg).toEqual({ type: 'type', lsn: AT, xid: undefined, inStream: false, typeOid: 90001, schema: 'public', name: 'mood' });
    expect(d.types.get(90001)).toEqual({ oid: 90001, schema: 'public', name: 'mood' });
  });

  it('decodes Insert with text, null, unchanged-TOAST and binary values kept distinct', () => {
    const b = new Bytes().u8('I').u32(16384).u8('N').i16(3).text('42').u8('n').u8('b').i32(2).raw(Buffer.from([0xca, 0xfe])).build();
    const msg = decoderWithRelation().decode(b, AT);
    if (msg.type !== 'insert') throw new Error(msg.type);
    expect(msg.relation.name).toBe('items');
    expect(msg.new.raw('id')).toBe('42');
    expect(msg.new.kind('id')).toBe('t');
    expect(msg.new.raw('name')).toBeNull();
    expect(msg.new.isNull('name')).toBe(true);
    expect(msg.new.raw('blob')).toEqual(Buffer.from([0xca, 0xfe]));
    expect(msg.new.kind(2)).toBe('b');
    expect(msg.new.byteLength).toBe(7 + 1 + 7); // t + Int32 + "42", n, b + Int32 + 2 bytes
    const toast = new Bytes().u8('I').u32(16384).u8('N').i16(3).text('1').u8('u').u8('n').build();
    const t = decoderWithRelation().decode(toast, AT);
    if (t.type !== 'insert') throw new Error(t.type);
    expect(t.new.raw('name')).toBe(UNCHANGED_TOAST);
    expect(t.new.isUnchangedToast('name')).toBe(true);
    expect(t.new.isNull('name')).toBe(false);
  });

  it('decodes Update without old values, with the old key (K) and with the old row (O)', () => {
    const d = decoderWithRelation();
    const plain = d.decode(new Bytes().u8('U').u32(16384).u8('N').i16(3).text('1').text('b').u8('n').build(), AT);
    expect(plain).toMatchObject({ type: 'update', key: undefined, old: undefined });
    const keyed = d.decode(new Bytes().u8('U').u32(16384).u8('K').i16(3).text('1').u8('n').u8('n').u8('N').i16(3).text('2').text('b').u8('n').build(), AT);
    if (keyed.type !== 'update') throw new Error(keyed.type);
    expect(keyed.key?.raw('id')).toBe('1');
    expect(keyed.new.raw('id')).toBe('2');
    const full = d.decode(new Bytes().u8('U').u32(16384).u8('O').i16(3).text('1').text('a').u8('n').u8('N').i16(3).text('1').text('b').u8('n').build(), AT);
    if (full.type !== 'update') throw new Error(full.type);
    expect(full.old?.rawObject()).toEqual({ id: '1', name: 'a', blob: null });
    expect(full.new.rawObject()).toEqual({ id: '1', name: 'b', blob: null });
  });

  it('decodes Delete with the key or the old row', () => {
    const d = decoderWithRelation();
    const k = d.decode(new Bytes().u8('D').u32(16384).u8('K').i16(3).text('7').u8('n').u8('n').build(), AT);
    expect(k.type === 'delete' && k.key?.raw('id')).toBe('7');
    const o = d.decode(new Bytes().u8('D').u32(16384).u8('O').i16(3).text('7').text('x').u8('n').build(), AT);
    expect(o.type === 'delete' && o.old?.raw('name')).toBe('x');
  });

  it('decodes Truncate with CASCADE and RESTART IDENTITY', () => {
    const msg = decoderWithRelation().decode(new Bytes().u8('T').u32(1).u8(3).u32(16384).build(), AT);
    expect(msg).toMatchObject({ type: 'truncate', cascade: true, restartIdentity: true });
    expect(msg.type === 'truncate' && msg.relations.map((r) => r.name)).toEqual(['items']);
  });

  it('decodes Message', () => {
    const b = new Bytes().u8('M').u8(1).u64(0x77n).cstr('app').i32(5).raw('hello').build();
    expect(new PgoutputDecoder().decode(b, AT)).toEqual({
      type: 'message', lsn: AT, xid: undefined, inStream: false, transactional: true, messageLsn: Lsn.parse('0/77'), prefix: 'app', content: Buffer.from('hello'),
    });
  });

  it('rejects an unknown tag with its tag, LSN and offset', () => {
    const err = parseError(() => new PgoutputDecoder().decode(Buffer.from('Z'), AT));
    expect(err).toMatchObject({ tag: 'Z', lsn: '0/1000', offset: 0 });
  });

  it('rejects a row for a relation never described', () => {
    const err = parseError(() => new PgoutputDecoder().decode(new Bytes().u8('I').u32(99).u8('N').i16(0).build(), AT));
    expect(err.message).toContain('relation OID 99');
    expect(err.offset).toBe(1);
  });

  it('rejects a tuple whose column count differs from its relation', () => {
    const err = parseError(() => decoderWithRelation().decode(new Bytes().u8('I').u32(16384).u8('N').i16(2).text('1').u8('n').build(), AT));
    expect(err.offset).toBe(6);
  });

  it('rejects a value length that runs past the frame', () => {
    const err = parseError(() => decoderWithRelation().decode(new Bytes().u8('I').u32(16384).u8('N').i16(3).u8('t').i32(1000).raw('12').build(), AT));
    expect(err.tag).toBe('I');
    expect(err.offset).toBe(9);
  });

  it('rejects an unknown TupleData kind', () => {
    const err = parseError(() => decoderWithRelation().decode(new Bytes().u8('I').u32(16384).u8('N').i16(3).u8('x').build(), AT));
    expect(err.message).toContain('TupleData kind "x"');
    expect(err.offset).toBe(8);
  });

  it('rejects trailing bytes after a message', () => {
    expect(() => new PgoutputDecoder().decode(new Bytes().u8('C').u8(0).u64(1n).u64(2n).u64(3n).u8(0).build(), AT)).toThrow(ParseError);
  });

  it('rejects a Relation whose column count exceeds the frame', () => {
    const b = new Bytes().u8('R').u32(1).cstr('s').cstr('t').u8('d').i16(30000).build();
    expect(parseError(() => new PgoutputDecoder().decode(b, AT)).message).toContain('column count 30000');
  });

  it('fails every truncation of valid messages with a ParseError, and keeps its state', () => {
    const d = decoderWithRelation();
    const messages = [
      relationBytes(),
      new Bytes().u8('B').u64(1n).u64(2n).u32(3).build(),
      new Bytes().u8('U').u32(16384).u8('O').i16(3).text('1').text('a').u8('u').u8('N').i16(3).text('1').text('b').u8('n').build(),
      new Bytes().u8('M').u8(0).u64(0x77n).cstr('app').i32(5).raw('hello').build(),
      new Bytes().u8('T').u32(2).u8(0).u32(16384).u32(16384).build(),
    ];
    for (const full of messages) {
      for (let cut = 0; cut < full.length; cut++) {
        expect(() => d.decode(full.subarray(0, cut), AT)).toThrow(ParseError);
      }
      expect(() => d.decode(full, AT)).not.toThrow();
    }
    expect(d.relations.size).toBe(1);
  });
});
