// Property: with mergeMap concurrency 4, random completion order and events copied between
// bufferTransaction and ackOnCommit (spread, structuredClone), the acknowledged LSN never passes an
// unfinished transaction, nor the PREPARE of a held prepared transaction whose outcome is unfinished,
// nor sits between a PREPARE and its COMMIT PREPARED; and once everything is done, everything is
// acknowledged.
import fc from 'fast-check';
import { delay, from, map, mergeMap, of, tap } from 'rxjs';
import { Lsn, LsnFeedback } from '../../src';
import type { PgoutputMessage } from '../../src/pgoutput/messages';
import { type TransactionEvent, ackLsnOf, ackOnCommit, bufferTransaction } from '../../operators';
import { testScheduler } from '../support/marbles';
import * as m from '../support/messages';

type Unit = { kind: 'commit' } | { kind: 'message' } | { kind: 'prepared'; outcome: 'commit' | 'rollback'; after: number };

const unitArb: fc.Arbitrary<Unit> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ kind: 'commit' as const }) },
  { weight: 2, arbitrary: fc.constant({ kind: 'message' as const }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('prepared' as const), outcome: fc.constantFrom('commit' as const, 'rollback' as const), after: fc.nat(5) }) },
);

/** pgoutput messages for the units, LSNs increasing; a prepared transaction's outcome comes `after` units later. */
function messagesOf(units: Unit[]): PgoutputMessage[] {
  const out: PgoutputMessage[] = [];
  const pending: Array<{ at: number; xid: number; gid: string; outcome: 'commit' | 'rollback' }> = [];
  let at = 100;
  let xid = 1;
  const settle = (i: number) => {
    for (const p of pending.filter((q) => q.at <= i)) {
      pending.splice(pending.indexOf(p), 1);
      out.push(p.outcome === 'commit' ? m.commitPrepared(p.xid, (at += 20), p.gid) : m.rollbackPrepared(p.xid, (at += 20), p.gid));
    }
  };
  units.forEach((u, i) => {
    settle(i);
    const x = xid++;
    if (u.kind === 'commit') out.push(m.begin(x, (at += 20)), m.insert((at += 1)), m.commit((at += 1)));
    else if (u.kind === 'message') out.push(m.message((at += 20), false));
    else {
      const gid = `g${x}`;
      out.push(m.beginPrepare(x, (at += 20), gid), m.insert((at += 1)), m.prepare(x, (at += 1), gid));
      pending.push({ at: i + 1 + u.after, xid: x, gid, outcome: u.outcome });
    }
  });
  settle(Number.MAX_SAFE_INTEGER);
  return out;
}

/** The highest LSN the slot may be confirmed at while this event's work is unfinished. */
function boundOf(e: TransactionEvent): bigint {
  return e.type === 'transaction' ? e.commitLsn.value : e.type === 'transactionChunk' ? e.beginLsn.value : e.lsn.value;
}

describe('ackOnCommit (property)', () => {
  it('never acknowledges past an unfinished transaction, whatever the completion order and copies', () => {
    fc.assert(
      fc.property(
        fc.array(unitArb, { minLength: 1, maxLength: 25 }),
        fc.infiniteStream(fc.nat(20)),
        fc.infiniteStream(fc.constantFrom('spread', 'clone', 'same')),
        (units, delays, copies) => {
          const feedback = new LsnFeedback();
          const unfinished = new Map<number, bigint>(); // seq → bound
          const heldPrepares = new Map<string, bigint>(); // gid → prepareLsn, until its outcome is done
          let highest = 0n;
          let violation: string | undefined;
          const acks: bigint[] = [];
          const prepares = new Map<string, bigint>(); // gid → prepareLsn
          const lone: Array<{ gid: string; from: bigint; to: bigint }> = []; // PREPARE … COMMIT PREPARED
          feedback.acknowledged$.subscribe((a) => {
            acks.push(a.value);
            for (const [seq, bound] of unfinished) if (a.value > bound) violation ??= `acknowledged ${a.toString()} past unfinished #${seq} (${Lsn.from(bound).toString()})`;
            for (const [gid, lsn] of heldPrepares) if (a.value > lsn) violation ??= `acknowledged ${a.toString()} past held PREPARE ${gid}`;
          });
          testScheduler().run(({ flush }) => {
            from(messagesOf(units))
              .pipe(
                bufferTransaction(),
                tap((e) => {
                  unfinished.set(e.ticket.seq, boundOf(e));
                  if (e.type === 'prepare') {
                    heldPrepares.set(e.gid, e.prepareLsn.value);
                    prepares.set(e.gid, e.prepareLsn.value);
                  }
                  if (e.type === 'transaction' && e.gid !== undefined) lone.push({ gid: e.gid, from: prepares.get(e.gid) ?? 0n, to: e.commitLsn.value });
                  highest = ackLsnOf(e)?.value ?? highest;
                }),
                map((e) => {
                  const how = copies.next().value;
                  return how === 'spread' ? { ...e } : how === 'clone' ? structuredClone(e) : e;
                }),
                mergeMap((e) => of(e).pipe(delay(delays.next().value)), 4),
                tap((e) => {
                  unfinished.delete(e.ticket.seq);
                  if ((e.type === 'transaction' && e.gid !== undefined) || e.type === 'rollbackPrepared') heldPrepares.delete(e.gid as string);
                }),
                ackOnCommit(feedback),
              )
              .subscribe({ error: (err) => (violation ??= String(err)) });
            flush();
          });
          if (violation !== undefined) throw new Error(violation);
          // Never confirmed between a PREPARE and its COMMIT PREPARED: a restarted server would
          // send the COMMIT PREPARED alone.
          for (const a of acks) for (const p of lone) if (a > p.from && a <= p.to) throw new Error(`acknowledged ${Lsn.from(a).toString()} between PREPARE and COMMIT PREPARED of ${p.gid}`);
          // Everything done: everything acknowledged.
          expect(feedback.acknowledged.value).toBe(highest);
          expect(feedback.finished.value).toBe(highest);
        },
      ),
      { numRuns: 3000 },
    );
  });
});
