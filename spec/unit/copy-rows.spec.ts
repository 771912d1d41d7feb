import fc from 'fast-check';
import { type RelationInfo, SnapshotError } from '../../src';
import { TypeRegistry } from '../../src/values';
import type { Row } from '../../src';
import { Row as RowClass } from '../../src/pgoutput/row';
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

/** Every way to read a row, each as its value or the error it throws (class and message). */
function readings(row: Row): unknown[] {
  const attempt = (f: () => unknown) => {
    try {
      const v = f();
      return { value: v instanceof Date ? { date: v.getTime() } : v };
    } catch (err) {
      return { error: (err as Error).constructor.name, message: (err as Error).message };
    }
  };
  const out: unknown[] = [row.byteLength, row.columns, row.length];
  for (let i = 0; i < row.length; i++) {
    const name = row.columns[i].name;
    out.push(row.kind(i), row.isNull(name), row.isUnchangedToast(i), row.raw(i), row.bytes(name), attempt(() => row.get(i)), attempt(() => row.get(name)));
  }
  const plainObject = (o: Record<string, unknown>) => Object.entries(o).map(([k, v]) => [k, v instanceof Date ? { date: v.getTime() } : v]);
  out.push(
    attempt(() => plainObject(row.toObject())),
    attempt(() => Object.getPrototypeOf(row.toObject())),
    plainObject(row.rawObject()),
    attempt(() => plainObject(Object.fromEntries(row))),
  );
  return out;
}

/** The same row as a plain Row: same relation, bytes, offsets and registry. */
function asPlainRow(row: Row): Row {
  const r = row as unknown as { relation: RelationInfo; buf: Buffer; start: number; length: number; types: TypeRegistry; end: number; offsets: number[] };
  return new RowClass(r.relation, r.buf, r.start, r.length, r.types, r.end, [...r.offsets]);
}

function rel(columns: [string, number][]): RelationInfo {
  return { oid: 2, schema: 'public', name: 'w', replicaIdentity: 'd', columns: columns.map(([name, typeOid], i) => ({ name, typeOid, typeModifier: -1, isKey: i === 0 })), keyColumns: [columns[0][0]] };
}

function parseWith(relation: RelationInfo, registry: TypeRegistry, format: 'text' | 'binary', ...messages: Buffer[]): Row[] {
  const parser = new CopyRowParser(relation, format, registry, 'public.w');
  const rows: Row[] = [];
  for (const m of messages) parser.parse(m, 0, m.length, rows);
  return rows;
}

