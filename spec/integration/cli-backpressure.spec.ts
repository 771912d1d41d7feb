import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

/** A Linux process's resident set and its peak so far, in MiB (/proc/PID/status). */
function residentMiB(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

const ROWS = 300_000;

describe('pg-walstream stream to a slow reader', () => {
  // One transaction of ROWS inserts, about 90 MB of JSON lines: more than the CLI may hold.
  // Flow control's counts never pause inside a transaction; only the output's backpressure can.
  it('stops reading from the walsender while the reader does not read, also inside a transaction, and loses nothing when it resumes', async () => {
    const { url } = defaultServer();
    const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
    const sql = await sqlClient(url);
    const port = await freePort();
    await sql.query(`CREATE TABLE ${names.table} (id int PRIMARY KEY, payload text NOT NULL)`);
    await sql.query(`CREATE PUBLICATION ${names.publication} FOR TABLE ${names.table}`);
    await sql.query(`SELECT pg_create_logical_replication_slot($1, 'pgoutput')`, [names.slot]);
    await sql.query(`INSERT INTO ${names.table} SELECT g, repeat(md5(g::text), 6) FROM generate_series(1, ${ROWS}) g`);
    const endpos = (await sql.query('SELECT pg_current_wal_insert_lsn()::text AS l')).rows[0].l as string;
    const child = spawn(
      process.execPath,
      [BIN, 'stream', '--dbname', url, '--slot', names.slot, '--publication', names.publication, '--endpos', endpos, '--metrics-port', String(port), '--metrics-host', '127.0.0.1'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += String(d)));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      // The reader reads nothing yet: the pipe fills, then the CLI's own output buffer.
      await waitFor(async () => value(await scrape(port), 'pg_walstream_flow_control_paused') === 1, 60_000, 'the CLI to stop reading');
      await new Promise((r) => setTimeout(r, 1000));
      const metrics = await scrape(port);
      expect(value(metrics, 'pg_walstream_flow_control_paused')).toBe(1);
      // Paused inside the transaction: of its ~70 MB of XLogData (ROWS × 230 bytes), a few MB are
      // read (the lines held, the pipe, a socket read); without backpressure all of it would be.
      // (Not a count of transactions: PostgreSQL 14 also sends other databases' empty ones.)
      expect(value(metrics, 'pg_walstream_received_bytes_total')).toBeLessThan(24 * 2 ** 20);
      // Node and the library take about 60 MB; 90 MB of lines held would show far above this.
      expect(residentMiB(child.pid!).peak).toBeLessThan(130);

      // The reader resumes: every row arrives, once, in order, and the CLI ends at --endpos.
      let text = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (d: string) => (text += d));
      expect(await exited).toBe(0);
      expect(stderr).toBe('');
      const ids: number[] = [];
      let commits = 0;
      for (const line of text.split('\n')) {
        if (line === '') continue;
        const msg = JSON.parse(line) as { type: string; new?: { id: number } };
        if (msg.type === 'insert') ids.push(msg.new!.id);
        if (msg.type === 'commit') commits++;
      }
      expect(ids.length).toBe(ROWS);
      expect(ids.every((id, i) => id === i + 1)).toBe(true);
      expect(commits).toBe(1);
    } finally {
      child.kill('SIGKILL');
      await waitFor(async () => (await sql.query('SELECT active FROM pg_replication_slots WHERE slot_name = $1', [names.slot])).rows[0]?.active !== true, 10_000, 'the slot to be released').catch(() => {});
      await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]).catch(() => {});
      await sql.end();
    }
  }, 180_000);
});
