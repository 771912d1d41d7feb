import { map } from 'rxjs';
import { ProtocolError } from '../../src';
import { TransactionTooLargeError, UnknownPreparedTransactionError, bufferTransaction, type Transaction, type BufferTransactionOptions } from '../../operators';
import type { PgoutputMessage } from '../../src/pgoutput/messages';
import * as m from '../support/messages';
import { summary, testScheduler } from '../support/marbles';

const run = (marbles: string, values: Record<string, PgoutputMessage>, expected: string, out: Record<string, string>, options?: BufferTransactionOptions, error?: unknown) =>
  testScheduler().run(({ cold, expectObservable }) => {
    expectObservable(cold(marbles, values).pipe(bufferTransaction(options), map(summary)), undefined).toBe(expected, out, error);
  });

describe('bufferTransaction', () => {
  it('completes empty', () => run('|', {}, '|', {}));

  it('never emits for never', () => run('-', {}, '-', {}));

  it('emits a transaction at its Commit, with its changes in order', () =>
    run('b-i-j-c-|', { b: m.begin(7, 100), i: m.insert(110), j: m.insert(120), c: m.commit(150, 158) }, '------t-|', { t: 'T7[110,120]@0/9E' }));

  it('fills in the LSNs, times and origin of a transaction', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const origin = { type: 'origin' as const, lsn: m.insert(101).lsn, originLsn: m.insert(5).lsn, name: 'node1' };
      const out = cold('boc|', { b: m.begin(7, 100, 150), o: origin, c: m.commit(150, 158) }).pipe(bufferTransaction(), map((t) => {
        const tx = t as Transaction;
        return [tx.state, tx.beginLsn.toString(), tx.finalLsn.toString(), tx.commitLsn.toString(), tx.endLsn.toString(), tx.origin?.name, tx.streamed, tx.partial, tx.gid];
      }));
      expectObservable(out).toBe('--x|', { x: ['committed', '0/64', '0/96', '0/96', '0/9E', 'node1', false, false, undefined] });
    }));

  it('emits empty transactions, so that acknowledging them lets the slot advance', () =>
    run('bc|', { b: m.begin(7, 100), c: m.commit(150) }, '-t|', { t: 'T7[]@0/9E' }));

  it('passes an upstream error on and drops the half-received transaction', () =>
    run('b-i-#', { b: m.begin(7, 100), i: m.insert(110) }, '----#', {}, undefined, 'error'));

  it('stops listening on early unsubscribe', () =>
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('b-i-c-b-i-c|', { b: m.begin(7, 100), i: m.insert(110), c: m.commit(150) });
      expectObservable(source.pipe(bufferTransaction(), map(summary)), '^-------!').toBe('----t---', { t: 'T7[110]@0/9E' });
      expectSubscriptions(source.subscriptions).toBe('^-------!');
    }));

  it('collects interleaved streamed transactions per xid and emits each once, at Stream Commit', () =>
    run('sab-tc-e-Sd-xy', {
      s: m.streamStart(1, 100, true), a: m.insert(101, { xid: 1, inStream: true }), b: m.streamStop(102),
      t: m.streamStart(2, 103, true), c: m.insert(104, { xid: 2, inStream: true }), e: m.streamStop(105),
      S: m.streamStart(1, 106), d: m.insert(107, { xid: 1, inStream: true }),
      x: m.streamCommit(2, 200), y: m.streamCommit(1, 210),
    }, '------------XY', { X: 'T2[104]@0/D0', Y: 'T1[101,107]@0/DA' }));

  it('drops a streamed transaction at Stream Abort', () =>
    run('sabAtcex', {
      s: m.streamStart(1, 100, true), a: m.insert(101, { xid: 1, inStream: true }), b: m.streamStop(102), A: m.streamAbort(1, 1, 103),
      t: m.streamStart(2, 104, true), c: m.insert(105, { xid: 2, inStream: true }), e: m.streamStop(106), x: m.streamCommit(2, 200),
    }, '-------X', { X: 'T2[105]@0/D0' }));

  it('drops only the aborted subtransaction of a streamed transaction', () =>
    run('sabcdAx', {
      s: m.streamStart(1, 100, true), a: m.insert(101, { xid: 1, inStream: true }), b: m.insert(102, { xid: 5, inStream: true }),
      c: m.insert(103, { xid: 6, inStream: true }), d: m.streamStop(104), A: m.streamAbort(1, 5, 105), x: m.streamCommit(1, 200),
    }, '------X', { X: 'T1[101,103]@0/D0' }));

  it('ignores a Stream Abort for a transaction it holds nothing of (PG18 sends one even to v1 consumers)', () =>
    run('Abic', { A: m.streamAbort(9, 9, 90), b: m.begin(7, 100), i: m.insert(110), c: m.commit(150) }, '---t', { t: 'T7[110]@0/9E' }));

  it('starts a streamed transaction over when its first segment comes again', () =>
    run('sae-Sbex', {
      s: m.streamStart(1, 100, true), a: m.insert(101, { xid: 1, inStream: true }), e: m.streamStop(102),
      S: m.streamStart(1, 100, true), b: m.insert(103, { xid: 1, inStream: true }), x: m.streamCommit(1, 200),
    }, '-------X', { X: 'T1[103]@0/D0' }));

  it('discards a half-received transaction when a new Begin arrives (resent after a reconnection)', () =>
    run('biBjc', { b: m.begin(7, 100), i: m.insert(110), B: m.begin(7, 100), j: m.insert(111), c: m.commit(150) }, '----t', { t: 'T7[111]@0/9E' }));

  it("with prepared: 'emit', emits a prepared transaction at Prepare and passes Commit Prepared and Rollback Prepared through", () =>
    run('bipKBjqR', {
      b: m.beginPrepare(7, 100), i: m.insert(110), p: m.prepare(7, 150), K: m.commitPrepared(7, 300),
      B: m.beginPrepare(8, 400, 'h'), j: m.insert(410), q: m.prepare(8, 450, 'h'), R: m.rollbackPrepared(8, 500, 'h'),
    }, '--PK--QR', { P: 'P7[110]@0/9E', K: 'K7', Q: 'P8[410]@0/1CA', R: 'R8' }, { prepared: 'emit' }));

  it("with prepared: 'emit', emits a streamed prepared transaction at Stream Prepare", () =>
    run('saep', { s: m.streamStart(3, 100, true), a: m.insert(101, { xid: 3, inStream: true }), e: m.streamStop(102), p: m.prepare(3, 150, 'g', 'streamPrepare') },
      '---P', { P: 'P3[101]@0/9E' }, { prepared: 'emit' }));

  it('by default holds a prepared transaction until COMMIT PREPARED, then emits it as committed, in commit order', () =>
    run('bipBjcK', {
      b: m.beginPrepare(7, 100), i: m.insert(110), p: m.prepare(7, 150), B: m.begin(9, 200), j: m.insert(210), c: m.commit(250), K: m.commitPrepared(7, 300),
    }, '--H--tT', { H: 'H7@0/9E', t: 'T9[210]@0/102', T: 'T7[110]@0/134' }, undefined));

  it('by default drops a prepared transaction at ROLLBACK PREPARED and passes the rollback on', () =>
    run('bipR', { b: m.beginPrepare(8, 400, 'h'), i: m.insert(410), p: m.prepare(8, 450, 'h'), R: m.rollbackPrepared(8, 500, 'h') },
      '--HR', { H: 'H8@0/1CA', R: 'R8' }));

  it('by default holds a streamed prepared transaction until COMMIT PREPARED', () =>
    run('saepK', { s: m.streamStart(3, 100, true), a: m.insert(101, { xid: 3, inStream: true }), e: m.streamStop(102), p: m.prepare(3, 150, 'g', 'streamPrepare'), K: m.commitPrepared(3, 300) },
      '---HT', { H: 'H3@0/9E', T: 'T3[101]@0/134' }));

  it('marks committed the transaction it held, with the COMMIT PREPARED LSNs and the PREPARE as its beginning', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('bipK|', { b: m.beginPrepare(7, 100), i: m.insert(110), p: m.prepare(7, 150), K: m.commitPrepared(7, 300) }).pipe(
        bufferTransaction(),
        map((e) => (e.type === 'transaction' ? [e.state, e.gid, e.beginLsn.toString(), e.commitLsn.toString(), e.endLsn.toString()] : e.type)),
      );
      expectObservable(out).toBe('--pT|', { p: 'prepare', T: ['committed', 'g', '0/64', '0/12C', '0/134'] });
    }));

  it('fails with UnknownPreparedTransactionError at COMMIT PREPARED of a transaction it never held', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('K', { K: m.commitPrepared(7, 300) }).pipe(bufferTransaction())).toBe('#', undefined, new UnknownPreparedTransactionError('g', 7, m.commitPrepared(7, 300).commitLsn));
    }));

  it('stamps every event with its place in the emission order, starting at 0 per subscription', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('bcNbc|', { b: m.begin(7, 100), c: m.commit(150), N: m.message(160, false) });
      const seqs = source.pipe(bufferTransaction(), map((e) => e.ticket.seq));
      expectObservable(seqs).toBe('-ab-c|', { a: 0, b: 1, c: 2 } as never);
    }));

  it('passes non-transactional messages through at once and keeps transactional ones with their transaction', () =>
    run('bMtc-N', { b: m.begin(7, 100), M: m.message(105, true), t: m.insert(110), c: m.commit(150), N: m.message(160, false) },
      '---t-n', { t: 'T7[110]@0/9E', n: 'M160' }));

  it('fails with TransactionTooLargeError past maxChanges', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('biii', { b: m.begin(7, 100), i: m.insert(110) }).pipe(bufferTransaction({ maxChanges: 3 }));
      expectObservable(out).toBe('---#', undefined, new TransactionTooLargeError(7, 3, 3 * 74, m.insert(110).lsn));
    }));

  it('fails with TransactionTooLargeError past maxBytes, counting held streamed transactions together', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const out = cold('sateb', {
        s: m.streamStart(1, 100, true), a: m.insert(101, { xid: 1, inStream: true, size: 600 }), t: m.streamStop(102),
        e: m.streamStart(2, 103, true), b: m.insert(104, { xid: 2, inStream: true, size: 600 }),
      }).pipe(bufferTransaction({ maxBytes: 1000 }));
      expectObservable(out).toBe('----#', undefined, new TransactionTooLargeError(2, 2, 1328, m.insert(104).lsn));
    }));

  it("with onOverflow 'chunk' emits chunks, then the rest as a partial transaction", () =>
    run('biiiic', { b: m.begin(7, 100), i: m.insert(110), c: m.commit(150) }, '--x-yt', { x: 'C7#0[110,110]', y: 'C7#1[110,110]', t: 'T7[]+@0/9E' }, { maxChanges: 2, onOverflow: 'chunk' }));

  it("with onOverflow 'chunk' passes the Stream Abort of a chunked transaction on, so the consumer can undo", () =>
    run('saaeA', { s: m.streamStart(1, 100, true), a: m.insert(101, { xid: 1, inStream: true }), e: m.streamStop(102), A: m.streamAbort(1, 1, 103) },
      '--x-A', { x: 'C1#0[101,101]', A: 'A1/1' }, { maxChanges: 2, onOverflow: 'chunk' }));

  it('fails with ProtocolError for a change or Commit outside any transaction', () => {
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('i', { i: m.insert(110) }).pipe(bufferTransaction())).toBe('#', undefined, expect.any(ProtocolError));
      expectObservable(cold('-c', { c: m.commit(150) }).pipe(bufferTransaction())).toBe('-#', undefined, expect.any(ProtocolError));
    });
  });
});
