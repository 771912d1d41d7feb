import { PassThrough } from 'node:stream';
import type { Client } from 'pg';
import { Lsn, ReplicationClient } from '../../src';
import { JSON_TYPE_OPTIONS, messageToJsonLine } from '../../src/json';
import { PgoutputDecoder } from '../../src/protocol';
import { streamOutput } from '../../cli/output';
import { runStream } from '../../cli/stream';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

// `pg-walstream stream --binary` writes dates, times, intervals, numerics, uuids and inets straight
// from the bytes the server sends (cli/binary-json.ts). Its insert lines must be what the library
// prints for the same messages (messageToJsonLine after Row#get with JSON_TYPE_OPTIONS), on the
// forms a real server sends, edges included.

describe('pg-walstream stream --binary prints what messageToJsonLine prints', () => {
  const server = defaultServer();
  let sql: Client;
  const table = uniqueName('clibin');
  const publication = uniqueName('pub');
  const slots = [uniqueName('slot'), uniqueName('slot')];
  let endpos: Lsn;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    await sql.query(`CREATE TABLE ${table} (id int4 PRIMARY KEY, d date, ts timestamp, tstz timestamptz, t time, ttz timetz, iv interval,
      n numeric, u uuid, ip inet, c cidr, f4 float4, f8 float8, j jsonb, b bytea, a int4[], a2 int2[], s text, i8 int8, ok bool)`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    for (const slot of slots) await client.createReplicationSlot(slot);
    await client.close();
    await sql.query(`INSERT INTO ${table} VALUES
      (1, '2024-01-01', '2024-01-01 00:00:01', '2024-01-01 00:00:00.001+00', '00:00:01', '12:34:56.789+05:30', '1 min',
       1.000001, 'c4ca4238-a0b9-3382-8dcc-509a6f75849b', '10.0.1.1', '10.0.0.0/8', 0.33333334, 0.14285714285714285,
       '{"id": 1, "tags": ["a", "b"]}', '\\xc4ca4238', '{1,2,3}', '{1,NULL,-3}', 'text value 1', 1000003, true),
      (2, 'infinity', '-infinity', 'infinity', '24:00:00', '00:00:00-15:59:59', '-1 year 2 mons -3 days 04:05:06.789',
       'NaN', '00000000-0000-0000-0000-000000000000', '::1', '2001:db8::/32', 'NaN', '-Infinity',
       'null', '\\x', '{}', '{}', 'quote " back \\ slash
newline é', -9223372036854775808, false),
      (3, '4713-01-01 BC', '0001-12-31 23:59:59.999999 BC', '1999-12-31 23:59:59.5+00', '23:59:59.999999', '00:00:00+00', '1 day -00:00:01',
       '-12345678901234567890.1234567890', 'ffffffff-ffff-ffff-ffff-ffffffffffff', '192.168.0.1/24', '192.168.0.0/16', 1e-45, 5e-324,
       '[1.5, 10, {"10": 1}]', '\\x00ff', '{{1,2},{3,4}}', '{32767}', '', 9007199254740993, NULL),
      (4, '5874897-12-31', '294276-12-31 23:59:59.999999', '1900-06-15 12:00:00+00', '00:00:00', '23:59:59.999999+14', '0',
       '0.000100', '12345678-1234-1234-1234-123456789abc', '255.255.255.255', '0.0.0.0/0', 3.4e38, 1e21,
       '{}', NULL, '{NULL}', NULL, NULL, 0, NULL),
      (5, '1970-01-01', '1970-01-01 00:00:00', '2262-04-11 23:47:16.854775+00', '12:00:00.5', '08:00:00.000001-08', '178000000 years',
       'Infinity', NULL, '0.0.0.0', '127.0.0.1/32', -0, -0, '"text"', NULL, NULL, NULL, NULL, -1, NULL),
      (6, '2000-02-29', '2000-02-29 12:00:00', '-infinity', NULL, NULL, '-178000000 years -2147483647 days -2562047:00:00.000001',
       '-Infinity', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)`);
    endpos = Lsn.parse((await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l);
  });

  afterAll(async () => {
    for (const slot of slots) {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
    await sql.query(`DROP PUBLICATION ${publication}`);
    await sql.query(`DROP TABLE ${table}`);
    await sql.end();
  });

  const withoutLsn = (line: string) => line.replace(/"lsn":"[0-9A-F]+\/[0-9A-F]+",/, '');

  it('for every row, byte for byte', async () => {
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk) => (text += chunk));
    await runStream({ connectionString: server.url, slot: slots[0], publications: publication, endpos, binary: true, output: streamOutput(output), statusInterval: 200 });
    const cli = text.trim().split('\n').filter((l) => l.startsWith('{"type":"insert"')).map(withoutLsn);

    // The same messages, as the library prints them.
    const { rows } = await sql.query<{ data: Buffer }>(
      `SELECT data FROM pg_logical_slot_peek_binary_changes($1, NULL, NULL, 'proto_version', '1', 'publication_names', $2, 'binary', 'true')`,
      [slots[1], publication],
    );
    const decoder = new PgoutputDecoder({ types: JSON_TYPE_OPTIONS });
    const library = rows
      .map((r) => decoder.decode(r.data, Lsn.parse('0/1')))
      .filter((m) => m.type === 'insert')
      .map((m) => withoutLsn(messageToJsonLine(m).trimEnd()));

    expect(cli).toHaveLength(6);
    expect(cli).toEqual(library);
    // A few of the texts, so that both sides being wrong the same way would show.
    const first = JSON.parse(cli[0]).new;
    expect(first).toMatchObject({ d: '2024-01-01', ts: '2024-01-01 00:00:01', tstz: '2024-01-01 00:00:00.001+00', t: '00:00:01', ttz: '12:34:56.789+05:30', iv: '00:01:00', n: '1.000001', u: 'c4ca4238-a0b9-3382-8dcc-509a6f75849b', ip: '10.0.1.1', c: '10.0.0.0/8' });
    expect(JSON.parse(cli[2]).new).toMatchObject({ d: '4713-01-01 BC', ts: '0001-12-31 23:59:59.999999 BC', iv: '1 day -00:00:01', n: '-12345678901234567890.1234567890' });
  });
});
