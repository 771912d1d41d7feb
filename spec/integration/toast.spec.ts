import { randomBytes } from 'node:crypto';
import type { Client } from 'pg';
import { firstValueFrom } from 'rxjs';
import { type DeleteMessage, ReplicationClient, UNCHANGED_TOAST, type UpdateMessage, logicalReplication } from '../../src';
import { mapRow, messageToJson, updatedValues } from '../../src/values';
import { parsePgoutput } from '../../operators';
import { allServers, sqlClient, uniqueName, untilCommits, waitFor } from '../support/server';

/**
 * What the walsender sends for a TOASTed column an UPDATE did not touch (pgoutput's
 * logicalrep_write_tuple sends `u` for a value stored out of line that is not in the WAL record).
 * Observed on PostgreSQL 15 and 18 alike:
 * - REPLICA IDENTITY DEFAULT: the new row has `u`; there is no old row.
 * - REPLICA IDENTITY FULL: the old row carries the whole value (the server inlines TOASTed values
 *   of the old tuple it logs, ExtractReplicaIdentity), and the new row still has `u`.
 * - A DELETE under FULL carries the whole value in the old row.
 */
describe.each(allServers())('unchanged TOAST values on $label', (server) => {
  let sql: Client;
  let table: string;
  let publication: string;
  let slot: string;
  // Random bytes in base64 do not compress, so the value is stored out of line.
  const big = randomBytes(60_000).toString('base64');
  const blob = randomBytes(50_000);

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    table = uniqueName('toast');
    publication = uniqueName('pub');
    slot = uniqueName('slot');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, name text, big text, blob bytea)`);
    await sql.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    const client = await ReplicationClient.connect(server.url);
    await client.createReplicationSlot(slot);
    await client.close();
    await sql.query(`INSERT INTO ${table} VALUES (1, 'a', $1, $2)`, [big, blob]);
    await sql.query(`UPDATE ${table} SET name = 'b' WHERE id = 1`);
    await sql.query(`ALTER TABLE ${table} REPLICA IDENTITY FULL`);
    await sql.query(`UPDATE ${table} SET name = 'c' WHERE id = 1`);
    await sql.query(`DELETE FROM ${table} WHERE id = 1`);
  });

  afterAll(async () => {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    await sql.query(`DROP PUBLICATION ${publication}`);
    await sql.query(`DROP TABLE ${table}`);
    await sql.end();
  });

  describe.each([false, true])('binary %s', (binary) => {
    let updates: UpdateMessage[];
    let deletes: DeleteMessage[];
    beforeAll(async () => {
      const msgs = await firstValueFrom(logicalReplication({ connectionString: server.url, slot, publications: publication, binary }).pipe(parsePgoutput(), untilCommits(4)));
      updates = msgs.filter((m): m is UpdateMessage => m.type === 'update');
      deletes = msgs.filter((m): m is DeleteMessage => m.type === 'delete');
      expect(updates).toHaveLength(2);
      expect(deletes).toHaveLength(1);
    });

    it('REPLICA IDENTITY DEFAULT: the new row reads the marker, never null or undefined, and there is no old row', () => {
      const [update] = updates;
      expect(update.relation.replicaIdentity).toBe('d');
      expect(update.old).toBeUndefined();
      expect(update.key).toBeUndefined();
      for (const column of ['big', 'blob']) {
        expect(update.new.get(column)).toBe(UNCHANGED_TOAST);
        expect(update.new.isUnchangedToast(column)).toBe(true);
        expect(update.new.isNull(column)).toBe(false);
      }
      expect(update.new.toObject()).toEqual({ id: 1, name: 'b', big: UNCHANGED_TOAST, blob: UNCHANGED_TOAST });
      const json = messageToJson(update);
      expect(json.new).toEqual({ id: 1, name: 'b' });
      expect(json.unchangedToast).toEqual({ new: ['big', 'blob'] });
      expect(() => mapRow({ id: 'number', big: 'string' })(update.new)).toThrow(/public\.toast_\w+\.big: unchanged TOAST value/);
    });

    it('REPLICA IDENTITY FULL: the old row carries the whole TOASTed value, the new row the marker', () => {
      const update = updates[1];
      expect(update.relation.replicaIdentity).toBe('f');
      expect(update.old?.isUnchangedToast('big')).toBe(false);
      expect(update.old?.toObject()).toEqual({ id: 1, name: 'b', big, blob });
      expect(update.new.toObject()).toEqual({ id: 1, name: 'c', big: UNCHANGED_TOAST, blob: UNCHANGED_TOAST });
      expect(updatedValues(update)).toEqual({ id: 1, name: 'c', big, blob });
      expect(updatedValues(updates[0])).toEqual({ id: 1, name: 'b', big: UNCHANGED_TOAST, blob: UNCHANGED_TOAST });
    });

    it('REPLICA IDENTITY FULL: a delete carries the whole old row', () => {
      expect(deletes[0].old?.toObject()).toEqual({ id: 1, name: 'c', big, blob });
    });
  });
});
