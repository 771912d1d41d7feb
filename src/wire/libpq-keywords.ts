import { ConfigurationError } from '../errors';

/**
 * libpq keywords pg-walstream refuses, each with the reason (libpq's list: `PQconninfoOptions` in
 * `fe-connect.c`, PostgreSQL 18). Refusing is safer than dropping: a user who writes
 * `requirepeer=postgres` expects the check to happen.
 */
export const REJECTED_KEYWORDS: Readonly<Record<string, string>> = {
  requirepeer: 'the peer credential check of a Unix-domain socket is not available in Node.js',
  krbsrvname: 'GSSAPI authentication is not supported',
  gsslib: 'GSSAPI authentication is not supported',
  gssdelegation: 'GSSAPI authentication is not supported',
  service: 'connection service files (pg_service.conf) are not read; give the settings themselves',
  scram_client_key: 'SCRAM pass-through keys are not supported',
  scram_server_key: 'SCRAM pass-through keys are not supported',
  oauth_issuer: 'OAuth authentication is not supported',
  oauth_client_id: 'OAuth authentication is not supported',
  oauth_client_secret: 'OAuth authentication is not supported',
  oauth_scope: 'OAuth authentication is not supported',
  replication: 'pg-walstream sets the replication mode itself (database for logical, true for physical)',
  // node-postgres's `ssl=true` has no libpq meaning; ignoring it would silently weaken what the user asked for.
  ssl: 'node-postgres\'s "ssl" is not a libpq keyword: use sslmode=require, verify-ca or verify-full',
};

/** Environment variables that name a refused keyword's setting. GSS-only tuning variables are harmless without GSS and stay ignored. */
const REJECTED_ENV: Readonly<Record<string, string>> = { PGREQUIREPEER: 'requirepeer', PGSERVICE: 'service' };

/**
 * Throws for a keyword pg-walstream refuses.
 * @throws {ConfigurationError} naming the keyword and the reason.
 */
export function rejectKeyword(keyword: string): never {
  const reason = REJECTED_KEYWORDS[keyword];
  throw new ConfigurationError(reason === undefined ? `unknown connection string keyword "${keyword}"` : `connection string keyword "${keyword}" is not supported: ${reason}`);
}

/**
 * Refuses environment variables whose setting pg-walstream cannot honour (`PGREQUIREPEER`, `PGSERVICE`).
 * @throws {ConfigurationError} naming the variable.
 */
export function checkEnvironment(env: NodeJS.ProcessEnv): void {
  for (const [name, keyword] of Object.entries(REJECTED_ENV)) {
    if (env[name] !== undefined && env[name] !== '') throw new ConfigurationError(`environment variable ${name} is not supported: ${REJECTED_KEYWORDS[keyword]}`);
  }
}

/**
 * Refuses a libpq `key=value` connection string: pg-connection-string parses only URLs, and
 * reading `host=db dbname=app` as a database name would connect somewhere else.
 * @throws {ConfigurationError} when `text` looks like `keyword=value ...`.
 */
export function rejectKeyValueString(text: string): void {
  if (!/^[A-Za-z][A-Za-z0-9+.-]*:\/\//.test(text) && !text.startsWith('/') && /^\s*[A-Za-z_]+\s*=/.test(text)) {
    throw new ConfigurationError('libpq key=value connection strings are not supported: write a URL, postgres://user@host:port/dbname?keyword=value');
  }
}

/**
 * Takes a multi-host list out of a URL's authority (`postgres://u@a:1,b:2/db`, libpq's
 * "Specifying Multiple Hosts"), which `new URL` cannot parse, leaving the first host in place.
 * Returns the hosts and ports as libpq's comma-separated `host` and `port` values, or undefined
 * for a single-host URL.
 */
export function splitUrlHosts(url: string): { url: string; host: string; port: string } | undefined {
  const m = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/)([^/?#]*)(.*)$/s.exec(url);
  if (m === null) return undefined;
  const at = m[2].lastIndexOf('@');
  const userinfo = at < 0 ? '' : m[2].slice(0, at + 1);
  const list = m[2].slice(at + 1);
  if (!list.includes(',')) return undefined;
  const hosts: string[] = [];
  const ports: string[] = [];
  for (const item of list.split(',')) {
    const v6 = /^\[([^\]]*)\](?::(.*))?$/.exec(item);
    const [host, port] = v6 !== null ? [v6[1], v6[2] ?? ''] : item.includes(':') ? [item.slice(0, item.indexOf(':')), item.slice(item.indexOf(':') + 1)] : [item, ''];
    hosts.push(decodeURIComponent(host));
    ports.push(port);
  }
  const first = list.split(',')[0];
  return { url: m[1] + userinfo + first + m[3], host: hosts.join(','), port: ports.every((p) => p === '') ? '' : ports.join(',') };
}
