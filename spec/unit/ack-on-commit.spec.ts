import { concatMap, delay, map, mergeMap, of } from 'rxjs';
import { Lsn, LsnFeedback } from '../../src';
import { UnorderedEventError, ackOnCommit, bufferTransaction, type Transaction, type TransactionEvent } from '../../operators';
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

  it('with arrivalOrder, acknowledges each endLsn of raw messages as the event passes, then passes it on', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable, flush }) => {
      const events = cold('a-b-c|', { a: m.commit(100, 110), b: m.commit(200, 210), c: m.commit(300, 310) });
      expectObservable(events.pipe(ackOnCommit(feedback, { arrivalOrder: true }), map((e) => e.endLsn.toString()))).toBe('a-b-c|', { a: '0/6E', b: '0/D2', c: '0/136' });
      flush();
      expect(acks).toEqual(['0/6E', '0/D2', '0/136']);
    });
  });

  it('acknowledges what came before an error, then passes the error on', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable, flush }) => {
      expectObservable(cold('a-#', { a: m.commit(100, 110) }).pipe(ackOnCommit(feedback, { arrivalOrder: true }))).toBe('a-#', { a: m.commit(100, 110) });
      flush();
    });
    expect(acks).toEqual(['0/6E']);
  });

  it('stops on early unsubscribe and acknowledges nothing after it', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable, expectSubscriptions, flush }) => {
      const source = cold('a-b-c|', { a: m.commit(100, 110), b: m.commit(200, 210), c: m.commit(300, 310) });
      expectObservable(source.pipe(ackOnCommit(feedback, { arrivalOrder: true })), '^--!').toBe('a-b', { a: m.commit(100, 110), b: m.commit(200, 210) });
      expectSubscriptions(source.subscriptions).toBe('^--!');
      flush();
    });
    expect(acks).toEqual(['0/6E', '0/D2']);
  });

  it('passes on the error an acknowledger throws, without the event', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const failing = { acknowledge: () => { throw new Error('disk full'); } };
      expectObservable(cold('a', { a: m.commit(100, 110) }).pipe(ackOnCommit(failing, { arrivalOrder: true }))).toBe('#', undefined, new Error('disk full'));
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

  it("with prepared: 'emit', acknowledges prepared transactions, commit/rollback prepared and non-transactional messages", () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, flush }) => {
      cold('bpKN|', { b: m.beginPrepare(7, 100), p: m.prepare(7, 150), K: m.commitPrepared(7, 300), N: m.message(400, false) })
        .pipe(bufferTransaction({ prepared: 'emit' }), ackOnCommit(feedback))
        .subscribe();
      cold('-----R|', { R: m.rollbackPrepared(8, 500) }).pipe(bufferTransaction({ prepared: 'emit' }), ackOnCommit(feedback)).subscribe();
      flush();
    });
    expect(acks).toEqual(['0/9E', '0/134', '0/190', '0/1FC']);
  });

  it('fails with UnorderedEventError on an event without a ticket, instead of guessing its place', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable }) => {
      // A class built from the transaction's fields, dropping the ticket.
      const rebuild = (e: TransactionEvent) => (e.type === 'transaction' ? { type: e.type, endLsn: e.endLsn, changes: e.changes } : e);
      const out = cold('bic|', { b: m.begin(1, 100), i: m.insert(101), c: m.commit(102, 110) }).pipe(bufferTransaction(), map(rebuild), ackOnCommit(feedback));
      expectObservable(out).toBe('--#', undefined, new UnorderedEventError('transaction', m.commit(102, 110).endLsn));
    });
    expect(acks).toEqual([]);
  });

  it('fails with UnorderedEventError on a raw message or a foreign event unless arrivalOrder is set', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const { feedback } = recorder();
      expectObservable(cold('a|', { a: m.commit(100, 110) }).pipe(ackOnCommit(feedback))).toBe('#', undefined, new UnorderedEventError('commit', m.commit(100, 110).endLsn));
      expectObservable(cold('a|', { a: { hello: 1 } }).pipe(ackOnCommit(feedback))).toBe('#', undefined, new UnorderedEventError(undefined, undefined));
    }));

  it('with arrivalOrder, passes on events it has no LSN for, acknowledging nothing', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a|', { a: { hello: 1 } }).pipe(ackOnCommit(feedback, { arrivalOrder: true }))).toBe('a|', { a: { hello: 1 } });
    });
    expect(acks).toEqual([]);
    expect(feedback.acknowledged.equals(Lsn.ZERO)).toBe(true);
  });

  it('keeps the commit order of spread and structuredClone copies under mergeMap', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, flush }) => {
      const msgs = [...tx(1, 100), ...tx(2, 200), ...tx(3, 300)];
      const work = { 1: 10, 2: 1, 3: 3 } as Record<number, number>;
      cold('abcdefghi|', Object.fromEntries(msgs.map((msg, i) => ['abcdefghi'[i], msg])))
        .pipe(
          bufferTransaction(),
          map((e, i) => (i % 2 === 0 ? { ...e } : structuredClone(e))),
          mergeMap((e) => of(e).pipe(delay(work[(e as Transaction).xid])), 3),
          ackOnCommit(feedback),
        )
        .subscribe();
      flush();
    });
    expect(acks).toEqual(['0/136']);
  });

  it('holds the acknowledgment at the PREPARE of a held prepared transaction until its outcome, reporting the work as finished', () => {
    const { feedback, acks } = recorder();
    const finished: string[] = [];
    feedback.finished$.subscribe((l) => { if (!l.isZero()) finished.push(l.toString()); });
    testScheduler().run(({ cold, flush }) => {
      cold('bipBjcK|', {
        b: m.beginPrepare(7, 100), i: m.insert(110), p: m.prepare(7, 150), B: m.begin(9, 200), j: m.insert(210), c: m.commit(250), K: m.commitPrepared(7, 300),
      }).pipe(bufferTransaction(), ackOnCommit(feedback)).subscribe();
      flush();
    });
    // The PREPARE at 0/96 caps the acknowledgment until COMMIT PREPARED's end (0/134) is done.
    expect(acks).toEqual(['0/96', '0/134']);
    expect(finished).toEqual(['0/9E', '0/102', '0/134']);
  });

  it('with overlapping prepared transactions, holds the acknowledgment at the first PREPARE until none is held', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, flush }) => {
      cold('bipBjqKR|', {
        b: m.beginPrepare(3, 100, 'g3'), i: m.insert(110), p: m.prepare(3, 150, 'g3'),
        B: m.beginPrepare(4, 200, 'g4'), j: m.insert(210), q: m.prepare(4, 250, 'g4'),
        K: m.commitPrepared(3, 300, 'g3'), R: m.rollbackPrepared(4, 400, 'g4'),
      }).pipe(bufferTransaction(), ackOnCommit(feedback)).subscribe();
      flush();
    });
    // Confirming g4's PREPARE (0/FA) after g3 committed would let a restarted server send g3's
    // COMMIT PREPARED (0/12C) without its PREPARE: the acknowledgment waits at g3's PREPARE (0/96).
    expect(acks).toEqual(['0/96', '0/198']);
  });

  it('releases the hold at ROLLBACK PREPARED', () => {
    const { feedback, acks } = recorder();
    testScheduler().run(({ cold, flush }) => {
      cold('bipR|', { b: m.beginPrepare(8, 400, 'h'), i: m.insert(410), p: m.prepare(8, 450, 'h'), R: m.rollbackPrepared(8, 500, 'h') })
        .pipe(bufferTransaction(), ackOnCommit(feedback)).subscribe();
      flush();
    });
    expect(acks).toEqual(['0/1C2', '0/1FC']);
  });

  it('detaches its acknowledger when the source completes, fails, or the subscriber unsubscribes', () => {
    const calls: unknown[] = [];
    const acknowledger = { acknowledge: () => {}, detach: (err?: unknown) => calls.push(err === undefined ? 'done' : String(err)) };
    testScheduler().run(({ cold, flush }) => {
      cold('|').pipe(ackOnCommit(acknowledger)).subscribe();
      cold('#', undefined, new Error('boom')).pipe(ackOnCommit(acknowledger)).subscribe({ error: () => {} });
      cold('-').pipe(ackOnCommit(acknowledger)).subscribe().unsubscribe();
      flush();
    });
    expect(calls).toEqual(['done', 'done', 'Error: boom']); // the unsubscription comes first, before the virtual clock runs
  });
});
