import { type InsertMessage, Lsn, type RelationInfo, Row } from '../../src';
import { JSON_TYPE_OPTIONS, TypeRegistry, jsonValue, messageToJson } from '../../src/values';

type Cell = { t: string } | { b: Buffer } | 'n' | 'u';

function tuple(cells: Cell[]): Buffer {
  return Buffer.concat(
    cells.map((c) => {
      if (c === 'n' || c === 'u') return Buffer.from(c);
      const data = 't' in c ? Buffer.from(c.t) : c.b;
      const head = Buffer.alloc(5);
      head.write('t' in c ? 't' : 'b');
      head.writeInt32BE(data.length, 1);
      return Buffer.concat([head, data]);
    }),
  );
}

const columns: [string, number][] = [
  ['id', 20],
  ['f', 701],
  ['g', 701],
  ['h', 701],
  ['amount', 1700],
  ['data', 17],
  ['doc', 3802],
  ['at', 1184],
  ['d', 1082],
  ['span', 1186],
  ['rel', 600_000], // an extension type without a binary reader
  ['big', 25],
  ['nums', 1022],
];
const relation: RelationInfo = {
  oid: 1,
  schema: 'public',
  name: 't',
  replicaIdentity: 'd',
  columns: columns.map(([name, typeOid], i) => ({ name, typeOid, typeModifier: -1, isKey: i === 0 })),
  keyColumns: ['id'],
};

const insert = (cells: Cell[], types = new TypeRegistry(JSON_TYPE_OPTIONS)): InsertMessage => ({
  type: 'insert',
  lsn: Lsn.parse('0/10'),
  xid: undefined,
  inStream: false,
  relation,
  new: new Row(relation, tuple(cells), 0, cells.length, types),
});

const rel = Buffer.from([0, 0, 4, 210]); // the binary form of a type this library has no reader for
const cells: Cell[] = [
  { t: '9223372036854775807' },
  { t: 'NaN' },
  { t: '-0' },
  { t: '-Infinity' },
  { t: '12.50' },
  { t: '\\xdead' },
  { t: '{"a": [1, "x"], "b": {"base64": "not binary"}}' },
  { t: '2024-01-01 12:00:00.123456+00' },
  { t: 'infinity' },
  { t: '1 day 02:00:00' },
  { b: rel },
  'u',
  { t: '{1.5,NaN,Infinity}' },
];

describe('messageToJson', () => {
  it('writes typed values that JSON can carry without loss or ambiguity', () => {
    const json = messageToJson(insert(cells));
    expect(json).toEqual({
      type: 'insert',
      lsn: '0/10',
      schema: 'public',
      table: 't',
      new: {
        id: '9223372036854775807',
        f: 'NaN',
        g: '-0',
        h: '-Infinity',
        amount: '12.50',
        data: '\\xdead',
        doc: { a: [1, 'x'], b: { base64: 'not binary' } },
        at: '2024-01-01 12:00:00.123456+00',
        d: 'infinity',
        span: '1 day 02:00:00',
        rel: rel.toString('base64'),
        nums: [1.5, 'NaN', 'Infinity'],
      },
      unchangedToast: { new: ['big'] },
      binaryColumns: { new: ['rel'] },
    });
    expect(JSON.parse(JSON.stringify(json))).toEqual(json);
  });

  it('writes values as sent with raw', () => {
    const json = messageToJson(insert(cells), { raw: true });
    expect(json.new).toMatchObject({ id: '9223372036854775807', f: 'NaN', doc: '{"a": [1, "x"], "b": {"base64": "not binary"}}', rel: { base64: rel.toString('base64') } });
    expect(json.unchangedToast).toEqual({ new: ['big'] });
    expect(json.binaryColumns).toBeUndefined();
  });

  it('converts bigint, Date and Buffer from any type options', () => {
    expect(jsonValue(12n)).toBe('12');
    expect(jsonValue(new Date('2024-01-01T00:00:00.5Z'))).toBe('2024-01-01T00:00:00.500Z');
    expect(jsonValue(new Date(Number.NaN))).toBeNull();
    expect(jsonValue([Buffer.from([1]), null, 0])).toEqual(['\\x01', null, 0]);
    const json = messageToJson(insert(cells, new TypeRegistry({ int8: 'bigint' })));
    expect(json.new).toMatchObject({ id: '9223372036854775807', at: '2024-01-01T12:00:00.123Z', d: 'Infinity' });
  });
});
