import { Socket, createServer } from 'node:net';
import { PgConnection } from '../../src/wire/connection';
import { ConfigurationError } from '../../src';
import { resolveConfig } from '../../src/wire/config';

describe('TCP keepalive keywords (libpq: keepalives, keepalives_idle, keepalives_interval, keepalives_count, tcp_user_timeout)', () => {
  it('turns keepalive on with a 10 s idle time by default', () => {
    expect(resolveConfig({ host: 'db' }, {}).keepalive).toEqual({ enabled: true, idle: 10, interval: undefined, count: undefined, userTimeout: undefined });
  });

  it('reads every keyword from the connection string, and options win over it', () => {
    const url = 'postgres://u@db/app?keepalives=1&keepalives_idle=5&keepalives_interval=2&keepalives_count=3&tcp_user_timeout=9000&application_name=x';
    const c = resolveConfig({ connectionString: url }, {});
    expect(c.keepalive).toEqual({ enabled: true, idle: 5, interval: 2, count: 3, userTimeout: 9000 });
    expect(c.applicationName).toBe('x');
    expect(resolveConfig({ connectionString: url, keepalivesIdle: 7, keepalives: false }, {}).keepalive).toMatchObject({ enabled: false, idle: 7 });
    expect(resolveConfig({ connectionString: 'postgres://u@db/app?keepalives=0' }, {}).keepalive.enabled).toBe(false);
  });

  it.each([
    ['keepalives=yes', /keepalives/],
    ['keepalives_idle=-1', /keepalives_idle/],
    ['keepalives_count=1.5', /keepalives_count/],
    ['tcp_user_timeout=soon', /tcp_user_timeout/],
  ])('refuses %s with a ConfigurationError', (query, message) => {
    expect(() => resolveConfig({ connectionString: `postgres://u@db/app?${query}` }, {})).toThrow(ConfigurationError);
    expect(() => resolveConfig({ connectionString: `postgres://u@db/app?${query}` }, {})).toThrow(message);
  });

  it('sets SO_KEEPALIVE with the idle time on the socket it connects', async () => {
    const calls: unknown[][] = [];
    const original = Socket.prototype.setKeepAlive;
    Socket.prototype.setKeepAlive = function (this: Socket, ...args: unknown[]) {
      calls.push(args);
      return original.apply(this, args as [boolean, number]);
    };
    // A server that accepts and says nothing: the connect attempt times out, after the socket is set up.
    const server = createServer(() => {});
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    try {
      const port = (server.address() as { port: number }).port;
      await expect(PgConnection.connect(resolveConfig({ host: '127.0.0.1', port, user: 'u', sslMode: 'disable', connectTimeout: 300, keepalivesIdle: 4 }, {}))).rejects.toThrow(/timeout/);
      expect(calls).toContainEqual([true, 4000]);
    } finally {
      Socket.prototype.setKeepAlive = original;
      server.close();
    }
  });
});
