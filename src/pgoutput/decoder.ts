import { Lsn } from '../lsn';
import { Cursor } from './cursor';
import type {
  Column,
  PgoutputMessage,
  RelationInfo,
  ReplicaIdentity,
  StreamAbortMessage,
} from './messages';
import { Row, skipTuple } from './row';
import { type TypeOptions, TypeRegistry } from '../values/registry';

/** A data type named by a Type message. */
export interface TypeInfo {
  readonly oid: number;
  readonly schema: string;
  readonly name: string;
}

const REPLICA_IDENTITIES = new Set(['d', 'n', 'f', 'i']);

/** Options of a {@link PgoutputDecoder}. */
export interface PgoutputDecoderOptions {
  /**
   * How rows decode column values: options for a new {@link TypeRegistry}, or a registry to use
   * (it learns this stream's Type messages). Default: `pg`'s defaults.
   */
  types?: TypeOptions | TypeRegistry;
  /**
   * Whether Stream Abort carries the abort LSN and time: true with protocol 4 and
   * `streaming: 'parallel'`, false otherwise. Left undefined, the decoder tells by the message's
   * length, which also accepts the Stream Abort PostgreSQL 18 has been reported to send on any
   * protocol version; set it to have a truncated abort rejected rather than read as the short form.
   */
  abortInfo?: boolean;
}

/**
 * Decodes pgoutput messages, protocol versions 1 to 4, keeping the state the protocol implies:
 * the relation and type caches, and whether a streamed block is open (where messages carry an xid).
 * Follows "Logical Replication Message Formats" and `src/backend/replication/logical/proto.c`.
 * Use one decoder per replication stream.
 *
 * @example
 * const decoder = new PgoutputDecoder({ types: { int8: 'bigint' } });
 * const msg = decoder.decode(frame.data, frame.walStart);
 */
export class PgoutputDecoder {
  /** Parsers for column values, shared by every Row this decoder builds. */
  readonly typeRegistry: TypeRegistry;
  /** Relations by OID, as the latest Relation message described them. */
  readonly relations = new Map<number, RelationInfo>();
  /** Types announced by Type messages, by OID. */
  readonly types = new Map<number, TypeInfo>();
  private inStream = false;
  private topXid: number | undefined;
  private lastLsn = Lsn.ZERO;
  private readonly c = new Cursor();
  private readonly tupleError = { offset: 0 };

  private readonly abortInfo: boolean | undefined;

  constructor(options: PgoutputDecoderOptions = {}) {
    this.typeRegistry = options.types instanceof TypeRegistry ? options.types : new TypeRegistry(options.types);
    this.abortInfo = options.abortInfo;
  }

  /** True between Stream Start and Stream Stop. */
  get streaming(): boolean {
    return this.inStream;
  }

  /**
   * Decodes one message; `walStart` is its XLogData position.
   * @throws {ParseError} for an unknown tag, a frame shorter or longer than its fields, an unknown
   * tuple kind, or a row for a relation no Relation message announced. The decoder's state is left
   * as it was before the failed message.
   */
  decode(data: Buffer, walStart: Lsn): PgoutputMessage {
    if (!walStart.isZero()) this.lastLsn = walStart;
    return this.decodeIn(data, 0, data.length);
  }

  /**
   * Decodes the message `buf[start, end)` in place (a socket chunk, without a view of the payload);
   * `walStartHi`/`walStartLo` are the halves of its XLogData position. Errors and state as {@link decode}.
   * @internal
   */
  decodeFrom(buf: Buffer, start: number, end: number, walStartHi: number, walStartLo: number): PgoutputMessage {
    const last = this.lastLsn;
    if ((walStartHi !== 0 || walStartLo !== 0) && (walStartHi !== last.hi || walStartLo !== last.lo)) this.lastLsn = Lsn.fromParts(walStartHi, walStartLo);
    return this.decodeIn(buf, start, end);
  }

