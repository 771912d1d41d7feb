import { ConnectionError } from '../../src';
import { ReceiveWatchdog } from '../../src/source/copy-both';
import { PendingBytesWindow } from '../../src/source/pending-bytes';

describe('ReceiveWatchdog', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('asks for a reply after half the timeout of silence, and fails with ETIMEDOUT after all of it', () => {
    const pings: number[] = [];
    const errors: ConnectionError[] = [];
    const w = new ReceiveWatchdog(1000, () => pings.push(Date.now()), (e) => errors.push(e));
    const t0 = Date.now();
    w.start();
    jest.advanceTimersByTime(400);
    w.received(); // the server spoke: the clock starts over
    jest.advanceTimersByTime(900);
    expect(pings).toEqual([t0 + 900]); // 500 ms after the last message, once
    expect(errors).toEqual([]);
    jest.advanceTimersByTime(200);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConnectionError);
    expect(errors[0].code).toBe('ETIMEDOUT');
    jest.advanceTimersByTime(5000);
    expect(errors).toHaveLength(1); // stopped after reporting
  });

  it('does not count time while reading is paused, and can be disabled with 0', () => {
    let paused = true;
    const errors: unknown[] = [];
    const w = new ReceiveWatchdog(1000, () => {}, (e) => errors.push(e), () => paused);
    w.start();
    jest.advanceTimersByTime(10_000);
    expect(errors).toEqual([]);
    paused = false;
    jest.advanceTimersByTime(1200);
    expect(errors).toHaveLength(1);
    const off = new ReceiveWatchdog(0, () => {}, (e) => errors.push(e));
    off.start();
    jest.advanceTimersByTime(60_000);
    expect(errors).toHaveLength(1);
  });
});

describe('PendingBytesWindow', () => {
  it('pauses at the limit and resumes at half', () => {
    const w = new PendingBytesWindow(100);
    expect(w.update(99n, 0n)).toBe(false);
    expect(w.update(100n, 0n)).toBe(true);
    expect(w.paused).toBe(true);
    expect(w.update(150n, 60n)).toBe(false); // 90 pending: still above half
    expect(w.update(150n, 100n)).toBe(true); // 50 pending: half
    expect(w.paused).toBe(false);
    expect(w.update(10n, 20n)).toBe(false); // acknowledged past received: nothing pending
    expect(() => new PendingBytesWindow(0)).toThrow(RangeError);
  });
});
