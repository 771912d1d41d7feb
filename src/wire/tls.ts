import { existsSync, promises as fs } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { join } from 'node:path';
import * as tls from 'node:tls';
import { serialize } from 'pg-protocol';
import { ConfigurationError, ConnectionError, ProtocolError, TlsHandshakeError, WalstreamError } from '../errors';
import type { ResolvedConfig, TlsSettings } from './config';
import { hostMismatch } from './host-check';

/**
 * How one connection attempt treats encryption: `plain` never asks for TLS; `tls` insists on it;
 * `tls-if-offered` sends SSLRequest and goes on in plain text on the same socket when the server
 * answers `N` (sslmode=prefer).
 */
export type Encryption = 'plain' | 'tls' | 'tls-if-offered';

/** An open byte stream to the server, ready for the StartupMessage, and the TLS socket when encrypted. */
export interface Transport {
  socket: Socket;
  tls?: tls.TLSSocket;
}

/** The ALPN protocol name PostgreSQL 17+ registers and requires for direct TLS ("Protocol Flow" in the docs). */
const ALPN = 'postgresql';

/**
 * The attempts libpq makes for an `sslmode` ("SSL Support" in the libpq docs): `allow` tries plain
 * text then TLS, `prefer` TLS when offered then plain text, `require` and stronger TLS only.
 * Like libpq (`init_allowed_encryption_methods` in `fe-connect.c`), a Unix-domain socket never
 * uses TLS, whatever the sslmode: the operating system already protects it.
 */
export function encryptionPlan(config: ResolvedConfig): Encryption[] {
  if (config.host.startsWith('/')) return ['plain'];
  switch (config.ssl.mode) {
    case 'disable':
      return ['plain'];
    case 'allow':
      return ['plain', 'tls'];
    case 'prefer':
      return ['tls-if-offered', 'plain'];
    default:
      return ['tls'];
  }
}

/**
 * Opens the TCP or Unix-domain socket and negotiates encryption: SSLRequest and the server's
 * one-byte answer ("SSL Session Encryption" in the protocol docs), or a direct TLS handshake with
 * ALPN `postgresql` when `sslnegotiation=direct`.
 * @throws {ConnectionError} when the socket cannot be opened, the server refuses TLS that is required, or `signal` aborts.
 * @throws {TlsHandshakeError} when the TLS handshake or certificate verification fails.
 * @throws {ConfigurationError} when a certificate or key file cannot be used.
 */
export async function openTransport(config: ResolvedConfig, encryption: Encryption, signal: AbortSignal): Promise<Transport> {
  const secure = encryption === 'plain' ? undefined : await tlsOptions(config);
  const socket = config.host.startsWith('/')
    ? netConnect({ path: `${config.host}/.s.PGSQL.${config.port}` })
    : netConnect({ host: config.hostaddr ?? config.host, port: config.port });
  socket.setNoDelay(true);
  let tlsSocket: tls.TLSSocket | undefined;
  const abort = () => {
    const err = signal.reason instanceof WalstreamError ? signal.reason : new ConnectionError(`timeout connecting to ${describeTarget(config)}`, { code: 'ETIMEDOUT' });
    tlsSocket?.destroy(err);
    socket.destroy(err);
  };
  if (signal.aborted) abort();
  signal.addEventListener('abort', abort, { once: true });
  try {
    await once(socket, 'connect', (err) => asConnectionError(config, err));
    if (secure === undefined) return { socket };
    if (config.ssl.negotiation === 'postgres') {
      socket.write(serialize.requestSsl());
      const answer = await negotiationAnswer(socket, config);
      if (answer === 'N') {
        if (encryption === 'tls-if-offered') {
          socket.pause(); // PgConnection resumes once its listeners are attached
          return { socket };
        }
        throw new ConnectionError(`server ${describeTarget(config)} does not support SSL, but SSL was required (sslmode=${config.ssl.mode})`, { code: 'ESSLREQUIRED' });
      }
    }
    tlsSocket = tls.connect({ ...secure, socket });
    await once(tlsSocket, 'secureConnect', (err) => new TlsHandshakeError(`TLS handshake with ${describeTarget(config)} failed: ${err.message}`, { cause: err }));
    const alpn = tlsSocket.alpnProtocol;
    if (config.ssl.negotiation === 'direct' ? alpn !== ALPN : alpn !== false && alpn !== null && alpn !== ALPN) {
      throw new TlsHandshakeError(`TLS connection to ${describeTarget(config)} negotiated ALPN protocol ${JSON.stringify(alpn || 'none')} instead of "${ALPN}"`, { code: 'EALPN' });
    }
    return { socket: tlsSocket, tls: tlsSocket };
  } catch (err) {
    tlsSocket?.destroy();
    socket.destroy();
    throw signal.aborted && signal.reason instanceof WalstreamError ? signal.reason : err;
  } finally {
    signal.removeEventListener('abort', abort);
  }
}

