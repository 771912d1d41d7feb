import { AuthenticationError } from '../../src/errors';
import { ScramSession, normalizePassword } from '../../src/wire/scram';

/** The client nonce of a session, read back from its client-first-message. */
function nonceOf(session: ScramSession): string {
  return /r=([^,]+)$/.exec(session.clientFirstMessage())![1];
}

describe('SCRAM messages are parsed as strictly as libpq parses them', () => {
  const salt = Buffer.from('0123456789abcdef').toString('base64');

  it('accepts r=, s=, i= in that order', async () => {
    const s = new ScramSession('pw', 10_000);
    const final = await s.clientFinalMessage(`r=${nonceOf(s)}XYZ,s=${salt},i=4096`);
    expect(final).toMatch(/^c=biws,r=.+XYZ,p=[A-Za-z0-9+/]+=*$/);
  });

  it.each([
    ['an unknown mandatory extension m= first', (n: string) => `m=must-understand,r=${n}XYZ,s=${salt},i=4096`, /attribute "r" expected, got the mandatory extension "m"/],
    ['attributes out of order', (n: string) => `s=${salt},r=${n}XYZ,i=4096`, /attribute "r" expected/],
    ['an extension after the iteration count', (n: string) => `r=${n}XYZ,s=${salt},i=4096,x=1`, /garbage at end/],
    ['a trailing comma', (n: string) => `r=${n}XYZ,s=${salt},i=4096,`, /garbage at end/],
    ['a salt that is not base64', (n: string) => `r=${n}XYZ,s=not*base64,i=4096`, /invalid salt/],
    ['a non-numeric iteration count', (n: string) => `r=${n}XYZ,s=${salt},i=4096abc`, /invalid iteration count/],
    ['a nonce that does not extend ours', () => `r=someoneelse,s=${salt},i=4096`, /nonce/],
  ])('refuses a server-first-message with %s', async (_what, message, reason) => {
    const s = new ScramSession('pw', 10_000);
    const err = await s.clientFinalMessage(message(nonceOf(s))).catch((e: Error) => e);
    expect(err).toBeInstanceOf(AuthenticationError);
    expect((err as Error).message).toMatch(reason);
  });

  it('refuses a server-final-message with an extension, and reports e= errors', async () => {
    const s = new ScramSession('pw', 10_000);
    await s.clientFinalMessage(`r=${nonceOf(s)}XYZ,s=${salt},i=4096`);
    expect(() => s.verifyServerFinal('v=AAAA,x=1')).toThrow(/garbage at end/);
    expect(() => s.verifyServerFinal('m=1,v=AAAA')).toThrow(/attribute "v" expected/);
    expect(() => s.verifyServerFinal('e=invalid-proof')).toThrow('SCRAM: error received from server: invalid-proof');
    expect(() => s.verifyServerFinal('v=AAAA')).toThrow(/does not match/);
    expect(s.finished).toBe(false);
  });
});

describe('SASLprep (RFC 4013) of the password, as libpq and the server apply it', () => {
  it('drops a soft hyphen and maps non-ASCII spaces to a space', () => {
    expect(normalizePassword('pass\u00adword')).toBe('password');
    expect(normalizePassword('pass\u00a0word\u2003!')).toBe('pass word !');
  });
  it('applies NFKC', () => {
    expect(normalizePassword('\u2168')).toBe('IX'); // ROMAN NUMERAL NINE
  });
  it('leaves a password SASLprep prohibits unchanged, as libpq does', () => {
    expect(normalizePassword('bad\u0007bell')).toBe('bad\u0007bell');
  });
  it('returns an ASCII password as it is, as pg_saslprep does (SASLprep would leave it unchanged or prohibit it)', () => {
    const ascii = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i)).join('');
    expect(normalizePassword(ascii)).toBe(ascii);
    expect(normalizePassword('p@ss w0rd~')).toBe('p@ss w0rd~');
  });
});
