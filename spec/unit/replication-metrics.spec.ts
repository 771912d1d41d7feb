import { ConnectionError, Lsn, LsnFeedback, PgError } from '../../src';
import { dateToPgTimestamp, decodeReplicationFrame, encodePgoutput, encodePrimaryKeepalive, encodeXLogData } from '../../src/protocol';
import { ReplicationMetrics, type SourceConnected } from '../../src/metrics';

const T0 = Date.parse('2026-11-30T12:00:00Z');

function setup(kind: 'logical' | 'physical' = 'logical') {
  let now = T0;
  const metrics = new ReplicationMetrics({ now: () => now, rateWindow: 10_000 });
  const feedback = new LsnFeedback();
  const info: SourceConnected = { kind, slot: 'app', target: '127.0.0.1:5432', serverVersion: 180001, feedback };
  const frame = (buf: Buffer) => metrics.frame(decodeReplicationFrame(buf), buf.length);
  return { metrics, feedback, info, frame, tick: (ms: number) => (now += ms), now: () => now };
}

/** Begin, one message, Commit of a transaction committed at `committedAt` (ms), ending at `end`. */
function transaction(end: bigint, committedAt: number): Buffer[] {
  const commitTime = dateToPgTimestamp(committedAt);
  const lsn = Lsn.from(end);
  const begin = encodePgoutput({ type: 'begin', lsn, finalLsn: Lsn.from(end - 8n), commitTime, xid: 7 } as never);
  const commit = encodePgoutput({ type: 'commit', lsn, flags: 0, commitLsn: Lsn.from(end - 8n), endLsn: lsn, commitTime } as never);
  return [encodeXLogData(Lsn.from(end - 8n), Lsn.from(end - 8n), 0n, begin), encodeXLogData(lsn, lsn, 0n, commit)];
}

