import { Client } from 'pg';
import { getTypeParser } from 'pg-types';
import { firstValueFrom } from 'rxjs';
import { type InsertMessage, ReplicationClient, logicalReplication } from '../../src';
import { BinaryValue, TypeRegistry } from '../../src/values';
import { type ParsePgoutputOptions, parsePgoutput } from '../../operators';
import { parse as parseArray } from 'postgres-array';
import { allServers, sqlClient, uniqueName, untilCommits, waitFor } from '../support/server';
import { TYPE_CASES, createUserTypesSql } from '../support/type-cases';

/**
 * Where this library deliberately differs from `pg`'s defaults (docs/types.md): numeric[] keeps
 * its digits as strings (pg-types makes lossy floats), and name[] is parsed (pg-types leaves it a
 * string). The `pg` client of the comparison uses our parsers for these OIDs only.
 */
// json, jsonb and their arrays: the document null is JSON_NULL, where pg gives null as for SQL NULL.
// Arrays pg-types has no parser for (varbit[], int4range[], regclass[]): pg gives the array's text, this library parses it.
const DIVERGENT_OIDS = new Set([1231, 1003, 114, 3802, 199, 3807, 1563, 3905, 2210]);

/** Jest's equality treats two invalid Dates as different; pg gives one for years a Date cannot hold, and so must we. */
function comparable(v: unknown): unknown {
  if (v instanceof Date && Number.isNaN(v.getTime())) return 'Invalid Date';
  return Array.isArray(v) ? v.map(comparable) : v;
}

