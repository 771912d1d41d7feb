import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { map } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { Lsn, type PhysicalFrame } from '../../src';
import { writeWalSegments } from '../../operators';

const SEG = 1024 * 1024;

describe('writeWalSegments (marbles)', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'write-wal-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('emits written, segmentComplete, flushed and timelineSwitch in stream order, and closes on completion', () => {
    const frames: Record<string, PhysicalFrame> = {
      s: { type: 'streamStart', systemId: '1', timeline: 1, serverTimeline: 2, startLsn: Lsn.from(SEG), walSegmentSize: SEG, serverVersion: 180000 },
      a: { type: 'xlogdata', walStart: Lsn.from(SEG), walEnd: Lsn.from(2 * SEG), sendTime: 0n, data: Buffer.alloc(SEG - 10, 1) },
      k: { type: 'keepalive', walEnd: Lsn.from(2 * SEG), sendTime: 0n, replyRequested: false },
      b: { type: 'xlogdata', walStart: Lsn.from(2 * SEG - 10), walEnd: Lsn.from(2 * SEG + 10), sendTime: 0n, data: Buffer.alloc(20, 2) },
      t: { type: 'timelineSwitch', timeline: 1, endLsn: Lsn.from(2 * SEG + 10), nextTimeline: 2, nextTimelineStart: Lsn.from(2 * SEG + 10) },
      h: { type: 'timelineHistory', timeline: 2, fileName: '00000002.history', content: Buffer.from('1\t0/20000A\tpromoted\n') },
      c: { type: 'xlogdata', walStart: Lsn.from(2 * SEG), walEnd: Lsn.from(2 * SEG + 30), sendTime: 0n, data: Buffer.alloc(30, 3) },
    };
    new TestScheduler((actual, expected) => expect(actual).toEqual(expected)).run(({ cold, expectObservable }) => {
      const source = cold<PhysicalFrame>('s 9ms a 9ms k 9ms b 9ms t 9ms h 9ms c 9ms |', frames);
      const out = source.pipe(
        writeWalSegments({ directory: dir, sync: false, flushInterval: 60_000 }),
        map((e) => `${e.type}${'lsn' in e ? ` ${e.lsn}` : ''}${'fileName' in e ? ` ${e.fileName}` : ''}`),
      );
      expectObservable(out).toBe('10ms a 19ms (bcd) 5ms (ef) 6ms g 9ms h 9ms |', {
        a: 'written 0/1FFFF6',
        b: 'written 0/20000A',
        c: 'segmentComplete 000000010000000000000001',
        d: 'flushed 0/200000',
        e: 'flushed 0/20000A',
        f: 'timelineSwitch',
        g: 'historyFile 00000002.history',
        h: 'written 0/20001E',
      });
    });
    expect(readdirSync(dir).sort()).toEqual(['000000010000000000000001', '000000010000000000000002.partial', '00000002.history', '000000020000000000000002.partial']);
  });
});
