import type { Lsn } from '../lsn';
import type { PgoutputMessage, RelationInfo } from './messages';
import { type RawValue, Row, UNCHANGED_TOAST } from './row';

/**
 * Encodes pgoutput messages into the bytes the walsender sends, the inverse of
 * {@link PgoutputDecoder}: `encodePgoutput(decoder.decode(bytes))` gives back `bytes`.
 * Follows "Logical Replication Message Formats" and `src/backend/replication/logical/proto.c`.
 * Built for tests (round-trip properties, fake servers) and tools that rewrite a stream.
 * Messages with `inStream: true` carry their xid; a Stream Abort carries its abort LSN and time
 * when both are set.
 *
 * @example
 * const bytes = encodePgoutput({ type: 'streamStop', lsn: Lsn.ZERO });
 * // <Buffer 45>
 */
export function encodePgoutput(msg: PgoutputMessage): Buffer {
  const w = new Writer();
  switch (msg.type) {
    case 'begin':
      w.tag('B').lsn(msg.finalLsn).time(msg.commitTime).u32(msg.xid);
      break;
    case 'commit':
      w.tag('C').u8(msg.flags).lsn(msg.commitLsn).lsn(msg.endLsn).time(msg.commitTime);
      break;
    case 'origin':
      w.tag('O').lsn(msg.originLsn).cstring(msg.name);
      break;
    case 'relation': {
      const r = msg.relation;
      w.tag('R').xid(msg).u32(r.oid).cstring(r.schema).cstring(r.name).u8(r.replicaIdentity.charCodeAt(0)).i16(r.columns.length);
      for (const col of r.columns) w.u8(col.isKey ? 1 : 0).cstring(col.name).u32(col.typeOid).i32(col.typeModifier);
      break;
    }
    case 'type':
      w.tag('Y').xid(msg).u32(msg.typeOid).cstring(msg.schema).cstring(msg.name);
      break;
    case 'insert':
      w.tag('I').xid(msg).u32(msg.relation.oid).tag('N').tuple(msg.new);
      break;
    case 'update':
      w.tag('U').xid(msg).u32(msg.relation.oid);
      if (msg.key !== undefined) w.tag('K').tuple(msg.key);
      else if (msg.old !== undefined) w.tag('O').tuple(msg.old);
      w.tag('N').tuple(msg.new);
      break;
    case 'delete':
      w.tag('D').xid(msg).u32(msg.relation.oid);
      if (msg.key !== undefined) w.tag('K').tuple(msg.key);
      else if (msg.old !== undefined) w.tag('O').tuple(msg.old);
      else throw new TypeError('a delete message needs a key or an old row');
      break;
    case 'truncate':
      w.tag('T').xid(msg).u32(msg.relations.length).u8((msg.cascade ? 1 : 0) | (msg.restartIdentity ? 2 : 0));
      for (const r of msg.relations) w.u32(r.oid);
      break;
    case 'message':
      w.tag('M').xid(msg).u8(msg.transactional ? 1 : 0).lsn(msg.messageLsn).cstring(msg.prefix).u32(msg.content.length).bytes(msg.content);
      break;
    case 'streamStart':
      w.tag('S').u32(msg.xid).u8(msg.firstSegment ? 1 : 0);
      break;
    case 'streamStop':
      w.tag('E');
      break;
    case 'streamCommit':
      w.tag('c').u32(msg.xid).u8(msg.flags).lsn(msg.commitLsn).lsn(msg.endLsn).time(msg.commitTime);
      break;
    case 'streamAbort':
      w.tag('A').u32(msg.xid).u32(msg.subXid);
      if (msg.abortLsn !== undefined && msg.abortTime !== undefined) w.lsn(msg.abortLsn).time(msg.abortTime);
      break;
    case 'beginPrepare':
      w.tag('b').lsn(msg.prepareLsn).lsn(msg.endLsn).time(msg.prepareTime).u32(msg.xid).cstring(msg.gid);
      break;
    case 'prepare':
    case 'streamPrepare':
      w.tag(msg.type === 'prepare' ? 'P' : 'p').u8(msg.flags).lsn(msg.prepareLsn).lsn(msg.endLsn).time(msg.prepareTime).u32(msg.xid).cstring(msg.gid);
      break;
    case 'commitPrepared':
      w.tag('K').u8(msg.flags).lsn(msg.commitLsn).lsn(msg.endLsn).time(msg.commitTime).u32(msg.xid).cstring(msg.gid);
      break;
    case 'rollbackPrepared':
      w.tag('r').u8(msg.flags).lsn(msg.prepareEndLsn).lsn(msg.rollbackEndLsn).time(msg.prepareTime).time(msg.rollbackTime).u32(msg.xid).cstring(msg.gid);
      break;
    default:
      throw new TypeError(`unknown pgoutput message type ${JSON.stringify((msg as { type: unknown }).type)}`);
  }
  return w.finish();
}

