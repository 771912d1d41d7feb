import { type RelationInfo, SnapshotError } from '../../src';
import { TypeRegistry } from '../../src/values';
import type { Row } from '../../src';
import { CopyRowParser } from '../../src/snapshot/copy-rows';

const relation: RelationInfo = {
  oid: 1,
  schema: 'public',
  name: 't',
  replicaIdentity: 'd',
  columns: [
    { name: 'id', typeOid: 23, typeModifier: -1, isKey: true },
    { name: 'note', typeOid: 25, typeModifier: -1, isKey: false },
  ],
  keyColumns: ['id'],
};
const types = new TypeRegistry();

function parse(format: 'text' | 'binary', ...messages: Buffer[]): Row[] {
  const parser = new CopyRowParser(relation, format, types, 'public.t');
  const rows: Row[] = [];
  for (const m of messages) parser.parse(m, 0, m.length, rows);
  return rows;
}

function binaryRow(fields: (Buffer | null)[]): Buffer {
  const parts: Buffer[] = [Buffer.from([0, fields.length])];
  for (const f of fields) {
    const len = Buffer.alloc(4);
    len.writeInt32BE(f === null ? -1 : f.length);
    parts.push(len, ...(f === null ? [] : [f]));
  }
  return Buffer.concat(parts);
}
const HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const int4 = (n: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};

describe('CopyRowParser (COPY TO STDOUT data into Rows)', () => {
  it('text: undoes the escapes COPY writes, reads \\N as NULL and a literal N as text', () => {
    const rows = parse('text', Buffer.from('1\ta\\tb\\nc\\\\d\\re\\bf\\fg\\vh\n'), Buffer.from('2\t\\N\n3\tN\n4\t\\\\N\n'));
    expect(rows.map((r) => r.toObject())).toEqual([
      { id: 1, note: 'a\tb\nc\\d\re\bf\fg\vh' },
      { id: 2, note: null },
      { id: 3, note: 'N' },
      { id: 4, note: '\\N' },
    ]);
    expect(rows[1].isNull('note')).toBe(true);
    expect(rows[0].kind('note')).toBe('t');
    expect(rows[0].byteLength).toBe(Buffer.byteLength('1\ta\\tb\\nc\\\\d\\re\\bf\\fg\\vh\n'));
  });

  it('text: keeps UTF-8 intact', () => {
    expect(parse('text', Buffer.from('1\tžluťoučký 🐘\n'))[0].get('note')).toBe('žluťoučký 🐘');
  });

  it('binary: header with the first row, NULLs, the trailer', () => {
    const rows = parse('binary', Buffer.concat([HEADER, binaryRow([int4(7), Buffer.from('x')])]), binaryRow([int4(8), null]), Buffer.from([0xff, 0xff]));
    expect(rows.map((r) => r.toObject())).toEqual([{ id: 7, note: 'x' }, { id: 8, note: null }]);
    expect(rows[0].kind('id')).toBe('b');
  });

  it('rejects rows that do not fit the relation with a SnapshotError naming the table and byte offset', () => {
    const cases: [string, () => unknown, RegExp, number][] = [
      ['too few columns', () => parse('text', Buffer.from('1\n')), /row has 1 columns, the relation 2/, 1],
      ['too many columns', () => parse('text', Buffer.from('1\ta\tb\n')), /more than 2 columns/, 3],
      ['no newline', () => parse('text', Buffer.from('1\ta')), /row ends after 1 of 2 columns/, 3],
      ['missing signature', () => parse('binary', binaryRow([int4(1), null])), /missing binary COPY signature/, 0],
      ['wrong count', () => parse('binary', Buffer.concat([HEADER, binaryRow([int4(1)])])), /row has 1 columns, the relation 2/, 19],
      ['length past the end', () => parse('binary', Buffer.concat([HEADER, binaryRow([int4(1), Buffer.from('abc')]).subarray(0, -1)])), /field length 3 runs past the message/, 29],
    ];
    for (const [, run, message, offset] of cases) {
      let err: unknown;
      try {
        run();
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SnapshotError);
      expect((err as SnapshotError).message).toMatch(message);
      expect((err as SnapshotError).table).toBe('public.t');
      expect((err as SnapshotError).offset).toBe(offset);
    }
  });
});
