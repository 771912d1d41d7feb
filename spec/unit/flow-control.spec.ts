import { Lsn } from '../../src';
import { FlowWindow } from '../../src/source/flow-control';

const lsn = (n: number) => Lsn.from(n);
const frame = (tag: string, extra: number[] = [], size = 0) => Buffer.concat([Buffer.from(tag), Buffer.from(extra), Buffer.alloc(size)]);
const commit = () => frame('C', [], 25);

describe('FlowWindow (flow control of logicalReplication)', () => {
  it('pauses at maxPendingTransactions finished transactions and resumes at half', () => {
    const w = new FlowWindow({ maxPendingTransactions: 4 });
    const pauses = [100, 200, 300, 400].map((at) => (w.onXLogData(lsn(at - 10), frame('I', [], 40)), w.onXLogData(lsn(at), commit())));
    expect(pauses).toEqual([false, false, false, true]);
    expect(w.pendingUnits).toBe(4);
    expect(w.onAcknowledged(lsn(108))).toBe(false); // 3 left
    expect(w.onAcknowledged(lsn(208))).toBe(true); // 2 left: half
    expect(w.paused).toBe(false);
  });

  it('never counts a transaction still being received, so one larger than the window cannot deadlock', () => {
    const w = new FlowWindow({ maxPendingTransactions: 1, maxPendingBytes: 1000 });
    for (let i = 0; i < 100; i++) expect(w.onXLogData(lsn(100 + i), frame('I', [], 500))).toBe(false);
    expect(w.onXLogData(lsn(300), commit())).toBe(true); // finished: now it counts
    expect(w.pendingBytes).toBeGreaterThan(50_000);
    expect(w.onAcknowledged(lsn(308))).toBe(true);
    expect(w.pendingBytes).toBe(0);
  });

  it('pauses at maxPendingBytes of finished transactions', () => {
    const w = new FlowWindow({ maxPendingBytes: 1000 });
    // Each transaction: 451 + 51 bytes of payload, plus 25 bytes of XLogData header per frame.
    expect(w.onXLogData(lsn(1), frame('I', [], 450))).toBe(false);
    expect(w.onXLogData(lsn(2), commit())).toBe(false);
    expect(w.onXLogData(lsn(3), frame('I', [], 450))).toBe(false);
    expect(w.onXLogData(lsn(4), commit())).toBe(true);
    expect(w.pendingBytes).toBe(1054);
    expect(w.onAcknowledged(lsn(3))).toBe(false); // 527 bytes left: above half
    expect(w.onAcknowledged(lsn(5))).toBe(true);
  });

  it('counts non-transactional messages, done at their own LSN, but not transactional ones or those in stream blocks', () => {
    const w = new FlowWindow({ maxPendingTransactions: 10 });
    w.onXLogData(lsn(10), frame('M', [0]));
    w.onXLogData(lsn(11), frame('M', [1]));
    w.onXLogData(lsn(12), frame('S', [0, 0, 0, 1, 1]));
    w.onXLogData(lsn(13), frame('M', [0, 0, 0, 1, 0]));
    w.onXLogData(lsn(14), frame('E'));
    expect(w.pendingUnits).toBe(1);
    w.onAcknowledged(lsn(10));
    expect(w.pendingUnits).toBe(0);
  });

  it('counts every kind of transaction end, and not what is already acknowledged', () => {
    const w = new FlowWindow({ maxPendingTransactions: 100 });
    w.onAcknowledged(lsn(50));
    w.onXLogData(lsn(40), commit()); // resent after a reconnection: already done
    for (const [i, tag] of ['C', 'c', 'P', 'p', 'K', 'r', 'A', 'B', 'I'].entries()) w.onXLogData(lsn(100 + i), frame(tag, [], 20));
    expect(w.pendingUnits).toBe(6);
  });

  it('compares LSNs across the 4 GB boundary by both halves (0/FFFFFFF0 < 1/0 < 1/10)', () => {
    const w = new FlowWindow({ maxPendingTransactions: 100 });
    const at = (hi: number, lo: number) => Lsn.fromParts(hi, lo);
    w.onXLogData(at(0, 0xfffffff0), commit());
    w.onXLogData(at(1, 0), commit());
    w.onXLogData(at(1, 0x10), commit());
    expect(w.pendingUnits).toBe(3);
    expect(w.lastUnit).toBe((1n << 32n) | 0x10n);
    w.onAcknowledged(at(0, 0xffffffff)); // below 1/0: only the first is done
    expect(w.pendingUnits).toBe(2);
    w.onAcknowledged(at(1, 0));
    expect(w.pendingUnits).toBe(1);
    w.onAcknowledged(at(0, 5)); // an older acknowledgment changes nothing
    expect(w.pendingUnits).toBe(1);
    w.onXLogData(at(1, 0x8), commit()); // above what is acknowledged (1/0): it counts
    expect(w.pendingUnits).toBe(2);
    expect(w.lastUnit).toBe((1n << 32n) | 0x10n); // an earlier unit does not move the last one back
    w.onAcknowledged(at(2, 0));
    expect(w.pendingUnits).toBe(0);
  });

  it('keeps its counts through the ring growing and wrapping around (against a plain list)', () => {
    const w = new FlowWindow({ maxPendingTransactions: 1_000_000 });
    const pending: Array<{ at: number; bytes: number }> = [];
    let received = 0;
    let acked = 0;
    let ackedBytes = 0;
    let at = 100;
    for (let round = 0; round < 40; round++) {
      const add = 1 + ((round * 37) % 150); // up to 150 units: the 64-slot ring grows, then wraps
      for (let i = 0; i < add; i++) {
        at += 10;
        w.onXLogData(lsn(at - 5), frame('I', [], 30));
        w.onXLogData(lsn(at), commit());
        received += 31 + 25 + (26 + 25); // payload + XLogData header, Insert then Commit
        pending.push({ at, bytes: received });
      }
      acked = pending[Math.floor(pending.length * ((round % 3) / 3))]?.at ?? acked; // ack a third, two thirds or none
      w.onAcknowledged(lsn(acked));
      while (pending.length > 0 && pending[0].at <= acked) ackedBytes = pending.shift()!.bytes;
      expect(w.pendingUnits).toBe(pending.length);
      expect(w.pendingBytes).toBe(pending.length === 0 ? 0 : pending[pending.length - 1].bytes - ackedBytes);
    }
  });

  it('remembers no units without limits (flow control off), and still reports the last one', () => {
    const w = new FlowWindow({ maxPendingTransactions: Infinity, maxPendingBytes: Infinity });
    for (let i = 1; i <= 500; i++) expect(w.onXLogData(lsn(i * 10), commit())).toBe(false);
    expect(w.pendingUnits).toBe(0);
    expect(w.lastUnit).toBe(5000n);
    expect(w.unitsFinished).toBe(500);
  });

  it('rejects limits below 1', () => {
    expect(() => new FlowWindow({ maxPendingTransactions: 0 })).toThrow(RangeError);
  });
});
