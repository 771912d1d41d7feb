import { rowOf } from '../../src/pgoutput/encoder';
import { messageToJson } from '../../src/json';
import type { RelationInfo } from '../../src/pgoutput/messages';
import { ColumnValueError } from '../../src/values/errors';

/** What a hostile row value (from a compromised server, or a man in the middle without TLS) can and cannot do. */
describe('hostile row values', () => {
  const relation: RelationInfo = {
    oid: 1,
    schema: 'public',
    name: 't',
    replicaIdentity: 'd',
    keyColumns: [],
    columns: [
      { name: '__proto__', typeOid: 25, typeMod: -1, isKey: false, flags: 0 },
      { name: 'doc', typeOid: 114, typeMod: -1, isKey: false, flags: 0 },
      { name: 'blob', typeOid: 17, typeMod: -1, isKey: false, flags: 0 },
    ] as unknown as RelationInfo['columns'],
  };

  it('a JSON value with "__proto__" keys pollutes no prototype', () => {
    const row = rowOf(relation, ['x', '{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}', '\\x00']);
    const doc = row.get('doc') as Record<string, unknown>;
    expect(Object.prototype.hasOwnProperty.call(doc, '__proto__')).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(JSON.parse(JSON.stringify(messageToJson({ type: 'insert', lsn: { toString: () => '0/1' }, relation, new: row } as never)))).toBeDefined();
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('a column named __proto__ is kept by toObject() and the JSON output, not turned into a prototype', () => {
    const row = rowOf(relation, ['kept', '{}', '\\x00']);
    const obj = row.toObject();
    expect(Object.keys(obj)).toEqual(['__proto__', 'doc', 'blob']);
    expect(Object.getPrototypeOf(obj)).toBe(Object.prototype);
    const json = JSON.stringify(messageToJson({ type: 'insert', lsn: { toString: () => '0/1' }, relation, new: row } as never));
    expect(json).toContain('"new":{"__proto__":"kept"');
  });

  it('a bytea text value with a lone backslash fails with a ColumnValueError instead of hanging the consumer', () => {
    // pg-types' parser loops forever on it; PostgreSQL never writes it, a hostile server could.
    for (const bad of ['\\', 'a\\b', '\\\\\\', '\\8', '\\47']) {
      expect(() => rowOf(relation, ['x', '{}', bad]).get('blob')).toThrow(ColumnValueError);
    }
    expect(rowOf(relation, ['x', '{}', 'a\\\\b\\101']).get('blob')).toEqual(Buffer.from('a\\bA'));
  });

  it('a value with newlines and quotes cannot forge a line of the JSON output', () => {
    const row = rowOf(relation, ['x\n{"type":"commit"}\n"', '{}', '\\x00']);
    const line = JSON.stringify(messageToJson({ type: 'insert', lsn: { toString: () => '0/1' }, relation, new: row } as never));
    expect(line.split('\n')).toHaveLength(1);
    expect((JSON.parse(line) as { new: Record<string, unknown> }).new.__proto__).toBe('x\n{"type":"commit"}\n"');
  });
});
