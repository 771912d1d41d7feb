import { concatMap, delay, map, mergeMap, of } from 'rxjs';
import { Lsn, LsnFeedback } from '../../src';
import { ackOnCommit, bufferTransaction, type Transaction, type TransactionEvent } from '../../operators';
import * as m from '../support/messages';
import { testScheduler } from '../support/marbles';

/** Records every acknowledgment as a marble frame of its own. */
function recorder() {
  const acks: string[] = [];
  const feedback = new LsnFeedback();
  feedback.acknowledged$.subscribe((lsn) => {
    if (!lsn.isZero()) acks.push(lsn.toString());
  });
  return { feedback, acks };
}

const tx = (xid: number, at: number) => [m.begin(xid, at), m.insert(at + 1), m.commit(at + 2, at + 10)];

describe('ackOnCommit', () => {
  it('completes empty without acknowledging', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const { feedback, acks } = recorder();
      expectObservable(cold('|').pipe(ackOnCommit(feedback))).toBe('|');
      return void expect(acks).toEqual([]);
    }));

  it('never emits for never', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const { feedback } = recorder();
      expectObservable(cold('-').pipe(ackOnCommit(feedback))).toBe('-');
    }));

  it('acknowledges each endLsn as the event passes, then passes it on', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const events = cold('a-b-c|', { a: m.commit(100, 110), b: m.commit(200, 210), c: m.commit(300, 310) });
      expectObservable(events.pipe(ackOnCommit(feedback), map((e) => e.endLsn.toString()))).toBe('a-b-c|', { a: '0/6E', b: '0/D2', c: '0/136' });
      flush();
      expect(acks).toEqual(['0/6E', '0/D2', '0/136']);
    });
  });

  it('acknowledges what came before an error, then passes the error on', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable, flush }) => {
      expectObservable(cold('a-#', { a: m.commit(100, 110) }).pipe(ackOnCommit(feedback))).toBe('a-#', { a: m.commit(100, 110) });
      flush();
    });
    expect(acks).toEqual(['0/6E']);
  });

  it('stops on early unsubscribe and acknowledges nothing after it', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const source = cold('a-b-c|', { a: m.commit(100, 110), b: m.commit(200, 210), c: m.commit(300, 310) });
      expectObservable(source.pipe(ackOnCommit(feedback)), '^--!').toBe('a-b', { a: m.commit(100, 110), b: m.commit(200, 210) });
      expectSubscriptions(source.subscriptions).toBe('^--!');
      flush();
    });
    expect(acks).toEqual(['0/6E', '0/D2']);
  });

  it('passes on the error an acknowledger throws, without the event', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const failing = { acknowledge: () => { throw new Error('disk full'); } };
      expectObservable(cold('a', { a: m.commit(100, 110) }).pipe(ackOnCommit(failing))).toBe('#', undefined, new Error('disk full'));
    }));

  it('with mergeMap completing out of order, never acknowledges past an unfinished transaction', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const msgs = [...tx(1, 100), ...tx(2, 200), ...tx(3, 300)];
      const source = cold('abcdefghi|', Object.fromEntries(msgs.map((msg, i) => ['abcdefghi'[i], msg])));
      // Transaction 1 takes 10 frames, 2 takes 1, 3 takes 3: they finish as 2, 3, 1.
      const work = { 1: 10, 2: 1, 3: 3 } as Record<number, number>;
      const out = source.pipe(
        bufferTransaction(),
        mergeMap((e) => of(e).pipe(delay(work[(e as Transaction).xid])), 3),
        ackOnCommit(feedback),
        map((e) => (e as Transaction).xid),
      );
      // Commits at frames 2, 5 and 8; done at 12, 6 and 11.
      expectObservable(out).toBe('6ms 2 4ms 3 (1|)', { 1: 1, 2: 2, 3: 3 });
      flush();
    });
    // Nothing until transaction 1 finished at frame 12; then everything up to 3's end at once.
    expect(acks).toEqual(['0/136']);
  });

  it('acknowledges the done prefix as soon as it grows, with concatMap in commit order', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, flush }) => {
      const msgs = [...tx(1, 100), ...tx(2, 200)];
      cold('abcdef|', Object.fromEntries(msgs.map((msg, i) => ['abcdef'[i], msg])))
        .pipe(bufferTransaction(), concatMap((e) => of(e).pipe(delay(2))), ackOnCommit(feedback))
        .subscribe();
      flush();
    });
    expect(acks).toEqual(['0/6E', '0/D2']);
  });

  it('counts chunks in the order but acknowledges only the transaction that ends them', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, flush }) => {
      const events: TransactionEvent[] = [];
      cold('biiic|', { b: m.begin(7, 100), i: m.insert(101), c: m.commit(150, 158) })
        .pipe(bufferTransaction({ maxChanges: 2, onOverflow: 'chunk' }), mergeMap((e) => of(e).pipe(delay(e.type === 'transactionChunk' ? 5 : 0))), ackOnCommit(feedback))
        .subscribe((e) => {
          events.push(e);
          if (e.type === 'transaction') expect(acks).toEqual([]); // the chunk before it is still being worked on
        });
      flush();
      expect(events.map((e) => e.type)).toEqual(['transaction', 'transactionChunk']);
    });
    expect(acks).toEqual(['0/9E']);
  });

  it('keeps the order of each reconnection (epoch) apart', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, flush }) => {
      // The same transaction arrives again from a second subscription of bufferTransaction.
      const first = cold('abc|', { a: m.begin(1, 100), b: m.insert(101), c: m.commit(102, 110) }).pipe(bufferTransaction());
      const second = cold('abcdef|', { a: m.begin(1, 100), b: m.insert(101), c: m.commit(102, 110), d: m.begin(2, 200), e: m.insert(201), f: m.commit(202, 210) }).pipe(bufferTransaction());
      const slowFirst = first.pipe(delay(20));
      of(slowFirst, second).pipe(mergeMap((o) => o), ackOnCommit(feedback)).subscribe();
      flush();
    });
    expect(acks).toEqual(['0/6E', '0/D2']);
  });

  it('acknowledges prepared transactions, commit/rollback prepared and non-transactional messages', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, flush }) => {
      cold('bpKN|', { b: m.beginPrepare(7, 100), p: m.prepare(7, 150), K: m.commitPrepared(7, 300), N: m.message(400, false) })
        .pipe(bufferTransaction(), ackOnCommit(feedback))
        .subscribe();
      cold('-----R|', { R: m.rollbackPrepared(8, 500) }).pipe(bufferTransaction(), ackOnCommit(feedback)).subscribe();
      flush();
    });
    expect(acks).toEqual(['0/9E', '0/134', '0/190', '0/1FC']);
  });

  it('passes on events it has no LSN for, acknowledging nothing', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: { hello: 1 } }).pipe(ackOnCommit(feedback))).toBe('a|', { a: { hello: 1 } });
    });
    expect(acks).toEqual([]);
    expect(feedback.acknowledged.equals(Lsn.ZERO)).toBe(true);
  });
});
