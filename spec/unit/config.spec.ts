import { inspect } from 'node:util';
import { ConfigurationError } from '../../src';
import { passwordOf, resolveConfig } from '../../src/wire/config';

describe('resolveConfig', () => {
  it('takes PGHOST, PGPORT, PGUSER, PGPASSWORD and PGDATABASE as defaults', async () => {
    const c = resolveConfig({}, { PGHOST: 'db.internal', PGPORT: '6543', PGUSER: 'repl', PGPASSWORD: 'pw', PGDATABASE: 'app' });
    expect(c).toMatchObject({ host: 'db.internal', port: 6543, user: 'repl', database: 'app', applicationName: 'pg-walstream' });
    expect(await passwordOf(c)).toBe('pw');
  });

  it('lets the connection string override the environment, and options override both', () => {
    const env = { PGHOST: 'envhost', PGUSER: 'envuser', PGDATABASE: 'envdb' };
    expect(resolveConfig('postgres://u@h:1234/d', env)).toMatchObject({ host: 'h', port: 1234, user: 'u', database: 'd' });
    expect(resolveConfig({ connectionString: 'postgres://u@h/d', host: 'o', database: 'od' }, env)).toMatchObject({ host: 'o', user: 'u', database: 'od' });
  });

  it('defaults the database to the user name', () => {
    expect(resolveConfig({ user: 'alice' }, {}).database).toBe('alice');
  });

  it('reads a Unix socket directory from the connection string', () => {
    expect(resolveConfig('postgres:///app?host=/var/run/postgresql&port=5433', {})).toMatchObject({ host: '/var/run/postgresql', port: 5433, database: 'app' });
  });

  it('keeps the password out of enumeration and inspection', () => {
    const c = resolveConfig('postgres://u:s3cret-pass@h/d', {});
    expect(JSON.stringify(c)).not.toContain('s3cret-pass');
    expect(inspect(c)).not.toContain('s3cret-pass');
    expect(Object.keys(c)).not.toContain('password');
  });

  it('rejects a bad port with a typed error', () => {
    expect(() => resolveConfig({ port: 70000 }, {})).toThrow(ConfigurationError);
    expect(() => resolveConfig({}, { PGPORT: 'abc' })).toThrow(ConfigurationError);
  });
});
