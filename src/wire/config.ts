import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { parse as parseConnectionString } from 'pg-connection-string';
import { ConfigurationError } from '../errors';
import { checkEnvironment, rejectKeyValueString, rejectKeyword, splitUrlHosts } from './libpq-keywords';
import { type HostTarget, TARGET_SESSION_ATTRS, type TargetSessionAttrs, hostTargets } from './multi-host';

/** libpq's `sslmode`: how hard to insist on TLS and how much of the server certificate to check. */
export type SslMode = 'disable' | 'allow' | 'prefer' | 'require' | 'verify-ca' | 'verify-full';
/** libpq's `sslnegotiation`: `postgres` sends SSLRequest first; `direct` starts TLS at once (PostgreSQL 17+). */
export type SslNegotiation = 'postgres' | 'direct';
/** libpq's `channel_binding` for SCRAM-SHA-256-PLUS. */
export type ChannelBinding = 'disable' | 'prefer' | 'require';
/** TLS protocol versions, as libpq's `ssl_min_protocol_version` and Node spell them. */
export type TlsProtocolVersion = 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';

/**
 * Where and as whom to connect, and how to secure it. Explicit fields win over `connectionString`,
 * which wins over the libpq environment variables (`PGHOST`, `PGPORT`, `PGUSER`, `PGPASSWORD`,
 * `PGDATABASE`, `PGSSLMODE`, `PGSSLROOTCERT`, ... — see docs/security.md). TLS and authentication
 * settings follow libpq ("Database Connection Control Functions" and "SSL Support" in the libpq docs).
 *
 * @example
 * const options: ConnectionOptions = {
 *   connectionString: 'postgres://repl@db.example.com:5432/app?sslmode=verify-full&sslrootcert=/etc/ssl/db-ca.pem',
 *   password: () => vault.get('repl'),
 *   channelBinding: 'require',
 * };
 */
