import { Lsn } from '../../src';
import { PgoutputDecoder } from '../../src/protocol';
import { JSON_TYPE_OPTIONS, messageToJsonLine } from '../../src/json';
import { ByteBuffer } from '../../cli/byte-buffer';
import { encodeJsonLine } from '../../cli/json-encoder';

// The CLI's encoder writes many values straight from their bytes (cli/json-encoder.ts); each
// must print exactly what the documented slow path (Row#get, then JSON.stringify) prints,
// also at the edges where the fast path must step aside.

const cstr = (s: string) => Buffer.concat([Buffer.from(s), Buffer.alloc(1)]);
const i16 = (n: number) => { const b = Buffer.alloc(2); b.writeInt16BE(n); return b; };
const i32 = (n: number) => { const b = Buffer.alloc(4); b.writeInt32BE(n); return b; };
const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32BE(n); return b; };
const i64 = (n: bigint) => { const b = Buffer.alloc(8); b.writeBigInt64BE(n); return b; };
const f32 = (n: number) => { const b = Buffer.alloc(4); b.writeFloatBE(n); return b; };
const f64 = (n: number) => { const b = Buffer.alloc(8); b.writeDoubleBE(n); return b; };
const jsonb = (text: string) => Buffer.concat([Buffer.from([1]), Buffer.from(text)]);
/** array_send of one dimension (or none with `values` undefined). */
function intArray(elementOid: number, values: Array<number | null> | undefined, size: 2 | 4): Buffer {
  if (values === undefined) return Buffer.concat([i32(0), i32(0), u32(elementOid)]);
  const parts = [i32(1), i32(values.includes(null) ? 1 : 0), u32(elementOid), i32(values.length), i32(1)];
  for (const v of values) parts.push(v === null ? i32(-1) : Buffer.concat([i32(size), size === 2 ? i16(v) : i32(v)]));
  return Buffer.concat(parts);
}

const JSON_TEXTS = [
  '{"a": 1, "b": [1, 2, "x\\"y\\\\z"], "c": {"d": null, "e": true, "f": false}}',
  '{"a": 1.0}', '{"a": 1.50}', '{"a": 1e3}', '{"a": -5}', '{"a": 0}', '{"a": -0}', '12345678901234567', '123456789012345',
  '{"10": 1, "a": 2, "9": 3}', '{"0": 1}', '{"01": 1, "b": 2}', '{"é ✓": "ü\\u0001\\n\\t"}', '"text"', 'null', '[]', '{}', '[null, [], {}]',
  '{"key with spaces": "value with  spaces", "x": [ 1 , 2 ]}', '-12', '3.14159', '[1, -2, 300000000000000000000]',
];

const COLUMNS: Array<{ oid: number; binary: Buffer[]; text?: string[] }> = [
  { oid: 16, binary: [Buffer.from([1]), Buffer.from([0])] },
  { oid: 21, binary: [i16(0), i16(-32768), i16(32767), i16(7)] },
  { oid: 23, binary: [i32(0), i32(-2147483648), i32(2147483647), i32(10)] },
  { oid: 26, binary: [u32(0), u32(4294967295), u32(12345)] },
  { oid: 20, binary: [0n, -1n, 9007199254740991n, -9007199254740991n, 9007199254740993n, -9223372036854775808n, 9223372036854775807n, 4294967296n, -4294967297n].map(i64) },
  { oid: 700, binary: [0, -0, 1.1, -3.4e38, 1e-45, 16777217, NaN, Infinity, -Infinity, 0.1, 1e21].map(f32) },
  { oid: 701, binary: [0, -0, 0.1, 1e21, 1e-7, 123456789012345680000, 2 ** 53, -(2 ** 53) - 2, NaN, Infinity, -Infinity, 5e-324].map(f64) },
  { oid: 3802, binary: JSON_TEXTS.map(jsonb), text: JSON_TEXTS },
  { oid: 1007, binary: [intArray(23, [1, null, -3, 2147483647], 4), intArray(23, [], 4), intArray(23, undefined, 4)] },
  { oid: 1005, binary: [intArray(21, [1, null, -32768], 2), intArray(21, [5], 2)] },
];

function relation(oid: number): Buffer {
  return Buffer.concat([Buffer.from('R'), u32(16384), cstr('public'), cstr('t'), Buffer.from('d'), i16(2), Buffer.from([1]), cstr('id'), u32(23), i32(-1), Buffer.from([0]), cstr('v'), u32(oid), i32(-1)]);
}

function insert(kind: 't' | 'b', value: Buffer): Buffer {
  return Buffer.concat([Buffer.from('I'), u32(16384), Buffer.from('N'), i16(2), Buffer.from('t'), i32(1), Buffer.from('1'), Buffer.from(kind), i32(value.length), value]);
}

describe("the CLI encoder's fast paths", () => {
  it.each(COLUMNS.map((c) => [c.oid, c]))('type %i prints exactly what Row#get and JSON.stringify print, binary and text', (_oid, column) => {
    const decoder = new PgoutputDecoder({ types: JSON_TYPE_OPTIONS });
    decoder.decode(relation(column.oid), Lsn.parse('0/1'));
    const values: Array<['t' | 'b', Buffer]> = [...column.binary.map((b): ['b', Buffer] => ['b', b]), ...(column.text ?? []).map((t): ['t', Buffer] => ['t', Buffer.from(t)])];
    for (const [kind, value] of values) {
      const msg = decoder.decode(insert(kind, value), Lsn.parse('0/2'));
      const out = new ByteBuffer(16);
      encodeJsonLine(out, msg, false);
      expect({ kind, value: value.toString('hex'), line: out.take(false).toString('utf8') }).toEqual({ kind, value: value.toString('hex'), line: messageToJsonLine(msg) });
    }
  });

  it('writes strings and integers as JSON.stringify and String do', () => {
    const out = new ByteBuffer(4);
    const strings = ['', 'plain', '2024-01-01 00:00:00+00', 'quote " back \\ slash', 'tab\t', 'é', '😀', '\u007f', 'x'.repeat(300), '\ud800'];
    for (const s of strings) out.jsonString(s);
    expect(out.take(false).toString('utf8')).toBe(strings.map((s) => JSON.stringify(s)).join(''));
    const ints = [0, 1, 9, 10, -1, -10, 123456789, -(2 ** 53) + 1, 2 ** 53 - 1];
    for (const n of ints) {
      out.int(n);
      out.byte(0x2c);
    }
    expect(out.take(false).toString('utf8')).toBe(ints.map((n) => `${String(n)},`).join(''));
  });
});
