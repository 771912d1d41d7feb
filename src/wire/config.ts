import { userInfo } from 'node:os';
import { parse as parseConnectionString } from 'pg-connection-string';
import { ConfigurationError } from '../errors';

/**
 * Where and as whom to connect. Explicit fields win over `connectionString`, which wins over the
 * libpq environment variables `PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD` and `PGDATABASE`.
 *
 * @example
 * const options: ConnectionOptions = { connectionString: 'postgres://repl@db:5432/app', password: () => vault.get('repl') };
 */
export interface ConnectionOptions {
  /** A `postgres://` URL or a libpq keyword string, parsed by `pg-connection-string`. */
  connectionString?: string;
  /** Host name or IP address; a value starting with `/` is the directory of a Unix-domain socket. Default `localhost`. */
  host?: string;
  /** TCP port, or the Unix socket's number. Default 5432. */
  port?: number;
  /** Role name. Default: `PGUSER`, then the operating system user. */
  user?: string;
  /** Password, or a function that produces one at each connection attempt. Never logged or shown. */
  password?: string | (() => string | Promise<string>);
  /** Database. Default: `PGDATABASE`, then the user name. */
  database?: string;
  /** `application_name`, shown in `pg_stat_replication`. Default `pg-walstream`. */
  applicationName?: string;
  /** Milliseconds to wait for the TCP connection and authentication. Default 30000; 0 waits forever. */
  connectTimeout?: number;
  /** Upper bound on the SCRAM iteration count a server may demand, so a hostile server cannot burn CPU. Default 1000000. */
  maxScramIterations?: number;
}

/** The settings actually used; `password` is kept out of enumeration so it never lands in logs. */
export interface ResolvedConfig {
  host: string;
  port: number;
  user: string;
  database: string;
  applicationName: string;
  connectTimeout: number;
  maxScramIterations: number;
  readonly password?: string | (() => string | Promise<string>);
}

/**
 * Resolves options, connection string and environment into one configuration.
 * @throws {ConfigurationError} for an unparsable connection string or port.
 */
export function resolveConfig(options: ConnectionOptions | string = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const opts: ConnectionOptions = typeof options === 'string' ? { connectionString: options } : options;
  const fromString = parseUrl(opts.connectionString);
  const user = opts.user ?? fromString.user ?? env.PGUSER ?? osUser();
  const portText = opts.port ?? fromString.port ?? env.PGPORT ?? 5432;
  const port = Number(portText);
  if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigurationError(`invalid port ${JSON.stringify(String(portText))}`);
  const config: ResolvedConfig = {
    host: opts.host ?? fromString.host ?? env.PGHOST ?? 'localhost',
    port,
    user,
    database: opts.database ?? fromString.database ?? env.PGDATABASE ?? user,
    applicationName: opts.applicationName ?? fromString.application_name ?? 'pg-walstream',
    connectTimeout: opts.connectTimeout ?? 30_000,
    maxScramIterations: opts.maxScramIterations ?? 1_000_000,
  };
  const password = opts.password ?? fromString.password ?? env.PGPASSWORD;
  if (password !== undefined) Object.defineProperty(config, 'password', { value: password, enumerable: false });
  return config;
}

/** Produces the password for one attempt, or undefined when none was configured. */
export async function passwordOf(config: ResolvedConfig): Promise<string | undefined> {
  const p = config.password;
  return typeof p === 'function' ? await p() : p;
}

type Parsed = { host?: string; port?: string; user?: string; password?: string; database?: string; application_name?: string };

/** Parses a connection string, dropping the empty values pg-connection-string gives for absent parts. */
function parseUrl(text: string | undefined): Parsed {
  if (text === undefined) return {};
  let parsed: Record<string, unknown>;
  try {
    parsed = parseConnectionString(text) as Record<string, unknown>;
  } catch (err) {
    throw new ConfigurationError(`invalid connection string: ${(err as Error).message}`);
  }
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) if (typeof v === 'string' && v !== '') out[k] = v;
  return out as Parsed;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return 'postgres';
  }
}
