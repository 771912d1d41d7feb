import { randomBytes } from 'node:crypto';
import { type OperatorFunction, defer, takeWhile, toArray } from 'rxjs';
import type { PgoutputMessage } from '../../src';
import { Client } from 'pg';

/** A server chosen by global-setup.mjs. */
export interface TestServer {
  /** Label for test names, e.g. `default` or `debian-15`. */
  label: string;
  url: string;
  /** The data directory, when the tests started the server themselves (so they may edit pg_hba.conf). */
  dataDir?: string;
  /** The directory of this server's binaries (initdb, pg_ctl, postgres), when known: start another server of the same version with it. */
  binDir?: string;
}

/** The default server: PG_TEST_URL, a testcontainer or embedded PostgreSQL 18. */
export function defaultServer(): TestServer {
  const url = process.env.PG_TEST_URL;
  if (!url) throw new Error('PG_TEST_URL is not set: run the tests through jest, whose global setup starts a server');
  return { label: process.env.PG_TEST_VERSION ? `pg${process.env.PG_TEST_VERSION}` : 'default', url, dataDir: process.env.PG_TEST_DATADIR, binDir: process.env.PG_TEST_BINDIR };
}

/** Every server of this run: the default, and Debian's PostgreSQL 15 where installed. */
export function allServers(): TestServer[] {
  const servers = [defaultServer()];
  if (process.env.PG_TEST_URL_15) servers.push({ label: 'debian-15', url: process.env.PG_TEST_URL_15, dataDir: process.env.PG_TEST_DATADIR_15, binDir: process.env.PG_TEST_BINDIR_15 });
  return servers;
}

/** A SQL client (node-postgres) for setting up schema and writing workloads. */
export async function sqlClient(url: string): Promise<Client> {
  const client = new Client({ connectionString: url });
  await client.connect();
  return client;
}

/** A fresh lower-case identifier, so tests that share a server do not collide. */
export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(5).toString('hex')}`;
}

/** Polls `check` every 50 ms until it returns true, or fails after `timeout` ms. */
export async function waitFor(check: () => Promise<boolean> | boolean, timeout = 20_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeout;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Collects pgoutput messages up to and including the `n`th commit of a transaction that carried
 * something, then unsubscribes. Empty transactions do not count: PostgreSQL 14 sends Begin and
 * Commit for every transaction, other tests' and DDL's included; 15+ skips them.
 */
export function untilCommits(n: number): OperatorFunction<PgoutputMessage, PgoutputMessage[]> {
  return (source) =>
    defer(() => {
      let commits = 0;
      let empty = true;
      return source.pipe(
        takeWhile((m) => {
          if (m.type === 'begin') empty = true;
          else if (m.type !== 'commit') empty = false;
          else if (!empty && ++commits === n) return false;
          return true;
        }, true),
        toArray(),
      );
    });
}

/** The messages without empty transactions (Begin then Commit), which PostgreSQL 14 sends for other sessions' work. */
export function withoutEmptyTransactions(msgs: PgoutputMessage[]): PgoutputMessage[] {
  return msgs.filter((m, i) => !(m.type === 'begin' && msgs[i + 1]?.type === 'commit') && !(m.type === 'commit' && msgs[i - 1]?.type === 'begin'));
}