export interface ConnectionOptions {
  /**
   * A `postgres://` URL, parsed by `pg-connection-string`; every other libpq keyword goes in its
   * query string, and a keyword pg-walstream does not support is a {@link ConfigurationError}
   * naming it. Several hosts are written `postgres://u@a:5432,b:5433/db`. libpq's `key=value`
   * form is refused.
   */
  connectionString?: string;
  /** Host name or IP address; a value starting with `/` is the directory of a Unix-domain socket; `a,b` lists hosts tried in turn. Default `localhost`. */
  host?: string;
  /** libpq `hostaddr`: the numeric address(es) to dial instead of resolving `host`, which still names the server for TLS checks and the password file. */
  hostaddr?: string;
  /** TCP port, or the Unix socket's number; `5432,5433` gives one per host. Default 5432. */
  port?: number | string;
  /** Role name. Default: `PGUSER`, then the operating system user. */
  user?: string;
  /** Password, or a function that produces one at each connection attempt. Never logged or shown. Default: `PGPASSWORD`, then the password file. */
  password?: string | (() => string | Promise<string>);
  /** Database. Default: `PGDATABASE`, then the user name. */
  database?: string;
  /** `application_name`, shown in `pg_stat_replication`. Default: `PGAPPNAME`, libpq's `fallback_application_name`, then `pg-walstream`. */
  applicationName?: string;
  /** libpq `options`: command-line options for the server, such as `-c wal_sender_timeout=10s`. Default `PGOPTIONS`. */
  options?: string;
  /** libpq `target_session_attrs`: which server of a host list to keep. Default `any`. */
  targetSessionAttrs?: TargetSessionAttrs;
  /** libpq `load_balance_hosts`: `random` tries the hosts in random order. Default `disable`. */
  loadBalanceHosts?: 'disable' | 'random';
  /** Milliseconds to wait for the TCP connection, TLS and authentication, per attempt. Default 30000; 0 waits forever. */
  connectTimeout?: number;
  /** Upper bound on the SCRAM iteration count a server may demand, so a hostile server cannot burn CPU. Default 1000000. */
  maxScramIterations?: number;
  /** libpq `sslmode`. Default `prefer` (`verify-full` when `sslRootCert` is `system`). */
  sslMode?: SslMode;
  /** libpq `sslnegotiation`. Default `postgres`; `direct` needs `sslMode` `require` or stronger. */
  sslNegotiation?: SslNegotiation;
  /** libpq `sslrootcert`: a PEM file of trusted CAs, `system` for the system's store, or the PEM itself as a Buffer. Default `~/.postgresql/root.crt` if it exists. */
  sslRootCert?: string | Buffer;
  /** libpq `sslcert`: client certificate (PEM file, or Buffer). Default `~/.postgresql/postgresql.crt` if it exists. */
  sslCert?: string | Buffer;
  /** libpq `sslkey`: the client certificate's private key (PEM file, or Buffer). Default `~/.postgresql/postgresql.key`. */
  sslKey?: string | Buffer;
  /** libpq `sslpassword`: passphrase of an encrypted `sslKey`. Never logged or shown. */
  sslPassword?: string;
  /** libpq `sslcrl`: a PEM file of revoked certificates (or Buffer). Default `~/.postgresql/root.crl` if it exists. */
  sslCrl?: string | Buffer;
  /** libpq `sslcrldir`: a directory whose every file is a PEM CRL. */
  sslCrlDir?: string;
  /** libpq `sslsni`: send the host name as TLS SNI (never for an IP address). Default true. */
  sslSni?: boolean;
  /** libpq `ssl_min_protocol_version`. Default `TLSv1.2`. */
  sslMinProtocolVersion?: TlsProtocolVersion;
  /** libpq `ssl_max_protocol_version`. Default: no limit. */
  sslMaxProtocolVersion?: TlsProtocolVersion;
  /** libpq `channel_binding`. Default `prefer`: SCRAM-SHA-256-PLUS whenever TLS is on and the server offers it. */
  channelBinding?: ChannelBinding;
  /** libpq `require_auth`: methods the server may use (`password`, `md5`, `scram-sha-256`, `gss`, `sspi`, `none`), or all of them negated with `!`. */
  requireAuth?: string | string[];
  /** libpq `passfile`. Default: `PGPASSFILE`, then `~/.pgpass`. */
  passfile?: string;
  /** libpq `keepalives`: TCP keepalive on the socket. Default true. */
  keepalives?: boolean;
  /** libpq `keepalives_idle`: seconds of silence before the first TCP keepalive probe. Default 10 (libpq: the system's, often 7200). */
  keepalivesIdle?: number;
  /** libpq `keepalives_interval`: seconds between probes. Accepted and validated; Node cannot set it, so the system's value applies. */
  keepalivesInterval?: number;
  /** libpq `keepalives_count`: probes lost before the connection is dead. Accepted and validated; Node cannot set it, so the system's value applies. */
  keepalivesCount?: number;
  /** libpq `tcp_user_timeout`, in ms. Accepted and validated; Node cannot set TCP_USER_TIMEOUT, so the sources' `receiveTimeout` bounds a dead peer instead. */
  tcpUserTimeout?: number;
  /**
   * Send a password in clear text over unencrypted TCP when the server asks for it (pg_hba.conf
   * `password`). Default false: unlike libpq, that request is refused unless `requireAuth` lists
   * `password` or this is true (see docs/security.md). TLS connections and Unix sockets are not affected.
   */
  allowCleartextPassword?: boolean;
}

/** TCP keepalive settings after defaults (libpq's keywords; seconds, and ms for `userTimeout`). */
export interface KeepaliveSettings {
  enabled: boolean;
  idle: number;
  interval?: number;
  count?: number;
  userTimeout?: number;
}

/** TLS settings after defaults; `password` and `key` are kept out of enumeration. */
export interface TlsSettings {
  mode: SslMode;
  negotiation: SslNegotiation;
  /** An explicit root certificate (path, `system`, or PEM bytes); else `defaultDir/root.crt` when it exists. */
  rootCert?: string | Buffer;
  cert?: string | Buffer;
  readonly key?: string | Buffer;
  readonly password?: string;
  crl?: string | Buffer;
  crlDir?: string;
  sni: boolean;
  minProtocolVersion: TlsProtocolVersion;
  maxProtocolVersion?: TlsProtocolVersion;
  /** `~/.postgresql`, where libpq looks for default certificate files. */
  defaultDir: string;
  /** libpq `sslcertmode`: `disable` never sends a client certificate. Default `allow`. */
  certMode?: 'disable' | 'allow';
}

