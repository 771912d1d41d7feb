import { ConnectionError } from '../../src/errors';
import { freePort } from '../../src/embedded';
import { type ConnectionOptions, resolveConfig } from '../../src/wire/config';
import { PgConnection } from '../../src/wire/connection';
import { defaultServer, sqlClient, uniqueName } from '../support/server';

describe('libpq connection keywords against the test server: host lists, hostaddr, options, target_session_attrs', () => {
  const server = defaultServer();
  const url = new URL(server.url);
  const base = { user: decodeURIComponent(url.username), password: decodeURIComponent(url.password), database: 'postgres', sslMode: 'disable' as const };
  const readOnlyRole = uniqueName('walstream_ro');
  const connect = (options: ConnectionOptions) => PgConnection.connect(resolveConfig({ ...base, ...options }, {}));
  const port = async (conn: PgConnection) => (await conn.query('SHOW port'))[0].rows[0][0];

  beforeAll(async () => {
    const sql = await sqlClient(server.url);
    await sql.query(`CREATE ROLE ${readOnlyRole} LOGIN PASSWORD 'ro-pass'; ALTER ROLE ${readOnlyRole} SET default_transaction_read_only = on`);
    await sql.end();
  });
  afterAll(async () => {
    const sql = await sqlClient(server.url);
    await sql.query(`DROP ROLE IF EXISTS ${readOnlyRole}`);
    await sql.end();
  });

  it('fails over to the next host when the first refuses the connection', async () => {
    const dead = await freePort(); // nothing listens there
    const conn = await connect({ host: '127.0.0.1,127.0.0.1', port: `${dead},${url.port}` });
    expect(await port(conn)).toBe(url.port);
    await conn.end();
  });

  it('reports every host when none connects', async () => {
    const [a, b] = [await freePort(), await freePort()];
    const err = await connect({ host: '127.0.0.1,127.0.0.1', port: `${a},${b}` }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as Error).message).toContain(`127.0.0.1:${a}`);
    expect((err as Error).message).toContain(`127.0.0.1:${b}`);
  });

  it('fails over through a URL host list', async () => {
    const dead = await freePort();
    const conn = await PgConnection.connect(resolveConfig(`postgres://${url.username}:${url.password}@127.0.0.1:${dead},127.0.0.1:${url.port}/postgres?sslmode=disable`, {}));
    expect(await port(conn)).toBe(url.port);
    await conn.end();
  });

  it('dials hostaddr, whatever host says', async () => {
    const conn = await connect({ host: 'no-such-host.invalid', hostaddr: '127.0.0.1', port: url.port });
    expect(await port(conn)).toBe(url.port);
    await conn.end();
  });

  it('sends options in the startup packet', async () => {
    const conn = await PgConnection.connect(resolveConfig(`postgres://${url.username}:${url.password}@127.0.0.1:${url.port}/postgres?sslmode=disable&options=-c%20statement_timeout%3D4321`, {}), 'database');
    expect((await conn.query('SHOW statement_timeout'))[0].rows[0][0]).toBe('4321ms');
    await conn.end();
  });

  it('target_session_attrs=read-write refuses a read-only session and read-only keeps it', async () => {
    const ro = { host: '127.0.0.1', port: url.port, user: readOnlyRole, password: 'ro-pass' };
    const err = await connect({ ...ro, targetSessionAttrs: 'read-write' }).catch((e: Error) => e);
    expect(err).toBeInstanceOf(ConnectionError);
    expect((err as ConnectionError).message).toBe('session is read-only (target_session_attrs=read-write)');
    const conn = await connect({ ...ro, targetSessionAttrs: 'read-only' });
    expect(conn.parameters.get('default_transaction_read_only')).toBe('on');
    await conn.end();
    const rw = await connect({ host: '127.0.0.1', port: url.port, targetSessionAttrs: 'read-write' });
    await rw.end();
  });

  it('target_session_attrs=standby finds no standby on a primary; prefer-standby settles for it', async () => {
    const err = await connect({ host: '127.0.0.1', port: url.port, targetSessionAttrs: 'standby' }).catch((e: Error) => e);
    expect((err as Error).message).toBe('server is not in hot standby mode (target_session_attrs=standby)');
    const conn = await connect({ host: '127.0.0.1', port: url.port, targetSessionAttrs: 'prefer-standby' });
    expect(conn.parameters.get('in_hot_standby')).toBe('off');
    await conn.end();
  });
});
