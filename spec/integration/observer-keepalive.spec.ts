// ReplicationObserver#keepalive: a source decoding in place (parsePgoutput straight on
// logicalReplication) builds no frame objects for XLogData, yet its observer hears every primary
// keepalive; with a frame hook too, frame comes first. The CLI's --endpos and progress line rely on it.
import type { Client } from 'pg';
import { logicalReplication } from '../../src';
import type { PrimaryKeepalive, ReplicationFrame } from '../../src/protocol/frames';
import { parsePgoutput } from '../../operators';
import { createFixture } from '../support/delivery';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

describe('ReplicationObserver#keepalive', () => {
  const url = defaultServer().url;
  let sql: Client;
  const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };

  beforeAll(async () => {
    sql = await sqlClient(url);
    await createFixture(sql, names);
  });
  afterAll(async () => {
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
    await sql.end();
  });

  it('hears primary keepalives on the in-place path, after the frame hook when both are given', async () => {
    const calls: string[] = [];
    const keepalives: PrimaryKeepalive[] = [];
    let inserts = 0;
    const observer = {
      frame: (f: ReplicationFrame) => void calls.push(`frame:${f.type}`),
      keepalive: (k: PrimaryKeepalive) => {
        calls.push('keepalive');
        keepalives.push(k);
      },
    };
    const both = logicalReplication({ connectionString: url, slot: names.slot, publications: names.publication, observer })
      .pipe(parsePgoutput())
      .subscribe((m) => void (m.type === 'insert' && inserts++));
    try {
      await sql.query(`INSERT INTO ${names.table} VALUES (1, 'a')`);
      // Nothing is acknowledged, so a walsender that has sent everything sends keepalives (WalSndWaitForWal).
      await waitFor(() => inserts === 1 && keepalives.length > 0, 20_000, 'the insert and a keepalive');
    } finally {
      both.unsubscribe();
    }

    // Without a frame hook, the keepalive hook alone hears them.
    const alone: PrimaryKeepalive[] = [];
    const sub = logicalReplication({ connectionString: url, slot: names.slot, publications: names.publication, observer: { keepalive: (k) => void alone.push(k) } }).pipe(parsePgoutput()).subscribe();
    try {
      await sql.query(`INSERT INTO ${names.table} VALUES (2, 'b')`);
      await waitFor(() => alone.length > 0, 20_000, 'a keepalive');
    } finally {
      sub.unsubscribe();
    }

    for (const k of [...keepalives, ...alone]) {
      expect(k.type).toBe('keepalive');
      expect(k.walEnd.value).toBeGreaterThan(0n);
    }
    const at = calls.indexOf('keepalive');
    expect(calls[at - 1]).toBe('frame:keepalive');
  }, 60_000);
});
