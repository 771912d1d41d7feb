import { Subject } from 'rxjs';
import { LineWriter } from '../../cli/line-writer';
import type { OutputSink } from '../../cli/output';
import { ackWhenWritten } from '../../cli/when-written';
import { Lsn } from '../../src/lsn';

/** A sink whose writes complete when the test says so (or at once), counting writes. */
function heldSink(options: { failWrite?: number; hold?: boolean } = {}) {
  const pending: Array<() => void> = [];
  let writes = 0;
  const sink: OutputSink = {
    name: 'memory',
    synchronous: false,
    write(_bytes, done) {
      writes++;
      if (writes === options.failWrite) return setImmediate(() => done(Object.assign(new Error('no space'), { code: 'ENOSPC' })));
      if (options.hold) pending.push(() => done());
      else setImmediate(done);
    },
    close: (done) => done(),
  };
  return { sink, pending, writes: () => writes };
}

const commit = (n: number) => ({ type: 'commit', endLsn: Lsn.fromParts(0, n), lsn: Lsn.fromParts(0, n - 1) });
const insert = { type: 'insert' };
const turn = () => new Promise((r) => setImmediate(r));

function recorder() {
  const acks: string[] = [];
  const detached: unknown[] = [];
  return { acks, detached, feedback: { acknowledge: (l: Lsn) => acks.push(l.toString()), detach: (e?: unknown) => detached.push(e ?? 'done') } };
}

describe('ackWhenWritten (the CLI acknowledges a write, not a transaction)', () => {
  it('acknowledges nothing before the lines are written, then the last unit of each write once, and emits that unit', async () => {
    const { sink, pending } = heldSink({ hold: true });
    const writer = new LineWriter(sink, { fsyncInterval: 0 });
    const { acks, detached, feedback } = recorder();
    const source = new Subject<object>();
    const out: object[] = [];
    source.pipe(ackWhenWritten(writer, feedback, 1000)).subscribe({ next: (e) => out.push(e) });
    for (let n = 1; n <= 3; n++) {
      writer.push('line\n');
      source.next(insert);
      writer.push('line\n');
      source.next(commit(n * 10));
    }
    await turn(); // the first write starts with the three transactions, and is held
    expect(acks).toEqual([]);
    writer.push('line\n');
    source.next(commit(40)); // waits for the next write
    pending.shift()!();
    expect(acks).toEqual(['0/1E']);
    expect(out).toEqual([commit(30)]);
    await turn();
    pending.shift()!();
    expect(acks).toEqual(['0/1E', '0/28']);
    source.complete();
    expect(detached).toEqual(['done']);
  });

  it('with a synchronous output, acknowledges every write at once', async () => {
    const lines: string[] = [];
    const sink: OutputSink = { name: 'sync', synchronous: true, write: (b, done) => (lines.push(b.toString()), done()), close: (done) => done() };
    const writer = new LineWriter(sink, { fsyncInterval: 0, batchSize: 8 });
    const { acks, feedback } = recorder();
    const source = new Subject<object>();
    source.pipe(ackWhenWritten(writer, feedback, 1000)).subscribe();
    writer.push('0123456789\n'); // past the batch size: written at once
    source.next(commit(5));
    expect(acks).toEqual(['0/5']);
  });

  it('completes only once the waiting units are durable', async () => {
    const { sink, pending } = heldSink({ hold: true });
    const writer = new LineWriter(sink, { fsyncInterval: 0 });
    const { acks, feedback } = recorder();
    const source = new Subject<object>();
    let completed = false;
    source.pipe(ackWhenWritten(writer, feedback, 1000)).subscribe({ complete: () => (completed = true) });
    writer.push('line\n');
    source.next(commit(7));
    source.complete();
    await turn();
    expect(completed).toBe(false);
    pending.shift()!();
    expect(acks).toEqual(['0/7']);
    expect(completed).toBe(true);
  });

  it('fails with the writer\'s error and acknowledges nothing unwritten', async () => {
    const { sink } = heldSink({ failWrite: 2 });
    const writer = new LineWriter(sink, { fsyncInterval: 0 });
    const { acks, detached, feedback } = recorder();
    const source = new Subject<object>();
    let error: unknown;
    source.pipe(ackWhenWritten(writer, feedback, 1000)).subscribe({ error: (e) => (error = e) });
    writer.push('line\n');
    source.next(commit(1));
    await turn();
    await turn();
    expect(acks).toEqual(['0/1']);
    writer.push('line\n');
    source.next(commit(2));
    await turn();
    await turn();
    expect(acks).toEqual(['0/1']);
    expect(error).toMatchObject({ name: 'OutputError', code: 'ENOSPC' });
    expect(detached).toEqual([error]);
  });

  it('asks the writer for an early fsync once syncAt units wait', () => {
    const { sink } = heldSink({ hold: true });
    const writer = new LineWriter(sink, { fsyncInterval: 60_000 });
    const requestSync = jest.spyOn(writer, 'requestSync');
    const { feedback } = recorder();
    const source = new Subject<object>();
    source.pipe(ackWhenWritten(writer, feedback, 3)).subscribe();
    for (let n = 1; n <= 2; n++) {
      writer.push('line\n');
      source.next(commit(n));
    }
    expect(requestSync).not.toHaveBeenCalled();
    writer.push('line\n');
    source.next(commit(3));
    expect(requestSync).toHaveBeenCalledTimes(1);
  });
});
