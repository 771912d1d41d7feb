import { ReadCoalescer } from '../../src/wire/read-coalescer';

/** A socket stand-in that records pause/resume, and a clock the test moves. */
function setup(pausedByUser = () => false, encrypted = false) {
  const calls: string[] = [];
  const socket = { destroyed: false, encrypted, pause: () => (calls.push('pause'), socket), resume: () => (calls.push('resume'), socket) };
  let t = 1000;
  const clock = { now: () => t, advance: (ms: number) => (t += ms) };
  const c = new ReadCoalescer(socket as never, pausedByUser, clock.now);
  /** `reads` reads of `bytes` each, evenly spread over `ms` milliseconds. */
  const feed = (reads: number, bytes: number, ms: number) => {
    for (let i = 0; i < reads; i++) {
      c.onRead(bytes);
      clock.advance(ms / reads);
    }
  };
  return { c, calls, clock, feed };
}

describe('ReadCoalescer', () => {
  beforeEach(() => jest.useFakeTimers());
  afterEach(() => jest.useRealTimers());

  it('never holds a live-rate stream (about 1 MB/s of small reads)', () => {
    const { calls, feed } = setup();
    feed(5000, 200, 1000);
    expect(calls).toEqual([]);
  });

  it('holds a small read for about a millisecond once a second 10 ms window in a row is busy', () => {
    const { c, calls, feed } = setup();
    feed(100, 800, 10); // 80 KB in the first window: busy, but one window may be a stall's backlog
    expect(calls).toEqual([]);
    feed(100, 800, 10); // the second window passes 64 KB: the next small read is held
    expect(calls).toEqual(['pause']);
    expect(c.holding).toBe(true);
    jest.advanceTimersByTime(1);
    expect(calls).toEqual(['pause', 'resume']);
    expect(c.holding).toBe(false);
  });

  it('does not react to the single busy window that follows a stall', () => {
    const { calls, clock, c, feed } = setup();
    feed(50, 200, 10);
    clock.advance(5);
    c.onRead(60_000); // the backlog of a 50 ms stall arrives at once
    feed(50, 200, 10);
    feed(50, 200, 10);
    expect(calls).toEqual([]);
  });

  it('keeps holding through the quiet windows between bursts and stops after ten in a row', () => {
    const { calls, feed } = setup();
    const pauses = () => calls.filter((c) => c === 'pause').length;
    feed(200, 800, 20); // two busy windows: bulk
    expect(pauses()).toBe(1);
    jest.advanceTimersByTime(1);
    // A catching-up walsender's pause between bursts (reading WAL): quiet windows, still holding.
    for (let w = 0; w < 9; w++) {
      feed(10, 800, 10); // 8 KB: a quiet window (the first read of the first still closes the second busy one)
      jest.advanceTimersByTime(1);
    }
    expect(pauses()).toBe(10);
    feed(10, 800, 10); // its first read closes the ninth quiet window in a row: still holding
    expect(pauses()).toBe(11);
    jest.advanceTimersByTime(1);
    feed(10, 800, 10); // its first read closes the tenth quiet window in a row: no more holds
    expect(pauses()).toBe(11);
  });

  it('stops holding after 20 ms without a read', () => {
    const { calls, clock, c, feed } = setup();
    const pauses = () => calls.filter((c) => c === 'pause').length;
    feed(200, 800, 20); // two busy windows: bulk
    jest.advanceTimersByTime(1);
    clock.advance(25); // the stream goes idle, as a caught-up one does
    c.onRead(300);
    c.onRead(300);
    expect(pauses()).toBe(1);
  });

  it('keeps reading while reads are large: more is already waiting', () => {
    const { calls, feed } = setup();
    feed(30, 40_000, 30);
    expect(calls).toEqual([]);
  });

  it('never holds a TLS socket, whose chunks are decrypted records', () => {
    const { calls, feed } = setup(() => false, true);
    feed(300, 8192, 30);
    expect(calls).toEqual([]);
  });

  it('leaves the socket paused when its user paused it during a hold', () => {
    let userPaused = false;
    const { c, calls, feed } = setup(() => userPaused);
    feed(300, 800, 30);
    expect(calls).toEqual(['pause']);
    userPaused = true;
    jest.advanceTimersByTime(1);
    expect(calls).toEqual(['pause']);
    expect(c.holding).toBe(false);
  });
});