/** The settings actually used; secrets are kept out of enumeration so they never land in logs. */
export interface ResolvedConfig {
  /** The host being connected to (the first of `hosts` until a connection picks another). */
  host: string;
  /** Its `hostaddr`, when given. */
  hostaddr?: string;
  port: number;
  /** Every host to try, in order (libpq's multi-host lists). */
  hosts: HostTarget[];
  targetSessionAttrs: TargetSessionAttrs;
  loadBalanceHosts: 'disable' | 'random';
  /** libpq `options`, sent in the startup packet. */
  options?: string;
  user: string;
  database: string;
  applicationName: string;
  connectTimeout: number;
  maxScramIterations: number;
  ssl: TlsSettings;
  channelBinding: ChannelBinding;
  /** The `require_auth` text as given, validated; undefined allows every method. */
  requireAuth?: string;
  /** The password file to consult when no password is given. */
  passfile: string;
  keepalive: KeepaliveSettings;
  /** Whether a cleartext password may travel over unencrypted TCP. */
  allowCleartextPassword?: boolean;
  readonly password?: string | (() => string | Promise<string>);
}

/** Connection-string keywords handled here rather than by pg-connection-string (which would read certificate files itself). */
const LIBPQ_KEYWORDS = [
  'sslmode',
  'sslnegotiation',
  'sslrootcert',
  'sslcert',
  'sslkey',
  'sslpassword',
  'sslcrl',
  'sslcrldir',
  'sslsni',
  'ssl_min_protocol_version',
  'ssl_max_protocol_version',
  'channel_binding',
  'require_auth',
  'passfile',
  'connect_timeout',
  'keepalives',
  'keepalives_idle',
  'keepalives_interval',
  'keepalives_count',
  'tcp_user_timeout',
] as const;

/** The other libpq keywords handled here: where to connect, what to send at startup, and values checked against what pg-walstream does (see libpq-keywords.ts for those refused). */
const CONNECTION_KEYWORDS = [
  'host',
  'hostaddr',
  'port',
  'dbname',
  'user',
  'password',
  'application_name',
  'fallback_application_name',
  'options',
  'target_session_attrs',
  'load_balance_hosts',
  'client_encoding',
  'sslcompression',
  'sslcertmode',
  'gssencmode',
  'min_protocol_version',
  'max_protocol_version',
] as const;
type LibpqKeyword = (typeof LIBPQ_KEYWORDS)[number] | (typeof CONNECTION_KEYWORDS)[number];

const SSL_MODES: readonly SslMode[] = ['disable', 'allow', 'prefer', 'require', 'verify-ca', 'verify-full'];
const TLS_VERSIONS: readonly TlsProtocolVersion[] = ['TLSv1', 'TLSv1.1', 'TLSv1.2', 'TLSv1.3'];

/**
 * Resolves options, connection string and environment into one configuration.
 * @throws {ConfigurationError} for an unparsable connection string or port, an unknown `sslmode`,
 * `sslnegotiation`, `channel_binding` or `require_auth` value, or a combination libpq refuses
 * (`sslnegotiation=direct` or `sslrootcert=system` with a weak `sslmode`).
 */
