import { inspect } from 'node:util';
import { ConfigurationError } from '../../src';
import { parseRequireAuth, resolveConfig } from '../../src/wire/config';
import { encryptionPlan } from '../../src/wire/tls';

const env = { HOME: '/home/alice' };

describe('resolveConfig: libpq TLS and authentication keywords', () => {
  it('uses libpq defaults', () => {
    const c = resolveConfig('postgres://u@db/app', env);
    expect(c.ssl).toMatchObject({ mode: 'prefer', negotiation: 'postgres', sni: true, minProtocolVersion: 'TLSv1.2', defaultDir: '/home/alice/.postgresql' });
    expect(c.ssl.rootCert).toBeUndefined();
    expect(c.channelBinding).toBe('prefer');
    expect(c.requireAuth).toBeUndefined();
    expect(c.passfile).toBe('/home/alice/.pgpass');
    expect(c.connectTimeout).toBe(30_000);
  });

  it('reads every keyword from the URL query and leaves the rest to pg-connection-string', () => {
    const c = resolveConfig(
      'postgres://u@db:6543/app?application_name=cdc%20worker&sslmode=verify-full&sslnegotiation=direct&sslrootcert=/ca.pem&sslcert=/c.pem&sslkey=/k.pem&sslpassword=kp&sslcrl=/r.crl&sslcrldir=/crls&sslsni=0&ssl_min_protocol_version=TLSv1.3&channel_binding=require&require_auth=scram-sha-256&passfile=/pw&connect_timeout=7',
      env,
    );
    expect(c).toMatchObject({ host: 'db', port: 6543, database: 'app', applicationName: 'cdc worker', channelBinding: 'require', requireAuth: 'scram-sha-256', passfile: '/pw', connectTimeout: 7000 });
    expect(c.ssl).toMatchObject({ mode: 'verify-full', negotiation: 'direct', rootCert: '/ca.pem', cert: '/c.pem', crl: '/r.crl', crlDir: '/crls', sni: false, minProtocolVersion: 'TLSv1.3' });
    expect(c.ssl.key).toBe('/k.pem');
    expect(c.ssl.password).toBe('kp');
  });

  it('reads the libpq environment variables, below the connection string and options', () => {
    const e = { ...env, PGSSLMODE: 'require', PGSSLROOTCERT: '/env-ca.pem', PGSSLCERT: '/env.crt', PGSSLKEY: '/env.key', PGSSLCRL: '/env.crl', PGSSLSNI: '0', PGCHANNELBINDING: 'disable', PGREQUIREAUTH: '!password', PGPASSFILE: '/env-pgpass', PGSSLNEGOTIATION: 'direct' };
    const c = resolveConfig('postgres://u@db/app', e);
    expect(c.ssl).toMatchObject({ mode: 'require', negotiation: 'direct', rootCert: '/env-ca.pem', cert: '/env.crt', crl: '/env.crl', sni: false });
    expect(c.ssl.key).toBe('/env.key');
    expect(c).toMatchObject({ channelBinding: 'disable', requireAuth: '!password', passfile: '/env-pgpass' });
    expect(resolveConfig('postgres://u@db/app?sslmode=verify-ca&sslrootcert=/url.pem', e).ssl).toMatchObject({ mode: 'verify-ca', rootCert: '/url.pem' });
    expect(resolveConfig({ connectionString: 'postgres://u@db/app?sslmode=verify-ca', sslMode: 'disable', sslNegotiation: 'postgres' }, e).ssl.mode).toBe('disable');
  });

  it('makes sslrootcert=system default to verify-full and refuses weaker modes, as libpq does', () => {
    expect(resolveConfig('postgres://u@db/app?sslrootcert=system', env).ssl.mode).toBe('verify-full');
    expect(() => resolveConfig('postgres://u@db/app?sslrootcert=system&sslmode=verify-ca', env)).toThrow('weak sslmode "verify-ca" may not be used with sslrootcert=system (use "verify-full")');
  });

  it('refuses sslnegotiation=direct with sslmode below require', () => {
    for (const mode of ['disable', 'allow', 'prefer']) {
      expect(() => resolveConfig({ sslMode: mode as 'prefer', sslNegotiation: 'direct' }, env)).toThrow(ConfigurationError);
    }
    expect(resolveConfig({ sslMode: 'require', sslNegotiation: 'direct' }, env).ssl.negotiation).toBe('direct');
  });

  it.each([
    ['sslmode=verify', /invalid sslmode value: "verify"/],
    ['sslnegotiation=tls', /invalid sslnegotiation value/],
    ['channel_binding=yes', /invalid channel_binding value/],
    ['ssl_min_protocol_version=SSLv3', /invalid ssl_min_protocol_version value/],
    ['ssl_min_protocol_version=TLSv1.3&ssl_max_protocol_version=TLSv1.2', /invalid SSL protocol version range/],
    ['require_auth=kerberos', /invalid require_auth value: "kerberos"/],
    ['connect_timeout=soon', /invalid connect_timeout/],
  ])('rejects %s with a ConfigurationError', (query, message) => {
    expect(() => resolveConfig(`postgres://u@db/app?${query}`, env)).toThrow(message);
    expect(() => resolveConfig(`postgres://u@db/app?${query}`, env)).toThrow(ConfigurationError);
  });

  it('does not let an empty URL password hide PGPASSWORD', async () => {
    const c = resolveConfig('postgres://u@db/app', { ...env, PGPASSWORD: 'from-env' });
    expect(c.password).toBe('from-env');
  });

  it('keeps the password, the key and its passphrase out of enumeration, JSON and inspection', () => {
    const c = resolveConfig({ connectionString: 'postgres://u:url-secret@db/app?sslpassword=key-secret', sslKey: Buffer.from('-----BEGIN PRIVATE KEY----- key-bytes') }, env);
    expect(c.password).toBe('url-secret');
    for (const text of [JSON.stringify(c), inspect(c, { depth: 10 }), String(c), `${Object.keys(c)}`, `${Object.keys(c.ssl)}`]) {
      expect(text).not.toContain('url-secret');
      expect(text).not.toContain('key-secret');
      expect(text).not.toContain('key-bytes');
    }
  });
});

