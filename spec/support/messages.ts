// Hand-built pgoutput messages for the operators' marble tests.
import { Lsn } from '../../src/lsn';
import type {
  BeginMessage,
  CommitMessage,
  CommitPreparedMessage,
  InsertMessage,
  LogicalMessage,
  PrepareMessage,
  RelationInfo,
  RollbackPreparedMessage,
  StreamAbortMessage,
  StreamCommitMessage,
  StreamStartMessage,
  StreamStopMessage,
  BeginPrepareMessage,
} from '../../src/pgoutput/messages';
import type { Row } from '../../src/pgoutput/row';

export const relation: RelationInfo = { oid: 1, schema: 'public', name: 't', replicaIdentity: 'd', columns: [], keyColumns: [] };

/** A row that took `size` bytes on the wire. */
export function fakeRow(size = 10): Row {
  return { length: 1, relation, byteLength: size } as unknown as Row;
}

const lsn = (n: number) => Lsn.from(n);

export const begin = (xid: number, at: number, final = at + 50): BeginMessage => ({ type: 'begin', lsn: lsn(at), finalLsn: lsn(final), commitTime: 0n, xid });
export const insert = (at: number, opts: { xid?: number; inStream?: boolean; size?: number } = {}): InsertMessage => ({
  type: 'insert', lsn: lsn(at), xid: opts.xid, inStream: opts.inStream ?? false, relation, new: fakeRow(opts.size),
});
export const commit = (at: number, end = at + 8): CommitMessage => ({ type: 'commit', lsn: lsn(at), flags: 0, commitLsn: lsn(at), endLsn: lsn(end), commitTime: 0n });
export const streamStart = (xid: number, at: number, firstSegment = false): StreamStartMessage => ({ type: 'streamStart', lsn: lsn(at), xid, firstSegment });
export const streamStop = (at: number): StreamStopMessage => ({ type: 'streamStop', lsn: lsn(at) });
export const streamCommit = (xid: number, at: number, end = at + 8): StreamCommitMessage => ({
  type: 'streamCommit', lsn: lsn(at), xid, flags: 0, commitLsn: lsn(at), endLsn: lsn(end), commitTime: 0n,
});
export const streamAbort = (xid: number, subXid: number, at: number): StreamAbortMessage => ({ type: 'streamAbort', lsn: lsn(at), xid, subXid, abortLsn: undefined, abortTime: undefined });
export const message = (at: number, transactional: boolean, opts: { xid?: number; inStream?: boolean } = {}): LogicalMessage => ({
  type: 'message', lsn: lsn(at), xid: opts.xid, inStream: opts.inStream ?? false, transactional, messageLsn: lsn(at), prefix: 'p', content: Buffer.from('x'),
});
export const beginPrepare = (xid: number, at: number, gid = 'g'): BeginPrepareMessage => ({
  type: 'beginPrepare', lsn: lsn(at), prepareLsn: lsn(at + 50), endLsn: lsn(at + 58), prepareTime: 0n, xid, gid,
});
export const prepare = (xid: number, at: number, gid = 'g', type: 'prepare' | 'streamPrepare' = 'prepare'): PrepareMessage => ({
  type, lsn: lsn(at), flags: 0, prepareLsn: lsn(at), endLsn: lsn(at + 8), prepareTime: 0n, xid, gid,
});
export const commitPrepared = (xid: number, at: number, gid = 'g'): CommitPreparedMessage => ({
  type: 'commitPrepared', lsn: lsn(at), flags: 0, commitLsn: lsn(at), endLsn: lsn(at + 8), commitTime: 0n, xid, gid,
});
export const rollbackPrepared = (xid: number, at: number, gid = 'g'): RollbackPreparedMessage => ({
  type: 'rollbackPrepared', lsn: lsn(at), flags: 0, prepareEndLsn: lsn(at - 10), rollbackEndLsn: lsn(at + 8), prepareTime: 0n, rollbackTime: 0n, xid, gid,
});
