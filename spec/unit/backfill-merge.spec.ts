import { Subject } from 'rxjs';
import { Lsn, LsnFeedback, type ChangeMessage, type RelationInfo } from '../../src';
import { ackOnCommit } from '../../operators';
import { onSettled } from '../../src/snapshot/settle';
import { rowOf } from '../../src/pgoutput/encoder';
import { collectKeys, mergeChunk, noChanges, parseXidSnapshot, rowKey, visibleIn } from '../../src/snapshot/backfill-merge';
import { chunkCommand, splitTableName, type BackfillTable } from '../../src/snapshot/backfill-table';

const relation: RelationInfo = {
  oid: 16400,
  schema: 'public',
  name: 't',
  replicaIdentity: 'd',
  columns: [
    { name: 'id', typeOid: 23, typeModifier: -1, isKey: true },
    { name: 'v', typeOid: 25, typeModifier: -1, isKey: false },
  ],
  keyColumns: ['id'],
};
const other: RelationInfo = { ...relation, oid: 16401, name: 'u' };
const row = (id: number, v = 'x', rel = relation) => rowOf(rel, [String(id), v]);
const keyRow = (id: number) => rowOf({ ...relation, columns: relation.columns.slice(0, 1) }, [String(id)]);
const base = { lsn: undefined, xid: undefined, inStream: false };
const insert = (id: number, rel = relation) => ({ ...base, type: 'insert', relation: rel, new: row(id, 'x', rel) }) as unknown as ChangeMessage;
const update = (id: number, from?: number) => ({ ...base, type: 'update', relation, new: row(id), key: from === undefined ? undefined : keyRow(from), old: undefined }) as unknown as ChangeMessage;
const del = (id: number) => ({ ...base, type: 'delete', relation, key: keyRow(id), old: undefined }) as unknown as ChangeMessage;
const truncate = (rel = relation) => ({ ...base, type: 'truncate', relations: [rel], cascade: false, restartIdentity: false }) as unknown as ChangeMessage;
const ids = (rows: readonly { get(c: string): unknown }[] | undefined) => rows?.map((r) => r.get('id'));
const keysOf = (changes: ChangeMessage[]) => {
  const k = noChanges();
  collectKeys(changes, 'public', 't', ['id'], k);
  return k;
};
const snapshot = parseXidSnapshot('100:110:103,105');

describe('backfill chunk merge (DBLog)', () => {
  const chunk = [1, 2, 3, 4, 5].map((i) => row(i));

  it('emits every row when nothing changed between the watermarks', () => {
    expect(ids(mergeChunk(chunk, ['id'], { inside: noChanges(), before: [] }, snapshot))).toEqual([1, 2, 3, 4, 5]);
  });

  it('drops the keys changed between the watermarks: inserts, updates (old and new key) and deletes; the stream version wins', () => {
    const inside = keysOf([insert(2), update(9, 4), del(5), insert(7, other)]);
    expect([...inside.keys].length).toBe(4); // 2, 9, 4, 5: the other table is ignored
    expect(ids(mergeChunk(chunk, ['id'], { inside, before: [] }, snapshot))).toEqual([1, 3]);
  });

  it('drops the keys of a transaction seen before the low watermark only when the chunk snapshot does not see it', () => {
    const before = [
      { xid: 99, changes: keysOf([update(1)]) }, // committed before xmin: visible, its version is in the chunk
      { xid: 103, changes: keysOf([update(2)]) }, // in progress at the snapshot: the chunk has the older version
      { xid: 104, changes: keysOf([update(3)]) }, // between xmin and xmax, not in progress: visible
      { xid: 110, changes: keysOf([update(4)]) }, // at xmax: not visible
    ];
    expect(ids(mergeChunk(chunk, ['id'], { inside: noChanges(), before }, snapshot))).toEqual([1, 3, 5]);
  });

  it('drops the whole chunk for a TRUNCATE of the table, and asks for a new read when a key could not be read', () => {
    expect(mergeChunk(chunk, ['id'], { inside: keysOf([truncate()]), before: [] }, snapshot)).toEqual([]);
    expect(ids(mergeChunk(chunk, ['id'], { inside: keysOf([truncate(other)]), before: [] }, snapshot))).toEqual([1, 2, 3, 4, 5]);
    const unknown = noChanges();
    unknown.unknown = true;
    expect(mergeChunk(chunk, ['id'], { inside: unknown, before: [] }, snapshot)).toBeUndefined();
  });

  it('matches keys by decoded value, whatever the column order or wire form', () => {
    const composite: RelationInfo = { ...relation, columns: [relation.columns[1], relation.columns[0]] };
    expect(rowKey(rowOf(composite, ['a', '7']), ['id'])).toBe(rowKey(row(7), ['id']));
    expect(rowKey(row(7), ['id', 'v'])).not.toBe(rowKey(row(7, 'y'), ['id', 'v']));
  });
});