/** "host:port" or the socket path, for messages. */
export function describeTarget(config: ResolvedConfig): string {
  return config.host.startsWith('/') ? `${config.host}/.s.PGSQL.${config.port}` : `${config.host}:${config.port}`;
}

/** Resolves once `event` fires; rejects on 'error' or 'close' first. */
function once(emitter: Socket, event: string, toError: (err: Error) => WalstreamError): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const cleanup = () => {
      emitter.off(event, onEvent).off('error', onError).off('close', onClose);
    };
    const onEvent = () => {
      cleanup();
      resolve();
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err instanceof WalstreamError ? err : toError(err));
    };
    const onClose = () => onError(new Error('the server closed the connection'));
    emitter.on(event, onEvent).on('error', onError).on('close', onClose);
  });
}

/** Reads the server's single-byte answer to SSLRequest. */
function negotiationAnswer(socket: Socket, config: ResolvedConfig): Promise<'S' | 'N'> {
  return new Promise<'S' | 'N'>((resolve, reject) => {
    const cleanup = () => {
      socket.off('data', onData).off('error', onError).off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      cleanup();
      const answer = String.fromCharCode(chunk[0]);
      if (answer === 'S' && chunk.length > 1) {
        // Bytes sent before the handshake could be injected by a man in the middle (CVE-2021-23222).
        reject(new ProtocolError(`received unencrypted data after the SSL response from ${describeTarget(config)}`));
      } else if (answer === 'S' || answer === 'N') {
        resolve(answer);
      } else if (answer === 'E') {
        reject(new ConnectionError(`server ${describeTarget(config)} answered the SSL request with an error (a server older than 7.0, or one that refuses the connection)`, { code: 'ESSLNEGOTIATION' }));
      } else {
        reject(new ProtocolError(`invalid answer ${JSON.stringify(answer)} to the SSL request from ${describeTarget(config)}`));
      }
    };
    const onError = (err: Error) => {
      cleanup();
      reject(asConnectionError(config, err));
    };
    const onClose = () => onError(new Error('the server closed the connection during the SSL request'));
    socket.on('data', onData).on('error', onError).on('close', onClose);
  });
}

function asConnectionError(config: ResolvedConfig, err: Error): ConnectionError {
  return new ConnectionError(`connection to ${describeTarget(config)} failed: ${err.message}`, { cause: err });
}

/**
 * Node TLS options that reproduce libpq's checks (`initialize_SSL` in `fe-secure-openssl.c`):
 * with a root certificate the chain is verified in every sslmode; verify-full adds the host name;
 * without one, `require` and weaker accept any certificate; CRLs apply when the chain is verified.
 */
