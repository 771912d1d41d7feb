import { type AddressInfo, type Server, type Socket, createServer } from 'node:net';

/**
 * A hostile "PostgreSQL server" for security tests: a real TCP server on a free loopback port that
 * speaks just enough of the frontend/backend protocol (SSLRequest refused, startup, one scripted
 * authentication, ReadyForQuery, simple queries) to send the client whatever a compromised server
 * or a man in the middle could send. It records every message the client sends.
 */
export interface HostileServer {
  port: number;
  /** Messages received from the client after startup, as [type character, body]. */
  received: [string, Buffer][];
  close(): Promise<void>;
}

/** One scripted connection: authenticate, then answer queries. */
export interface HostileScript {
  /** Authentication: `ok` (trust), `cleartext` (asks for a password, then OK), or a SASL exchange built from the client's first message. */
  auth?: 'ok' | 'cleartext' | { scram: (clientFirst: string) => string };
  /** Parameters reported at startup. Default server_version 18.0. */
  parameters?: Record<string, string>;
  /** Answers a simple query by writing messages with `send`; ReadyForQuery is sent afterwards. */
  query?: (sql: string, send: (type: string, body?: Buffer) => void) => void | Promise<void>;
}

export function message(type: string, body: Buffer = Buffer.alloc(0)): Buffer {
  const head = Buffer.alloc(5);
  head.write(type, 0, 'latin1');
  head.writeInt32BE(body.length + 4, 1);
  return Buffer.concat([head, body]);
}
export const cstr = (s: string): Buffer => Buffer.from(`${s}\0`);
export const int32 = (n: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeInt32BE(n);
  return b;
};
const int16 = (n: number): Buffer => {
  const b = Buffer.alloc(2);
  b.writeInt16BE(n);
  return b;
};

/** RowDescription + DataRows + CommandComplete of a text result set. */
export function resultSet(send: (type: string, body?: Buffer) => void, fields: string[], rows: (string | null)[][], tag = 'SELECT'): void {
  send('T', Buffer.concat([int16(fields.length), ...fields.map((f) => Buffer.concat([cstr(f), int32(0), int16(0), int32(25), int16(-1), int32(-1), int16(0)]))]));
  for (const row of rows) {
    send('D', Buffer.concat([int16(row.length), ...row.map((v) => (v === null ? int32(-1) : Buffer.concat([int32(Buffer.byteLength(v)), Buffer.from(v)])))]));
  }
  send('C', cstr(tag));
}

export async function hostileServer(script: HostileScript): Promise<HostileServer> {
  const received: [string, Buffer][] = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    let buf = Buffer.alloc(0);
    let started = false;
    let scramDone = false;
    let chain = Promise.resolve();
    const send = (type: string, body?: Buffer) => {
      if (!socket.destroyed) socket.write(message(type, body));
    };
    const ready = () => {
      for (const [k, v] of Object.entries({ server_version: '18.0', integer_datetimes: 'on', ...script.parameters })) send('S', Buffer.concat([cstr(k), cstr(v)]));
      send('K', Buffer.concat([int32(1), int32(2)]));
      send('Z', Buffer.from('I'));
    };
    const onMessage = async (type: string, body: Buffer) => {
      received.push([type, body]);
      if (type === 'X') return void socket.end();
      if (type === 'p') {
        const auth = script.auth;
        if (auth === 'cleartext' || scramDone) {
          send('R', int32(0));
          return ready();
        }
        if (typeof auth === 'object') {
          // SASLInitialResponse: mechanism\0, Int32 length, client-first-message
          const mechEnd = body.indexOf(0);
          const clientFirst = body.subarray(mechEnd + 5).toString();
          scramDone = true;
          send('R', Buffer.concat([int32(11), Buffer.from(auth.scram(clientFirst))]));
          return;
        }
      }
      if (type === 'Q') {
        const sql = body.subarray(0, body.length - 1).toString();
        try {
          await script.query?.(sql, send);
        } catch {
          return void socket.destroy();
        }
        send('Z', Buffer.from('I'));
      }
    };
    socket.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      for (;;) {
        if (!started) {
          if (buf.length < 8) return;
          const len = buf.readInt32BE(0);
          if (buf.length < len) return;
          const code = buf.readInt32BE(4);
          buf = buf.subarray(len);
          if (code === 80877103 || code === 80877104) {
            socket.write('N'); // no TLS: the client's sslmode decides whether to go on
            continue;
          }
          started = true;
          const auth = script.auth ?? 'ok';
          if (auth === 'ok') {
            send('R', int32(0));
            ready();
          } else if (auth === 'cleartext') send('R', int32(3));
          else send('R', Buffer.concat([int32(10), cstr('SCRAM-SHA-256'), cstr('')]));
          continue;
        }
        if (buf.length < 5) return;
        const len = buf.readInt32BE(1);
        if (buf.length < len + 1) return;
        const type = String.fromCharCode(buf[0]);
        const body = Buffer.from(buf.subarray(5, len + 1));
        buf = buf.subarray(len + 1);
        chain = chain.then(() => onMessage(type, body));
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
