import { TestScheduler } from 'rxjs/testing';
import {
  ColumnValueError,
  type InsertMessage,
  Lsn,
  type PgoutputMessage,
  type RelationInfo,
  Row,
  UNCHANGED_TOAST,
} from '../../src';
import {
  type RowMapper,
  RowMappingError,
  TypeRegistry,
  mapRow,
  relationKey,
} from '../../src/values';
import { map } from 'rxjs';
import { bufferTransaction, forTable } from '../../operators';

const begin: PgoutputMessage = { type: 'begin', lsn: Lsn.ZERO, finalLsn: Lsn.ZERO, commitTime: 0n, xid: 1 };
const commit: PgoutputMessage = { type: 'commit', lsn: Lsn.ZERO, flags: 0, commitLsn: Lsn.ZERO, endLsn: Lsn.ZERO, commitTime: 0n };

type Cell = { t: string } | { b: Buffer } | 'n' | 'u';

/** TupleData bytes for the cells, as pgoutput writes them. */
function tuple(cells: Cell[]): Buffer {
  const parts: Buffer[] = [];
  for (const c of cells) {
    if (c === 'n' || c === 'u') parts.push(Buffer.from(c));
    else {
      const data = 't' in c ? Buffer.from(c.t) : c.b;
      const head = Buffer.alloc(5);
      head.write('t' in c ? 't' : 'b');
      head.writeInt32BE(data.length, 1);
      parts.push(head, data);
    }
  }
  return Buffer.concat(parts);
}

const orders: RelationInfo = {
  oid: 16400,
  schema: 'public',
  name: 'orders',
  replicaIdentity: 'd',
  columns: [
    { name: 'id', typeOid: 23, typeModifier: -1, isKey: true },
    { name: 'total', typeOid: 1700, typeModifier: -1, isKey: false },
    { name: 'note', typeOid: 25, typeModifier: -1, isKey: false },
    { name: 'placed_at', typeOid: 1184, typeModifier: -1, isKey: false },
    { name: 'doc', typeOid: 3802, typeModifier: -1, isKey: false },
  ],
  keyColumns: ['id'],
};

const row = (cells: Cell[], types?: TypeRegistry) => {
  // Leading garbage proves the row reads from its own offset.
  const buf = Buffer.concat([Buffer.from('xx'), tuple(cells)]);
  return new Row(orders, buf, 2, cells.length, types);
};

const i32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(v);
  return b;
};

describe('Row', () => {
  const r = row([{ t: '7' }, { t: '12.50' }, 'n', { t: '2024-01-01 12:00:00.123456+00' }, 'u']);

  it('decodes each column by name or index, with NULL and the unchanged-TOAST marker', () => {
    expect(r.get('id')).toBe(7);
    expect(r.get(0)).toBe(7);
    expect(r.get('total')).toBe('12.50');
    expect(r.get('note')).toBeNull();
    expect(r.get('placed_at')).toEqual(new Date('2024-01-01T12:00:00.123Z'));
    expect(r.get('doc')).toBe(UNCHANGED_TOAST);
    expect(r.isUnchangedToast('doc')).toBe(true);
    expect(r.isNull('doc')).toBe(false);
    expect(r.isNull('note')).toBe(true);
  });

  it('gives toObject() and [name, value] iteration in column order', () => {
    const expected = { id: 7, total: '12.50', note: null, placed_at: new Date('2024-01-01T12:00:00.123Z'), doc: UNCHANGED_TOAST };
    expect(r.toObject()).toEqual(expected);
    expect([...r].map(([name]) => name)).toEqual(['id', 'total', 'note', 'placed_at', 'doc']);
    expect(Object.fromEntries(r)).toEqual(expected);
  });

  it('uses the registry it was built with', () => {
    const exact = row([{ t: '7' }, { t: '1' }, 'n', { t: '2024-01-01 12:00:00.123456+00' }, { t: '{"a": [1]}' }], new TypeRegistry({ timestamps: 'string' }));
    expect(exact.get('placed_at')).toBe('2024-01-01 12:00:00.123456+00');
    expect(exact.get('doc')).toEqual({ a: [1] });
  });

  it('rejects an unknown column with a RangeError naming the table', () => {
    expect(() => r.get('nope')).toThrow(/no column "nope" in public\.orders/);
    expect(() => r.get(5)).toThrow(RangeError);
  });

  it('wraps malformed binary bytes and failing parsers in a ColumnValueError naming table and column', () => {
    const bad = row([{ b: Buffer.from([0, 1]) }, 'n', 'n', 'n', 'n']);
    const err = (() => {
      try {
        bad.get('id');
      } catch (e) {
        return e;
      }
    })() as ColumnValueError;
    expect(err).toBeInstanceOf(ColumnValueError);
    expect(err).toMatchObject({ schema: 'public', table: 'orders', column: 'id', typeOid: 23 });
    expect(err.message).toMatch(/public\.orders\.id .*int4 must be 4 bytes/);
    const failing = row([{ t: 'x' }, 'n', 'n', 'n', 'n'], new TypeRegistry({ parsers: { int4: () => { throw new Error('boom'); } } }));
    expect(() => failing.get('id')).toThrow(/public\.orders\.id \(type OID 23\): the text parser failed: boom/);
    expect(row([{ b: i32(9) }, 'n', 'n', 'n', 'n']).get('id')).toBe(9);
  });
});