export function resolveConfig(options: ConnectionOptions | string = {}, env: NodeJS.ProcessEnv = process.env): ResolvedConfig {
  const opts: ConnectionOptions = typeof options === 'string' ? { connectionString: options } : options;
  checkEnvironment(env);
  let keywords: Partial<Record<LibpqKeyword, string>> = {};
  let rest = opts.connectionString;
  let urlHosts: { host: string; port: string } | undefined;
  if (rest !== undefined) {
    rejectKeyValueString(rest);
    const split = splitUrlHosts(rest);
    if (split !== undefined) ({ url: rest, ...urlHosts } = split);
    ({ rest, keywords } = splitLibpqKeywords(rest));
  }
  const fromString = parseUrl(rest);
  const user = opts.user ?? keywords.user ?? fromString.user ?? env.PGUSER ?? osUser();
  const portText = String(opts.port ?? keywords.port ?? (urlHosts?.port || undefined) ?? fromString.port ?? env.PGPORT ?? '');
  const hostText = opts.host ?? keywords.host ?? urlHosts?.host ?? fromString.host ?? env.PGHOST;
  const hosts = hostTargets(hostText, opts.hostaddr ?? keywords.hostaddr ?? env.PGHOSTADDR, portText, 'localhost');
  const home = env.HOME ?? safeHomedir();
  const timeoutText = keywords.connect_timeout ?? env.PGCONNECT_TIMEOUT;
  const connectTimeout = opts.connectTimeout ?? (timeoutText !== undefined ? libpqConnectTimeout(timeoutText) : 30_000);
  if (!Number.isFinite(connectTimeout) || connectTimeout < 0) throw new ConfigurationError(`invalid connect_timeout ${JSON.stringify(String(opts.connectTimeout))}`);
  checkUnsupportedValues(keywords, env);
  const config: ResolvedConfig = {
    host: hosts[0].host,
    port: hosts[0].port,
    hosts,
    targetSessionAttrs: oneOf('target_session_attrs', opts.targetSessionAttrs ?? keywords.target_session_attrs ?? env.PGTARGETSESSIONATTRS ?? 'any', TARGET_SESSION_ATTRS),
    loadBalanceHosts: oneOf('load_balance_hosts', opts.loadBalanceHosts ?? keywords.load_balance_hosts ?? env.PGLOADBALANCEHOSTS ?? 'disable', ['disable', 'random']),
    user,
    database: opts.database ?? keywords.dbname ?? fromString.database ?? env.PGDATABASE ?? user,
    applicationName: opts.applicationName ?? keywords.application_name ?? env.PGAPPNAME ?? keywords.fallback_application_name ?? 'pg-walstream',
    connectTimeout,
    maxScramIterations: opts.maxScramIterations ?? 1_000_000,
    ssl: resolveTls(opts, keywords, env, home),
    channelBinding: oneOf('channel_binding', opts.channelBinding ?? keywords.channel_binding ?? env.PGCHANNELBINDING ?? 'prefer', ['disable', 'prefer', 'require']),
    passfile: opts.passfile ?? keywords.passfile ?? env.PGPASSFILE ?? join(home, '.pgpass'),
    keepalive: resolveKeepalive(opts, keywords),
  };
  const requireAuth = opts.requireAuth ?? keywords.require_auth ?? env.PGREQUIREAUTH;
  if (requireAuth !== undefined && requireAuth !== '') {
    config.requireAuth = Array.isArray(requireAuth) ? requireAuth.join(',') : requireAuth;
    parseRequireAuth(config.requireAuth); // validates
  }
  if (opts.allowCleartextPassword === true) config.allowCleartextPassword = true;
  if (hosts[0].hostaddr !== undefined) config.hostaddr = hosts[0].hostaddr;
  const serverOptions = opts.options ?? keywords.options ?? env.PGOPTIONS;
  if (serverOptions !== undefined && serverOptions !== '') config.options = serverOptions;
  const password = opts.password ?? keywords.password ?? fromString.password ?? env.PGPASSWORD;
  if (password !== undefined) Object.defineProperty(config, 'password', { value: password, enumerable: false });
  return config;
}

function resolveTls(opts: ConnectionOptions, kw: Partial<Record<LibpqKeyword, string>>, env: NodeJS.ProcessEnv, home: string): TlsSettings {
  const rootCert = opts.sslRootCert ?? kw.sslrootcert ?? env.PGSSLROOTCERT;
  const explicitMode = opts.sslMode ?? kw.sslmode ?? env.PGSSLMODE;
  // libpq: sslrootcert=system makes verify-full the default and refuses anything weaker.
  const system = rootCert === 'system';
  const mode = oneOf('sslmode', explicitMode ?? (system ? 'verify-full' : 'prefer'), SSL_MODES);
  if (system && mode !== 'verify-full') {
    throw new ConfigurationError(`weak sslmode "${mode}" may not be used with sslrootcert=system (use "verify-full")`);
  }
  const negotiation = oneOf('sslnegotiation', opts.sslNegotiation ?? kw.sslnegotiation ?? env.PGSSLNEGOTIATION ?? 'postgres', ['postgres', 'direct']);
  if (negotiation === 'direct' && !['require', 'verify-ca', 'verify-full'].includes(mode)) {
    throw new ConfigurationError(`weak sslmode "${mode}" may not be used with sslnegotiation=direct (use "require", "verify-ca", or "verify-full")`);
  }
  const sniText = opts.sslSni ?? kw.sslsni ?? env.PGSSLSNI ?? true;
  const minProtocolVersion = oneOf('ssl_min_protocol_version', opts.sslMinProtocolVersion ?? kw.ssl_min_protocol_version ?? env.PGSSLMINPROTOCOLVERSION ?? 'TLSv1.2', TLS_VERSIONS);
  const maxText = opts.sslMaxProtocolVersion ?? kw.ssl_max_protocol_version ?? env.PGSSLMAXPROTOCOLVERSION;
  const settings: TlsSettings = {
    mode,
    negotiation,
    rootCert: nonEmpty(rootCert),
    cert: nonEmpty(opts.sslCert ?? kw.sslcert ?? env.PGSSLCERT),
    crl: nonEmpty(opts.sslCrl ?? kw.sslcrl ?? env.PGSSLCRL),
    crlDir: nonEmpty(opts.sslCrlDir ?? kw.sslcrldir ?? env.PGSSLCRLDIR),
    sni: sniText !== false && sniText !== '0',
    minProtocolVersion,
    maxProtocolVersion: maxText === undefined || maxText === '' ? undefined : oneOf('ssl_max_protocol_version', maxText, TLS_VERSIONS),
    defaultDir: join(home, '.postgresql'),
  };
  if (settings.maxProtocolVersion !== undefined && TLS_VERSIONS.indexOf(settings.maxProtocolVersion) < TLS_VERSIONS.indexOf(minProtocolVersion)) {
    throw new ConfigurationError(`invalid SSL protocol version range: ${minProtocolVersion} to ${settings.maxProtocolVersion}`);
  }
  if ((kw.sslcertmode ?? env.PGSSLCERTMODE) === 'disable') settings.certMode = 'disable';
  const key = nonEmpty(opts.sslKey ?? kw.sslkey ?? env.PGSSLKEY);
  if (key !== undefined) Object.defineProperty(settings, 'key', { value: key, enumerable: false });
  const sslPassword = opts.sslPassword ?? kw.sslpassword;
  if (sslPassword !== undefined && sslPassword !== '') Object.defineProperty(settings, 'password', { value: sslPassword, enumerable: false });
  return settings;
}

