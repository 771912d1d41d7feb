import { defer } from 'rxjs';
import { AuthenticationError, ConfigurationError, ConnectionError, PgError, ParseError, ProtocolError, SlotLostError, TlsHandshakeError, UnsupportedOptionError } from '../../src';
import { type RetryEvent, isRetryableError, retryWithBackoff } from '../../operators';
import { testScheduler } from '../support/marbles';

const lost = new ConnectionError('connection lost', { code: 'ECONNRESET' });
const pg = (code: string) => new PgError({ code, message: `error ${code}`, severity: 'FATAL' });

describe('retryWithBackoff', () => {
  it('completes empty and stays silent for never', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('|').pipe(retryWithBackoff())).toBe('|');
      expectObservable(cold('-').pipe(retryWithBackoff())).toBe('-');
    }));

  it('passes values and completion through', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      expectObservable(cold('a-b|').pipe(retryWithBackoff())).toBe('a-b|');
    }));

  it('resubscribes after retryable errors with exponential delays, capped at maxDelay, and reports each retry', () =>
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('-#', undefined, lost);
      const out = source.pipe(retryWithBackoff({ initialDelay: 10, maxDelay: 25, jitter: 0, maxRetries: 3 }));
      // Each subscription errors 1 frame after it starts; the next starts 10, 20, then 25 (not 40) frames later.
      expectObservable(out).toBe('59ms #', undefined, lost);
      expectSubscriptions(source.subscriptions).toBe(['^!', '11ms ^!', '32ms ^!', '58ms ^!']);
    }));

  it('tells onRetry the attempt, delay and error', () => {
    const retries: RetryEvent[] = [];
    testScheduler().run(({ cold, flush }) => {
      cold('#', undefined, lost).pipe(retryWithBackoff({ initialDelay: 10, multiplier: 3, jitter: 0, maxRetries: 3, onRetry: (e) => retries.push(e) })).subscribe({ error: () => {} });
      flush();
    });
    expect(retries).toEqual([
      { attempt: 1, delay: 10, error: lost },
      { attempt: 2, delay: 30, error: lost },
      { attempt: 3, delay: 90, error: lost },
    ]);
  });

  it('spreads delays by jitter', () => {
    const delays: number[] = [];
    const randoms = [0, 0.999999, 0.5];
    testScheduler().run(({ cold, flush }) => {
      cold('#', undefined, lost)
        .pipe(retryWithBackoff({ initialDelay: 100, multiplier: 1, jitter: 0.3, maxRetries: 3, random: () => randoms.shift()!, onRetry: (e) => delays.push(e.delay) }))
        .subscribe({ error: () => {} });
      flush();
    });
    expect(delays).toEqual([70, 130, 100]);
  });

  it('starts the backoff over after resetAfter of healthy streaming', () => {
    const attempts: Array<[number, number]> = [];
    testScheduler().run(({ cold, flush }) => {
      let n = 0;
      // Fails fast twice, then lives 100 frames before failing, then fails fast again.
      const source = cold('#', undefined, lost);
      const healthy = cold('100ms #', undefined, lost);
      const { defer } = require('rxjs') as typeof import('rxjs');
      defer(() => (++n === 3 ? healthy : source))
        .pipe(retryWithBackoff({ initialDelay: 10, jitter: 0, maxRetries: 4, resetAfter: 50, onRetry: (e) => attempts.push([e.attempt, e.delay]) }))
        .subscribe({ error: () => {} });
      flush();
    });
    expect(attempts).toEqual([[1, 10], [2, 20], [1, 10], [2, 20], [3, 40], [4, 80]]);
  });

  it('starts the backoff over as soon as a resubscribed source emits: the reconnection works and data flows', () => {
    const attempts: Array<[number, number]> = [];
    testScheduler().run(({ cold, expectObservable }) => {
      let n = 0;
      // Fails at once twice, then reconnects and delivers a value before failing, then fails at once.
      const out = defer(() => (++n === 3 ? cold('a#', undefined, lost) : cold('#', undefined, lost))).pipe(
        retryWithBackoff({ initialDelay: 10, jitter: 0, maxRetries: 3, resetAfter: 1000, onRetry: (e) => attempts.push([e.attempt, e.delay]) }),
      );
      // Subscriptions at 0, 10, 30 (emits a, fails at 31), 41, 61, then the third retry in a row fails for good.
      expectObservable(out).toBe('30ms a 70ms #', undefined, lost);
    });
    expect(attempts).toEqual([[1, 10], [2, 20], [1, 10], [2, 20], [3, 40]]);
  });

  it('passes a fatal error on at once', () =>
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a#', undefined, pg('28P01'));
      expectObservable(source.pipe(retryWithBackoff())).toBe('a#', undefined, pg('28P01'));
      expectSubscriptions(source.subscriptions).toBe('^!');
    }));

  it('honours an isRetryable hook', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const source = cold('#', undefined, new Error('custom'));
      expectObservable(source.pipe(retryWithBackoff({ initialDelay: 5, jitter: 0, maxRetries: 1, isRetryable: () => true }))).toBe('5ms #', undefined, new Error('custom'));
    }));

  it('passes on what a throwing onRetry or isRetryable throws', () =>
    testScheduler().run(({ cold, expectObservable }) => {
      const boom = new Error('boom');
      expectObservable(cold('a#', undefined, lost).pipe(retryWithBackoff({ onRetry: () => { throw boom; } }))).toBe('a#', undefined, boom);
      expectObservable(cold('a#', undefined, lost).pipe(retryWithBackoff({ isRetryable: () => { throw boom; } }))).toBe('a#', undefined, boom);
    }));

  it('unsubscribes from the source and cancels a pending retry on early unsubscribe', () =>
    testScheduler().run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a#', undefined, lost);
      expectObservable(source.pipe(retryWithBackoff({ initialDelay: 10, jitter: 0 })), '^----!').toBe('a----');
      expectSubscriptions(source.subscriptions).toBe(['^!']);
      const long = cold('a---', undefined);
      expectObservable(long.pipe(retryWithBackoff()), '^-!').toBe('a--');
      expectSubscriptions(long.subscriptions).toBe('^-!');
    }));
});