describe('ReplicationMetrics', () => {
  it('counts messages, transactions and bytes, and averages rates over the window', () => {
    const { metrics, info, frame, tick } = setup();
    metrics.connected(info);
    let bytes = 0;
    for (let i = 1; i <= 10; i++) for (const f of transaction(BigInt(i * 100), T0)) (frame(f), (bytes += f.length));
    tick(2000);
    const s = metrics.snapshot();
    expect(s).toMatchObject({ messages: 20, transactions: 10, bytes, slot: 'app', kind: 'logical', connected: true });
    expect(s.messagesPerSecond).toBeCloseTo(10);
    expect(s.transactionsPerSecond).toBeCloseTo(5);
    expect(s.receivedLsn.toString()).toBe(Lsn.from(1000n).toString());
    // Nothing more for 20 s: the rates fall to 0 once the window has passed.
    for (let i = 0; i < 20; i++) (tick(1000), metrics.snapshot());
    expect(metrics.snapshot().transactionsPerSecond).toBe(0);
  });

  it('averages since the previous reading when readings are further apart than the window', () => {
    const { metrics, info, frame, tick } = setup();
    metrics.connected(info);
    tick(60_000);
    metrics.snapshot(); // a scrape; nothing received for a minute
    for (let i = 1; i <= 15; i++) for (const f of transaction(BigInt(i * 100), T0)) frame(f);
    tick(15_000); // the next scrape, 15 s later
    expect(metrics.snapshot().transactionsPerSecond).toBeCloseTo(1);
  });

  it('reports lag in bytes against the WAL end and in seconds from the oldest unacknowledged commit, 0 once caught up', () => {
    const { metrics, info, frame, tick, feedback } = setup();
    metrics.connected(info);
    for (const f of transaction(1000n, T0)) frame(f);
    tick(500);
    for (const f of transaction(2000n, T0 + 500)) frame(f);
    frame(encodePrimaryKeepalive(Lsn.from(5000n), 0n, false));
    tick(1500);
    let s = metrics.snapshot();
    expect(s.serverWalEnd.value).toBe(5000n);
    expect(s.lagBytes).toBe(5000);
    expect(s.lagSeconds).toBeCloseTo(2.0);
    feedback.acknowledge(Lsn.from(1000n)); // the first transaction is done
    s = metrics.snapshot();
    expect(s.lagBytes).toBe(4000);
    expect(s.lagSeconds).toBeCloseTo(1.5);
    feedback.acknowledge(Lsn.from(2000n));
    expect(metrics.snapshot().lagSeconds).toBe(0);
    // The idle stream confirms the keepalive's WAL end in its next status update.
    metrics.statusSent(Lsn.from(5000n), Lsn.from(5000n));
    s = metrics.snapshot();
    expect(s).toMatchObject({ lagBytes: 0, lagSeconds: 0 });
    expect(s.flushedLsn.value).toBe(5000n);
    // A slot monitor's pg_current_wal_lsn() moves the WAL end on.
    metrics.serverWalPosition(Lsn.from(6000n));
    expect(metrics.snapshot().lagBytes).toBe(1000);
  });

  it('measures time paused by flow control, the current pause included', () => {
    const { metrics, info, tick } = setup();
    metrics.connected(info);
    metrics.paused();
    tick(1500);
    expect(metrics.snapshot()).toMatchObject({ paused: true, pausedSeconds: 1.5, pauses: 1 });
    metrics.resumed();
    tick(1000);
    metrics.paused();
    tick(250);
    metrics.resumed();
    expect(metrics.snapshot()).toMatchObject({ paused: false, pausedSeconds: 1.75, pauses: 2 });
  });

  it('counts reconnections as connections after the first, and keeps the last error', () => {
    const { metrics, info, tick } = setup();
    metrics.connected(info);
    expect(metrics.snapshot().reconnections).toBe(0);
    metrics.paused();
    tick(100);
    metrics.error(new PgError({ code: '57P01', message: 'terminating connection due to administrator command' }));
    tick(100);
    metrics.connected(info);
    metrics.error(new ConnectionError('connection to 127.0.0.1:5432 closed', { code: 'ECONNRESET' }));
    metrics.connected(info);
    const s = metrics.snapshot();
    expect(s).toMatchObject({ connections: 3, reconnections: 2, errors: 2, connected: true, paused: false, pausedSeconds: 0.1 });
    expect(s.lastError).toEqual({ type: 'ConnectionError', code: 'ECONNRESET', message: 'connection to 127.0.0.1:5432 closed', at: T0 + 200 });
    expect([...s.errorsByKind.values()].map((e) => [e.error.type, e.error.code, e.count])).toEqual([
      ['PgError', '57P01', 1],
      ['ConnectionError', 'ECONNRESET', 1],
    ]);
  });

  it('reads physical XLogData as WAL ranges, lag in seconds from the send time', () => {
    const { metrics, info, frame, tick } = setup('physical');
    metrics.connected(info);
    frame(encodeXLogData(Lsn.from(0x1000000n), Lsn.from(0x1100000n), dateToPgTimestamp(T0), Buffer.alloc(8192)));
    tick(3000);
    const s = metrics.snapshot();
    expect(s.receivedLsn.value).toBe(0x1002000n);
    expect(s.serverWalEnd.value).toBe(0x1100000n);
    expect(s.transactions).toBe(0);
    expect(s.lagSeconds).toBeCloseTo(3);
    metrics.statusSent(Lsn.from(0x1002000n), Lsn.from(0x1002000n));
    expect(metrics.snapshot()).toMatchObject({ lagSeconds: 0, lagBytes: 0x100000 - 0x2000 });
  });

  it('emits snapshots as an Observable', (done) => {
    const { metrics, info } = setup();
    metrics.connected(info);
    const seen: number[] = [];
    const sub = metrics.snapshots(10).subscribe((s) => {
      seen.push(s.connections);
      if (seen.length === 3) {
        sub.unsubscribe();
        expect(seen).toEqual([1, 1, 1]);
        done();
      }
    });
  });
});