/** libpq's TCP keepalive keywords: `keepalives` is 0 or 1, the others non-negative integers. */
function resolveKeepalive(opts: ConnectionOptions, kw: Partial<Record<LibpqKeyword, string>>): KeepaliveSettings {
  const count = (name: string, value: number | string | undefined): number | undefined => {
    if (value === undefined || value === '') return undefined;
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new ConfigurationError(`invalid integer value "${value}" for connection option "${name}"`);
    return n;
  };
  const enabledText = opts.keepalives ?? kw.keepalives;
  if (enabledText !== undefined && ![true, false, '0', '1'].includes(enabledText)) throw new ConfigurationError(`invalid keepalives value: "${enabledText}" (expected 0 or 1)`);
  return {
    enabled: enabledText !== false && enabledText !== '0',
    idle: count('keepalives_idle', opts.keepalivesIdle ?? kw.keepalives_idle) ?? 10,
    interval: count('keepalives_interval', opts.keepalivesInterval ?? kw.keepalives_interval),
    count: count('keepalives_count', opts.keepalivesCount ?? kw.keepalives_count),
    userTimeout: count('tcp_user_timeout', opts.tcpUserTimeout ?? kw.tcp_user_timeout),
  };
}

/** A `require_auth` value taken apart: the methods listed, and whether they are forbidden (`!`) rather than allowed. */
export interface RequireAuth {
  negated: boolean;
  methods: ReadonlySet<AuthMethodName>;
}
export type AuthMethodName = 'password' | 'md5' | 'gss' | 'sspi' | 'scram-sha-256' | 'none';
const AUTH_METHODS: readonly AuthMethodName[] = ['password', 'md5', 'gss', 'sspi', 'scram-sha-256', 'none'];

/**
 * Parses libpq's `require_auth`: a comma-separated list of methods, all plain or all negated with `!`.
 * @throws {ConfigurationError} for an unknown method, a repeated one, or a mix of negated and plain methods.
 */
export function parseRequireAuth(text: string): RequireAuth {
  const methods = new Set<AuthMethodName>();
  let negated: boolean | undefined;
  for (const raw of text.split(',')) {
    const item = raw.trim();
    const neg = item.startsWith('!');
    const name = (neg ? item.slice(1) : item) as AuthMethodName;
    if (!AUTH_METHODS.includes(name)) throw new ConfigurationError(`invalid require_auth value: "${item}"`);
    if (negated !== undefined && negated !== neg) {
      throw new ConfigurationError(`${neg ? 'negative' : 'non-negative'} require_auth method "${item}" cannot be mixed with ${neg ? 'non-negative' : 'negative'} methods`);
    }
    negated = neg;
    if (methods.has(name)) throw new ConfigurationError(`require_auth method "${name}" is specified more than once`);
    methods.add(name);
  }
  return { negated: negated ?? false, methods };
}

/**
 * Takes libpq keywords out of a URL's query string, leaving the rest to pg-connection-string,
 * which would otherwise read certificate files itself and warn about libpq's sslmode semantics.
 */
