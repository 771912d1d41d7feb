import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Client } from 'pg';
import { type Done, confirmedFlush, createFixture, sampleSlot, verifyDelivery, writeWorkload } from '../support/delivery';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

const CHILD = join(__dirname, '../support/crash-consumer.js');

interface Journal {
  done: Done[];
  /** The transaction a process was in the middle of when its journal stops: begun, not committed. */
  partial: Array<{ pid: number; commitLsn: bigint; endLsn: bigint; rows: number }>;
  committedLines: number;
  lastLine: string;
  errors: string[];
}

/** Reads the consumers' journal: B pid xid commitLsn endLsn / R id / C endLsn time / E error. */
function readJournal(file: string): Journal {
  const j: Journal = { done: [], partial: [], committedLines: 0, lastLine: '', errors: [] };
  if (!existsSync(file)) return j;
  const lines = readFileSync(file, 'utf8').split('\n').filter((l) => l !== '');
  let open: { pid: number; commitLsn: bigint; endLsn: bigint; ids: number[] } | undefined;
  for (const line of lines) {
    const [kind, ...f] = line.split(' ');
    if (kind === 'B') {
      if (open !== undefined) j.partial.push({ pid: open.pid, commitLsn: open.commitLsn, endLsn: open.endLsn, rows: open.ids.length });
      open = { pid: Number(f[0]), commitLsn: BigInt(f[2]), endLsn: BigInt(f[3]), ids: [] };
    } else if (kind === 'R') open?.ids.push(Number(f[0]));
    else if (kind === 'C' && open !== undefined) {
      j.done.push({ commitLsn: open.commitLsn, endLsn: open.endLsn, ids: open.ids, at: Number(f[1]) });
      j.committedLines++;
      open = undefined;
    } else if (kind === 'E') j.errors.push(f.join(' '));
  }
  if (open !== undefined) j.partial.push({ pid: open.pid, commitLsn: open.commitLsn, endLsn: open.endLsn, rows: open.ids.length });
  j.lastLine = lines[lines.length - 1] ?? '';
  return j;
}

describe('at-least-once delivery across a consumer crash (SIGKILL)', () => {
  const url = defaultServer().url;
  let sql: Client;
  let dir: string;
  const names = { table: uniqueName('t'), publication: uniqueName('pub'), slot: uniqueName('slot') };
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    sql = await sqlClient(url);
    await createFixture(sql, names);
    dir = mkdtempSync(join(tmpdir(), 'walstream-crash-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [names.slot])).rowCount === 0, 10_000, 'slot release');
    await sql.query('SELECT pg_drop_replication_slot($1)', [names.slot]);
    await sql.query(`DROP PUBLICATION ${names.publication}`);
    await sql.query(`DROP TABLE ${names.table}`);
    await sql.end();
    rmSync(dir, { recursive: true, force: true });
  });

  const start = (journal: string) => {
    const child = spawn(process.execPath, [CHILD, url, names.slot, names.publication, journal], { stdio: ['ignore', 'ignore', 'inherit'] });
    children.push(child);
    return child;
  };
  const exited = (child: ChildProcess) => new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));

  it('a new process resumes after the previous one is killed mid-transaction, losing and reordering nothing', async () => {
    const journal = join(dir, 'journal');
    const nextId = await writeWorkload(url, names.table, { firstId: 1, transactions: 150, rows: 5 });
    const sampler = sampleSlot(url, names.slot, 20);
    const atKill: Array<{ confirmed: bigint }> = [];
    for (const committed of [20, 60]) {
      const child = start(journal);
      // Kill it between two rows of a transaction, past `committed` finished transactions.
      await waitFor(() => {
        const j = readJournal(journal);
        return j.errors.length > 0 || (j.committedLines >= committed && j.lastLine.startsWith('R'));
      }, 30_000, `${committed} transactions and a row in flight`);
      child.kill('SIGKILL');
      await exited(child);
      atKill.push({ confirmed: await confirmedFlush(sql, names.slot) });
    }
    const last = start(journal);
    await waitFor(() => {
      const j = readJournal(journal);
      return j.errors.length > 0 || new Set(j.done.flatMap((d) => d.ids)).size === nextId - 1;
    }, 60_000, 'every row journaled by the last process');
    const j = readJournal(journal);
    expect(j.errors).toEqual([]);
    const lastEnd = j.done.reduce((m, d) => (d.endLsn > m ? d.endLsn : m), 0n);
    await waitFor(async () => (await confirmedFlush(sql, names.slot)) >= lastEnd, 10_000, 'confirmed_flush_lsn to reach the last transaction');
    await sampler.stop();
    last.kill('SIGKILL');
    await exited(last);

    verifyDelivery(j.done, sampler.samples, 1, nextId);
    // Each killed process left one transaction half journaled; the slot had not passed it, and
    // the next process delivered it again, whole.
    // (A loaded machine may let a process finish its transaction between the check and the SIGKILL:
    // at least one of the two kills lands mid-transaction.)
    const killedMidway = j.partial.filter((p) => p.rows > 0);
    expect(killedMidway.length).toBeGreaterThanOrEqual(1);
    expect(killedMidway.length).toBeLessThanOrEqual(2);
    killedMidway.forEach((p) => {
      expect(atKill.some((k) => k.confirmed <= p.commitLsn)).toBe(true);
      expect(j.done.some((d) => d.endLsn === p.endLsn)).toBe(true);
    });
  });
});