describe('pg_snapshot visibility', () => {
  it('parses pg_current_snapshot() text, reducing 64-bit xids to the 32-bit ones of pgoutput', () => {
    const s = parseXidSnapshot(`${2 ** 32 + 5}:${2 ** 32 + 9}:${2 ** 32 + 6}`);
    expect(s).toEqual({ xmin: 5, xmax: 9, xip: new Set([6]) });
    expect(parseXidSnapshot('7:7:').xip.size).toBe(0);
    expect(() => parseXidSnapshot('nonsense')).toThrow();
  });

  it('compares around the 32-bit wraparound as TransactionIdPrecedes does', () => {
    const s = parseXidSnapshot(`${2 ** 32 - 10}:${2 ** 32 + 3}:`); // xmax wrapped to 3
    expect(visibleIn(s, 2 ** 32 - 2)).toBe(true);
    expect(visibleIn(s, 1)).toBe(true);
    expect(visibleIn(s, 3)).toBe(false);
    expect(visibleIn(s, 20)).toBe(false);
  });
});

describe('chunk queries', () => {
  const table: BackfillTable = { schema: 'public', name: 'T x', relation, kind: 'r', rowFilter: null, estimatedRows: null, primaryKey: ['id', 'v'] };
  it('reads the published columns after the last key, in key order, within the row filter', () => {
    expect(chunkCommand(table, null, 10)).toBe('COPY (SELECT "id", "v" FROM ONLY "public"."T x" ORDER BY "id", "v" LIMIT 10) TO STDOUT');
    expect(chunkCommand({ ...table, kind: 'p', rowFilter: '(v > 1)' }, ['5', "it's"], 3)).toBe(
      `COPY (SELECT "id", "v" FROM "public"."T x" WHERE ("id", "v") > ('5', 'it''s') AND ((v > 1)) ORDER BY "id", "v" LIMIT 3) TO STDOUT`,
    );
    expect(splitTableName('orders')).toEqual({ schema: 'public', table: 'orders' });
    expect(splitTableName('app.orders')).toEqual({ schema: 'app', table: 'orders' });
  });
});

describe('ackOnCommit with a backfill chunk in flight', () => {
  it('holds the slot behind a backfillRows event (the high watermark ticket) until its work is done, and settles it', () => {
    const feedback = new LsnFeedback();
    const acks: string[] = [];
    feedback.acknowledged$.subscribe((lsn) => !lsn.isZero() && acks.push(lsn.toString()));
    let settled = 0;
    const settleId = onSettled(() => settled++);
    const tx = (seq: number, end: number) => ({ type: 'transaction', endLsn: Lsn.from(BigInt(end)), ticket: { epoch: 99_001, seq } });
    const chunk = { type: 'backfillRows', rows: [], settleId, endLsn: Lsn.from(200n), ticket: { epoch: 99_001, seq: 1 } };
    const start = { type: 'backfillStart', settleId: onSettled(() => settled++) };
    const source = new Subject<object>();
    const out: string[] = [];
    // mergeMap-style completion out of order: the later transaction is done before the chunk.
    source.pipe(ackOnCommit(feedback)).subscribe((e) => out.push((e as { type: string }).type));
    source.next(tx(0, 100));
    source.next(start);
    source.next(tx(2, 300));
    expect(acks).toEqual(['0/64']);
    source.next(chunk);
    expect(acks).toEqual(['0/64', '0/12C']);
    expect(settled).toBe(2);
    expect(out).toEqual(['transaction', 'backfillStart', 'transaction', 'backfillRows']);
  });
});
