// Reads the journal of spec/support/journal-consumer.js and runs that consumer as a child process.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface JournalTx {
  pid: number;
  xid: number;
  gid: string | undefined;
  endLsn: bigint;
  commitLsn: bigint;
  ids: number[];
}

export interface Journal {
  txs: JournalTx[];
  held: string[];
  stalled: boolean;
  errors: string[];
}

export function readJournal(file: string): Journal {
  const j: Journal = { txs: [], held: [], stalled: false, errors: [] };
  if (!existsSync(file)) return j;
  for (const l of readFileSync(file, 'utf8').split('\n')) {
    const [kind, ...f] = l.split(' ');
    if (kind === 'T') j.txs.push({ pid: Number(f[0]), xid: Number(f[1]), gid: f[2] === '-' ? undefined : f[2], endLsn: BigInt(f[3]), commitLsn: BigInt(f[4]), ids: f[5] ? f[5].split(',').map(Number) : [] });
    else if (kind === 'P') j.held.push(f[1]);
    else if (kind === 'W') j.stalled = true;
    else if (kind === 'E') j.errors.push(f.join(' '));
  }
  return j;
}

/** Distinct ids applied, sorted. */
export function appliedIds(j: Journal): number[] {
  return [...new Set(j.txs.flatMap((t) => t.ids))].sort((a, b) => a - b);
}

export function startJournalConsumer(url: string, names: { slot: string; publication: string }, journal: string, options: Record<string, unknown> = {}): ChildProcess {
  return spawn(process.execPath, [join(__dirname, 'journal-consumer.js'), url, names.slot, names.publication, journal, JSON.stringify(options)], { stdio: ['ignore', 'ignore', 'inherit'] });
}

export function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}