  private decodeIn(buf: Buffer, start: number, end: number): PgoutputMessage {
    const lsn = this.lastLsn;
    const c = this.c;
    c.reset(buf, lsn, start, end);
    if (end <= start) throw c.error('empty pgoutput message');
    const tag = buf[start];
    c.pos = start + 1;
    let msg: PgoutputMessage;
    switch (tag) {
      case 0x42: // B
        this.refuseInBlock('Begin');
        msg = { type: 'begin', lsn, finalLsn: c.lsnField('final LSN'), commitTime: c.time('commit time'), xid: c.u32('xid') };
        break;
      case 0x43: // C
        msg = { type: 'commit', lsn, flags: c.u8('flags'), commitLsn: c.lsnField('commit LSN'), endLsn: c.lsnField('end LSN'), commitTime: c.time('commit time') };
        break;
      case 0x4f: // O
        msg = { type: 'origin', lsn, originLsn: c.lsnField('origin LSN'), name: c.cstring('origin name') };
        break;
      case 0x52: // R
        msg = this.relation(lsn);
        break;
      case 0x59: {
        // Y
        const xid = this.streamXid();
        const t: TypeInfo = { oid: c.u32('type OID'), schema: c.cstring('type namespace'), name: c.cstring('type name') };
        c.done();
        this.types.set(t.oid, t);
        this.typeRegistry.announce(t);
        return { type: 'type', lsn, xid, inStream: this.inStream, topXid: this.topXid, typeOid: t.oid, schema: t.schema, name: t.name };
      }
      case 0x49: {
        // I
        const xid = this.streamXid();
        const relation = this.relationFor(c.u32('relation OID'));
        this.expect(0x4e, 'N');
        msg = { type: 'insert', lsn, xid, inStream: this.inStream, topXid: this.topXid, relation, new: this.tuple(relation) };
        break;
      }
      case 0x55: {
        // U
        const xid = this.streamXid();
        const relation = this.relationFor(c.u32('relation OID'));
        let key: Row | undefined;
        let old: Row | undefined;
        let marker = c.u8('tuple marker');
        if (marker === 0x4b) key = this.tuple(relation);
        else if (marker === 0x4f) old = this.tuple(relation);
        if (key !== undefined || old !== undefined) marker = c.u8('tuple marker');
        if (marker !== 0x4e) throw c.error(`expected tuple marker 'N', found ${JSON.stringify(String.fromCharCode(marker))}`, c.offset - 1);
        msg = { type: 'update', lsn, xid, inStream: this.inStream, topXid: this.topXid, relation, key, old, new: this.tuple(relation) };
        break;
      }
      case 0x44: {
        // D
        const xid = this.streamXid();
        const relation = this.relationFor(c.u32('relation OID'));
        const marker = c.u8('tuple marker');
        if (marker !== 0x4b && marker !== 0x4f) throw c.error(`expected tuple marker 'K' or 'O', found ${JSON.stringify(String.fromCharCode(marker))}`, c.offset - 1);
        const row = this.tuple(relation);
        msg = { type: 'delete', lsn, xid, inStream: this.inStream, topXid: this.topXid, relation, key: marker === 0x4b ? row : undefined, old: marker === 0x4f ? row : undefined };
        break;
      }
      case 0x54: {
        // T
        const xid = this.streamXid();
        const count = c.u32('relation count');
        const options = c.u8('options');
        if (count > c.remaining / 4) throw c.error(`relation count ${count} exceeds the frame`);
        const relations: RelationInfo[] = [];
        for (let i = 0; i < count; i++) relations.push(this.relationFor(c.u32('relation OID')));
        msg = { type: 'truncate', lsn, xid, inStream: this.inStream, topXid: this.topXid, relations, cascade: (options & 1) !== 0, restartIdentity: (options & 2) !== 0 };
        break;
      }
      case 0x4d: {
        // M
        const xid = this.streamXid();
        const flags = c.u8('flags');
        const messageLsn = c.lsnField('message LSN');
        const prefix = c.cstring('prefix');
        const content = c.bytes(c.i32('content length'), 'content');
        msg = { type: 'message', lsn, xid, inStream: this.inStream, topXid: this.topXid, transactional: (flags & 1) !== 0, messageLsn, prefix, content };
        break;
      }
      case 0x53: {
        // S
        if (this.inStream) throw c.error(`Stream Start while the streamed block of xid ${this.topXid} is still open`, 0);
        const xid = c.u32('xid');
        const first = c.u8('first segment');
        c.done();
        this.inStream = true;
        this.topXid = xid;
        return { type: 'streamStart', lsn, xid, firstSegment: first === 1 };
      }
      case 0x45: // E
        if (!this.inStream) throw c.error('Stream Stop outside a streamed block', 0);
        c.done();
        this.inStream = false;
        this.topXid = undefined;
        return { type: 'streamStop', lsn };
      case 0x63: // c
        msg = { type: 'streamCommit', lsn, xid: c.u32('xid'), flags: c.u8('flags'), commitLsn: c.lsnField('commit LSN'), endLsn: c.lsnField('end LSN'), commitTime: c.time('commit time') };
        break;
      case 0x41: // A
        msg = this.streamAbort(lsn);
        break;
      case 0x62: // b
        this.refuseInBlock('Begin Prepare');
        msg = { type: 'beginPrepare', lsn, prepareLsn: c.lsnField('prepare LSN'), endLsn: c.lsnField('end LSN'), prepareTime: c.time('prepare time'), xid: c.u32('xid'), gid: c.cstring('GID') };
        break;
      case 0x50: // P
      case 0x70: // p
        msg = {
          type: tag === 0x50 ? 'prepare' : 'streamPrepare',
          lsn,
          flags: c.u8('flags'),
          prepareLsn: c.lsnField('prepare LSN'),
          endLsn: c.lsnField('end LSN'),
          prepareTime: c.time('prepare time'),
          xid: c.u32('xid'),
          gid: c.cstring('GID'),
        };
        break;
      case 0x4b: // K
        msg = { type: 'commitPrepared', lsn, flags: c.u8('flags'), commitLsn: c.lsnField('commit LSN'), endLsn: c.lsnField('end LSN'), commitTime: c.time('commit time'), xid: c.u32('xid'), gid: c.cstring('GID') };
        break;
      case 0x72: // r
        msg = {
          type: 'rollbackPrepared',
          lsn,
          flags: c.u8('flags'),
          prepareEndLsn: c.lsnField('prepare end LSN'),
          rollbackEndLsn: c.lsnField('rollback end LSN'),
          prepareTime: c.time('prepare time'),
          rollbackTime: c.time('rollback time'),
          xid: c.u32('xid'),
          gid: c.cstring('GID'),
        };
        break;
      default:
        throw c.error('unknown pgoutput message tag', 0);
    }
    c.done();
    if (msg.type === 'relation') this.relations.set(msg.relation.oid, msg.relation);
    return msg;
  }

