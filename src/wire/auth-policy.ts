import { AuthenticationError } from '../errors';
import { type ChannelBinding, type RequireAuth, parseRequireAuth } from './config';

/** An authentication request from the server, named as `require_auth` names methods. */
export type AuthRequest = 'password' | 'md5' | 'scram-sha-256' | 'gss' | 'sspi';

const DESCRIPTIONS: Record<AuthRequest, string> = {
  password: 'server requested a cleartext password',
  md5: 'server requested a hashed password',
  'scram-sha-256': 'server requested SASL authentication',
  gss: 'server requested GSSAPI authentication',
  sspi: 'server requested SSPI authentication',
};

/**
 * The client's side of who may authenticate how, checked before anything is sent: libpq's
 * `require_auth` and `channel_binding` (`check_expected_areq` in `fe-auth.c`).
 *
 * Internal: PgConnection consults it for each authentication request and at AuthenticationOk.
 */
export class AuthPolicy {
  private readonly require: RequireAuth | undefined;
  /** Whether the server must run some authentication exchange to completion (`none` not allowed). */
  private readonly authRequired: boolean;
  private finished = false;

  constructor(
    private readonly requireAuthText: string | undefined,
    private readonly channelBinding: ChannelBinding,
    /** The user's explicit consent to send a cleartext password without TLS (`allowCleartextPassword`). */
    private readonly allowCleartextPassword = false,
  ) {
    this.require = requireAuthText === undefined ? undefined : parseRequireAuth(requireAuthText);
    const r = this.require;
    this.authRequired = r !== undefined && (r.negated ? r.methods.has('none') : !r.methods.has('none'));
  }

  /**
   * Checks a request before answering it.
   * @throws {AuthenticationError} when `require_auth` forbids the method, or when channel binding is required and the method cannot bind.
   */
  allow(request: AuthRequest): void {
    const r = this.require;
    if (r !== undefined && r.methods.has(request) === r.negated) {
      throw new AuthenticationError(`authentication method requirement "${this.requireAuthText}" failed: ${DESCRIPTIONS[request]}`);
    }
    if (this.channelBinding === 'require' && request !== 'scram-sha-256') {
      throw new AuthenticationError(`channel binding required but not supported by server's authentication request (${DESCRIPTIONS[request]})`);
    }
  }

  /**
   * Checks a cleartext password request against the transport. Unlike libpq, which sends it
   * wherever the server asks, the password is refused over unencrypted TCP unless the user said
   * so (`require_auth` listing `password`, or `allowCleartextPassword`): with `sslmode=prefer` or
   * `allow`, a man in the middle can answer SSLRequest with `N` and ask for the password in clear.
   * A Unix-domain socket never carries it over a network.
   * @throws {AuthenticationError} before the password is sent.
   */
  allowCleartext(transport: 'tls' | 'tcp' | 'unix'): void {
    if (transport !== 'tcp' || this.allowCleartextPassword) return;
    const r = this.require;
    if (r !== undefined && !r.negated && r.methods.has('password')) return;
    throw new AuthenticationError(
      'the server asks for the password in clear text over an unencrypted connection; refused so that the network never sees it. ' +
        'Use sslmode=require or stronger, or allow it explicitly with require_auth=password (or the allowCleartextPassword option)',
    );
  }

  /** The client has sent its last authentication message (password), or verified the SCRAM server signature. */
  markFinished(): void {
    this.finished = true;
  }

  /**
   * Checks AuthenticationOk.
   * @param channelBound whether a SCRAM-SHA-256-PLUS exchange completed.
   * @throws {AuthenticationError} when `require_auth` demands an exchange that did not happen, or channel binding was required and did not happen.
   */
  onAuthenticationOk(channelBound: boolean): void {
    if (this.authRequired && !this.finished) {
      throw new AuthenticationError(`authentication method requirement "${this.requireAuthText}" failed: server did not complete authentication`);
    }
    if (this.channelBinding === 'require' && !channelBound) {
      throw new AuthenticationError('channel binding required, but server authenticated client without channel binding');
    }
  }
}
