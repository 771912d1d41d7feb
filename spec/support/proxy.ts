import { type AddressInfo, type Server, type Socket, connect, createServer } from 'node:net';

/** A TCP relay in front of a real server that counts connections and keeps each one's first bytes. */
export interface CountingProxy {
  port: number;
  /** The first chunk the client sent on each connection, in order. */
  readonly firstChunks: Buffer[];
  close(): Promise<void>;
}

export async function countingProxy(targetPort: number, targetHost = '127.0.0.1'): Promise<CountingProxy> {
  const firstChunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = connect({ host: targetHost, port: targetPort });
    sockets.add(client).add(upstream);
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
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
