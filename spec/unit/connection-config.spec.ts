import { shuffled } from '../../src/wire/multi-host';
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

describe('no libpq keyword is silently dropped (PQconninfoOptions of PostgreSQL 18)', () => {
  const env = { HOME: '/nonexistent-home' };
  const url = (query: string) => `postgres://u@db/app?${query}`;
  const supported: [string, string][] = [
    ['host', 'db2'], ['hostaddr', '10.0.0.5'], ['port', '5433'], ['dbname', 'other'], ['user', 'v'], ['password', 'pw'], ['passfile', '/pw'],
    ['require_auth', 'scram-sha-256'], ['channel_binding', 'require'], ['connect_timeout', '5'], ['client_encoding', 'UTF8'],
    ['options', '-c wal_sender_timeout=10s'], ['application_name', 'cdc'], ['fallback_application_name', 'fb'], ['gssencmode', 'disable'],
    ['sslmode', 'require'], ['sslnegotiation', 'postgres'], ['sslcompression', '0'], ['sslcert', '/c.pem'], ['sslkey', '/k.pem'],
    ['sslpassword', 'kp'], ['sslcertmode', 'disable'], ['sslrootcert', '/ca.pem'], ['sslcrl', '/r.crl'], ['sslcrldir', '/crls'], ['sslsni', '0'],
    ['ssl_min_protocol_version', 'TLSv1.3'], ['ssl_max_protocol_version', 'TLSv1.3'], ['min_protocol_version', '3.0'], ['max_protocol_version', 'latest'],
    ['target_session_attrs', 'read-write'], ['load_balance_hosts', 'random'],
  ];
  it.each(supported)('supports %s', (keyword, value) => {
    expect(() => resolveConfig(url(`${keyword}=${encodeURIComponent(value)}`), env)).not.toThrow();
  });

  const refused = ['replication', 'requirepeer', 'krbsrvname', 'gsslib', 'gssdelegation', 'service', 'scram_client_key', 'scram_server_key', 'oauth_issuer', 'oauth_client_id', 'oauth_client_secret', 'oauth_scope', 'no_such_keyword'];
  it.each(refused)('refuses %s with a ConfigurationError naming it', (keyword) => {
    expect(() => resolveConfig(url(`${keyword}=x`), env)).toThrow(ConfigurationError);
    expect(() => resolveConfig(url(`${keyword}=x`), env)).toThrow(`"${keyword}"`);
  });

  it.each([
    ['client_encoding=LATIN1', /client_encoding "LATIN1" is not supported/],
    ['gssencmode=require', /gssencmode "require"/],
    ['sslcertmode=require', /sslcertmode "require"/],
    ['min_protocol_version=3.2', /min_protocol_version "3.2"/],
    ['target_session_attrs=master', /invalid target_session_attrs value/],
    ['load_balance_hosts=yes', /invalid load_balance_hosts value/],
  ])('refuses the value %s it cannot honour', (query, message) => {
    expect(() => resolveConfig(url(query), env)).toThrow(message);
  });

  it('refuses the environment variables PGSERVICE and PGREQUIREPEER', () => {
    expect(() => resolveConfig(url(''), { ...env, PGSERVICE: 'prod' })).toThrow(/PGSERVICE is not supported/);
    expect(() => resolveConfig(url(''), { ...env, PGREQUIREPEER: 'postgres' })).toThrow(/PGREQUIREPEER/);
  });

  it('refuses libpq key=value strings, which pg-connection-string would read as a database name', () => {
    expect(() => resolveConfig('host=db port=5432 dbname=app', env)).toThrow(/key=value connection strings are not supported/);
  });

  it('takes options, application names and target_session_attrs from the URL, options and environment', () => {
    const c = resolveConfig(url('options=-c%20wal_sender_timeout%3D10s&fallback_application_name=fb&target_session_attrs=primary'), env);
    expect(c).toMatchObject({ options: '-c wal_sender_timeout=10s', applicationName: 'fb', targetSessionAttrs: 'primary' });
    expect(resolveConfig(url('application_name=a&fallback_application_name=fb'), env).applicationName).toBe('a');
    expect(resolveConfig(url(''), { ...env, PGOPTIONS: '-c x=y', PGAPPNAME: 'envapp', PGTARGETSESSIONATTRS: 'standby' })).toMatchObject({ options: '-c x=y', applicationName: 'envapp', targetSessionAttrs: 'standby' });
  });

  it('reads connect_timeout as libpq does: whole seconds, 1 counts as 2, 0 or less waits forever', () => {
    expect(resolveConfig(url('connect_timeout=1'), env).connectTimeout).toBe(2000);
    expect(resolveConfig(url('connect_timeout=0'), env).connectTimeout).toBe(0);
    expect(resolveConfig(url('connect_timeout=-3'), env).connectTimeout).toBe(0);
    expect(() => resolveConfig(url('connect_timeout=1.5'), env)).toThrow(/invalid connect_timeout/);
  });
});

describe('multiple hosts (libpq "Specifying Multiple Hosts")', () => {
  const env = { HOME: '/nonexistent-home' };
  it('reads a host list from the URL authority, with a port each or none', () => {
    expect(resolveConfig('postgres://u:p@a:5433,b:5434,[::1]:5435/app', env).hosts).toEqual([
      { host: 'a', port: 5433 },
      { host: 'b', port: 5434 },
      { host: '::1', port: 5435 },
    ]);
    const c = resolveConfig('postgres://u@a,b/app', env);
    expect(c.hosts).toEqual([{ host: 'a', port: 5432 }, { host: 'b', port: 5432 }]);
    expect(c).toMatchObject({ host: 'a', port: 5432, user: 'u', database: 'app' });
  });
  it('reads host=a,b and port=1,2 from the query string and from options', () => {
    expect(resolveConfig('postgres:///app?host=a,b&port=5433,5434', env).hosts).toEqual([{ host: 'a', port: 5433 }, { host: 'b', port: 5434 }]);
    expect(resolveConfig({ host: 'a,b', port: '6000' }, env).hosts).toEqual([{ host: 'a', port: 6000 }, { host: 'b', port: 6000 }]);
    expect(() => resolveConfig({ host: 'a,b,c', port: '1,2' }, env)).toThrow('could not match 2 port numbers to 3 hosts');
  });
  it('dials hostaddr but names the server by host', () => {
    const c = resolveConfig('postgres://u@db.example.com/app?hostaddr=127.0.0.1', env);
    expect(c).toMatchObject({ host: 'db.example.com', hostaddr: '127.0.0.1' });
    expect(resolveConfig({ hostaddr: '10.0.0.1,10.0.0.2', host: 'a,b' }, env).hosts).toEqual([{ host: 'a', hostaddr: '10.0.0.1', port: 5432 }, { host: 'b', hostaddr: '10.0.0.2', port: 5432 }]);
    expect(() => resolveConfig({ hostaddr: '10.0.0.1,10.0.0.2', host: 'a' }, env)).toThrow('could not match 2 host addresses to 1 hosts');
  });
});

describe('load_balance_hosts=random', () => {
  it('tries the hosts in every order over many connections (Fisher-Yates)', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 400; i++) seen.add(shuffled(['a', 'b', 'c']).join(''));
    expect([...seen].sort()).toEqual(['abc', 'acb', 'bac', 'bca', 'cab', 'cba']);
  });
});
