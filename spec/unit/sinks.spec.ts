import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Subject } from 'rxjs';
import { writeInOrder } from '../../sinks/internal/write-in-order';
import { headerLine } from '../../sinks/jetstream/publisher';
import { subjectToken, tableSubject } from '../../sinks/jetstream/subject';
import { entryId } from '../../sinks/redis';
import { Lsn } from '../../src';

describe('writeInOrder', () => {
  function harness(maxInFlight: number) {
    const input = new Subject<number>();
    const started: number[] = [];
    const resolvers = new Map<number, { resolve(): void; reject(e: unknown): void }>();
    const out: number[] = [];
    let error: unknown;
    let completed = false;
    input
      .pipe(
        writeInOrder(
          (n: number) =>
            new Promise<void>((resolve, reject) => {
              started.push(n);
              resolvers.set(n, { resolve, reject });
            }),
          maxInFlight,
        ),
      )
      .subscribe({ next: (n) => out.push(n), error: (e) => (error = e), complete: () => (completed = true) });
    const tick = () => new Promise((r) => setImmediate(r));
    return { input, started, resolvers, out, tick, state: () => ({ error, completed }) };
  }

  it('emits each event only after its write and every earlier one resolved, in arrival order', async () => {
    const h = harness(4);
    [1, 2, 3].forEach((n) => h.input.next(n));
    h.resolvers.get(3)!.resolve();
    h.resolvers.get(2)!.resolve();
    await h.tick();
    expect(h.out).toEqual([]);
    h.resolvers.get(1)!.resolve();
    await h.tick();
    expect(h.out).toEqual([1, 2, 3]);
  });

  it('starts at most maxInFlight writes, in arrival order, so nothing more is emitted (or acknowledged) meanwhile', async () => {
    const h = harness(2);
    [1, 2, 3, 4].forEach((n) => h.input.next(n));
    expect(h.started).toEqual([1, 2]);
    h.resolvers.get(1)!.resolve();
    await h.tick();
    expect(h.started).toEqual([1, 2, 3]);
    expect(h.out).toEqual([1]);
  });

  it('errors at once when a write fails, and completes only after the last write', async () => {
    const h = harness(2);
    h.input.next(1);
    h.input.complete();
    await h.tick();
    expect(h.state().completed).toBe(false);
    h.resolvers.get(1)!.resolve();
    await h.tick();
    expect(h.state().completed).toBe(true);

    const g = harness(2);
    g.input.next(1);
    g.input.next(2);
    g.resolvers.get(2)!.reject(new Error('boom'));
    await g.tick();
    expect((g.state().error as Error).message).toBe('boom');
    expect(g.out).toEqual([]);
  });
});

describe('sink names', () => {
  it('encodes schema and table names into single subject tokens', () => {
    expect(subjectToken('orders')).toBe('orders');
    expect(subjectToken('My Table.v2*>')).toBe('My%20Table%2Ev2%2A%3E');
    expect(subjectToken('é')).toBe('%C3%A9');
    expect(tableSubject('cdc.app', 'public', 'a.b')).toBe('cdc.app.public.a%2Eb');
  });

  it('writes JetStream header lines with CR and LF in a value (a quoted identifier) as %0D and %0A', () => {
    expect(headerLine('Walstream-Table', 'public.orders')).toBe('Walstream-Table: public.orders\r\n');
    expect(headerLine('Walstream-Table', 'public.a\r\nNats-Msg-Id: x')).toBe('Walstream-Table: public.a%0D%0ANats-Msg-Id: x\r\n');
  });

  it('derives Redis entry IDs from the commit LSN as a 64-bit integer and the index', () => {
    expect(entryId(Lsn.parse('16/B374D848'), 3)).toBe(`${0x16b374d848n}-3`);
    expect(entryId(Lsn.parse('FFFFFFFF/FFFFFFFF'), 0)).toBe('18446744073709551615-0');
  });
});

describe('optional dependencies', () => {
  it('importing the root or pg-walstream/operators never loads nats or ioredis', () => {
    const root = join(__dirname, '../..');
    const loaded = execFileSync(
      process.execPath,
      ['-e', "require('./dist/cjs/src'); require('./dist/cjs/operators'); console.log(Object.keys(require.cache).filter((k) => /node_modules\\/(@nats-io|ioredis)/.test(k)).length)"],
      { cwd: root, encoding: 'utf8' },
    );
    expect(loaded.trim()).toBe('0');
  });
});

describe('events a sink refuses', () => {
  it('refuses transaction chunks and prepared transactions with UnsupportedEventError, and passes other events', () => {
    const { transactionToWrite } = require('../../sinks/internal/events') as typeof import('../../sinks/internal/events');
    const { UnsupportedEventError } = require('../../sinks/internal/errors') as typeof import('../../sinks/internal/errors');
    const chunk = { type: 'transactionChunk', xid: 7, index: 0, beginLsn: Lsn.from(1), streamed: true, changes: [], messages: [], ticket: { epoch: 1, seq: 0 } } as const;
    expect(() => transactionToWrite(chunk, 'redis')).toThrow(UnsupportedEventError);
    const prepared = { type: 'transaction', state: 'prepared', xid: 8, commitLsn: Lsn.from(2) } as never;
    expect(() => transactionToWrite(prepared, 'jetstream')).toThrow(/two_phase/);
    const committed = { type: 'transaction', state: 'committed', xid: 9 } as never;
    expect(transactionToWrite(committed, 'postgres')).toBe(committed);
    expect(transactionToWrite({ type: 'commitPrepared' } as never, 'postgres')).toBeUndefined();
  });
});
