import { ConfigurationError, ConnectionError, WalstreamError } from '../errors';

/** One server to try: the name (for TLS checks, SNI and the password file), the address to dial, the port. */
export interface HostTarget {
  host: string;
  /** libpq `hostaddr`: the numeric address to connect to instead of resolving `host`. */
  hostaddr?: string;
  port: number;
}

/** libpq `target_session_attrs`. */
export type TargetSessionAttrs = 'any' | 'read-write' | 'read-only' | 'primary' | 'standby' | 'prefer-standby';
export const TARGET_SESSION_ATTRS: readonly TargetSessionAttrs[] = ['any', 'read-write', 'read-only', 'primary', 'standby', 'prefer-standby'];

/**
 * The hosts to try, from libpq's comma-separated `host`, `hostaddr` and `port` values
 * ("Specifying Multiple Hosts" in the libpq docs): one port applies to every host, otherwise there
 * must be one per host; an empty item takes the default. With only `hostaddr`, the address is also the name.
 * @throws {ConfigurationError} for mismatched list lengths or an invalid port.
 */
export function hostTargets(hostText: string | undefined, hostaddrText: string | undefined, portText: string, defaultHost: string): HostTarget[] {
  const addrs = hostaddrText === undefined || hostaddrText === '' ? [] : hostaddrText.split(',').map((a) => a.trim());
  const names = hostText === undefined || hostText === '' ? (addrs.length > 0 ? addrs.map(() => '') : [defaultHost]) : hostText.split(',').map((h) => h.trim());
  if (addrs.length > 0 && addrs.length !== names.length) throw new ConfigurationError(`could not match ${addrs.length} host addresses to ${names.length} hosts`);
  const ports = portText.split(',').map((p) => p.trim());
  if (ports.length !== 1 && ports.length !== names.length) throw new ConfigurationError(`could not match ${ports.length} port numbers to ${names.length} hosts`);
  return names.map((name, i) => {
    const text = ports.length === 1 ? ports[0] : ports[i];
    const port = text === '' ? 5432 : Number(text);
    if (!/^\d*$/.test(text) || !Number.isInteger(port) || port <= 0 || port > 65535) throw new ConfigurationError(`invalid port ${JSON.stringify(text)}`);
    const hostaddr = addrs[i] === '' ? undefined : addrs[i];
    const host = name !== '' ? name : (hostaddr ?? defaultHost);
    return hostaddr === undefined ? { host, port } : { host, hostaddr, port };
  });
}

/** In random order (libpq `load_balance_hosts=random`: Fisher-Yates). */
export function shuffled<T>(items: readonly T[]): T[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

/**
 * Why a session does not have the attributes asked for, or undefined when it does, from the
 * `in_hot_standby` and `default_transaction_read_only` parameters every server since
 * PostgreSQL 14 reports at startup (libpq's checks in `PQconnectPoll`, CONNECTION_CHECK_TARGET).
 */
export function sessionAttrsMismatch(wanted: TargetSessionAttrs, parameters: ReadonlyMap<string, string>): string | undefined {
  const standby = parameters.get('in_hot_standby') === 'on';
  const readOnly = standby || parameters.get('default_transaction_read_only') === 'on';
  switch (wanted) {
    case 'read-write':
      return readOnly ? 'session is read-only' : undefined;
    case 'read-only':
      return readOnly ? undefined : 'session is not read-only';
    case 'primary':
      return standby ? 'server is in hot standby mode' : undefined;
    case 'standby':
    case 'prefer-standby':
      return standby ? undefined : 'server is not in hot standby mode';
    default:
      return undefined;
  }
}

/** What connecting to one host produced: a connection with its reported parameters. */
export interface Session {
  readonly parameters: ReadonlyMap<string, string>;
  end(): Promise<void>;
}

/**
 * Tries each host in turn until one connects with the wanted session attributes, as libpq does:
 * every failure moves on to the next host, except a {@link ConfigurationError}, which would fail
 * everywhere. `prefer-standby` makes a second pass accepting any server when no standby answered.
 * With one host its error is thrown unchanged; with several, the last server error (such as a
 * wrong password) or, when every failure was a connection failure, a {@link ConnectionError}
 * listing each host's.
 * @throws {WalstreamError} as described.
 */
export async function connectToAny<C extends Session>(
  targets: readonly HostTarget[],
  wanted: TargetSessionAttrs,
  connectOne: (target: HostTarget) => Promise<C>,
  describe: (target: HostTarget) => string,
): Promise<C> {
  const failures: { target: HostTarget; error: WalstreamError }[] = [];
  const passes: TargetSessionAttrs[] = wanted === 'prefer-standby' ? ['standby', 'any'] : [wanted];
  for (const pass of passes) {
    for (const target of targets) {
      let conn: C;
      try {
        conn = await connectOne(target);
      } catch (err) {
        if (err instanceof ConfigurationError || !(err instanceof WalstreamError)) throw err;
        failures.push({ target, error: err });
        continue;
      }
      const mismatch = sessionAttrsMismatch(pass, conn.parameters);
      if (mismatch === undefined) return conn;
      await conn.end().catch(() => undefined);
      failures.push({ target, error: new ConnectionError(`${mismatch} (target_session_attrs=${wanted})`, { code: 'ETARGETSESSIONATTRS' }) });
    }
  }
  if (failures.length === 1) throw failures[0].error;
  const last = [...failures].reverse().find((f) => !(f.error instanceof ConnectionError));
  if (last !== undefined) throw last.error;
  throw new ConnectionError(failures.map((f) => `${describe(f.target)}: ${f.error.message}`).join('; '), { cause: failures[failures.length - 1].error, code: (failures[failures.length - 1].error as ConnectionError).code });
}
