import fc from 'fast-check';
import { Client } from 'pg';
import { getTypeParser } from 'pg-types';
import type { Subscription } from 'rxjs';
import { type InsertMessage, ReplicationClient, logicalReplication } from '../../src';
import { TypeRegistry } from '../../src/values';
import { parsePgoutput } from '../../operators';
import { allServers, sqlClient, uniqueName, waitFor } from '../support/server';

const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const floatText = (x: number) => (Object.is(x, -0) ? '-0' : String(x));
const text = fc.string({ unit: 'grapheme', maxLength: 30 }).filter((s) => !s.includes('\u0000'));
const numeric = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('NaN', 'Infinity', '-Infinity') },
  { weight: 9, arbitrary: fc.tuple(fc.boolean(), fc.stringMatching(/^[0-9]{1,40}$/), fc.stringMatching(/^[0-9]{0,30}$/)).map(([neg, i, f]) => `${neg ? '-' : ''}${i}${f ? `.${f}` : ''}`) },
);
const clock = fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 999_999 }));
const clockText = ([h, m, s, us]: [number, number, number, number]) => `${pad(h)}:${pad(m)}:${pad(s)}.${pad(us, 6)}`;
const dateText = fc
  .tuple(fc.integer({ min: 1, max: 9999 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 28 }), fc.boolean())
  .map(([y, m, d, bc]) => [`${pad(bc ? (y % 4712) + 1 : y, 4)}-${pad(m)}-${pad(d)}`, bc ? ' BC' : ''] as const); // 4713 BC is the earliest year
const timestamp = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('infinity', '-infinity') },
  { weight: 9, arbitrary: fc.tuple(dateText, clock).map(([[d, bc], c]) => `${d} ${clockText(c)}${bc}`) },
);
const offset = fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 14 }), fc.constantFrom(0, 15, 30, 45)).map(([neg, h, m]) => `${neg ? '-' : '+'}${pad(h)}:${pad(m)}`);
const timestamptz = fc.oneof(
  { weight: 1, arbitrary: fc.constantFrom('infinity', '-infinity') },
  { weight: 9, arbitrary: fc.tuple(dateText, clock, offset).map(([[d, bc], c, o]) => `${d} ${clockText(c)}${o}${bc}`) },
);
const signed = (max: number) => fc.integer({ min: -max, max });
const interval = fc
  .tuple(signed(10_000), signed(11), signed(100_000), fc.boolean(), fc.integer({ min: 0, max: 100_000 }), clock)
  .map(([y, mo, d, neg, h, [, mi, s, us]]) => `${y} years ${mo} mons ${d} days ${neg ? '-' : ''}${h}:${pad(mi)}:${pad(s)}.${pad(us, 6)}`);
const matrix = fc
  .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 }))
  .chain(([rows, cols]) => fc.array(fc.array(fc.option(fc.integer(), { nil: null }), { minLength: cols, maxLength: cols }), { minLength: rows, maxLength: rows }))
  .map((m) => `{${m.map((r) => `{${r.map((v) => (v === null ? 'NULL' : v)).join(',')}}`).join(',')}}`);

const money = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map((cents) => {
  const abs = cents < 0n ? -cents : cents;
  return `${cents < 0n ? '-' : ''}${abs / 100n}.${pad(Number(abs % 100n))}`;
});
const int8range = fc
  .tuple(fc.bigInt({ min: -(2n ** 62n), max: 2n ** 62n }), fc.bigInt({ min: 0n, max: 2n ** 62n }), fc.constantFrom('[]', '[)', '(]', '()'), fc.constantFrom('', 'lower', 'upper'))
  .map(([a, d, [l, u], open]) => `${l}${open === 'lower' ? '' : a},${open === 'upper' ? '' : a + d}${u}`);
const lseg = fc.tuple(fc.double(), fc.double(), fc.double(), fc.double()).map(([a, b, c, d]) => `[(${floatText(a)},${floatText(b)}),(${floatText(c)},${floatText(d)})]`);
const tsvector = fc
  .array(fc.tuple(fc.stringMatching(/^[a-z'\\]{1,6}$/), fc.uniqueArray(fc.integer({ min: 1, max: 16383 }), { maxLength: 3 }), fc.constantFrom('', 'A', 'B', 'C')), { maxLength: 5 })
  .map((lexemes) => lexemes.map(([w, pos, weight]) => `'${w.replace(/['\\]/g, (c) => c + c)}'${pos.length ? `:${pos.map((p) => p + weight).join(',')}` : ''}`).join(' '));

/** Column, SQL type, and an arbitrary of the parameter's text (or a JS array, which pg writes as an array literal). */
const COLUMNS: [string, string, fc.Arbitrary<unknown>][] = [
  ['c_bool', 'bool', fc.boolean()],
  ['c_int2', 'int2', fc.integer({ min: -32768, max: 32767 })],
  ['c_int4', 'int4', fc.integer()],
  ['c_int8', 'int8', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)],
  ['c_oid', 'oid', fc.integer({ min: 0, max: 2 ** 32 - 1 })],
  ['c_float4', 'float4', fc.float().map(floatText)],
  ['c_float8', 'float8', fc.double().map(floatText)],
  ['c_numeric', 'numeric', numeric],
  ['c_text', 'text', text],
  ['c_varchar', 'varchar', text],
  ['c_bytea', 'bytea', fc.uint8Array({ maxLength: 40 }).map((b) => `\\x${Buffer.from(b).toString('hex')}`)],
  ['c_uuid', 'uuid', fc.uuid()],
  ['c_date', 'date', fc.oneof(fc.constantFrom('infinity', '-infinity'), dateText.map(([d, bc]) => d + bc))],
  ['c_time', 'time', clock.map(clockText)],
  ['c_timetz', 'timetz', fc.tuple(clock, offset).map(([c, o]) => clockText(c) + o)],
  ['c_timestamp', 'timestamp', timestamp],
  ['c_timestamptz', 'timestamptz', timestamptz],
  ['c_interval', 'interval', interval],
  ['c_json', 'json', fc.json().filter((j) => !j.includes('\\u0000'))],
  ['c_jsonb', 'jsonb', fc.json().filter((j) => !j.includes('\\u0000'))],
  ['c_inet', 'inet', fc.oneof(fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })), fc.tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }))).map(([ip, bits]) => `${ip}/${bits}`)],
  ['c_macaddr', 'macaddr', fc.uint8Array({ minLength: 6, maxLength: 6 }).map((b) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':'))],
  ['c_int4_arr', 'int4[]', matrix],
  ['c_text_arr', 'text[]', fc.array(fc.option(text, { nil: null }), { maxLength: 5 })],
  ['c_numeric_arr', 'numeric[]', fc.array(fc.option(numeric, { nil: null }), { maxLength: 5 })],
  ['c_timestamptz_arr', 'timestamptz[]', fc.array(fc.option(timestamptz, { nil: null }), { maxLength: 3 })],
  ['c_float4_arr', 'float4[]', fc.array(fc.float().map(floatText), { maxLength: 5 })],
  // Binary parity (issue 18): types pg returns as strings, so the printed text itself is compared.
  ['c_money', 'money', money],
  ['c_varbit', 'varbit', fc.stringMatching(/^[01]{0,40}$/)],
  ['c_int8range', 'int8range', int8range],
  ['c_lseg', 'lseg', lseg],
  ['c_tsvector', 'tsvector', tsvector],
];

