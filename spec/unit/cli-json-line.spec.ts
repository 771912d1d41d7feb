import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Lsn } from '../../src';
import { PgoutputDecoder } from '../../src/protocol';
import { JSON_NULL } from '../../src/values';
import { JSON_TYPE_OPTIONS, messageToJson, messageToJsonLine } from '../../src/json';
import type { PgoutputMessage } from '../../src/pgoutput/messages';
import { ByteBuffer } from '../../cli/byte-buffer';
import { encodeJsonLine } from '../../cli/json-encoder';
import { readCapture } from '../support/captures';
import { pgTimestampToIso } from '../../src/time';

// messageToJsonLine writes the hot messages straight to text; it must give exactly the text of the
// documented object form, on every message real servers sent (all protocol versions, text and binary).
const dir = join(__dirname, '../fixtures');
const files = readdirSync(dir).filter((f) => /^pgoutput-.*\.jsonl\.gz$/.test(f));

function decodeAll(file: string, types: object): PgoutputMessage[] {
  const capture = readCapture(join(dir, file));
  const decoder = new PgoutputDecoder({ types });
  return capture.frames.map((f) => decoder.decode(f.data, Lsn.parse(f.lsn)));
}

describe('messageToJsonLine', () => {
  it.each(files)('%s: the same text as JSON.stringify(messageToJson(msg)), typed and raw, with the CLI type options and the defaults', (file) => {
    let compared = 0;
    for (const types of [JSON_TYPE_OPTIONS, {}, { int8: 'bigint' }]) {
      const messages = decodeAll(file, types);
      for (const raw of [false, true]) {
        const fast = messages.map((msg) => messageToJsonLine(msg, { raw }));
        const slow = messages.map((msg) => `${JSON.stringify(messageToJson(msg, { raw }))}\n`);
        const first = fast.findIndex((line, i) => line !== slow[i]);
        expect(first === -1 ? undefined : { fast: fast[first], slow: slow[first] }).toBeUndefined();
        compared += messages.length;
      }
    }
    expect(compared).toBeGreaterThan(600);
  });

  it.each(files)('%s: the CLI byte encoder writes the same bytes as messageToJsonLine, typed and raw', (file) => {
    const messages = decodeAll(file, JSON_TYPE_OPTIONS);
    for (const raw of [false, true]) {
      const out = new ByteBuffer(64);
      const expected: string[] = [];
      for (const msg of messages) {
        encodeJsonLine(out, msg, raw);
        expected.push(messageToJsonLine(msg, { raw }));
      }
      const got = out.take(false).toString('utf8').split('\n');
      const want = expected.join('').split('\n');
      const first = want.findIndex((line, i) => line !== got[i]);
      expect(first === -1 ? undefined : { got: got[first], want: want[first] }).toBeUndefined();
      expect(got).toHaveLength(want.length);
    }
  });

  it('escapes text values as JSON.stringify does', () => {
    const out = new ByteBuffer(4);
    const samples = ['plain', 'quote " and \\ backslash', 'controls \u0000\u0001\b\t\n\f\r\u001f\u007f', 'utf-8 é ✓ 😀 \u2028', ''];
    for (const s of samples) {
      out.quoted(Buffer.from(s));
      out.byte(0x0a);
    }
    expect(out.take(false).toString('utf8')).toBe(samples.map((s) => `${JSON.stringify(s)}\n`).join(''));
    for (const n of [0, 1, 15, 16, 255, 0xffffffff, 2 ** 40 + 5]) {
      out.hex(n);
      expect(out.take(false).toString()).toBe(n.toString(16).toUpperCase());
    }
  });

  it('writes large LSNs as X/Y like Lsn#toString', () => {
    const decoder = new PgoutputDecoder();
    const begin = Buffer.alloc(21);
    begin[0] = 0x42;
    begin.writeBigUInt64BE(0xffffffff_fffffff0n, 1);
    const msg = decoder.decode(begin, Lsn.parse('1234ABCD/EF012345'));
    const line = JSON.parse(messageToJsonLine(msg)) as { lsn: string; finalLsn: string };
    expect(line).toMatchObject({ lsn: '1234ABCD/EF012345', finalLsn: 'FFFFFFFF/FFFFFFF0' });
  });
});