describe('parseRequireAuth (libpq require_auth)', () => {
  it('takes a list of methods', () => {
    const r = parseRequireAuth('md5,scram-sha-256');
    expect(r.negated).toBe(false);
    expect([...r.methods]).toEqual(['md5', 'scram-sha-256']);
  });

  it('takes a list of negated methods', () => {
    const r = parseRequireAuth('!password,!md5');
    expect(r.negated).toBe(true);
    expect([...r.methods]).toEqual(['password', 'md5']);
  });

  it('refuses mixing, repeating and unknown methods', () => {
    expect(() => parseRequireAuth('md5,!password')).toThrow('negative require_auth method "!password" cannot be mixed with non-negative methods');
    expect(() => parseRequireAuth('!md5,password')).toThrow('non-negative require_auth method "password" cannot be mixed with negative methods');
    expect(() => parseRequireAuth('md5,md5')).toThrow('require_auth method "md5" is specified more than once');
    expect(() => parseRequireAuth('cert')).toThrow('invalid require_auth value: "cert"');
  });
});

describe('resolveConfig: what libpq would not understand', () => {
  it('refuses node-postgres ssl=true rather than silently ignoring it', () => {
    expect(() => resolveConfig('postgres://u@db/app?ssl=true', env)).toThrow(/"ssl" is not a libpq keyword: use sslmode=require/);
  });
});

describe('encryptionPlan (libpq sslmode attempts)', () => {
  const plan = (query: string, host = 'db') => encryptionPlan(resolveConfig(`postgres://u@${host}/app?${query}`, env));
  it('tries what each sslmode allows, in libpq order', () => {
    expect(plan('sslmode=disable')).toEqual(['plain']);
    expect(plan('sslmode=allow')).toEqual(['plain', 'tls']);
    expect(plan('')).toEqual(['tls-if-offered', 'plain']);
    expect(plan('sslmode=require')).toEqual(['tls']);
    expect(plan('sslmode=verify-ca')).toEqual(['tls']);
    expect(plan('sslmode=verify-full')).toEqual(['tls']);
  });

  it('never uses TLS on a Unix-domain socket, as libpq', () => {
    expect(encryptionPlan(resolveConfig({ host: '/var/run/postgresql', sslMode: 'require' }, env))).toEqual(['plain']);
  });
});
