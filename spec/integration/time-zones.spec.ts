import { Client } from 'pg';
import { firstValueFrom } from 'rxjs';
import { type InsertMessage, ReplicationClient, logicalReplication } from '../../src';
import { type ParsePgoutputOptions, parsePgoutput } from '../../operators';
import { allServers, sqlClient, uniqueName, untilCommits, waitFor } from '../support/server';

/**
 * The walsender prints timestamptz and timetz in its TimeZone setting, here a database default of
 * America/St_Johns (UTC-03:30, with DST), while this process parses date and timestamp in its own
 * local zone, here America/Sao_Paulo (whose past DST changes skipped local midnights). Text and
 * binary values must still equal what `pg` returns in the same setting.
 */
describe.each(allServers())('time zones on $label', (server) => {
  let admin: Client;
  let sql: Client;
  let url: string;
  let database: string;
  let slot: string;
  const publication = 'tz_pub';
  const table = 'tz_values';
  const processTz = process.env.TZ;

  beforeAll(async () => {
    process.env.TZ = 'America/Sao_Paulo';
    admin = await sqlClient(server.url);
    database = uniqueName('tz');
    slot = uniqueName('slot');
    await admin.query(`CREATE DATABASE ${database}`);
    await admin.query(`ALTER DATABASE ${database} SET timezone = 'America/St_Johns'`);
    const u = new URL(server.url);
    u.pathname = `/${database}`;
    url = u.toString();
    sql = await sqlClient(url);
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, tz timestamptz, ts timestamp, d date, tt timetz, tza timestamptz[])`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(url);
    await client.createReplicationSlot(slot);
    await client.close();
    await sql.query(`INSERT INTO ${table} VALUES
      (1, '2024-07-01 12:00:00.123456+00', '1985-11-02 00:00:00', '1985-11-02', '12:00:00-03:30', '{"2024-01-01 00:00:00+00","2024-07-01 23:59:59.999999-02:30"}'),
      (2, '1900-01-01 00:00:00+00', '2018-11-04 00:30:00', '2018-11-04', '00:00:00+14', '{infinity,NULL}'),
      (3, '-infinity', '0099-12-31 23:59:59.5', '0001-01-01 BC', '23:59:59.999999+00', '{}')`);
  });

  afterAll(async () => {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    await sql.end();
    await admin.query(`DROP DATABASE ${database}`);
    await admin.end();
    if (processTz === undefined) delete process.env.TZ;
    else process.env.TZ = processTz;
  });

  const streamed = async (binary: boolean, options?: ParsePgoutputOptions) => {
    const msgs = await firstValueFrom(logicalReplication({ connectionString: url, slot, publications: publication, binary }).pipe(parsePgoutput(options), untilCommits(1)));
    return msgs.filter((m): m is InsertMessage => m.type === 'insert').map((m) => m.new.toObject());
  };

  it('gives the values pg gives, in text and binary format', async () => {
    const expected = (await sql.query(`SELECT * FROM ${table} ORDER BY id`)).rows;
    expect(expected[0].tz).toEqual(new Date('2024-07-01T12:00:00.123Z'));
    expect(await streamed(false)).toEqual(expected);
    expect(await streamed(true)).toEqual(expected);
  });

  it('gives the walsender text with timestamps: "string", and UTC text in binary format', async () => {
    const text = await streamed(false, { types: { timestamps: 'string' } });
    const exact = (await sql.query(`SELECT tz::text, ts::text, d::text FROM ${table} ORDER BY id`)).rows;
    expect(text.map(({ tz, ts, d }) => ({ tz, ts, d }))).toEqual(exact);
    expect(text[0].tz).toBe('2024-07-01 09:30:00.123456-02:30');
    const binary = await streamed(true, { types: { timestamps: 'string' } });
    expect(binary[0].tz).toBe('2024-07-01 12:00:00.123456+00');
    expect(binary.map(({ ts, d }) => ({ ts, d }))).toEqual(exact.map(({ ts, d }) => ({ ts, d })));
  });
});
