import { LineWriter } from '../../cli/line-writer';
import type { OutputSink } from '../../cli/output';

/** An in-memory sink that records what the writer does with it. */
function memorySink(options: { synchronous: boolean; syncable: boolean; failWrite?: number }) {
  const calls: string[] = [];
  let writes = 0;
  const sink: OutputSink & { text: string } = {
    name: 'memory',
    text: '',
    synchronous: options.synchronous,
    write(bytes, done) {
      writes++;
      calls.push('write');
      if (writes === options.failWrite) return done(Object.assign(new Error('no space'), { code: 'ENOSPC' }));
      sink.text += bytes.toString();
      if (options.synchronous) done();
      else setImmediate(done);
    },
    sync: options.syncable
      ? (done) => {
          calls.push('sync');
          setImmediate(done);
        }
      : undefined,
    close(done) {
      calls.push('close');
      setImmediate(done);
    },
  };
  return { sink, calls };
}

describe('the CLI line writer', () => {
  it.each([true, false])('writes every line, makes them durable after an fsync, and closes once (synchronous sink: %s)', async (synchronous) => {
    const { sink, calls } = memorySink({ synchronous, syncable: true });
    const writer = new LineWriter(sink, { fsyncInterval: 60_000 });
    for (let i = 0; i < 5; i++) writer.push(`{"n":${i}}\n`);
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setImmediate(r));
    expect(writer.written).toBe(5);
    expect(writer.durable).toBe(0); // written, not yet fsync'd
    await writer.end();
    expect(writer.durable).toBe(5);
    expect(sink.text.split('\n')).toHaveLength(6);
    expect(calls.filter((c) => c === 'close')).toHaveLength(1);
    expect(calls.at(-2)).toBe('sync');
  });

  it('counts lines as durable once written when the output cannot be fsynced, and closes once', async () => {
    const { sink, calls } = memorySink({ synchronous: true, syncable: false });
    const writer = new LineWriter(sink);
    writer.push('a\n');
    await new Promise((r) => setImmediate(r));
    expect(writer.durable).toBe(1);
    writer.push('b\n'); // still queued when end() starts: written by end() itself
    await writer.end();
    expect(writer.durable).toBe(2);
    expect(calls).toEqual(['write', 'write', 'close']);
  });

  it('fails with an OutputError, keeps the durable count where it was, and closes once', async () => {
    const { sink, calls } = memorySink({ synchronous: true, syncable: false, failWrite: 2 });
    const writer = new LineWriter(sink, { batchSize: 4 });
    writer.push('first\n');
    writer.push('second\n');
    writer.push('third\n');
    expect(writer.durable).toBe(1);
    await expect(writer.end()).rejects.toMatchObject({ name: 'OutputError', code: 'ENOSPC', message: 'cannot write to memory: no space left on device (ENOSPC)' });
    expect(writer.durable).toBe(1);
    expect(calls.filter((c) => c === 'close')).toHaveLength(1);
  });
});