describe('JSON output of json documents and message content', () => {
  const relation = (typeOid: number) => {
    const name = Buffer.from('public\0t\0doc\0');
    const r = Buffer.alloc(1 + 4 + name.length + 1 + 2 + 1 + 4 + 4);
    let o = 0;
    r[o++] = 0x52;
    o = r.writeUInt32BE(16384, o);
    o += Buffer.from('public\0t\0').copy(r, o);
    r[o++] = 0x64; // replica identity d
    o = r.writeUInt16BE(1, o);
    r[o++] = 0;
    o += Buffer.from('doc\0').copy(r, o);
    o = r.writeUInt32BE(typeOid, o);
    r.writeInt32BE(-1, o);
    return r;
  };
  const insert = (value: string | Buffer | null) => {
    const head = Buffer.from([0x49, 0, 0, 0x40, 0, 0x4e, 0, 1]);
    if (value === null) return Buffer.concat([head, Buffer.from([0x6e])]);
    const v = Buffer.from(value);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.length);
    return Buffer.concat([head, Buffer.from([typeof value === 'string' ? 0x74 : 0x62]), len, v]);
  };

  it.each([
    ['json', 114],
    ['jsonb', 3802],
  ])('tells the %s document null from SQL NULL, in Row.get and in the JSON line', (_, oid) => {
    const decoder = new PgoutputDecoder({ types: JSON_TYPE_OPTIONS });
    decoder.decode(relation(oid), Lsn.parse('0/10'));
    const docNull = decoder.decode(insert('null'), Lsn.parse('0/20'));
    const sqlNull = decoder.decode(insert(null), Lsn.parse('0/30'));
    const doc = decoder.decode(insert('{"a": null}'), Lsn.parse('0/40'));
    if (docNull.type !== 'insert' || sqlNull.type !== 'insert' || doc.type !== 'insert') throw new Error('not inserts');
    expect(docNull.new.get('doc')).toBe(JSON_NULL);
    expect(sqlNull.new.get('doc')).toBeNull();
    expect(doc.new.get('doc')).toEqual({ a: null });
    expect(JSON.parse(messageToJsonLine(docNull))).toMatchObject({ new: { doc: null }, jsonNull: { new: ['doc'] } });
    expect(JSON.parse(messageToJsonLine(sqlNull))).not.toHaveProperty('jsonNull');
    expect(JSON.parse(messageToJsonLine(sqlNull)).new).toEqual({ doc: null });
    expect(messageToJsonLine(docNull)).toBe(`${JSON.stringify(messageToJson(docNull))}\n`);
  });

  it.each([
    ['bytea', 17, ['\\xdeadbeef', '\\x', 'abc\\000def']],
    ['int4[]', 1007, ['{1,NULL,-3}', '{{1,2},{3,4}}', '[0:1]={1,2}', '{}', '{NULL}']],
    ['int2[]', 1005, ['{7,-8}']],
    ['text', 25, ['quote " \\ tab \t nl \n é \u0001', '']],
    ['bool', 16, ['t', 'f']],
    ['int8', 20, ['-9223372036854775808']],
    ['binary bytea', 17, [Buffer.from([0xde, 0xad, 0x00]), Buffer.alloc(0)]],
    ['binary text', 25, [Buffer.from('é " \\ \n'), Buffer.alloc(0)]],
    ['binary varchar', 1043, [Buffer.from('v')]],
    ['binary int4', 23, [Buffer.from([0xff, 0xff, 0xff, 0xfe])]],
    ['binary float8', 701, [Buffer.from([0x80, 0, 0, 0, 0, 0, 0, 0]), Buffer.from([0x7f, 0xf8, 0, 0, 0, 0, 0, 0])]],
  ])('the CLI encoder writes %s values as messageToJsonLine does', (_, oid, values) => {
    const decoder = new PgoutputDecoder({ types: JSON_TYPE_OPTIONS });
    decoder.decode(relation(oid as number), Lsn.parse('0/10'));
    for (const value of values as (string | Buffer)[]) {
      const msg = decoder.decode(insert(value), Lsn.parse('0/20'));
      const out = new ByteBuffer(8);
      encodeJsonLine(out, msg, false);
      expect(out.take(false).toString('utf8')).toBe(messageToJsonLine(msg));
    }
  });

  const message = (content: Buffer) => {
    const prefix = Buffer.from('p\0');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(content.length);
    const lsn = Buffer.alloc(8);
    lsn.writeBigUInt64BE(0x50n);
    return Buffer.concat([Buffer.from([0x4d, 0]), lsn, prefix, len, content]);
  };

  it('prints valid UTF-8 message content as text, U+FFFD included, and anything else as base64', () => {
    const decoder = new PgoutputDecoder();
    const line = (b: Buffer) => JSON.parse(messageToJsonLine(decoder.decode(message(b), Lsn.parse('0/50')))).content;
    expect(line(Buffer.from('plain é'))).toBe('plain é');
    expect(line(Buffer.from('replacement \uFFFD sent as such'))).toBe('replacement \uFFFD sent as such');
    expect(line(Buffer.from([0x61, 0xff, 0x62]))).toEqual({ base64: Buffer.from([0x61, 0xff, 0x62]).toString('base64') });
    expect(line(Buffer.from([0xe2, 0x82]))).toEqual({ base64: '4oI=' }); // a truncated sequence
  });
});

describe('commit times in JSON lines', () => {
  it('prints every timestamp as pgTimestampToIso does, across seconds, signs and extremes', () => {
    const decoder = new PgoutputDecoder();
    const begin = (us: bigint) => {
      const b = Buffer.alloc(21);
      b[0] = 0x42;
      b.writeBigUInt64BE(0x10n, 1);
      b.writeBigInt64BE(us, 9);
      return decoder.decode(b, Lsn.parse('0/10'));
    };
    const times = [0n, 1n, 999_999n, 1_000_000n, -1n, -1_000_001n, 848_000_000_123_456n, 848_000_000_999_999n, 848_000_001_000_000n, 9_000_000_000_000_000n, -9_000_000_000_000_000n];
    for (const us of times) expect([us, JSON.parse(messageToJsonLine(begin(us))).commitTime]).toEqual([us, pgTimestampToIso(us)]);
  });
});
