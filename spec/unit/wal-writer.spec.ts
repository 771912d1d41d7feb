import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Lsn, LsnFeedback } from '../../src';
import { WalSegmentWriter, WalWriteError, findStreamingStart } from '../../src/physical';

const SEG = 1024 * 1024; // the smallest wal_segment_size, to keep files small

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

describe('WalSegmentWriter', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wal-writer-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('writes a zero-padded .partial segment, completes it across a boundary, and acknowledges only flushed positions', () => {
    const feedback = new LsnFeedback();
    const w = new WalSegmentWriter({ directory: dir, segmentSize: SEG, feedback });
    const first = bytes(SEG - 100, 1);
    expect(w.write(1, Lsn.from(SEG * 3), first)).toEqual([]);
    expect(statSync(join(dir, '000000010000000000000003.partial')).size).toBe(SEG);
    expect(feedback.acknowledged.isZero()).toBe(true); // written, not yet fsynced
    const second = bytes(300, 2);
    const done = w.write(1, Lsn.from(SEG * 3 + SEG - 100), second);
    expect(done.map((s) => s.fileName)).toEqual(['000000010000000000000003']);
    // The completed segment is fsynced before its rename, so it is acknowledged at once; the 200
    // bytes already in the next segment are not, until a flush.
    expect(feedback.acknowledged.value).toBe(BigInt(SEG * 4));
    const file = readFileSync(join(dir, '000000010000000000000003'));
    expect(file.equals(Buffer.concat([first, second.subarray(0, 100)]))).toBe(true);
    const open = readFileSync(join(dir, '000000010000000000000004.partial'));
    expect(open.subarray(0, 200).equals(second.subarray(100))).toBe(true);
    expect(open.subarray(200).every((b) => b === 0)).toBe(true);
    w.write(1, Lsn.from(SEG * 4 + 200), bytes(50, 3));
    expect(w.flush().value).toBe(BigInt(SEG * 4 + 250));
    expect(feedback.acknowledged.value).toBe(BigInt(SEG * 4 + 250));
    w.close();
    expect(readdirSync(dir).sort()).toEqual(['000000010000000000000003', '000000010000000000000004.partial']);
  });

  it('refuses a gap, a timeline change without endTimeline, and a first write in mid-segment', () => {
    const w = new WalSegmentWriter({ directory: dir, segmentSize: SEG, sync: false });
    expect(() => w.write(1, Lsn.from(SEG + 8), bytes(8, 0))).toThrow(WalWriteError);
    w.write(1, Lsn.from(SEG), bytes(100, 0));
    expect(() => w.write(1, Lsn.from(SEG + 200), bytes(8, 0))).toThrow(/expected 0\/100064/);
    expect(() => w.write(2, Lsn.from(SEG + 100), bytes(8, 0))).toThrow(WalWriteError);
    w.close();
  });

  it('keeps a segment cut by a timeline switch partial and starts the next timeline in its own file', () => {
    const w = new WalSegmentWriter({ directory: dir, segmentSize: SEG, sync: false });
    w.write(1, Lsn.from(SEG), bytes(1000, 0));
    w.endTimeline();
    expect(w.writeHistoryFile('00000002.history', Buffer.from('1\t0/1003E8\tno recovery target specified\n'))).toBe(true);
    expect(w.writeHistoryFile('00000002.history', Buffer.from('other'))).toBe(false);
    w.write(2, Lsn.from(SEG), bytes(2000, 0));
    w.close();
    expect(readdirSync(dir).sort()).toEqual(['000000010000000000000001.partial', '00000002.history', '000000020000000000000001.partial']);
  });

  it('overwrites an existing full-size .partial from its start, and refuses one of a wrong size', () => {
    writeFileSync(join(dir, '000000010000000000000002.partial'), Buffer.alloc(SEG, 7));
    const w = new WalSegmentWriter({ directory: dir, segmentSize: SEG, sync: false });
    w.write(1, Lsn.from(2 * SEG), bytes(10, 9));
    w.close();
    const file = readFileSync(join(dir, '000000010000000000000002.partial'));
    expect(file.subarray(0, 10).equals(bytes(10, 9))).toBe(true);
    expect(file[10]).toBe(7);
    writeFileSync(join(dir, '000000010000000000000005.partial'), Buffer.alloc(100));
    const w2 = new WalSegmentWriter({ directory: dir, segmentSize: SEG, sync: false });
    expect(() => w2.write(1, Lsn.from(5 * SEG), bytes(10, 0))).toThrow(/has 100 bytes, should be 0 or 1048576/);
  });

  it('finds where to resume like pg_receivewal: after the last complete segment, or at the last partial one', () => {
    expect(findStreamingStart(dir, SEG)).toBeUndefined();
    writeFileSync(join(dir, '000000010000000000000003'), Buffer.alloc(SEG));
    writeFileSync(join(dir, '000000010000000000000009'), Buffer.alloc(10)); // wrong size: ignored
    writeFileSync(join(dir, 'README'), 'not a segment');
    expect(findStreamingStart(dir, SEG)).toEqual({ startLsn: Lsn.from(4 * SEG), timeline: 1 });
    writeFileSync(join(dir, '000000010000000000000004.partial'), Buffer.alloc(SEG));
    expect(findStreamingStart(dir, SEG)).toEqual({ startLsn: Lsn.from(4 * SEG), timeline: 1 });
    writeFileSync(join(dir, '000000020000000000000004.partial'), Buffer.alloc(SEG));
    expect(findStreamingStart(dir, SEG)).toEqual({ startLsn: Lsn.from(4 * SEG), timeline: 2 });
    writeFileSync(join(dir, '000000020000000000000004'), Buffer.alloc(SEG));
    expect(findStreamingStart(dir, SEG)).toEqual({ startLsn: Lsn.from(5 * SEG), timeline: 2 });
    expect(existsSync(join(dir, 'README'))).toBe(true);
  });
});
