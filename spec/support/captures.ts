import { readFileSync, writeFileSync } from 'node:fs';
import { gunzipSync, gzipSync } from 'node:zlib';
import { Lsn } from '../../src';
import { PgoutputDecoder, encodePgoutput } from '../../src/protocol';
import type { PgoutputMessage, StreamAbortMessage } from '../../src';

/** One way of reading the workload: the pgoutput options, and the server release that has them. */
export interface CaptureConfig {
  name: string;
  protoVersion: 1 | 2 | 3 | 4;
  binary: boolean;
  streaming: 'off' | 'on' | 'parallel';
  twoPhase: boolean;
  minServer: number;
}

export const CAPTURE_CONFIGS: CaptureConfig[] = [
  { name: 'v1-text', protoVersion: 1, binary: false, streaming: 'off', twoPhase: false, minServer: 140000 },
  { name: 'v1-binary', protoVersion: 1, binary: true, streaming: 'off', twoPhase: false, minServer: 140000 },
  { name: 'v2-streaming', protoVersion: 2, binary: false, streaming: 'on', twoPhase: false, minServer: 140000 },
  { name: 'v3-two-phase', protoVersion: 3, binary: false, streaming: 'on', twoPhase: true, minServer: 150000 },
  { name: 'v4-parallel-binary', protoVersion: 4, binary: true, streaming: 'parallel', twoPhase: true, minServer: 160000 },
];

/** The options as `pg_logical_slot_get_binary_changes` (and pg_recvlogical -o) take them: name, value, name, value... */
export function pluginOptions(c: CaptureConfig, publication: string): string[] {
  const o = ['proto_version', String(c.protoVersion), 'publication_names', publication, 'messages', 'true', 'binary', String(c.binary)];
  // PostgreSQL 14 and 15 take a boolean; 'on' is one.
  if (c.protoVersion >= 2) o.push('streaming', c.streaming);
  if (c.twoPhase) o.push('two_phase', 'true');
  return o;
}

/** Real pgoutput bytes, with what the checks need to know about the workload that made them. */
export interface Capture {
  serverVersion: number;
  config: CaptureConfig;
  prefix: string;
  gids: string[];
  frames: { lsn: string; data: Buffer }[];
}

export function writeCapture(file: string, c: Capture): void {
  const lines = [JSON.stringify({ serverVersion: c.serverVersion, config: c.config, prefix: c.prefix, gids: c.gids }), ...c.frames.map((f) => JSON.stringify([f.lsn, f.data.toString('hex')]))];
  writeFileSync(file, gzipSync(`${lines.join('\n')}\n`, { level: 9 }));
}

export function readCapture(file: string): Capture {
  const [head, ...rest] = gunzipSync(readFileSync(file)).toString('utf8').trimEnd().split('\n');
  const frames = rest.map((l) => {
    const [lsn, data] = JSON.parse(l) as [string, string];
    return { lsn, data: Buffer.from(data, 'hex') };
  });
  return { ...(JSON.parse(head) as Omit<Capture, 'frames'>), frames };
}

/**
 * Decodes a capture, checks that every message encodes back to the exact bytes, and that the
 * messages the configuration promises are all there with the right content.
 */
