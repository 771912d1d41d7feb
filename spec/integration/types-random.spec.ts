import fc from 'fast-check';
import type { Client } from 'pg';
import { getTypeParser } from 'pg-types';
import { JSON_NULL, TypeRegistry } from '../../src/values';
import { allServers, sqlClient } from '../support/server';
import { shape } from '../support/value-shape';

/**
 * The in-place decoders Row#get calls (TypeRegistry#textAt / #binaryAt) on what the server really
 * prints and sends for random values (issue 18): for each of the wide scenario's types, random
 * inputs go through the type's input function; the server's text output (its output function, as
 * `format('%s', v)` calls it: inet's `::text` cast would print the mask) and binary
 * output (the type's `*_send`) are decoded in place, with other bytes around them, and must equal
 * what `pg` gives, pg-types' parser on the text (json and jsonb: `JSON.parse`, the document null
 * as JSON_NULL, docs/types.md).
 */
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

const noNul = (v: unknown): boolean => !JSON.stringify(v).includes('\\u0000');
const timestampText = fc
  .tuple(fc.date({ min: new Date('0100-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59Z'), noInvalidDate: true }), fc.integer({ min: 0, max: 999 }), fc.boolean())
  .map(([d, us, frac]) => d.toISOString().replace(/\.(\d{3})Z$/, frac ? `.$1${pad(us, 3)}` : ''));

// [type, send function, generator of input texts]
const TYPES: [string, string, fc.Arbitrary<string>][] = [
  ['float4', 'float4send', fc.oneof(fc.float().map(String), fc.integer({ min: -1e6, max: 1e6 }).map((g) => String(Math.fround(g / 3))))],
  ['float8', 'float8send', fc.oneof(fc.double().map(String), fc.integer({ min: -1e6, max: 1e6 }).map((g) => String(g / 7)), fc.stringMatching(/^-?[0-9]{1,10}\.[0-9]{1,8}$/))],
  ['jsonb', 'jsonb_send', fc.oneof(fc.jsonValue().filter(noNul).map((v) => JSON.stringify(v)), fc.integer().map((g) => JSON.stringify({ id: g, tags: ['a', 'b'] })))],
  ['json', 'json_send', fc.jsonValue({ maxDepth: 3 }).filter(noNul).map((v) => JSON.stringify(v, null, 1))],
  [
    'interval',
    'interval_send',
    fc
      .tuple(fc.integer({ min: -100_000, max: 100_000 }), fc.integer({ min: -1000, max: 1000 }), fc.integer({ min: -1_000_000, max: 1_000_000 }), fc.oneof(fc.integer({ min: -(10 ** 15), max: 10 ** 15 }), fc.integer({ min: 0, max: 86_400_000_000 })))
      // PostgreSQL 14 takes each field within int32: the time as seconds and microseconds.
      .map(([y, m, d, us]) => `${y} years ${m} mons ${d} days ${Math.trunc(us / 1e6)} seconds ${us % 1e6} microseconds`),
  ],
  ['timestamptz', 'timestamptz_send', fc.oneof(timestampText.map((t) => `${t}+00`), timestampText.map((t) => `${t}-05:30`), fc.constantFrom('infinity', '-infinity', '0001-01-01 00:00:00+00', '4713-01-01 00:00:00+00 BC'))],
  ['timestamp', 'timestamp_send', fc.oneof(timestampText, fc.constantFrom('infinity', '-infinity', '0050-06-15 12:00:00.5', '0001-01-01 00:00:00 BC'))],
  ['date', 'date_send', fc.oneof(timestampText.map((t) => t.slice(0, 10)), fc.constantFrom('infinity', '-infinity', '0010-02-28', '0001-01-01 BC'))],
  ['time', 'time_send', fc.tuple(fc.integer({ min: 0, max: 23 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 59 }), fc.integer({ min: 0, max: 999_999 })).map(([h, m, s, us]) => `${pad(h)}:${pad(m)}:${pad(s)}.${pad(us, 6)}`)],
  ['inet', 'inet_send', fc.oneof(fc.ipV4(), fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([a, b]) => `${a}/${b}`), fc.ipV6())],
  ['uuid', 'uuid_send', fc.uuid()],
  ['bytea', 'byteasend', fc.uint8Array({ maxLength: 40 }).map((a) => `\\x${Buffer.from(a).toString('hex')}`)],
  ['int4[]', 'array_send', fc.array(fc.option(fc.integer({ min: -2147483648, max: 2147483647 })), { maxLength: 5 }).map((a) => `{${a.map((x) => (x === null ? 'NULL' : String(x))).join(',')}}`)],
  ['numeric', 'numeric_send', fc.stringMatching(/^-?[0-9]{1,20}(\.[0-9]{1,12})?$/)],
  ['int8', 'int8send', fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }).map(String)],
];

describe.each(allServers())('in-place decoders on the server output of random values ($label)', (server) => {
  let sql: Client;
  const types = new TypeRegistry();
  beforeAll(async () => {
    sql = await sqlClient(server.url);
  });
  afterAll(async () => {
    await sql.end();
  });

  it.each(TYPES.map(([type, send, gen]) => ({ type, send, gen })))('$type: text and binary equal pg-types on the text', async ({ type, send, gen }) => {
    await fc.assert(
      fc.asyncProperty(fc.array(gen, { minLength: 40, maxLength: 40 }), async (inputs) => {
        const r = await sql.query({
          text: `SELECT format('%s', v::${type}) AS t, encode(${send}(v::${type}), 'base64') AS b, pg_typeof(v::${type})::oid::int AS oid FROM unnest($1::text[]) WITH ORDINALITY u(v, i) ORDER BY i`,
          values: [inputs],
        });
        for (const row of r.rows as { t: string; b: string; oid: number }[]) {
          const reference = row.oid === 114 || row.oid === 3802 ? (s: string) => (JSON.parse(s) === null ? JSON_NULL : JSON.parse(s)) : (getTypeParser(row.oid) as (s: string) => unknown);
          const expected = shape(reference(row.t));
          const text = Buffer.concat([Buffer.from([7]), Buffer.from(row.t), Buffer.from([7, 7])]);
          expect(shape(types.textAt(row.oid)(text, 1, text.length - 2))).toEqual(expected);
          const bytes = Buffer.from(row.b, 'base64');
          const binary = Buffer.concat([Buffer.from([7, 7]), bytes, Buffer.from([7])]);
          expect(shape(types.binaryAt(row.oid)(binary, 2, binary.length - 1))).toEqual(expected);
        }
      }),
      { numRuns: 5 },
    );
  });
});