  /**
   * The walsender sends each streamed block for one transaction at a time (ReorderBufferStreamTXN),
   * and whole transactions only between blocks, so a Begin inside a streamed block means a
   * corrupted or misframed stream. (A Begin after a Begin is not refused here: a stream resumed
   * mid-transaction on the same decoder repeats the Begin.)
   */
  private refuseInBlock(what: string): void {
    if (this.inStream) throw this.c.error(`${what} inside the streamed block of xid ${this.topXid}`, 0);
  }

  private streamXid(): number | undefined {
    return this.inStream ? this.c.u32('xid') : undefined;
  }

  private expect(marker: number, name: string): void {
    const got = this.c.u8('tuple marker');
    if (got !== marker) throw this.c.error(`expected tuple marker '${name}', found ${JSON.stringify(String.fromCharCode(got))}`, this.c.offset - 1);
  }

  private relationFor(oid: number): RelationInfo {
    const r = this.relations.get(oid);
    if (r === undefined) throw this.c.error(`row for relation OID ${oid}, which no Relation message described`, this.c.offset - 4);
    return r;
  }

  private relation(lsn: Lsn): PgoutputMessage {
    const c = this.c;
    const xid = this.streamXid();
    const oid = c.u32('relation OID');
    const schema = c.cstring('namespace');
    const name = c.cstring('relation name');
    const identity = String.fromCharCode(c.u8('replica identity'));
    if (!REPLICA_IDENTITIES.has(identity)) throw c.error(`unknown replica identity ${JSON.stringify(identity)}`, c.offset - 1);
    const count = c.i16('column count');
    // Each column takes at least 10 bytes: flags, an empty name's NUL, type OID, type modifier.
    if (count < 0 || count * 10 > c.remaining) throw c.error(`column count ${count} exceeds the frame`, c.offset - 2);
    const columns: Column[] = [];
    const keyColumns: string[] = [];
    for (let i = 0; i < count; i++) {
      const flags = c.u8('column flags');
      const col: Column = { name: c.cstring('column name'), typeOid: c.u32('column type OID'), typeModifier: c.i32('type modifier'), isKey: (flags & 1) !== 0 };
      columns.push(col);
      if (col.isKey) keyColumns.push(col.name);
    }
    const relation: RelationInfo = { oid, schema, name, replicaIdentity: identity as ReplicaIdentity, columns, keyColumns };
    return { type: 'relation', lsn, xid, inStream: this.inStream, topXid: this.topXid, relation };
  }

  private tuple(relation: RelationInfo): Row {
    const c = this.c;
    const count = c.i16('tuple column count');
    if (count !== relation.columns.length) {
      throw c.error(`tuple has ${count} columns, relation ${relation.schema}.${relation.name} has ${relation.columns.length}`, c.offset - 2);
    }
    const start = c.pos;
    // The offsets table is recorded while the bounds are checked: one walk over the tuple.
    const offsets: number[] = new Array(count * 3);
    const end = skipTuple(c.buf, start, c.end, count, this.tupleError, offsets);
    if (end < 0) {
      const at = this.tupleError.offset;
      throw c.error(end === -1 ? 'frame ends inside TupleData' : `unknown TupleData kind ${JSON.stringify(String.fromCharCode(c.buf[at]))}`, at - c.start);
    }
    c.pos = end;
    return new Row(relation, c.buf, start, count, this.typeRegistry, end, offsets);
  }

  private streamAbort(lsn: Lsn): StreamAbortMessage {
    const c = this.c;
    const xid = c.u32('xid');
    const subXid = c.u32('subtransaction xid');
    // Protocol v4 with streaming = parallel adds abort LSN and time (proto.c, logicalrep_write_stream_abort).
    const parallel = this.abortInfo ?? c.remaining >= 16;
    return { type: 'streamAbort', lsn, xid, subXid, abortLsn: parallel ? c.lsnField('abort LSN') : undefined, abortTime: parallel ? c.time('abort time') : undefined };
  }
}