describe('lazy decoding', () => {
  it('parses no value for a table filter, and only the columns read', () => {
    const calls: string[] = [];
    const types = new TypeRegistry({
      parsers: {
        int4: (s) => (calls.push(`id:${s}`), Number(s)),
        text: (s) => (calls.push(`note:${s}`), s),
      },
    });
    const msg: InsertMessage = { type: 'insert', lsn: Lsn.ZERO, xid: undefined, inStream: false, relation: orders, new: row([{ t: '7' }, { t: '1' }, { t: 'x' }, 'n', 'n'], types) };
    let seen = 0;
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const kept = cold('bac|', { b: begin, a: msg as PgoutputMessage, c: commit }).pipe(bufferTransaction(), forTable('public', 'orders'), map((e) => (e.type === 'transaction' ? e.changes : [])));
      kept.subscribe(() => seen++);
      expectObservable(kept).toBe('--a|', { a: [msg] });
    });
    expect(seen).toBe(1);
    expect(calls).toEqual([]);
    expect(msg.new.get('id')).toBe(7);
    expect(calls).toEqual(['id:7']);
    expect(mapRow({ note: 'string' })(msg.new)).toEqual({ note: 'x' });
    expect(calls).toEqual(['id:7', 'note:x']);
  });
});

describe('mapRow', () => {
  interface Order {
    id: number;
    total: string;
    note: string | null;
    placed: Date;
  }
  const toOrder: RowMapper<Order> = mapRow({ id: 'number', total: 'string', note: 'string?', placed: { column: 'placed_at', type: 'date' } });

  it('maps a row onto the schema, reading only its columns', () => {
    const r = row([{ t: '7' }, { t: '12.50' }, 'n', { t: '2024-01-01 12:00:00+00' }, 'u']);
    expect(toOrder(r)).toEqual({ id: 7, total: '12.50', note: null, placed: new Date('2024-01-01T12:00:00Z') });
  });

  const failure = (mapper: RowMapper<unknown>, r: Row) => {
    try {
      mapper(r);
    } catch (e) {
      return e as RowMappingError;
    }
    throw new Error('no error');
  };

  it('names table and column for a wrong type, a NULL, a missing column, unchanged TOAST and a rejected value', () => {
    const good = row([{ t: '7' }, { t: '1' }, { t: 'hi' }, { t: '2024-01-01 00:00:00+00' }, 'u']);
    const wrong = failure(mapRow({ id: 'string' }), good);
    expect(wrong).toBeInstanceOf(RowMappingError);
    expect(wrong).toMatchObject({ schema: 'public', table: 'orders', column: 'id', problem: 'wrongType' });
    expect(wrong.message).toBe('public.orders.id: expected string for field id, got a number (7)');
    expect(failure(mapRow({ note: 'string' }), row([{ t: '7' }, 'n', 'n', 'n', 'n']))).toMatchObject({ column: 'note', problem: 'null' });
    expect(failure(mapRow({ total: { column: 'amount', type: 'string' } }), good)).toMatchObject({ column: 'amount', problem: 'missingColumn' });
    expect(failure(mapRow({ doc: 'json' }), good)).toMatchObject({ column: 'doc', problem: 'unchangedToast' });
    const positive = mapRow({ id: { type: 'number', parse: (v) => { if ((v as number) < 10) throw new Error('too small'); return v as number; } } });
    expect(failure(positive, good)).toMatchObject({ column: 'id', problem: 'invalid', message: 'public.orders.id: field id rejected the value: too small' });
  });

  it('keeps the unchanged-TOAST marker when asked', () => {
    const mapper = mapRow({ id: 'number', doc: 'json' }, { unchangedToast: 'keep' });
    expect(mapper(row([{ t: '7' }, 'n', 'n', 'n', 'u']))).toEqual({ id: 7, doc: UNCHANGED_TOAST });
  });

  it('rejects an unknown field type when the schema is built', () => {
    expect(() => mapRow({ id: 'integer' as 'number' })).toThrow(TypeError);
  });
});

describe('routing', () => {
  it('builds schema-qualified keys that quote what SQL would quote', () => {
    expect(relationKey({ schema: 'public', name: 'orders' })).toBe('public.orders');
    expect(relationKey({ schema: 'My Schema', name: 'a.b' })).toBe('"My Schema"."a.b"');
    expect(relationKey({ schema: 'x', name: 'Say "hi"' })).toBe('x."Say ""hi"""');
  });

  it('forTable narrows each transaction to the changes of one schema-qualified table and the truncates that include it, passing every transaction on', () => {
    const audit: RelationInfo = { ...orders, oid: 16500, schema: 'audit' };
    const insert = (relation: RelationInfo): InsertMessage => ({ type: 'insert', lsn: Lsn.ZERO, xid: undefined, inStream: false, relation, new: row(['n', 'n', 'n', 'n', 'n']) });
    const values: Record<string, PgoutputMessage> = {
      b: { type: 'begin', lsn: Lsn.ZERO, finalLsn: Lsn.ZERO, commitTime: 0n, xid: 1 },
      o: insert(orders),
      a: insert(audit),
      t: { type: 'truncate', lsn: Lsn.ZERO, xid: undefined, inStream: false, relations: [audit, orders], cascade: false, restartIdentity: false },
      u: { type: 'truncate', lsn: Lsn.ZERO, xid: undefined, inStream: false, relations: [audit], cascade: false, restartIdentity: false },
    };
    values.c = commit;
    values.B = { type: 'begin', lsn: Lsn.ZERO, finalLsn: Lsn.ZERO, commitTime: 0n, xid: 2 };
    new TestScheduler((a, b) => expect(a).toEqual(b)).run(({ cold, expectObservable }) => {
      const out = cold('boatucBauc|', values).pipe(bufferTransaction(), forTable('public', 'orders'), map((e) => (e.type === 'transaction' ? e.changes : [])));
      // The second transaction touches only audit.orders: it still comes through, empty, for ackOnCommit.
      expectObservable(out).toBe('-----x---y|', { x: [values.o, values.t], y: [] });
    });
  });
});
