import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect, promisify } from 'node:util';
import { firstValueFrom } from 'rxjs';
import { AuthenticationError, type ConnectionOptions, ReplicationClient, logicalReplication } from '../../src';
import { freePort } from '../../src/embedded';
import { resolveConfig } from '../../src/wire/config';
import { PgConnection } from '../../src/wire/connection';
import { defaultServer, sqlClient, uniqueName } from '../support/server';
import { hostileServer } from '../support/hostile-server';

const run = promisify(execFile);
const BIN = join(__dirname, '../../bin/pg-walstream.js');
const CANARY = 'Canary-P4ss-7f3a9';
const KEY_CANARY = 'Key-Canary-0b51e';

/** Every way a secret could be shown: message, stack, String(), util.inspect (deep), JSON. */
function renderings(value: unknown): string[] {
  const e = value as Error;
  return [String(value), e?.message ?? '', e?.stack ?? '', inspect(value, { depth: 10 }), JSON.stringify(value) ?? '', JSON.stringify(Object.getOwnPropertyNames(Object(value)).map((k) => String((value as Record<string, unknown>)[k])))];
}

describe('no secret leaks', () => {
  const server = defaultServer();
  const base = new URL(server.url);
  let home: string;
  let role: string;

  beforeAll(async () => {
    home = mkdtempSync(join(tmpdir(), 'walstream-secrets-'));
    role = uniqueName('walstream_leak');
    const sql = await sqlClient(server.url);
    await sql.query(`CREATE ROLE ${role} LOGIN REPLICATION PASSWORD 'the-real-one'`);
    await sql.end();
  });
  afterAll(async () => {
    const sql = await sqlClient(server.url);
    await sql.query(`DROP ROLE IF EXISTS ${role}`);
    await sql.end();
    rmSync(home, { recursive: true, force: true });
  });

  const url = (params = '', db = 'postgres', port = base.port) => `postgres://${role}:${CANARY}@${base.hostname}:${port}/${db}?sslpassword=${KEY_CANARY}${params}`;

  it('shows neither the password nor sslpassword in any error, however the connection fails', async () => {
    const refusedPort = String(await freePort());
    const failures: [string, ConnectionOptions | string][] = [
      ['wrong password (28P01)', url()],
      ['unknown database (3D000)', url('', 'no_such_db')],
      ['require_auth refuses SCRAM', url('&require_auth=password')],
      ['channel_binding=require without TLS', url('&channel_binding=require')],
      ['sslmode=require on a server without TLS', url('&sslmode=require')],
      ['missing sslrootcert file', url(`&sslmode=verify-full&sslrootcert=${join(home, 'missing.pem')}`)],
      ['missing client key', url(`&sslmode=require&sslcert=${join(home, 'missing.crt')}`)],
      ['invalid sslmode', url('&sslmode=bogus')],
      ['refused connection', url('', 'postgres', refusedPort)],
      ['timeout', { connectionString: url(), host: '10.255.255.1', connectTimeout: 200 }],
      ['unparsable URL', `postgres://${role}:${CANARY}@[bad:host/db`],
      ['password function that throws', { connectionString: url().replace(`:${CANARY}`, ''), password: () => Promise.reject(new Error('vault unavailable')) }],
    ];
    for (const [what, options] of failures) {
      const err = await ReplicationClient.connect(options).then(
        async (c) => {
          await c.close();
          throw new Error(`${what}: expected a failure`);
        },
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(Error);
      for (const text of renderings(err)) {
        expect(`${what}: ${text}`).not.toContain(CANARY);
        expect(`${what}: ${text}`).not.toContain(KEY_CANARY);
      }
    }
  });

  it('reports a failing password function as an AuthenticationError with its cause', async () => {
    const cause = new Error('vault unavailable');
    const err = await ReplicationClient.connect({ connectionString: server.url.replace(/:[^:@/]*@/, '@'), password: () => Promise.reject(cause) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toBe('the password function failed: vault unavailable');
    expect((err as Error).cause).toBe(cause);
  });

  it('shows no secret in an error from the replication stream', async () => {
    const err = await firstValueFrom(logicalReplication({ connectionString: url(), slot: 'any', publications: 'any' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: '28P01' });
    for (const text of renderings(err)) expect(text).not.toContain(CANARY);
  });

  it('shows no secret when the resolved options are printed', () => {
    const config = resolveConfig({ connectionString: url(), sslKey: Buffer.from(KEY_CANARY) });
    // The config holds the secrets (non-enumerable, for the connection to use), so only what printing shows is checked.
    const printed = [String(config), inspect(config, { depth: 10 }), JSON.stringify(config), `${config}`, Object.values(config).join(' '), Object.values(config.ssl).join(' ')];
    for (const text of printed) {
      expect(text).not.toContain(CANARY);
      expect(text).not.toContain(KEY_CANARY);
    }
  });

  it('shows no secret in the CLI output', async () => {
    for (const dbname of [url(), url('&sslmode=require'), url(`&sslmode=verify-full&sslrootcert=${join(home, 'missing.pem')}`)]) {
      const result = await run(process.execPath, [BIN, 'stream', '--dbname', dbname, '--slot', 'any', '--publication', 'any'], { timeout: 30_000 }).then(
        () => ({ code: 0, stdout: '', stderr: '' }),
        (e: { code: number; stdout: string; stderr: string }) => e,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^pg-walstream: error: /);
      expect(result.stdout + result.stderr).not.toContain(CANARY);
      expect(result.stdout + result.stderr).not.toContain(KEY_CANARY);
    }
  });
});

describe('password file', () => {
  const server = defaultServer();
  const base = new URL(server.url);
  const password = decodeURIComponent(base.password);
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'walstream-pgpass-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  function passfile(lines: string[], mode = 0o600): string {
    const f = join(dir, `pgpass-${Math.random().toString(36).slice(2)}`);
    writeFileSync(f, `${lines.join('\n')}\n`);
    chmodSync(f, mode);
    return f;
  }
  const options = (file: string): ConnectionOptions => ({ host: base.hostname, port: Number(base.port), user: 'postgres', database: 'postgres', passfile: file });
  const esc = (s: string) => s.replace(/\\/g, '\\\\').replace(/:/g, '\\:');

  it('supplies the password when none is given (passfile option and PGPASSFILE)', async () => {
    const file = passfile(['# comment', `otherhost:*:*:*:wrong`, `${base.hostname}:${base.port}:*:postgres:${esc(password)}`]);
    const client = await ReplicationClient.connect(options(file));
    await client.close();
    const conn = await PgConnection.connect(resolveConfig({ ...options(file), passfile: undefined }, { PGPASSFILE: file }));
    await conn.end();
  });

  it('is ignored when group or world can read it', async () => {
    const file = passfile([`*:*:*:postgres:${esc(password)}`], 0o640);
    await expect(ReplicationClient.connect(options(file))).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('matches database "replication" for physical replication connections, as pg_receivewal looks it up', async () => {
    const file = passfile([`${base.hostname}:${base.port}:replication:postgres:${esc(password)}`]);
    const physical = await ReplicationClient.connect(options(file), 'true');
    expect((await physical.identifySystem()).dbName).toBeNull();
    await physical.close();
    await expect(ReplicationClient.connect(options(file), 'database')).rejects.toBeInstanceOf(AuthenticationError);
  });

  it('yields to an explicit password', async () => {
    const file = passfile([`*:*:*:postgres:not-the-password`]);
    const client = await ReplicationClient.connect({ ...options(file), password });
    await client.close();
    await expect(ReplicationClient.connect(options(file))).rejects.toMatchObject({ code: '28P01' });
  });
});

describe('no cleartext password over an unencrypted connection without consent', () => {
  const SECRET = 'Cleartext-Canary-51c2';
  /** A server (or a man in the middle) that answers SSLRequest with N and asks for the password in clear. */
  async function attempt(extra: ConnectionOptions): Promise<{ error?: unknown; sent: string[] }> {
    const hostile = await hostileServer({ auth: 'cleartext' });
    try {
      const error = await PgConnection.connect(resolveConfig({ host: '127.0.0.1', port: hostile.port, user: 'u', database: 'd', password: SECRET, ...extra }, {})).then(
        (conn) => conn.end().then(() => undefined),
        (err: unknown) => err,
      );
      return { error, sent: hostile.received.filter(([type]) => type === 'p').map(([, body]) => body.toString()) };
    } finally {
      await hostile.close();
    }
  }

  it.each(['prefer', 'allow', 'disable'] as const)('sslmode=%s: refuses before sending the password', async (sslMode) => {
    const { error, sent } = await attempt({ sslMode });
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain('in clear text over an unencrypted connection');
    expect(sent).toEqual([]);
  });

  it('sends it when require_auth lists password, or with allowCleartextPassword', async () => {
    expect(await attempt({ requireAuth: 'password' })).toEqual({ error: undefined, sent: [`${SECRET}\0`] });
    expect(await attempt({ allowCleartextPassword: true })).toEqual({ error: undefined, sent: [`${SECRET}\0`] });
  });
});
