import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import type { Client } from 'pg';
import { Lsn, ReplicationClient } from '../../src';
import { streamOutput } from '../../cli/output';
import { runStream } from '../../cli/stream';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

const run = promisify(execFile);
const BIN = join(__dirname, '../../bin/pg-walstream.js');

describe('pg-walstream stream JSON values', () => {
  const server = defaultServer();
  let sql: Client;
  let table: string;
  let publication: string;
  const slots = [uniqueName('slot'), uniqueName('slot')];
  let endpos: Lsn;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    table = uniqueName('cli');
    publication = uniqueName('pub');
    await sql.query(`CREATE TABLE ${table} (id int8 PRIMARY KEY, f float8, n numeric, b bytea, j jsonb, at timestamptz, arr int4[])`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    for (const slot of slots) await client.createReplicationSlot(slot);
    await client.close();
    await sql.query(`SET TimeZone = 'UTC'`);
    await sql.query(`INSERT INTO ${table} VALUES (9223372036854775807, 'NaN', 0.10, '\\xff00', '{"k": [1, null]}', '2024-05-06 07:08:09.123456+00', '{{1,NULL},{3,4}}')`);
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

  const insertLine = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l)).find((m) => m.type === 'insert');

  it('prints typed values by default', async () => {
    const output = new PassThrough();
    let text = '';
    output.on('data', (chunk) => (text += chunk));
    await runStream({ connectionString: server.url, slot: slots[0], publications: publication, endpos, output: streamOutput(output), statusInterval: 200 });
    expect(insertLine(text).new).toEqual({
      id: '9223372036854775807',
      f: 'NaN',
      n: '0.10',
      b: '\\xff00',
      j: { k: [1, null] },
      at: expect.stringMatching(/^2024-05-06 \d\d:\d\d:09\.123456[+-]\d\d/),
      arr: [
        [1, null],
        [3, 4],
      ],
    });
  });

  it('prints the values as sent with --raw', async () => {
    const { stdout } = await run(process.execPath, [BIN, 'stream', '-d', server.url, '-S', slots[1], '-P', publication, '-E', endpos.toString(), '--raw'], { timeout: 30_000 });
    expect(insertLine(stdout).new).toMatchObject({ id: '9223372036854775807', f: 'NaN', n: '0.10', b: '\\xff00', j: '{"k": [1, null]}', arr: '{{1,NULL},{3,4}}' });
  });
});
