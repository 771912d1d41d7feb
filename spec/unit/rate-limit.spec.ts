import { asyncScheduler, concatMap, delay, of } from 'rxjs';
import { rateLimit } from '../../operators';
import { testScheduler } from '../support/marbles';

describe('rateLimit', () => {
  it('completes empty and stays silent for never', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(rateLimit({ count: 1, per: 5 }))).toBe('|');
      expectObservable(cold('-').pipe(rateLimit({ count: 1, per: 5 }))).toBe('-');
    }));

  it('passes values under the rate through without delay', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a----b----c|').pipe(rateLimit({ count: 1, per: 5 }))).toBe('a----b----c|');
    }));

  it('delays, never drops, values over the rate, and completes after the last', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('(abcde|)').pipe(rateLimit({ count: 2, per: 10 }))).toBe('(ab) 6ms (cd) 6ms (e|)');
    }));

  it('holds at most count values in any window of per', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      // a, b pass; c waits for a's window to end (frame 10), d for b's (frame 11).
      expectObservable(cold('ab-cd|').pipe(rateLimit({ count: 2, per: 10 }))).toBe('ab 8ms c(d|)');
    }));

  it('holds a long-run rate of count per per', () => {
    const times: number[] = [];
    testScheduler().run(({ cold, flush }) => {
      const burst = cold(`(${'x'.repeat(50)}|)`);
      burst.pipe(rateLimit({ count: 5, per: 100 })).subscribe(() => times.push(asyncScheduler.now()));
      flush();
    });
    expect(times.length).toBe(50);
    expect(times[49]).toBe(900); // 50 values at 5 per 100 ms: the last leaves after 9 full windows
    for (let i = 5; i < times.length; i++) expect(times[i] - times[i - 5]).toBeGreaterThanOrEqual(100);
  });

  it('passes an error on at once', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('(abc#)').pipe(rateLimit({ count: 1, per: 10 }))).toBe('(a#)');
    }));

  it('cancels its timer and the source on early unsubscribe', () =>
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('(abc)---|');
      expectObservable(source.pipe(rateLimit({ count: 1, per: 10 })), '^---!').toBe('a---');
      expectSubscriptions(source.subscriptions).toBe('^---!');
    }));

  it('keeps order when a downstream concatMap is slower than the rate', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('(abc|)').pipe(rateLimit({ count: 1, per: 2 }), concatMap((v) => of(v).pipe(delay(3))));
      expectObservable(out).toBe('3ms a 2ms b 2ms (c|)');
    }));

  it('rejects a count or window that cannot work', () => {
    expect(() => rateLimit({ count: 0, per: 10 })).toThrow(RangeError);
    expect(() => rateLimit({ count: 1, per: 0 })).toThrow(RangeError);
  });
});