const row = fc.tuple(...COLUMNS.map(([, , arb]) => fc.option(arb, { nil: null, freq: 8 })));

describe.each(allServers())('binary readers on random values through $label', (server) => {
  let sql: Client;
  let reference: Client;
  let table: string;
  let publication: string;
  let slot: string;
  let subscription: Subscription;
  const received = new Map<number, InsertMessage>();
  let streamError: unknown;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    const ours = new TypeRegistry();
    reference = new Client({
      connectionString: server.url,
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 1231 || oid === 114 || oid === 3802 ? ours.text(oid) : getTypeParser(oid, format))) as typeof getTypeParser },
    });
    await reference.connect();
    table = uniqueName('prop');
    publication = uniqueName('pub');
    slot = uniqueName('slot');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, ${COLUMNS.map(([c, t]) => `${c} ${t}`).join(', ')})`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    await client.createReplicationSlot(slot);
    await client.close();
    subscription = logicalReplication({ connectionString: server.url, slot, publications: publication, binary: true })
      .pipe(parsePgoutput())
      .subscribe({
        next: (m) => {
          if (m.type === 'insert') received.set(m.new.get('id') as number, m);
        },
        error: (err) => (streamError = err),
      });
  });

  afterAll(async () => {
    subscription.unsubscribe();
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    await sql.query(`DROP PUBLICATION ${publication}`);
    await sql.query(`DROP TABLE ${table}`);
    await reference.end();
    await sql.end();
  });

  it('decodes every binary value as pg decodes the same value from SELECT', async () => {
    let nextId = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(row, { minLength: 1, maxLength: 4 }), async (rows) => {
        const ids = rows.map(() => nextId++);
        const params: unknown[] = [];
        const tuples = rows.map((values, r) => {
          const cells = values.map((v, i) => {
            params.push(v);
            return `$${params.length}::${COLUMNS[i][1]}`;
          });
          return `(${ids[r]}, ${cells.join(', ')})`;
        });
        await sql.query(`INSERT INTO ${table} VALUES ${tuples.join(', ')}`, params);
        const expected = (await reference.query(`SELECT * FROM ${table} WHERE id = ANY($1) ORDER BY id`, [ids])).rows;
        await waitFor(() => streamError !== undefined || ids.every((id) => received.has(id)), 10_000, 'streamed rows');
        expect(streamError).toBeUndefined();
        for (const [r, id] of ids.entries()) {
          const msg = received.get(id) as InsertMessage;
          for (const [column] of COLUMNS) {
            if (!msg.new.isNull(column)) expect({ column, kind: msg.new.kind(column) }).toEqual({ column, kind: 'b' });
            expect({ column, value: msg.new.get(column) }).toEqual({ column, value: expected[r][column] });
          }
        }
      }),
      { numRuns: 40 },
    );
  });

  it('prints float4 as float4out does for 20000 random bit patterns (shortest digits, ties to even, no halfway decimals)', async () => {
    const values = fc.sample(fc.integer({ min: 0, max: 2 ** 32 - 1 }), { numRuns: 20_000, seed: 42 }).map((bits) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(bits);
      return b.readFloatBE(0);
    });
    const literal = values.map((x) => (Number.isNaN(x) ? 'NaN' : Number.isFinite(x) ? x.toPrecision(9) : String(x)));
    const id = 1_000_000;
    await sql.query(`INSERT INTO ${table} (id, c_float4_arr) VALUES ($1, $2::float4[])`, [id, literal]);
    const expected = (await reference.query(`SELECT c_float4_arr FROM ${table} WHERE id = $1`, [id])).rows[0].c_float4_arr;
    await waitFor(() => streamError !== undefined || received.has(id), 10_000, 'streamed row');
    expect(received.get(id)?.new.get('c_float4_arr')).toEqual(expected);
  });
});