/** One text COPY field for a value (null: \N), escaped as copyto.c escapes it. */
const field = (v: string | null) => (v === null ? '\\N' : v.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n').replace(/\r/g, '\\r'));
/** Several rows in one buffer, as a socket chunk holds them. */
const chunk = (rows: (string | null)[][]) => Buffer.from(rows.map((r) => r.map(field).join('\t') + '\n').join(''));

describe('COPY rows read their values exactly as Row does', () => {
  it('has Row’s fields under their names, in their order, and Row’s prototype', () => {
    const [row] = parse('text', Buffer.from('1\tx\n'));
    const plain = asPlainRow(row);
    expect(row).toBeInstanceOf(RowClass);
    expect(Object.keys(row).slice(0, Object.keys(plain).length)).toEqual(Object.keys(plain));
    // Every Row method either runs on those fields or is CopyRow's own reading of the same value.
    for (const name of Object.getOwnPropertyNames(RowClass.prototype)) expect(name in row).toBe(true);
    expect(readings(row)).toEqual(readings(plain));
  });

  it('gives the same values and errors as Row for any column types, values, escapes and parsers (property)', () => {
    const TYPES = [20, 21, 23, 26, 25, 1043, 700, 701, 16, 1184, 1114, 1082, 114, 3802, 1700, 2950, 1186, 1007, 17, 3904];
    const value = fc.oneof(
      fc.constant(null),
      fc.integer().map(String),
      fc.integer({ min: -32768, max: 32767 }).map(String),
      fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String),
      fc.stringMatching(/^-?[0-9]{0,12}$/),
      fc.double().map(String),
      fc.constantFrom('t', 'f', '2024-01-02 03:04:05.123456+00', '2024-01-02', '{"a":[1,2]}', 'null', '1 day 02:03:04', '{1,2,NULL}', '\\x00ff', '[1,3)', 'infinity', 'NaN', '-0', '+5', ' 5', '0012', '5', '-5', '2147483647', '-2147483648', '99999999999'),
      fc.string({ maxLength: 20 }),
      fc.string({ unit: 'binary', maxLength: 20 }),
      fc.string({ maxLength: 40 }).map((s) => `long value long value ${s}`),
    );
    const registries = [
      () => new TypeRegistry(),
      () => new TypeRegistry({ int8: 'bigint', timestamps: 'string' }),
      () => new TypeRegistry({ parsers: { int4: (s) => `<${s}>`, text: (s) => (s.includes('z') ? JSON.parse(s) : s.length), float8: { text: (s) => s } } }),
    ];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...TYPES), { minLength: 1, maxLength: 36 }),
        fc.integer({ min: 0, max: registries.length - 1 }),
        fc.array(fc.array(value, { minLength: 36, maxLength: 36 }), { minLength: 1, maxLength: 4 }),
        (types, r, rows) => {
          const relation = rel(types.map((t, i) => [i === 3 ? '__proto__' : i === 4 ? 'a"b\u2028c' : `c${i}`, t]));
          const registry = registries[r]();
          for (const row of parseWith(relation, registry, 'text', chunk(rows.map((vs) => vs.slice(0, types.length))))) expect(readings(row)).toEqual(readings(asPlainRow(row)));
        },
      ),
      { numRuns: 150 },
    );
  });

  it('reads ASCII values from the chunk’s text, others (UTF-8, escapes, past column 30) from the bytes, all correctly', () => {
    const relation = rel(Array.from({ length: 34 }, (_, i) => [`c${i}`, i % 2 === 0 ? 25 : 23] as [string, number]));
    const values = (k: number) => Array.from({ length: 34 }, (_, i) => (i % 2 === 0 ? `v${k}-${i}` : String(k * 100 + i)));
    const a = values(1);
    const b = values(2);
    b[6] = 'žluť 🐘';
    b[32] = 'tab\there\\back';
    b[33] = '-12';
    const rows = parseWith(relation, types, 'text', chunk([a, b]));
    expect(rows.map((r) => Object.values(r.toObject()))).toEqual([a.map((v, i) => (i % 2 === 0 ? v : Number(v))), b.map((v, i) => (i % 2 === 0 ? v : Number(v)))]);
    for (const row of rows) expect(readings(row)).toEqual(readings(asPlainRow(row)));
  });

  it('picks the parsers again when the registry learns a type (a Type message mid-stream)', () => {
    const registry = new TypeRegistry({ parsers: { mood: (s) => s.toUpperCase() } });
    const relation = rel([['id', 23], ['m', 90001]]);
    const [row] = parseWith(relation, registry, 'text', Buffer.from('1\thappy\n'));
    expect(row.toObject()).toEqual({ id: 1, m: 'happy' });
    registry.announce({ oid: 90001, schema: 'public', name: 'mood' });
    expect(row.toObject()).toEqual({ id: 1, m: 'HAPPY' });
    expect(row.get('m')).toBe('HAPPY');
  });

  it('binary COPY rows agree with Row too', () => {
    const relation = rel([['id', 23], ['note', 25]]);
    const rows = parseWith(relation, types, 'binary', Buffer.concat([HEADER, binaryRow([int4(7), Buffer.from('žluť')])]), binaryRow([int4(-8), null]));
    for (const row of rows) expect(readings(row)).toEqual(readings(asPlainRow(row)));
  });
});
