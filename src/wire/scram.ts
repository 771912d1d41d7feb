import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { AuthenticationError } from '../errors';

const pbkdf2Async = promisify(pbkdf2);

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL runs it
 * ("SASL Authentication" in the protocol docs; server side in `src/backend/libpq/auth-scram.c`).
 * The password is used as given, without SASLprep, as node-postgres does; PostgreSQL accepts that
 * for every password that SASLprep leaves unchanged, which includes all ASCII passwords.
 */
export class ScramSession {
  /** `SCRAM-SHA-256-PLUS` when the GS2 header binds the channel (`p=...`), else `SCRAM-SHA-256`. */
  readonly mechanism: string;
  /** True once the server signature has been verified. */
  finished = false;
  private readonly clientNonce = randomBytes(18).toString('base64');
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  constructor(
    private readonly password: string,
    private readonly maxIterations: number,
    /** GS2 header: `n,,` without channel binding; TLS channel binding sets `p=tls-server-end-point,,`. */
    private readonly gs2Header = 'n,,',
    private readonly channelBindingData: Buffer = Buffer.alloc(0),
  ) {
    this.clientFirstBare = `n=*,r=${this.clientNonce}`;
    this.mechanism = gs2Header.startsWith('p=') ? 'SCRAM-SHA-256-PLUS' : 'SCRAM-SHA-256';
  }

  /** Whether this exchange binds the TLS channel and has completed. */
  get channelBound(): boolean {
    return this.finished && this.mechanism === 'SCRAM-SHA-256-PLUS';
  }

  clientFirstMessage(): string {
    return this.gs2Header + this.clientFirstBare;
  }

  /**
   * Answers the server-first-message with the client-final-message.
   * @throws {AuthenticationError} when the nonce does not extend ours, the salt or iteration count is
   * missing, or the iteration count exceeds `maxIterations`.
   */
  async clientFinalMessage(serverFirst: string): Promise<string> {
    const attrs = parseAttributes(serverFirst);
    const nonce = attrs.get('r');
    const salt = attrs.get('s');
    const iterations = Number(attrs.get('i'));
    if (nonce === undefined || !nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw new AuthenticationError('SCRAM: the server nonce does not extend the client nonce');
    }
    if (salt === undefined || salt.length === 0) throw new AuthenticationError('SCRAM: the server sent no salt');
    if (!Number.isInteger(iterations) || iterations < 1) throw new AuthenticationError('SCRAM: invalid iteration count');
    if (iterations > this.maxIterations) {
      throw new AuthenticationError(`SCRAM: the server asks for ${iterations} iterations, above the limit of ${this.maxIterations} (maxScramIterations)`);
    }
    const salted = await pbkdf2Async(this.password, Buffer.from(salt, 'base64'), iterations, 32, 'sha256');
    const clientKey = hmac(salted, 'Client Key');
    const storedKey = createHash('sha256').update(clientKey).digest();
    const binding = Buffer.concat([Buffer.from(this.gs2Header), this.channelBindingData]).toString('base64');
    const finalWithoutProof = `c=${binding},r=${nonce}`;
    const authMessage = `${this.clientFirstBare},${serverFirst},${finalWithoutProof}`;
    const clientSignature = hmac(storedKey, authMessage);
    const proof = Buffer.alloc(clientKey.length);
    for (let i = 0; i < proof.length; i++) proof[i] = clientKey[i] ^ clientSignature[i];
    this.serverSignature = hmac(hmac(salted, 'Server Key'), authMessage);
    return `${finalWithoutProof},p=${proof.toString('base64')}`;
  }

  /**
   * Checks the server-final-message, proving the server knows the password too.
   * @throws {AuthenticationError} on an error attribute or a signature mismatch.
   */
  verifyServerFinal(serverFinal: string): void {
    const attrs = parseAttributes(serverFinal);
    const error = attrs.get('e');
    if (error !== undefined) throw new AuthenticationError(`SCRAM: server error ${error}`);
    const v = attrs.get('v');
    const expected = this.serverSignature;
    if (v === undefined || expected === undefined) throw new AuthenticationError('SCRAM: missing server signature');
    const got = Buffer.from(v, 'base64');
    if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
      throw new AuthenticationError('SCRAM: the server signature does not match');
    }
    this.finished = true;
  }
}

function hmac(key: Buffer, text: string): Buffer {
  return createHmac('sha256', key).update(text).digest();
}

function parseAttributes(message: string): Map<string, string> {
  const attrs = new Map<string, string>();
  for (const part of message.split(',')) {
    const eq = part.indexOf('=');
    if (eq === 1) attrs.set(part[0], part.slice(2));
  }
  return attrs;
}

/** The MD5 answer: `md5` + md5(md5(password + user) + salt), per `src/common/md5_common.c`. */
export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
}
