import { createHash, createHmac, pbkdf2, randomBytes, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { saslprep } from '@mongodb-js/saslprep';
import { AuthenticationError } from '../errors';

const pbkdf2Async = promisify(pbkdf2);

/**
 * The client side of SCRAM-SHA-256 (RFC 5802, RFC 7677) as PostgreSQL runs it
 * ("SASL Authentication" in the protocol docs; server side in `src/backend/libpq/auth-scram.c`).
 * The password is normalized with SASLprep (RFC 4013) as libpq does (`pg_saslprep` in
 * `src/common/saslprep.c`, called from `fe-auth-scram.c`): the server stores the verifier of the
 * normalized password, so a soft hyphen is dropped and a no-break space becomes a space. A
 * password SASLprep prohibits is used as given, as both libpq and the server do.
 * Server messages are parsed as strictly as libpq parses them (`read_server_first_message`,
 * `read_server_final_message`): attributes in the order RFC 5802 gives, nothing after them, so an
 * unknown mandatory extension (`m=`) is refused.
 */
export class ScramSession {
  /** `SCRAM-SHA-256-PLUS` when the GS2 header binds the channel (`p=...`), else `SCRAM-SHA-256`. */
  readonly mechanism: string;
  /** True once the server signature has been verified. */
  finished = false;
  private readonly clientNonce = randomBytes(18).toString('base64');
  private readonly clientFirstBare: string;
  private serverSignature: Buffer | undefined;

  private readonly password: string;

  constructor(
    password: string,
    private readonly maxIterations: number,
    /** GS2 header: `n,,` without channel binding; TLS channel binding sets `p=tls-server-end-point,,`. */
    private readonly gs2Header = 'n,,',
    private readonly channelBindingData: Buffer = Buffer.alloc(0),
  ) {
    this.password = normalizePassword(password);
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
   * Answers the server-first-message (`r=nonce,s=salt,i=iterations`, exactly) with the client-final-message.
   * @throws {AuthenticationError} for a malformed message (another attribute order, a mandatory
   * extension `m=`, anything after the iteration count, a salt that is not base64), a nonce that does
   * not extend ours, or an iteration count above `maxIterations`.
   */
  async clientFinalMessage(serverFirst: string): Promise<string> {
    const reader = new AttributeReader(serverFirst, 'server-first-message');
    const nonce = reader.read('r');
    const salt = reader.read('s');
    const iterationText = reader.read('i');
    reader.end();
    if (!nonce.startsWith(this.clientNonce) || nonce.length === this.clientNonce.length) {
      throw new AuthenticationError('SCRAM: invalid response (the server nonce does not extend the client nonce)');
    }
    if (!isBase64(salt) || salt.length === 0) throw new AuthenticationError('SCRAM: malformed message (invalid salt)');
    const iterations = /^[0-9]{1,10}$/.test(iterationText) ? Number(iterationText) : NaN;
    if (!Number.isInteger(iterations) || iterations < 1) throw new AuthenticationError('SCRAM: malformed message (invalid iteration count)');
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
   * Checks the server-final-message (`v=signature`, or `e=error`), proving the server knows the password too.
   * @throws {AuthenticationError} on an error attribute, a malformed message or a signature mismatch.
   */
  verifyServerFinal(serverFinal: string): void {
    if (serverFinal.startsWith('e=')) {
      const error = new AttributeReader(serverFinal, 'server-final-message').read('e');
      throw new AuthenticationError(`SCRAM: error received from server: ${error}`);
    }
    const reader = new AttributeReader(serverFinal, 'server-final-message');
    const v = reader.read('v');
    reader.end();
    const expected = this.serverSignature;
    if (expected === undefined) throw new AuthenticationError('SCRAM: server-final-message before server-first-message');
    if (!isBase64(v)) throw new AuthenticationError('SCRAM: malformed message (invalid server signature)');
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

/** Reads `a=value` attributes one by one, in the order expected (libpq's `read_attr_value`). */
class AttributeReader {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly what: string,
  ) {}

  /** @throws {AuthenticationError} when the next attribute is not `name`. */
  read(name: string): string {
    const t = this.text;
    if (t[this.pos] !== name || t[this.pos + 1] !== '=') {
      throw new AuthenticationError(`SCRAM: malformed ${this.what} (attribute "${name}" expected${t[this.pos] === 'm' ? ', got the mandatory extension "m"' : ''})`);
    }
    const comma = t.indexOf(',', this.pos + 2);
    const end = comma < 0 ? t.length : comma;
    const value = t.slice(this.pos + 2, end);
    this.pos = comma < 0 ? end : comma + 1;
    return value;
  }

  /** @throws {AuthenticationError} when anything follows the last attribute. */
  end(): void {
    if (this.pos !== this.text.length || this.text.endsWith(',')) throw new AuthenticationError(`SCRAM: malformed ${this.what} (garbage at end)`);
  }
}

function isBase64(text: string): boolean {
  return text.length % 4 === 0 && /^[A-Za-z0-9+/]*={0,2}$/.test(text);
}

/**
 * SASLprep, or the password unchanged when SASLprep prohibits it (libpq and the server agree on this).
 * A pure-ASCII password is returned as it is without SASLprep, as `pg_saslprep` does
 * (`src/common/saslprep.c`): SASLprep leaves ASCII unchanged or prohibits it (control characters).
 */
export function normalizePassword(password: string): string {
  if (/^[\x00-\x7f]*$/.test(password)) return password;
  try {
    return saslprep(password);
  } catch {
    return password;
  }
}

/** The MD5 answer: `md5` + md5(md5(password + user) + salt), per `src/common/md5_common.c`. */
export function md5Password(user: string, password: string, salt: Buffer): string {
  const inner = createHash('md5').update(password + user).digest('hex');
  return 'md5' + createHash('md5').update(Buffer.concat([Buffer.from(inner), salt])).digest('hex');
}
