import { BehaviorSubject, config, take } from 'rxjs';
import { Lsn, LsnFeedback } from '../../src';

const l = (n: number) => Lsn.from(n);
const str = (xs: Lsn[]) => xs.map((x) => x.toString());

/** LsnFeedback's acknowledged$/finished$ keep a BehaviorSubject's contract without RxJS's Subject (issue 18). */
describe('LsnFeedback observables', () => {
  it('emit the current value on subscribe, then every advance, and nothing for lower or equal values', () => {
    const f = new LsnFeedback('0/10');
    const acked: Lsn[] = [];
    const finished: Lsn[] = [];
    f.acknowledged$.subscribe((x) => acked.push(x));
    f.finished$.subscribe((x) => finished.push(x));
    f.acknowledge(l(0x20));
    f.acknowledge(l(0x20));
    f.acknowledge(l(0x18));
    f.finish(l(0x30));
    f.acknowledge('0/28'); // finished stays at 0/30
    f.acknowledge(Lsn.fromParts(1, 0)); // across the 4 GB boundary
    expect(str(acked)).toEqual(['0/10', '0/20', '0/28', '1/0']);
    expect(str(finished)).toEqual(['0/10', '0/20', '0/30', '1/0']);
    expect(f.acknowledged.toString()).toBe('1/0');
  });

  it('behaves like a BehaviorSubject: order, a value set during the first emission, unsubscribing during an emission', () => {
    const run = (make: () => { obs: LsnFeedback['acknowledged$']; set: (n: number) => void }) => {
      const { obs, set } = make();
      const log: string[] = [];
      let fired = false;
      obs.subscribe((x) => {
        log.push(`a ${x.toString()}`);
        if (!fired) {
          fired = true;
          set(2); // re-entrant, from inside the first emission
        }
      });
      const b = obs.subscribe((x) => {
        log.push(`b ${x.toString()}`);
        if (x.equals(l(3))) b.unsubscribe();
      });
      obs.pipe(take(2)).subscribe((x) => log.push(`c ${x.toString()}`));
      set(3);
      set(4);
      return log;
    };
    const viaFeedback = run(() => {
      const f = new LsnFeedback(l(1));
      return { obs: f.acknowledged$, set: (n) => f.acknowledge(l(n)) };
    });
    const viaSubject = run(() => {
      const s = new BehaviorSubject(l(1));
      return { obs: s.asObservable(), set: (n) => s.next(l(n)) };
    });
    expect(viaFeedback).toEqual(viaSubject);
    expect(viaFeedback).toEqual(['a 0/1', 'a 0/2', 'b 0/2', 'c 0/2', 'a 0/3', 'b 0/3', 'c 0/3', 'a 0/4']);
  });

  it('keeps delivering to the other subscribers when one throws (reported as RxJS reports it)', async () => {
    const f = new LsnFeedback();
    const seen: string[] = [];
    const reported: unknown[] = [];
    const before = config.onUnhandledError;
    config.onUnhandledError = (err) => reported.push(err);
    try {
      f.acknowledged$.subscribe((x) => {
        if (!x.isZero()) throw new Error('consumer bug');
      });
      f.acknowledged$.subscribe((x) => seen.push(x.toString()));
      f.acknowledge(l(5));
      await new Promise((r) => setTimeout(r, 0));
    } finally {
      config.onUnhandledError = before;
    }
    expect(seen).toEqual(['0/0', '0/5']);
    expect(reported).toEqual([new Error('consumer bug')]);
  });
});
