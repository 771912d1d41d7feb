import { AuthenticationError } from '../../src/errors';
import { resolveConfig } from '../../src/wire/config';
import { PgConnection } from '../../src/wire/connection';
import { hostileServer } from '../support/hostile-server';
import { defaultServer, sqlClient, uniqueName } from '../support/server';

describe('SCRAM like libpq, against the test server', () => {
  const server = defaultServer();
  const url = new URL(server.url);
  const role = uniqueName('walstream_saslprep');
  // SASLprep maps both: the soft hyphen (U+00AD) to nothing, the no-break space (U+00A0) and the em space (U+2003) to a space.
  const password = 'soft\u00adhyphen\u00a0and\u2003spaces';

  beforeAll(async () => {
    const sql = await sqlClient(server.url);
    await sql.query(`SET password_encryption = 'scram-sha-256'; CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
    await sql.end();
  });
  afterAll(async () => {
    const sql = await sqlClient(server.url);
    await sql.query(`DROP ROLE IF EXISTS ${role}`);
    await sql.end();
  });

  it('connects with a password that SASLprep changes (soft hyphen, non-ASCII spaces), set on the server', async () => {
    const conn = await PgConnection.connect(resolveConfig({ host: url.hostname, port: Number(url.port), user: role, password, database: 'postgres', sslMode: 'disable' }, {}));
    expect(conn.authentication).toBe('SCRAM-SHA-256');
    await conn.end();
  });
});

describe('SCRAM against a hostile server', () => {
  it('refuses a server-first-message with an unknown mandatory extension, before sending a proof', async () => {
    const hostile = await hostileServer({ auth: { scram: (clientFirst) => `m=ext,r=${/r=([^,]+)/.exec(clientFirst)![1]}abc,s=QUJDRA==,i=4096` } });
    try {
      const err = await PgConnection.connect(resolveConfig({ host: '127.0.0.1', port: hostile.port, user: 'u', password: 'pw', database: 'd', sslMode: 'disable' }, {})).catch((e: Error) => e);
      expect(err).toBeInstanceOf(AuthenticationError);
      expect((err as Error).message).toContain('mandatory extension');
      // The SASLInitialResponse only: no client-final-message (proof) was sent.
      expect(hostile.received.filter(([t]) => t === 'p')).toHaveLength(1);
    } finally {
      await hostile.close();
    }
  });

  async function attempt(scram: (clientFirst: string) => string) {
    const hostile = await hostileServer({ auth: { scram } });
    try {
      const error = await PgConnection.connect(resolveConfig({ host: '127.0.0.1', port: hostile.port, user: 'u', password: 'pw', database: 'd', sslMode: 'disable' }, {})).then(
        (conn) => conn.end().then(() => undefined),
        (e: Error) => e,
      );
      return { error, proofs: hostile.received.filter(([t]) => t === 'p').length - 1 };
    } finally {
      await hostile.close();
    }
  }
  const nonce = (clientFirst: string) => /r=([^,]+)/.exec(clientFirst)![1];

  it('refuses an iteration count above maxScramIterations, so a server cannot burn the client\'s CPU', async () => {
    const { error, proofs } = await attempt((c) => `r=${nonce(c)}abc,s=QUJDRA==,i=2000000000`);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain('maxScramIterations');
    expect(proofs).toBe(0);
  });

  it('refuses AuthenticationOk from a server that never proved it knows the password (no SASLFinal)', async () => {
    const { error, proofs } = await attempt((c) => `r=${nonce(c)}abc,s=QUJDRA==,i=4096`);
    expect(error).toBeInstanceOf(AuthenticationError);
    expect((error as Error).message).toContain('before proving it knows the password');
    expect(proofs).toBe(1);
  });
});
