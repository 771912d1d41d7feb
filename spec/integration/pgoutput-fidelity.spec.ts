import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Client } from 'pg';
import { Lsn } from '../../src';
import { PgoutputDecoder } from '../../src/protocol';
import type { PgoutputMessage } from '../../src';
import { CAPTURE_CONFIGS, type Capture, checkCapture, pluginOptions, writeCapture } from '../support/captures';
import { allServers, sqlClient, uniqueName } from '../support/server';
import { protocolWorkload } from '../support/workload';

// Fidelity: real pgoutput bytes from pg_logical_slot_get_binary_changes, for every protocol
// version the server has, decode and encode back to the same bytes, and hold every message the
// workload should produce. UPDATE_FIXTURES=1 refreshes the captures committed in spec/fixtures/
// (UPDATE_FIXTURES=all writes every one).

describe.each(allServers())('pgoutput fidelity on $label', (server) => {
  let sql: Client;
  let version: number;
  const captures = new Map<string, Capture>();
  // PostgreSQL 16+: the same workload read with origin 'none', which leaves out replayed transactions.
  let originNone: Buffer[] | undefined;

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    version = Number((await sql.query('SHOW server_version_num')).rows[0].server_version_num);
    const configs = CAPTURE_CONFIGS.filter((c) => version >= c.minServer);
    const workload = await protocolWorkload(sql, server.url);
    const slots = configs.map((c) => ({ config: c, slot: uniqueName(`fid_${c.name.replace(/-/g, '_')}`) }));
    const originSlot = uniqueName('fid_origin_none');
    try {
      for (const { config, slot } of slots) await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, $2)`, [slot, config.twoPhase]);
      if (version >= 160000) await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [originSlot]);
      await workload.run();
      if (version >= 160000) {
        const res = await sql.query<{ data: Buffer }>('SELECT data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, VARIADIC $2::text[])', [
          originSlot,
          ['proto_version', '1', 'publication_names', workload.publication, 'origin', 'none'],
        ]);
        originNone = res.rows.map((r) => r.data);
      }
      for (const { config, slot } of slots) {
        const res = await sql.query<{ lsn: string; data: Buffer }>('SELECT lsn::text, data FROM pg_logical_slot_get_binary_changes($1, NULL, NULL, VARIADIC $2::text[])', [
          slot,
          pluginOptions(config, workload.publication),
        ]);
        captures.set(config.name, { serverVersion: version, config, prefix: workload.prefix, gids: workload.gids, frames: res.rows });
      }
    } finally {
      for (const slot of [...slots.map((x) => x.slot), originSlot]) await sql.query('SELECT pg_drop_replication_slot($1)', [slot]).catch(() => undefined);
      await workload.drop();
    }
  }, 120_000);
  afterAll(async () => {
    await sql.end();
  });

  it.each(CAPTURE_CONFIGS.map((c) => [c.name, c] as const))('%s: parse then encode gives the same bytes, and every expected message is there', (name, config) => {
    if (version < config.minServer) {
      // Older servers refuse this protocol version; resolvePgoutputOptions says so before sending (spec/unit/start-replication.spec.ts).
      expect(captures.has(name)).toBe(false);
      return;
    }
    const capture = captures.get(name) as Capture;
    const msgs = checkCapture(capture);
    expect(msgs.length).toBe(capture.frames.length);
    const fixture = join(__dirname, '../fixtures', `pgoutput-pg${Math.floor(version / 10000)}-${name}.jsonl.gz`);
    if (process.env.UPDATE_FIXTURES && (existsSync(fixture) || process.env.UPDATE_FIXTURES === 'all')) writeCapture(fixture, capture);
  });

  it("origin 'none' (PostgreSQL 16+) leaves out the transaction replayed under a replication origin", () => {
    const withOrigin = checkCapture(captures.get('v1-text') as Capture);
    const replayed = (msgs: PgoutputMessage[]) => msgs.some((m) => m.type === 'insert' && m.new.rawObject().v === 'from elsewhere');
    expect([withOrigin.some((m) => m.type === 'origin'), replayed(withOrigin)]).toEqual([true, true]);
    if (version < 160000) {
      expect(originNone).toBeUndefined(); // the option needs PostgreSQL 16 (spec/unit/start-replication.spec.ts)
      return;
    }
    const decoder = new PgoutputDecoder();
    const msgs = (originNone as Buffer[]).map((d) => decoder.decode(d, Lsn.from(1n)));
    expect(msgs.some((m) => m.type === 'insert')).toBe(true);
    expect([msgs.some((m) => m.type === 'origin'), replayed(msgs)]).toEqual([false, false]);
  });
});
