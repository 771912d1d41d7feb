import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

/** A TCP relay in front of a real server that counts connections and keeps each one's first bytes. */
export interface CountingProxy {
  port: number;
  /** The first chunk the client sent on each connection, in order. */
  readonly firstChunks: Buffer[];
  /**
   * Stops forwarding on every open connection without closing anything, as a proxy or a network
   * that silently drops packets: no FIN, no RST, bytes sent either way are swallowed. Connections
   * opened afterwards are relayed normally.
   */
  blackhole(): void;
  close(): Promise<void>;
}

export async function countingProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<CountingProxy> {
  const firstChunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const pairs: [Socket, Socket][] = [];
  const server: Server = createServer((client) => {
    const upstream = connect({ host: targetHost, port: targetPort });
    sockets.add(client).add(upstream);
    pairs.push([client, upstream]);
    client.once('data', (chunk: Buffer) => firstChunks.push(Buffer.from(chunk)));
    client.pipe(upstream).pipe(client);
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    firstChunks,
    blackhole: () => {
      for (const [client, upstream] of pairs.splice(0)) {
        client.unpipe(upstream);
        upstream.unpipe(client);
        // Keep reading and drop the bytes, so neither peer sees back-pressure or a close.
        client.on('data', () => {});
        upstream.on('data', () => {});
      }
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
