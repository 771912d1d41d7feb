import { MessageFramer } from '../../src/wire/framer';
import { ProtocolError } from '../../src';

function message(code: string, body: Buffer): Buffer {
  const b = Buffer.alloc(5 + body.length);
  b[0] = code.charCodeAt(0);
  b.writeInt32BE(4 + body.length, 1);
  body.copy(b, 5);
  return b;
}

function collect(): { framer: MessageFramer; got: { code: string; body: Buffer }[] } {
  const got: { code: string; body: Buffer }[] = [];
  const framer = new MessageFramer((code, buf, start, end) => got.push({ code: String.fromCharCode(code), body: buf.subarray(start, end) }));
  return { framer, got };
}

describe('MessageFramer', () => {
  const stream = Buffer.concat([
    message('d', Buffer.from('first')),
    message('Z', Buffer.from('I')),
    message('d', Buffer.alloc(0)),
    message('d', Buffer.from('x'.repeat(300))),
  ]);
  const expected = [
    { code: 'd', body: Buffer.from('first') },
    { code: 'Z', body: Buffer.from('I') },
    { code: 'd', body: Buffer.alloc(0) },
    { code: 'd', body: Buffer.from('x'.repeat(300)) },
  ];

  it('splits messages within one chunk', () => {
    const { framer, got } = collect();
    framer.push(stream);
    expect(got).toEqual(expected);
  });

  it.each([1, 2, 3, 5, 7, 64])('reassembles messages split into %i-byte chunks', (size) => {
    const { framer, got } = collect();
    for (let i = 0; i < stream.length; i += size) framer.push(Buffer.from(stream.subarray(i, i + size)));
    expect(got).toEqual(expected);
    expect(framer.midMessage).toBe(false);
  });

  it('hands out views that keep their bytes after later chunks arrive', () => {
    const { framer, got } = collect();
    const chunk = Buffer.from(message('d', Buffer.from('keep me')));
    framer.push(chunk);
    for (let i = 0; i < 5000; i++) framer.push(Buffer.from(message('d', Buffer.from(`later ${i}`))));
    expect(got[0].body.toString()).toBe('keep me');
    expect(got).toHaveLength(5001);
  });

  it('reports a message cut short by the end of input', () => {
    const { framer } = collect();
    framer.push(stream.subarray(0, 8));
    expect(framer.midMessage).toBe(true);
  });

  it('rejects an impossible length', () => {
    const { framer } = collect();
    expect(() => framer.push(Buffer.from([0x64, 0, 0, 0, 2]))).toThrow(ProtocolError);
    expect(() => collect().framer.push(Buffer.from([0x64, 0x7f, 0xff, 0xff, 0xff]))).toThrow(ProtocolError);
  });
});
