import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../src/embedded';
import { BIN } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

async function scrape(port: number): Promise<string> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    return res.status === 200 ? await res.text() : '';
  } catch {
    return ''; // not listening yet
  }
}

const value = (text: string, name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text)?.[1] ?? NaN);

describe('pg-walstream stream --metrics-port', () => {
  it('serves the stream and slot metrics at /metrics while it streams, without the password', async () => {
    const { url } = defaultServer();
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    const sql = await sqlClient(url);
    const dir = mkdtempSync(join(tmpdir(), 'walstream-cli-metrics-'));
    const port = await freePort();
    await sql.query(`CREATE TABLE ${names.table} (id int PRIMARY KEY)`);
    await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE ${names.table}`);
    const child = spawn(process.execPath, [BIN, 'stream', '--dbname', url, '--slot', names.slot, '--publication', names.publication, '--create-slot', '-f', join(dir, 'out.jsonl'), '-s', '200', '--metrics-port', String(port), '--metrics-host', '127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(async () => value(await scrape(port), 'pg_walstream_connected') === 1, 20_000, 'the CLI to stream');
      // Connected comes before --create-slot's slot reaches its consistent point (later on a busy server:
      // it waits for every running transaction of the cluster). The slot is listed and active while it
      // waits, but its confirmed_flush_lsn stays NULL until then, and rows committed before it never stream.
      const ready = `SELECT active AND confirmed_flush_lsn IS NOT NULL AS ready FROM pg_replication_slots WHERE slot_name = $1`;
      await waitFor(async () => (await sql.query(ready, [names.slot])).rows[0]?.ready === true, 60_000, 'the slot to reach its consistent point');
      await sql.query(`INSERT INTO ${names.table} SELECT generate_series(1, 10)`);
      await sql.query(`INSERT INTO ${names.table} VALUES (11)`);
      let text = '';
      await waitFor(async () => {
        text = await scrape(port);
        // The lag is a number here; that it returns to 0 is observability.spec.ts's test.
        return value(text, 'pg_walstream_transactions_total') >= 2 && Number.isFinite(value(text, 'pg_walstream_lag_seconds'));
      }, 30_000, 'two transactions and the lag in /metrics');
      expect(text).toContain('# TYPE pg_walstream_lag_bytes gauge');
      // The first slot reading may precede --create-slot; the next comes after the default 10 s.
      expect(text).toMatch(new RegExp(`^pg_walstream_slot_exists\\{slot="${names.slot}"\\} [01]$`, 'm'));
      expect(text).toContain('process_cpu_seconds_total');
      expect(text).not.toContain(new URL(url).password);
      expect((await fetch(`http://127.0.0.1:${port}/other`)).status).toBe(404);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
    } finally {
      child.kill('SIGKILL');
      await waitFor(async () => (await sql.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).rows[0]?.active !== true, 10_000, 'the slot to be released').catch(() => {});
      await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]).catch(() => {});
      await sql.end();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 150_000);
});