export function checkCapture(c: Capture): PgoutputMessage[] {
  const { config } = c;
  const decoder = new PgoutputDecoder({ abortInfo: config.streaming === 'parallel' && config.protoVersion >= 4 });
  const msgs: PgoutputMessage[] = [];
  for (const f of c.frames) {
    const msg = decoder.decode(f.data, Lsn.parse(f.lsn));
    const again = encodePgoutput(msg);
    if (!again.equals(f.data)) throw new Error(`${msg.type} at ${f.lsn} re-encodes to ${again.toString('hex')}, not ${f.data.toString('hex')}`);
    msgs.push(msg);
  }
  const ours = msgs.filter((m) => !('relation' in m) || m.relation.name.startsWith(c.prefix.replace(/_msg$/, '')));
  const types = new Set(ours.map((m) => m.type));
  for (const t of ['begin', 'commit', 'relation', 'type', 'insert', 'update', 'delete', 'truncate', 'message', 'origin'] as const) expect([t, types.has(t)]).toEqual([t, true]);

  const rows = ours.flatMap((m) => (m.type === 'insert' ? [m.new] : m.type === 'update' ? [m.new, m.key, m.old] : m.type === 'delete' ? [m.key, m.old] : [])).filter((r) => r !== undefined);
  const kinds = new Set(rows.flatMap((r) => Array.from({ length: r.length }, (_, i) => r.kind(i))));
  expect(kinds.has('b')).toBe(config.binary);
  if (!config.binary) expect(kinds.has('t')).toBe(true);
  expect(kinds.has('n')).toBe(true);
  expect(kinds.has('u')).toBe(true);
  expect(ours.some((m) => m.type === 'update' && m.key !== undefined)).toBe(true);
  expect(ours.some((m) => m.type === 'update' && m.old !== undefined)).toBe(true);
  expect(ours.some((m) => m.type === 'delete' && m.key !== undefined)).toBe(true);
  expect(ours.some((m) => m.type === 'delete' && m.old !== undefined)).toBe(true);
  expect(ours.some((m) => m.type === 'truncate' && m.cascade && m.restartIdentity)).toBe(true);
  const messages = msgs.filter((m) => m.type === 'message' && m.prefix === c.prefix);
  expect(messages.some((m) => m.type === 'message' && !m.transactional)).toBe(true);
  expect(messages.some((m) => m.type === 'message' && m.transactional && m.content.equals(Buffer.from([0, 255])))).toBe(true);

  const streamTypes = ['streamStart', 'streamStop', 'streamCommit', 'streamAbort'] as const;
  if (config.streaming === 'off') {
    for (const t of streamTypes) expect([t, types.has(t)]).toEqual([t, false]);
  } else {
    checkStreams(msgs, config, c.serverVersion);
  }
  const prepareTypes = ['beginPrepare', 'prepare', 'commitPrepared', 'rollbackPrepared', 'streamPrepare'] as const;
  if (!config.twoPhase) {
    for (const t of prepareTypes) expect([t, types.has(t)]).toEqual([t, false]);
  } else {
    const byGid = (type: string, gid: string) => msgs.some((m) => m.type === type && 'gid' in m && m.gid === gid);
    const [g1, g2, g3] = c.gids;
    expect([byGid('beginPrepare', g1), byGid('prepare', g1), byGid('commitPrepared', g1)]).toEqual([true, true, true]);
    expect([byGid('beginPrepare', g2), byGid('prepare', g2), byGid('rollbackPrepared', g2)]).toEqual([true, true, true]);
    expect([byGid('streamPrepare', g3), byGid('commitPrepared', g3)]).toEqual([true, true]);
  }
  return msgs;
}

/** Stream blocks: xids on every message inside, interleaving, subtransaction and top-level aborts. */
function checkStreams(msgs: PgoutputMessage[], config: CaptureConfig, serverVersion: number): void {
  let current: number | undefined;
  const starts: number[] = [];
  const subXids = new Set<number>();
  for (const m of msgs) {
    if (m.type === 'streamStart') {
      current = m.xid;
      starts.push(m.xid);
    } else if (m.type === 'streamStop') current = undefined;
    else if ('inStream' in m) {
      expect([m.type, m.inStream, m.topXid, m.xid !== undefined]).toEqual([m.type, current !== undefined, current, current !== undefined]);
      if (m.inStream && m.xid !== m.topXid) subXids.add(m.xid as number);
    }
  }
  // Changes of the rolled-back subtransaction carried its own xid, which the Stream Abort names.
  expect(subXids.size).toBeGreaterThan(0);
  const committed = new Set(msgs.filter((m) => m.type === 'streamCommit').map((m) => (m as { xid: number }).xid));
  const aborts = msgs.filter((m): m is StreamAbortMessage => m.type === 'streamAbort');
  expect(committed.size).toBeGreaterThanOrEqual(3);
  // A rolled-back subtransaction of a committed streamed transaction, and a rolled-back streamed transaction.
  expect(aborts.some((a) => a.subXid !== a.xid && committed.has(a.xid) && subXids.has(a.subXid))).toBe(true);
  // A streamed transaction that rolled back. PostgreSQL 18 no longer streams a transaction it finds
  // already aborted (ReorderBufferCheckAndTruncateAbortedTXN), which is every aborted one when the
  // SQL functions decode after the fact; the live stream test covers it there.
  const topAbort = aborts.some((a) => a.subXid === a.xid && !committed.has(a.xid));
  expect(topAbort).toBe(serverVersion < 180000);
  for (const a of aborts) expect(a.abortLsn !== undefined).toBe(config.streaming === 'parallel');
  // Two transactions' blocks interleave: some xid starts a block again after another xid's block.
  const interleaved = starts.some((x, i) => starts.slice(i + 1).some((y, j) => y !== x && starts.slice(i + 2 + j).includes(x)));
  expect(interleaved).toBe(true);
}