describe('isRetryableError', () => {
  it.each([
    ['a lost connection', true, lost],
    ['08006 connection failure', true, pg('08006')],
    ['57P01 admin shutdown', true, pg('57P01')],
    ['57P02 crash shutdown', true, pg('57P02')],
    ['57P03 cannot connect now', true, pg('57P03')],
    ['53300 too many connections', true, pg('53300')],
    ['55006 slot active', true, pg('55006')],
    ['28P01 wrong password', false, pg('28P01')],
    ['28000 no pg_hba entry', false, pg('28000')],
    ['3D000 no database', false, pg('3D000')],
    ['42704 no slot', false, pg('42704')],
    ['42P01 no table', false, pg('42P01')],
    ['42601 syntax error', false, pg('42601')],
    ['a parse error', false, new ParseError('bad', 'I', '0/1', 3)],
    ['a receive timeout on a dead connection', true, new ConnectionError('no data', { code: 'ETIMEDOUT' })],
    ['a TLS certificate that does not verify', false, new TlsHandshakeError('TLS handshake failed: self-signed certificate in certificate chain', { code: 'SELF_SIGNED_CERT_IN_CHAIN' })],
    ['a TLS host name mismatch', false, new TlsHandshakeError('TLS handshake failed', { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })],
    ['a TLS handshake cut by a reset socket', true, new TlsHandshakeError('TLS handshake failed: socket hang up', { code: 'ECONNRESET' })],
    ['a server without the TLS sslmode requires', false, new ConnectionError('server does not support SSL', { code: 'ESSLREQUIRED' })],
    ['an authentication failure', false, new AuthenticationError('SCRAM: server signature mismatch')],
    ['a configuration error', false, new ConfigurationError('invalid sslmode value')],
    ['an option the server lacks', false, new UnsupportedOptionError('twoPhase', { serverVersion: 150000 }, 'PostgreSQL 14')],
    ['a protocol error', false, new ProtocolError('unexpected message')],
    ['a lost slot', false, new SlotLostError('s', '0/1')],
    ['a bug', false, new TypeError('x is undefined')],
  ])('%s → retryable %s', (_name, expected, error) => expect(isRetryableError(error)).toBe(expected));
});
