import { readFileSync } from 'node:fs';
import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';
import { TLSSocket, createSecureContext } from 'node:tls';
import { ConnectionError, ProtocolError, TlsHandshakeError } from '../../src';
import { type ConnectionOptions, resolveConfig } from '../../src/wire/config';
import { PgConnection } from '../../src/wire/connection';
import { type TestPki, makePki } from '../support/certs';

/**
 * The client's bytes during SSLRequest / direct TLS, seen by a TLS endpoint written here: what
 * SNI and ALPN it offers, and how it treats answers a real PostgreSQL would not give (a
 * man-in-the-middle's). A real server cannot report the SNI it received, hence this harness.
 */
describe('TLS negotiation bytes', () => {
  let pki: TestPki;
  let server: Server;
  let port: number;
  let behaviour: (socket: Socket) => void;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    pki = makePki();
    server = createServer((socket) => {
      sockets.add(socket);
      behaviour(socket);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
    pki.destroy();
  });

  const secureContext = () => createSecureContext({ cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) });

  /** Answers SSLRequest with `answer`, then (for 'S') runs a TLS server handshake and reports what the client offered. */
  function tlsEndpoint(answer: Buffer, alpn?: string[]): Promise<{ servername: string | false; alpn: string | false; sslRequest: boolean }> {
    return new Promise((resolve) => {
      behaviour = (socket) => {
        socket.once('data', (first: Buffer) => {
          const sslRequest = first.length === 8 && first.readInt32BE(4) === 80877103;
          const startTls = (initial?: Buffer) => {
            const tls = new TLSSocket(socket, { isServer: true, secureContext: secureContext(), ALPNProtocols: alpn });
            if (initial !== undefined) socket.unshift(initial);
            tls.on('secure', () => {
              resolve({ servername: (tls as unknown as { servername: string | false }).servername, alpn: tls.alpnProtocol ?? false, sslRequest });
              tls.destroy();
            });
            tls.on('error', () => socket.destroy());
          };
          if (!sslRequest) return startTls(first); // direct TLS: the first bytes are the ClientHello
          socket.write(answer);
          if (answer[0] === 0x53 && answer.length === 1) startTls();
          else setTimeout(() => socket.destroy(), 200);
        });
        socket.on('error', () => undefined);
      };
    });
  }

  const connect = (extra: ConnectionOptions) =>
    PgConnection.connect(resolveConfig({ host: '127.0.0.1', port, user: 'u', password: 'p', connectTimeout: 5000, sslMode: 'require', ...extra }, { HOME: '/nonexistent' })).catch((e: unknown) => e);

  it('sends SNI with a host name, ALPN postgresql, after SSLRequest', async () => {
    const seen = tlsEndpoint(Buffer.from('S'), ['postgresql']);
    await connect({ host: 'localhost' });
    expect(await seen).toEqual({ servername: 'localhost', alpn: 'postgresql', sslRequest: true });
  });

  it('sends no SNI for an IP address, nor with sslsni=0', async () => {
    let seen = tlsEndpoint(Buffer.from('S'), ['postgresql']);
    await connect({ host: '127.0.0.1' });
    expect((await seen).servername).toBe(false);
    seen = tlsEndpoint(Buffer.from('S'), ['postgresql']);
    await connect({ host: 'localhost', sslSni: false });
    expect((await seen).servername).toBe(false);
  });

  it('starts with the ClientHello under sslnegotiation=direct', async () => {
    const seen = tlsEndpoint(Buffer.from('S'), ['postgresql']);
    await connect({ host: 'localhost', sslNegotiation: 'direct' });
    expect(await seen).toEqual({ servername: 'localhost', alpn: 'postgresql', sslRequest: false });
  });

  it('refuses a direct TLS server that negotiates no ALPN', async () => {
    tlsEndpoint(Buffer.from('S'));
    const err = await connect({ host: 'localhost', sslNegotiation: 'direct' });
    expect(err).toBeInstanceOf(TlsHandshakeError);
    expect((err as TlsHandshakeError).code).toBe('EALPN');
  });

  it('refuses bytes sent in plain text after the S answer (CVE-2021-23222)', async () => {
    tlsEndpoint(Buffer.concat([Buffer.from('S'), Buffer.from('injected')]));
    const err = await connect({});
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as Error).message).toContain('received unencrypted data after the SSL response');
  });

  it('reports an error answer to SSLRequest as a ConnectionError', async () => {
    tlsEndpoint(Buffer.from('E'));
    const err = await connect({});
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).code).toBe('ESSLNEGOTIATION');
  });

  it('times out a server that never answers the SSLRequest', async () => {
    behaviour = () => undefined;
    const err = await connect({ connectTimeout: 300 });
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).code).toBe('ETIMEDOUT');
  });
});
