// A prepared transaction never looks committed: the README pipeline (bufferTransaction's default,
// prepared: 'hold') applies a prepared transaction only once COMMIT PREPARED arrives, never one
// that is rolled back, and loses none when the consumer is SIGKILLed or the server restarted
// between PREPARE and its outcome. Two-phase decoding: protocol 3 (PostgreSQL 15+), a two-phase slot.
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { Lsn } from '../../src';
import { type LocalServer, startEmbeddedPostgres } from '../../src/embedded';
import { confirmedFlush } from '../support/delivery';
import { appliedIds, exited, readJournal, startJournalConsumer } from '../support/journal';
import { sqlClient, uniqueName, waitFor } from '../support/server';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { SERVER_SETTINGS } = require('../support/server-config.cjs') as { SERVER_SETTINGS: Record<string, string> };

const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

describe('prepared transactions through the README pipeline (two-phase decoding)', () => {
  let server: LocalServer;
  let sql: Client;
  let dir: string;
  const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    server = await startEmbeddedPostgres({ settings: { ...SERVER_SETTINGS, max_prepared_transactions: '10' } });
    sql = await sqlClient(server.url);
    await sql.query(`CREATE TABLE ${names.table} (id int PRIMARY KEY, v text)`);
    await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE ${names.table}`);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput', false, true)`, [names.slot]); // two_phase
    dir = mkdtempSync(join(tmpdir(), 'walstream-prepared-'));
  }, 60_000);
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await sql?.end().catch(() => {});
    await server?.destroy();
    rmSync(dir, { recursive: true, force: true });
  }, 60_000);

  const journal = () => join(dir, 'journal');
  const start = () => {
    const child = startJournalConsumer(server.url, names, journal(), { protoVersion: 3, twoPhase: true });
    children.push(child);
    return child;
  };
  const insert = (client: Client, a: number, b: number) => client.query(`INSERT INTO ${names.table} SELECT g, 'x' FROM generate_series(${a}, ${b}) g`);
  const commitRows = (a: number, b: number) => insert(sql, a, b);
  const prepare = async (gid: string, a: number, b: number) => {
    const c = await sqlClient(server.url);
    await c.query('BEGIN');
    await insert(c, a, b);
    await c.query(`PREPARE TRANSACTION '${gid}'`);
    await c.end();
  };
  const applied = async (ids: number[], what: string) =>
    waitFor(() => {
      const j = readJournal(journal());
      if (j.errors.length > 0) throw new Error(j.errors.join('; '));
      const have = new Set(appliedIds(j));
      return ids.every((id) => have.has(id));
    }, 30_000, what);
  const restartServer = async () => {
    await sql.end();
    const t0 = Date.now();
    await server.stop();
    const ms = Date.now() - t0;
    await server.start();
    sql = await sqlClient(server.url);
    return ms;
  };

  it('applies a prepared transaction only at COMMIT PREPARED and never a rolled-back one, across a consumer SIGKILL and server restarts', async () => {
    let child = start();
    // T1 committed; g1 prepared; T2 committed after it.
    await commitRows(1, 3);
    await prepare('g1', 4, 6);
    await commitRows(7, 9);
    await applied([1, 2, 3, 7, 8, 9], 'T1 and T2');
    expect(readJournal(journal()).held).toContain('g1');
    expect(appliedIds(readJournal(journal()))).not.toContain(4); // prepared, not committed: not applied
    // The slot stays at the PREPARE, so the held transaction is sent again after a crash.
    const prepareLsn = Lsn.parse((await sql.query(`SELECT pg_current_wal_lsn()::text AS l`)).rows[0].l).value;
    await new Promise((r) => setTimeout(r, 500));
    expect((await confirmedFlush(sql, names.slot)) < prepareLsn).toBe(true);

    // SIGKILL between PREPARE and COMMIT PREPARED (g1), and between PREPARE and ROLLBACK PREPARED (g2).
    await prepare('g2', 10, 12);
    await waitFor(() => readJournal(journal()).held.includes('g2'), 20_000, 'g2 held');
    child.kill('SIGKILL');
    await exited(child);
    await sql.query(`COMMIT PREPARED 'g1'`);
    await sql.query(`ROLLBACK PREPARED 'g2'`);
    await commitRows(13, 15);
    child = start();
    await applied([4, 5, 6, 13, 14, 15], 'g1 (committed while the consumer was dead) and T3');

    // Server restarts between PREPARE and its outcome, with the consumer running.
    await prepare('g3', 16, 18);
    await prepare('g4', 19, 21);
    await commitRows(22, 24);
    await applied([22, 23, 24], 'T4');
    const held = await restartServer(); // a fast shutdown while the consumer holds g3 and g4
    console.log(`fast shutdown with two prepared transactions held: ${held} ms`);
    expect(held).toBeLessThan(5000);
    await sql.query(`COMMIT PREPARED 'g3'`);
    // g3 applied while g4 is still held: the slot must stay at g3's PREPARE, or the restarted
    // server would send g3's COMMIT PREPARED alone.
    await applied([16, 17, 18], 'g3');
    await new Promise((r) => setTimeout(r, 300));
    await restartServer();
    await sql.query(`ROLLBACK PREPARED 'g4'`);
    await commitRows(25, 27);
    await applied([25, 26, 27], 'T5');
    await new Promise((r) => setTimeout(r, 500));

    const j = readJournal(journal());
    expect(j.errors).toEqual([]);
    // Nothing lost, nothing invented: every committed row, no row of g2 or g4.
    expect(appliedIds(j)).toEqual([...range(1, 9), ...range(13, 18), ...range(22, 27)]);
    // A held transaction is applied as committed, after what committed before its COMMIT PREPARED.
    const first = (id: number) => j.txs.findIndex((t) => t.ids.includes(id));
    expect(first(4)).toBeGreaterThan(first(7));
    expect(j.txs[first(4)].gid).toBe('g1');
    expect(first(16)).toBeGreaterThan(first(22));
    child.kill('SIGKILL');
    await exited(child);
  });
});