describe.each(allServers())('column values against pg on $label', (server) => {
  let sql: Client;
  let reference: Client;
  let table: string;
  let publication: string;
  let slots: { text: string; binary: string };
  let rename: (type: string) => string;
  let dropTypes: string;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    const ours = new TypeRegistry();
    reference = new Client({
      connectionString: server.url,
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => (DIVERGENT_OIDS.has(oid) ? ours.text(oid) : getTypeParser(oid, format))) as typeof getTypeParser },
    });
    await reference.connect();
    const suffix = uniqueName('x').slice(2);
    const types = createUserTypesSql(suffix);
    rename = types.rename;
    await sql.query(types.sql);
    dropTypes = `DROP TYPE pair_${suffix} CASCADE; DROP DOMAIN intarr_${suffix} CASCADE; DROP TYPE mood_${suffix} CASCADE; DROP DOMAIN posint_${suffix} CASCADE; DROP DOMAIN email_${suffix} CASCADE`;
    table = uniqueName('types');
    publication = uniqueName('pub');
    slots = { text: uniqueName('slot'), binary: uniqueName('slot') };
    const columns = TYPE_CASES.map((c) => `${c.column} ${rename(c.type)}`).join(', ');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, ${columns})`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    await client.createReplicationSlot(slots.text);
    await client.createReplicationSlot(slots.binary);
    await client.close();
    const rows = Math.max(...TYPE_CASES.map((c) => c.values.length)) + 1; // the last row is all NULL
    const tuples: string[] = [];
    for (let r = 0; r < rows; r++) {
      const values = TYPE_CASES.map((c) => (r < c.values.length ? `(${c.values[r]})::${rename(c.type)}` : 'NULL'));
      tuples.push(`(${r}, ${values.join(', ')})`);
    }
    await sql.query(`INSERT INTO ${table} VALUES ${tuples.join(', ')}`);
  });

  afterAll(async () => {
    for (const slot of Object.values(slots)) {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
    await sql.query(`DROP PUBLICATION ${publication}`);
    await sql.query(`DROP TABLE ${table}`);
    await sql.query(dropTypes);
    await reference.end();
    await sql.end();
  });

  // Nothing is acknowledged, so every test reads the same transaction again from the slot.
  const streamed = async (binary: boolean, options?: ParsePgoutputOptions) => {
    const msgs = await firstValueFrom(
      logicalReplication({ connectionString: server.url, slot: binary ? slots.binary : slots.text, publications: publication, binary }).pipe(parsePgoutput(options), untilCommits(1)),
    );
    return msgs.filter((m): m is InsertMessage => m.type === 'insert');
  };

  const selected = async () => (await reference.query(`SELECT * FROM ${table} ORDER BY id`)).rows as Record<string, unknown>[];

  it('decodes text-format values exactly as a SELECT through pg returns them', async () => {
    const [inserts, rows] = await Promise.all([streamed(false), selected()]);
    expect(inserts).toHaveLength(rows.length);
    for (const [i, msg] of inserts.entries()) {
      for (const c of msg.new.columns) expect(msg.new.kind(c.name)).toMatch(/[tn]/);
      const got = msg.new.toObject();
      for (const c of TYPE_CASES) expect({ column: c.column, row: i, value: comparable(got[c.column]) }).toEqual({ column: c.column, row: i, value: comparable(rows[i][c.column]) });
    }
  });

  it('decodes binary-format values to the same values, reg* types to their OID, and types without a reader to raw bytes with their OID', async () => {
    const oidCases = TYPE_CASES.filter((c) => c.binaryOid);
    const [inserts, rows, oids] = await Promise.all([
      streamed(true),
      selected(),
      reference.query(`SELECT ${oidCases.map((c) => `${c.column}::${c.type.endsWith('[]') ? 'oid[]' : 'oid'} AS ${c.column}`).join(', ')} FROM ${table} ORDER BY id`),
    ]);
    expect(inserts).toHaveLength(rows.length);
    for (const [i, msg] of inserts.entries()) {
      const got = msg.new.toObject();
      for (const c of TYPE_CASES) {
        const value = got[c.column];
        if (c.binaryOid) {
          // The OID, as pg gives col::oid; never the name, which only the catalog knows.
          const expected = (oids.rows as Record<string, unknown>[])[i][c.column];
          if (value !== null) expect({ column: c.column, kind: msg.new.kind(c.column) }).toEqual({ column: c.column, kind: 'b' });
          expect({ column: c.column, row: i, value }).toEqual({ column: c.column, row: i, value: expected });
          if (value !== null) expect(JSON.stringify(value)).toMatch(/^\[?[0-9]/);
          continue;
        }
        if (c.binaryRaw && value !== null) {
          const column = msg.new.columns.find((col) => col.name === c.column);
          expect(value).toBeInstanceOf(BinaryValue);
          expect((value as BinaryValue).typeOid).toBe(column?.typeOid);
          continue;
        }
        if (!c.binaryRaw && value !== null) expect({ column: c.column, kind: msg.new.kind(c.column) }).toEqual({ column: c.column, kind: 'b' });
        expect({ column: c.column, row: i, value: comparable(value) }).toEqual({ column: c.column, row: i, value: comparable(rows[i][c.column]) });
      }
    }
  });

  it('keeps numeric[] digits as strings and parses name[], where pg-types would not', async () => {
    const [inserts] = await Promise.all([streamed(false)]);
    expect(inserts[0].new.get('c_numeric_arr')).toEqual(['1.50', 'NaN', 'Infinity', '-0.001', null, '123456789012345678901234567890']);
    expect(inserts[0].new.get('c_name_arr')).toEqual(['a', 'b']);
  });

  it('gives int8 as bigint and date/time types as their exact text by option, in both formats', async () => {
    const options: ParsePgoutputOptions = { types: { int8: 'bigint', timestamps: 'string' } };
    const asText = (v: string) => v;
    const parsers: Record<number, (v: string) => unknown> = {
      20: BigInt,
      1016: (v) => parseArray(v, BigInt),
      1082: asText,
      1114: asText,
      1184: asText,
      1182: (v) => parseArray(v, asText),
      1115: (v) => parseArray(v, asText),
      1185: (v) => parseArray(v, asText),
    };
    const exact = new Client({
      connectionString: server.url,
      types: { getTypeParser: ((oid: number, format?: 'text' | 'binary') => parsers[oid] ?? (DIVERGENT_OIDS.has(oid) ? new TypeRegistry().text(oid) : getTypeParser(oid, format))) as typeof getTypeParser },
    });
    await exact.connect();
    const rows = (await exact.query(`SELECT * FROM ${table} ORDER BY id`)).rows as Record<string, unknown>[];
    await exact.end();
    const [text, binary] = [await streamed(false, options), await streamed(true, options)];
    expect(text[0].new.get('c_int8')).toBe(0n);
    expect(text[0].new.get('c_timestamp')).toBe('2024-01-01 12:34:56.789012');
    // A binary timestamptz carries no zone: its text is in UTC; the walsender prints its TimeZone.
    const instant = (v: unknown): unknown => (typeof v === 'string' ? getTypeParser(1184)(v) : Array.isArray(v) ? v.map(instant) : v);
    for (const [i, row] of rows.entries()) {
      const t = text[i].new.toObject();
      const b = binary[i].new.toObject();
      for (const c of TYPE_CASES) {
        expect({ column: c.column, row: i, value: comparable(t[c.column]) }).toEqual({ column: c.column, row: i, value: comparable(row[c.column]) });
        if (c.binaryRaw || c.binaryOid) continue;
        if (c.type.startsWith('timestamptz')) {
          expect({ column: c.column, row: i, value: comparable(instant(b[c.column])) }).toEqual({ column: c.column, row: i, value: comparable(instant(row[c.column])) });
          if (typeof b[c.column] === 'string' && !String(b[c.column]).includes('infinity')) expect(b[c.column]).toMatch(/\+00( BC)?$/);
        } else expect({ column: c.column, row: i, value: comparable(b[c.column]) }).toEqual({ column: c.column, row: i, value: comparable(row[c.column]) });
      }
    }
  });

  it('applies user parsers by type name and OID, to domains over their base type, in both formats', async () => {
    const [first] = await streamed(false);
    const moodArrayOid = first.new.columns.find((c) => c.name === 'c_mood_arr')?.typeOid;
    const moodName = rename('mood');
    const options: ParsePgoutputOptions = {
      types: {
        parsers: {
          [moodName]: { text: (s) => `mood:${s}`, binary: (b) => `mood:${b.toString()}` },
          int4: (s) => `int4:${s}`,
          numeric: Number,
          [String(moodArrayOid)]: (s) => parseArray(s, (e) => `by-oid:${e}`),
        },
      },
    };
    for (const binary of [false, true]) {
      const [row] = await streamed(binary, options);
      expect(row.new.get('c_mood')).toBe('mood:happy');
      expect(row.new.get('c_int4')).toBe('int4:0');
      expect(row.new.get('c_posint')).toBe('int4:1');
      expect(row.new.get('c_numeric')).toBe(0);
      expect(row.new.get('c_int4_arr')).toEqual([]);
      expect(row.new.get('c_text')).toBe('');
      // A text-only parser also reads binary values the decoder can print as text (array_send of enum labels here).
      expect(row.new.get('c_mood_arr')).toEqual(['by-oid:happy', null, 'by-oid:with space']);
    }
  });
});