function splitLibpqKeywords(connectionString: string): { rest: string; keywords: Partial<Record<LibpqKeyword, string>> } {
  const q = connectionString.indexOf('?');
  if (connectionString.startsWith('/') || q < 0) return { rest: connectionString, keywords: {} };
  const params = new URLSearchParams(connectionString.slice(q + 1));
  const keywords: Partial<Record<LibpqKeyword, string>> = {};
  for (const key of [...LIBPQ_KEYWORDS, ...CONNECTION_KEYWORDS]) {
    const value = params.get(key);
    if (value !== null) keywords[key] = value;
    params.delete(key);
  }
  // No keyword is silently dropped.
  for (const key of new Set(params.keys())) rejectKeyword(key);
  const query = params.toString();
  return { rest: connectionString.slice(0, q) + (query === '' ? '' : `?${query}`), keywords };
}

/** libpq's connect_timeout: whole seconds; 0 or less waits forever; 1 counts as 2 (`PQconnectPoll`). */
function libpqConnectTimeout(text: string): number {
  if (!/^\s*[-+]?\d+\s*$/.test(text)) throw new ConfigurationError(`invalid connect_timeout value "${text}": an integer number of seconds`);
  const seconds = Number(text);
  return seconds <= 0 ? 0 : Math.max(seconds, 2) * 1000;
}

/**
 * Keywords whose accepted values are what pg-walstream does anyway, refusing the others:
 * text is decoded as UTF-8, GSSAPI encryption is never used, protocol 3.0 is spoken, and a client
 * certificate is sent when configured. `sslcompression` is accepted and ignored, as libpq does
 * with OpenSSL builds that have no compression.
 * @throws {ConfigurationError} naming the keyword and value.
 */
function checkUnsupportedValues(kw: Partial<Record<LibpqKeyword, string>>, env: NodeJS.ProcessEnv): void {
  const encoding = kw.client_encoding ?? env.PGCLIENTENCODING;
  if (encoding !== undefined && !/^(utf-?8|unicode|auto)$/i.test(encoding)) {
    throw new ConfigurationError(`client_encoding "${encoding}" is not supported: pg-walstream decodes text as UTF-8 (use UTF8)`);
  }
  const gss = kw.gssencmode ?? env.PGGSSENCMODE;
  if (gss !== undefined && oneOf('gssencmode', gss, ['disable', 'prefer', 'require']) === 'require') {
    throw new ConfigurationError('gssencmode "require" is not supported: GSSAPI encryption is not available (use sslmode)');
  }
  const certMode = kw.sslcertmode ?? env.PGSSLCERTMODE;
  if (certMode !== undefined && oneOf('sslcertmode', certMode, ['disable', 'allow', 'require']) === 'require') {
    throw new ConfigurationError('sslcertmode "require" is not supported: Node.js cannot tell whether the server asked for the certificate');
  }
  const min = kw.min_protocol_version ?? env.PGMINPROTOCOLVERSION;
  if (min !== undefined && oneOf('min_protocol_version', min, ['3.0', '3.2', 'latest']) !== '3.0') {
    throw new ConfigurationError(`min_protocol_version "${min}" is not supported: pg-walstream speaks protocol 3.0`);
  }
  const max = kw.max_protocol_version ?? env.PGMAXPROTOCOLVERSION;
  if (max !== undefined) oneOf('max_protocol_version', max, ['3.0', '3.2', 'latest']);
  const compression = kw.sslcompression ?? env.PGSSLCOMPRESSION;
  if (compression !== undefined) oneOf('sslcompression', compression, ['0', '1']);
}

function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ConfigurationError(`invalid ${name} value: "${value}" (expected ${allowed.join(', ')})`);
  }
  return value as T;
}

function nonEmpty<T extends string | Buffer>(value: T | undefined): T | undefined {
  return value === undefined || (typeof value === 'string' && value === '') ? undefined : value;
}

/** The configuration for one host of `config.hosts` (the password stays out of enumeration). */
export function configForHost(config: ResolvedConfig, target: HostTarget): ResolvedConfig {
  const one: ResolvedConfig = { ...config, host: target.host, port: target.port };
  if (target.hostaddr !== undefined) one.hostaddr = target.hostaddr;
  else delete one.hostaddr;
  if (config.password !== undefined) Object.defineProperty(one, 'password', { value: config.password, enumerable: false });
  return one;
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

function safeHomedir(): string {
  try {
    return homedir();
  } catch {
    return '/';
  }
}
