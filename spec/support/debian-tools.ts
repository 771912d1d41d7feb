import { existsSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Debian's PostgreSQL 15 (`postgresql-15`): its server and the reference tools the parity tests
 * compare against (pg_recvlogical, pg_receivewal, pg_basebackup, pg_verifybackup). `.ci/run`
 * installs it where it can.
 */
export const DEBIAN_15 = '/usr/lib/postgresql/15/bin';

/** The path of one of Debian's PostgreSQL 15 programs. */
export function debianTool(tool: string): string {
  return join(DEBIAN_15, tool);
}

/** Why the tools cannot be used (the first missing one), or undefined when all are installed. */
export function missingDebianTools(tools: readonly string[]): string | undefined {
  const missing = tools.filter((t) => !existsSync(debianTool(t)));
  if (missing.length === 0) return undefined;
  return `needs Debian's PostgreSQL 15 (${missing.join(', ')} not found in ${DEBIAN_15}; apt-get install postgresql-15)`;
}

const inCi = () => process.env.CI === 'true';

/**
 * `it` for a test that needs Debian's PostgreSQL 15 tools: it runs when they are installed;
 * otherwise it is reported as skipped with the reason in its title, and with CI=true it fails
 * with that reason, so a reference check never vanishes silently.
 */
export function itWithDebianTools(tools: readonly string[], name: string, fn: jest.ProvidesCallback, timeout?: number): void {
  const reason = missingDebianTools(tools);
  if (reason === undefined) it(name, fn, timeout);
  else if (inCi()) it(name, () => { throw new Error(`${reason}, and CI=true requires it`); });
  else it.skip(`${name} [skipped: ${reason}]`, fn);
}

/** `describe` for a group of tests that needs Debian's PostgreSQL 15 tools; see {@link itWithDebianTools}. */
export function describeWithDebianTools(tools: readonly string[], name: string, fn: () => void): void {
  const reason = missingDebianTools(tools);
  if (reason === undefined) describe(name, fn);
  else if (inCi()) describe(name, () => it('has the tools it needs', () => { throw new Error(`${reason}, and CI=true requires it`); }));
  else describe.skip(`${name} [skipped: ${reason}]`, fn);
}
