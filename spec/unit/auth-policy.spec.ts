import { AuthenticationError } from '../../src';
import { AuthPolicy } from '../../src/wire/auth-policy';

describe('AuthPolicy (libpq check_expected_areq)', () => {
  it('allows everything by default, trust included', () => {
    const p = new AuthPolicy(undefined, 'prefer');
    for (const m of ['password', 'md5', 'scram-sha-256'] as const) expect(() => p.allow(m)).not.toThrow();
    expect(() => p.onAuthenticationOk(false)).not.toThrow();
  });

  it('require_auth lists the methods allowed', () => {
    const p = new AuthPolicy('scram-sha-256', 'prefer');
    expect(() => p.allow('scram-sha-256')).not.toThrow();
    expect(() => p.allow('password')).toThrow('authentication method requirement "scram-sha-256" failed: server requested a cleartext password');
    expect(() => p.allow('md5')).toThrow('server requested a hashed password');
    expect(() => p.allow('gss')).toThrow('server requested GSSAPI authentication');
  });

  it('requires a finished exchange unless none is allowed', () => {
    expect(() => new AuthPolicy('md5', 'prefer').onAuthenticationOk(false)).toThrow('server did not complete authentication');
    const finished = new AuthPolicy('md5', 'prefer');
    finished.markFinished();
    expect(() => finished.onAuthenticationOk(false)).not.toThrow();
    expect(() => new AuthPolicy('md5,none', 'prefer').onAuthenticationOk(false)).not.toThrow();
    expect(() => new AuthPolicy('!password', 'prefer').onAuthenticationOk(false)).not.toThrow();
    expect(() => new AuthPolicy('!none', 'prefer').onAuthenticationOk(false)).toThrow(AuthenticationError);
  });

  it('negated lists forbid what they name', () => {
    const p = new AuthPolicy('!password,!md5', 'prefer');
    expect(() => p.allow('password')).toThrow(AuthenticationError);
    expect(() => p.allow('md5')).toThrow(AuthenticationError);
    expect(() => p.allow('scram-sha-256')).not.toThrow();
  });

  it('channel_binding=require admits only SCRAM and only a bound exchange', () => {
    const p = new AuthPolicy(undefined, 'require');
    expect(() => p.allow('password')).toThrow("channel binding required but not supported by server's authentication request");
    expect(() => p.allow('md5')).toThrow(AuthenticationError);
    expect(() => p.allow('scram-sha-256')).not.toThrow();
    expect(() => p.onAuthenticationOk(false)).toThrow('channel binding required, but server authenticated client without channel binding');
    expect(() => p.onAuthenticationOk(true)).not.toThrow();
  });
});

describe('cleartext passwords and the transport', () => {
  it('refuses cleartext over unencrypted TCP unless require_auth lists password or the option allows it', () => {
    expect(() => new AuthPolicy(undefined, 'prefer').allowCleartext('tcp')).toThrow(/in clear text over an unencrypted connection/);
    expect(() => new AuthPolicy('!md5', 'prefer').allowCleartext('tcp')).toThrow(AuthenticationError);
    expect(() => new AuthPolicy('password,scram-sha-256', 'prefer').allowCleartext('tcp')).not.toThrow();
    expect(() => new AuthPolicy(undefined, 'prefer', true).allowCleartext('tcp')).not.toThrow();
    expect(() => new AuthPolicy(undefined, 'prefer').allowCleartext('tls')).not.toThrow();
    expect(() => new AuthPolicy(undefined, 'prefer').allowCleartext('unix')).not.toThrow();
  });
});