export async function tlsOptions(config: ResolvedConfig): Promise<tls.ConnectionOptions> {
  const s = config.ssl;
  const ca = await rootCertificates(s);
  const verify = s.mode === 'verify-ca' || s.mode === 'verify-full';
  if (verify && ca === 'missing') {
    throw new ConfigurationError(
      `sslmode=${s.mode} needs a root certificate: "${join(s.defaultDir, 'root.crt')}" does not exist. ` +
        'Either provide the file with sslrootcert, use the system\'s trusted roots with sslrootcert=system, or change sslmode to disable server certificate verification.',
    );
  }
  const chainChecked = ca !== 'missing';
  const context: tls.SecureContextOptions = { minVersion: s.minProtocolVersion, maxVersion: s.maxProtocolVersion };
  if (ca !== 'missing' && ca !== 'system-default') context.ca = ca;
  if (chainChecked) {
    const crl = await revocationLists(s);
    if (crl.length > 0) context.crl = crl;
  }
  const client = await clientCertificate(s);
  if (client !== undefined) {
    context.cert = client.cert;
    context.key = client.key;
    if (s.password !== undefined) context.passphrase = s.password;
  }
  let secureContext: tls.SecureContext;
  try {
    secureContext = tls.createSecureContext(context);
  } catch (err) {
    const what = client !== undefined && /key|decrypt|pem|passphrase|bad/i.test((err as Error).message) ? 'the client certificate or its private key' : 'the TLS settings';
    throw new ConfigurationError(`could not load ${what}: ${(err as Error).message}`);
  }
  const options: tls.ConnectionOptions = {
    secureContext,
    host: config.host,
    ALPNProtocols: [ALPN],
    rejectUnauthorized: chainChecked,
  };
  // libpq sends SNI for host names, never for IP addresses (RFC 6066 section 3).
  if (s.sni && isIP(config.host) === 0) options.servername = config.host;
  // verify-full: libpq's own host check (src/wire/host-check.ts), not Node's, whose rules differ
  // (partial-label wildcards, no CN for IP hosts, IP SANs only for IP hosts).
  options.checkServerIdentity =
    s.mode !== 'verify-full'
      ? () => undefined
      : (_servername, cert) => {
          const mismatch = hostMismatch(config.host, cert.raw);
          return mismatch === undefined ? undefined : Object.assign(new Error(mismatch), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' });
        };
  return options;
}

/** The trusted roots: PEM bytes, `system-default` (Node's store), or `missing` when none is configured. */
async function rootCertificates(s: TlsSettings): Promise<Buffer | string[] | 'system-default' | 'missing'> {
  if (s.rootCert === 'system') {
    // Node 22.15+/23.5+ can read the operating system's store; older Node uses its bundled Mozilla roots.
    const get = (tls as unknown as { getCACertificates?: (type: string) => string[] }).getCACertificates;
    return get !== undefined ? get('system') : 'system-default';
  }
  if (s.rootCert !== undefined) return readPem(s.rootCert, 'root certificate');
  const fallback = join(s.defaultDir, 'root.crt');
  return existsSync(fallback) ? readPem(fallback, 'root certificate') : 'missing';
}

async function revocationLists(s: TlsSettings): Promise<Buffer[]> {
  const lists: Buffer[] = [];
  if (s.crl !== undefined) lists.push(await readPem(s.crl, 'certificate revocation list'));
  else if (s.crlDir === undefined && existsSync(join(s.defaultDir, 'root.crl'))) lists.push(await readPem(join(s.defaultDir, 'root.crl'), 'certificate revocation list'));
  if (s.crlDir !== undefined) {
    let names: string[];
    try {
      names = await fs.readdir(s.crlDir);
    } catch (err) {
      throw new ConfigurationError(`could not read the certificate revocation list directory "${s.crlDir}": ${(err as Error).message}`);
    }
    for (const name of names.sort()) {
      const file = join(s.crlDir, name);
      if ((await fs.stat(file)).isFile()) lists.push(await readPem(file, 'certificate revocation list'));
    }
  }
  return lists;
}

async function clientCertificate(s: TlsSettings): Promise<{ cert: Buffer; key: Buffer } | undefined> {
  let cert: Buffer;
  if (s.certMode === 'disable') return undefined;
  if (s.cert !== undefined) cert = await readPem(s.cert, 'client certificate');
  else if (existsSync(join(s.defaultDir, 'postgresql.crt'))) cert = await readPem(join(s.defaultDir, 'postgresql.crt'), 'client certificate');
  else return undefined;
  const keySource = s.key ?? join(s.defaultDir, 'postgresql.key');
  if (typeof keySource === 'string') {
    let stat;
    try {
      stat = await fs.stat(keySource);
    } catch {
      throw new ConfigurationError(`certificate present, but not private key file "${keySource}"`);
    }
    if (!stat.isFile()) throw new ConfigurationError(`private key file "${keySource}" is not a regular file`);
    // libpq's rule: no group or world access, except group read for a root-owned file.
    const uid = process.getuid?.();
    if (uid !== undefined && ((stat.uid === uid && (stat.mode & 0o077) !== 0) || (stat.uid === 0 && (stat.mode & 0o037) !== 0))) {
      throw new ConfigurationError(
        `private key file "${keySource}" has group or world access; file must have permissions u=rw (0600) or less if owned by the current user, or permissions u=rw,g=r (0640) or less if owned by root`,
      );
    }
  }
  return { cert, key: await readPem(keySource, 'private key') };
}

async function readPem(source: string | Buffer, what: string): Promise<Buffer> {
  if (Buffer.isBuffer(source)) return source;
  try {
    return await fs.readFile(source);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new ConfigurationError(code === 'ENOENT' ? `${what} file "${source}" does not exist` : `could not read ${what} file "${source}": ${(err as Error).message}`);
  }
}
