import { Subject } from 'rxjs';
import { LineWriter } from '../../cli/line-writer';
import type { OutputSink } from '../../cli/output';
import { lastWhenWritten } from '../../cli/when-written';
import { Lsn } from '../../src/lsn';

/** A sink whose writes complete when the test says so (`hold`), or on the next turn; `failWrite` fails that write. */
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
  return { sink, pending };
}

const commit = (n: number) => ({ type: 'commit', endLsn: Lsn.fromParts(0, n), lsn: Lsn.fromParts(0, n - 1) });
const insert = { type: 'insert' };
const turn = () => new Promise((r) => setImmediate(r));
const lsns = (events: unknown[]) => events.map((e) => (e as { endLsn: Lsn }).endLsn.toString());

describe('lastWhenWritten (the CLI holds one entry per write, not per transaction)', () => {
  it('emits nothing before the lines are durable, then only the last unit of each write', async () => {
    const { sink, pending } = heldSink({ hold: true });
    const writer = new LineWriter(sink, { fsyncInterval: 0 });
    const source = new Subject<object>();
    const out: object[] = [];
    let completed = false;
    source.pipe(lastWhenWritten(writer, 1000)).subscribe({ next: (e) => out.push(e), complete: () => (completed = true) });
    for (let n = 1; n <= 3; n++) {
      writer.push('begin\n');
      writer.push('insert\n');
      source.next(insert); // not a unit's end: dropped
      writer.push('commit\n');
      source.next(commit(n * 10));
    }
    await turn(); // the first write starts with the three transactions, and is held
    expect(out).toEqual([]);
    writer.push('commit\n');
    source.next(commit(40)); // its line waits for the next write
    source.complete();
    pending.shift()!();
    expect(lsns(out)).toEqual(['0/1E']);
    expect(completed).toBe(false); // 0/28 is not durable yet
    await turn();
    pending.shift()!();
    expect(lsns(out)).toEqual(['0/1E', '0/28']);
    expect(completed).toBe(true);
  });

  it('with a synchronous output, emits a unit as soon as the write that took its line returns', () => {
    const sink: OutputSink = { name: 'sync', synchronous: true, write: (_b, done) => done(), close: (done) => done() };
    const writer = new LineWriter(sink, { fsyncInterval: 0, batchSize: 8 });
    const source = new Subject<object>();
    const out: object[] = [];
    source.pipe(lastWhenWritten(writer, 1000)).subscribe({ next: (e) => out.push(e) });
    writer.push('0123456789\n'); // past the batch size: written at once
    source.next(commit(5));
    expect(lsns(out)).toEqual(['0/5']);
  });

  it("fails with the writer's error and releases nothing whose line was not written", async () => {
    const { sink } = heldSink({ failWrite: 2 });
    const writer = new LineWriter(sink, { fsyncInterval: 0 });
    const source = new Subject<object>();
    const out: object[] = [];
    let error: unknown;
    source.pipe(lastWhenWritten(writer, 1000)).subscribe({ next: (e) => out.push(e), error: (e) => (error = e) });
    writer.push('commit\n');
    source.next(commit(1));
    await turn();
    await turn();
    expect(lsns(out)).toEqual(['0/1']);
    writer.push('commit\n');
    source.next(commit(2));
    await turn();
    await turn();
    expect(lsns(out)).toEqual(['0/1']);
    expect(error).toMatchObject({ name: 'OutputError', code: 'ENOSPC' });
  });

  it('asks the writer for an early fsync once syncAt units wait', () => {
    const { sink } = heldSink({ hold: true });
    const writer = new LineWriter(sink, { fsyncInterval: 60_000 });
    const requestSync = jest.spyOn(writer, 'requestSync');
    const source = new Subject<object>();
    source.pipe(lastWhenWritten(writer, 3)).subscribe();
    for (let n = 1; n <= 2; n++) {
      writer.push('commit\n');
      source.next(commit(n));
    }
    expect(requestSync).not.toHaveBeenCalled();
    writer.push('commit\n');
    source.next(commit(3));
    expect(requestSync).toHaveBeenCalledTimes(1);
  });
});
