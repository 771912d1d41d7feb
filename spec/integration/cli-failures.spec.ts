import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { ReplicationClient } from '../../src';
import { BIN, cli } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

// Clean failures and durability of `pg-walstream stream` (issue 15): the output cannot be written
// (unwritable path, closed pipe, full disk) → one line on stderr, exit 3, and the slot's
// confirmed_flush_lsn never passes what was written; with -f, acknowledgment waits for an fsync.
describe('pg-walstream stream: output failures and fsync', () => {
  const server = defaultServer();
  let sql: Client;
  let table: string;
  const slots: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'walstream-cli-'));

  const newSlot = async () => {
    const slot = uniqueName('slot');
    const client = await ReplicationClient.connect(server.url);
    await client.createReplicationSlot(slot);
    await client.close();
    slots.push(slot);
    return slot;
  };
  const confirmed = async (slot: string) => (await sql.query('SELECT confirmed_flush_lsn::text AS l FROM pg_replication_slots WHERE slot_name = $1', [slot])).rows[0].l as string;
  const lsnValue = (l: string) => {
    const [hi, lo] = l.split('/');
    return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`);
  };
  const currentLsn = async () => (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
  const released = (slot: string) => waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000, 'slot release');
  const exited = (child: ChildProcess) => new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    table = uniqueName('t');
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY, note text)`);
    await sql.query(`CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
  });
  afterAll(async () => {
    for (const slot of slots) {
      await released(slot);
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
    await sql.query(`DROP PUBLICATION ${table}_pub; DROP TABLE ${table}`);
    await sql.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const stream = (slot: string, ...extra: string[]) => ['stream', '-d', server.url, '-S', slot, '-P', `${table}_pub`, '-s', '100', ...extra];
  let nextId = 0;
  const insertTransactions = async (count: number, rows: number) => {
    for (let t = 0; t < count; t++) {
      const first = nextId;
      nextId += rows;
      await sql.query(`INSERT INTO ${table} SELECT g, repeat('x', 200) FROM generate_series(${first}, ${nextId - 1}) g`);
    }
  };

  it('exits 3 with one line for an -f path that cannot be written, before acknowledging anything', async () => {
    const slot = await newSlot();
    const before = await confirmed(slot);
    await insertTransactions(1, 1);
    for (const path of [join(dir, 'missing-dir', 'out.jsonl'), dir]) {
      const { code, stdout, stderr } = await cli([...stream(slot, '-f', path), '-E', await currentLsn()]);
      expect({ path, code, stdout }).toEqual({ path, code: 3, stdout: '' });
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(new RegExp(`^pg-walstream: error: cannot open ${path.replace(/[/.]/g, '\\$&')}: (no such directory \\(ENOENT\\)|it is a directory \\(EISDIR\\))`));
    }
    expect(await confirmed(slot)).toBe(before);
  });

  it('exits 3 with one line on a full disk (/dev/full), having acknowledged nothing it could not write', async () => {
    const slot = await newSlot();
    const before = await confirmed(slot);
    await insertTransactions(3, 10);
    const { code, stderr } = await cli([...stream(slot, '-f', '/dev/full'), '-E', await currentLsn()]);
    expect(code).toBe(3);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^pg-walstream: error: cannot write to \/dev\/full: no space left on device \(ENOSPC\)$/m);
    await released(slot);
    expect(await confirmed(slot)).toBe(before);
  });

  const canMount = (() => {
    if (process.getuid?.() !== 0) return false;
    try {
      const probe = mkdtempSync(join(tmpdir(), 'walstream-mnt-'));
      execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
      execFileSync('umount', [probe], { stdio: 'ignore' });
      rmSync(probe, { recursive: true });
      return true;
    } catch {
      return false;
    }
  })();
  if (!canMount && process.env.CI === 'true') throw new Error('cli-failures: CI=true needs root and mount(8) for the full-tmpfs test');
  if (!canMount) console.warn('cli-failures: a full tmpfs needs root and mount(8); only /dev/full tests the full disk here');

  (canMount ? it : it.skip)('exits 3 on a full file system (64 kB tmpfs) and acknowledges only transactions written whole', async () => {
    const slot = await newSlot();
    const before = await confirmed(slot);
    await insertTransactions(40, 20); // about 200 kB of lines
    const mnt = mkdtempSync(join(tmpdir(), 'walstream-full-'));
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', mnt]);
    try {
      const out = join(mnt, 'out.jsonl');
      const { code, stderr } = await cli([...stream(slot, '-f', out, '-F', '0'), '-E', await currentLsn()]);
      expect(code).toBe(3);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stderr).toMatch(/no space left on device \(ENOSPC\)/);
      await released(slot);
      const lines = readFileSync(out, 'utf8').split('\n');
      const commits = lines.filter((l) => l.startsWith('{"type":"commit"')).map((l) => JSON.parse(l) as { endLsn: string });
      const ack = await confirmed(slot);
      // Acknowledged no further than the last commit line that is in the file whole.
      const lastWritten = commits.length === 0 ? lsnValue(before) : lsnValue(commits[commits.length - 1].endLsn);
      expect(lsnValue(ack)).toBeLessThanOrEqual(lastWritten);
    } finally {
      execFileSync('umount', [mnt]);
      rmSync(mnt, { recursive: true, force: true });
    }
  });

  it('exits 3 with one line when the reader closes the pipe (| head -1), and stops acknowledging', async () => {
    const slot = await newSlot();
    await insertTransactions(50, 200); // several MB of lines: far more than a pipe holds
    const end = await currentLsn();
    const child = spawn(process.execPath, [BIN, ...stream(slot, '-E', end)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const firstLine = await new Promise<string>((resolve) => {
      let text = '';
      const onData = (d: Buffer) => {
        text += d.toString();
        if (text.includes('\n')) {
          child.stdout.off('data', onData);
          child.stdout.destroy(); // what head -1 does once it has its line
          resolve(text.split('\n')[0]);
        }
      };
      child.stdout.on('data', onData);
    });
    expect(JSON.parse(firstLine)).toMatchObject({ type: 'begin' });
    expect(await exited(child)).toBe(3);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^pg-walstream: error: cannot write to standard output: the reader closed the pipe \(EPIPE\)$/m);
    await released(slot);
    expect(lsnValue(await confirmed(slot))).toBeLessThan(lsnValue(end));
  });

  it('exits 3 on a closed pipe without --endpos too: the failed write ends the stream at once', async () => {
    const slot = await newSlot();
    await insertTransactions(50, 200);
    const end = await currentLsn();
    const child = spawn(process.execPath, [BIN, ...stream(slot)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.stdout.once('data', () => child.stdout.destroy());
    expect(await exited(child)).toBe(3);
    expect(stderr).toMatch(/^pg-walstream: error: cannot write to standard output: the reader closed the pipe \(EPIPE\)$/m);
    await released(slot);
    expect(lsnValue(await confirmed(slot))).toBeLessThan(lsnValue(end));
  });

  it('with -f, acknowledges a transaction only after an fsync covers it (--fsync-interval), and at a clean stop', async () => {
    const slot = await newSlot();
    const before = await confirmed(slot);
    const out = join(dir, 'fsync.jsonl');
    const child = spawn(process.execPath, [BIN, ...stream(slot, '-f', out, '--fsync-interval', '60000')], { stdio: 'ignore' });
    await insertTransactions(1, 1);
    await waitFor(() => {
      try {
        return readFileSync(out, 'utf8').includes('"type":"commit"');
      } catch {
        return false;
      }
    }, 20_000, 'the commit line');
    const commitEnd = (JSON.parse(readFileSync(out, 'utf8').trim().split('\n').at(-1)!) as { endLsn: string }).endLsn;
    // Written, but no fsync yet: status updates (every 100 ms) still report the old position.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await confirmed(slot)).toBe(before);
    child.kill('SIGINT'); // a clean stop fsyncs, then acknowledges
    expect(await exited(child)).toBe(0);
    await released(slot);
    expect(lsnValue(await confirmed(slot))).toBeGreaterThanOrEqual(lsnValue(commitEnd));
  });

  it('with --fsync-interval 0, acknowledges once written, and -f appends', async () => {
    const slot = await newSlot();
    const out = join(dir, 'append.jsonl');
    execFileSync('sh', ['-c', `echo '{"kept":true}' > ${out}`]);
    const child = spawn(process.execPath, [BIN, ...stream(slot, '-f', out, '--fsync-interval', '0')], { stdio: 'ignore' });
    await insertTransactions(1, 1);
    await waitFor(() => readFileSync(out, 'utf8').includes('"type":"commit"'), 20_000, 'the commit line');
    const commitEnd = (JSON.parse(readFileSync(out, 'utf8').trim().split('\n').at(-1)!) as { endLsn: string }).endLsn;
    await waitFor(async () => lsnValue(await confirmed(slot)) >= lsnValue(commitEnd), 10_000, 'acknowledged without fsync');
    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
    expect(readFileSync(out, 'utf8').split('\n')[0]).toBe('{"kept":true}');
  });
});