/**
 * Encodes column values as TupleData and binds them to `relation`: a string travels as text
 * (`t`), a Buffer as binary (`b`), `null` as `n`, {@link UNCHANGED_TOAST} as `u`.
 * @throws {RangeError} when the number of values differs from the relation's columns.
 *
 * @example
 * const row = rowOf(relation, ['1', null, UNCHANGED_TOAST]);
 */
export function rowOf(relation: RelationInfo, values: readonly RawValue[]): Row {
  if (values.length !== relation.columns.length) {
    throw new RangeError(`${values.length} values for ${relation.schema}.${relation.name}, which has ${relation.columns.length} columns`);
  }
  const w = new Writer();
  for (const v of values) w.value(v);
  return new Row(relation, w.finish(), 0, values.length);
}

class Writer {
  private buf = Buffer.allocUnsafe(256);
  private pos = 0;

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  tag(t: string): this {
    return this.u8(t.charCodeAt(0));
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  i16(v: number): this {
    this.ensure(2);
    this.pos = this.buf.writeInt16BE(v, this.pos);
    return this;
  }

  u32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeUInt32BE(v, this.pos);
    return this;
  }

  i32(v: number): this {
    this.ensure(4);
    this.pos = this.buf.writeInt32BE(v, this.pos);
    return this;
  }

  lsn(v: Lsn): this {
    this.ensure(8);
    this.pos = this.buf.writeBigUInt64BE(v.value, this.pos);
    return this;
  }

  time(v: bigint): this {
    this.ensure(8);
    this.pos = this.buf.writeBigInt64BE(v, this.pos);
    return this;
  }

  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  cstring(s: string): this {
    const b = Buffer.from(s, 'utf8');
    if (b.includes(0)) throw new RangeError(`a pgoutput string cannot contain NUL: ${JSON.stringify(s)}`);
    return this.bytes(b).u8(0);
  }

  /** The xid of a message inside a streamed block. */
  xid(msg: { inStream: boolean; xid: number | undefined }): this {
    if (!msg.inStream) return this;
    if (msg.xid === undefined) throw new TypeError('a message inside a stream block needs its xid');
    return this.u32(msg.xid);
  }

  value(v: RawValue): this {
    if (v === null) return this.tag('n');
    if (v === UNCHANGED_TOAST) return this.tag('u');
    if (typeof v === 'string') {
      const b = Buffer.from(v, 'utf8');
      return this.tag('t').u32(b.length).bytes(b);
    }
    return this.tag('b').u32(v.length).bytes(v);
  }

  tuple(row: Row): this {
    this.i16(row.length);
    for (let i = 0; i < row.length; i++) {
      const kind = row.kind(i);
      // Keep the kind as it travelled: a text value's bytes are written back unchanged, even if not valid UTF-8.
      if (kind === 't') {
        const b = row.bytes(i) as Buffer;
        this.tag('t').u32(b.length).bytes(b);
      } else this.value(row.raw(i));
    }
    return this;
  }

  finish(): Buffer {
    return Buffer.from(this.buf.subarray(0, this.pos));
  }
}
