import { firstValueFrom, from, map, share, take } from 'rxjs';
import { ConsumerFailedError, LsnFeedback, logicalReplication } from '../../src';
import type { PgoutputMessage } from '../../src/pgoutput/messages';
import { ackOnCommit, bufferTransaction, splitFeedback } from '../../operators';
import * as m from '../support/messages';

const cold$ = (msgs: PgoutputMessage[]) => from(msgs);

describe('splitFeedback', () => {
  it('acknowledges the minimum of what every part has acknowledged', () => {
    const feedback = new LsnFeedback('0/10');
    const seen: string[] = [];
    feedback.acknowledged$.subscribe((l) => seen.push(l.toString()));
    const [fast, slow] = splitFeedback(feedback, 2);
    expect(fast.acknowledged.toString()).toBe('0/10');
    fast.acknowledge('0/100');
    fast.acknowledge('0/200');
    expect(feedback.acknowledged.toString()).toBe('0/10');
    slow.acknowledge('0/80');
    expect(feedback.acknowledged.toString()).toBe('0/80');
    slow.acknowledge('0/300');
    expect(feedback.acknowledged.toString()).toBe('0/200');
    expect(seen).toEqual(['0/10', '0/80', '0/200']);
  });

  it('rejects a count below 1', () => {
    expect(() => splitFeedback(new LsnFeedback(), 0)).toThrow(RangeError);
  });
});

describe('splitFeedback when a consumer ends', () => {
  const events = () => cold$([m.begin(1, 100), m.insert(101), m.commit(102, 110), m.begin(2, 200), m.insert(201), m.commit(202, 210)]).pipe(bufferTransaction(), share());

  it('a consumer that completes stops counting: the others go on acknowledging', () => {
    const feedback = new LsnFeedback();
    const [done, slow] = splitFeedback(feedback, 2);
    const shared = events();
    shared.pipe(take(1), ackOnCommit(done)).subscribe(); // completes after the first transaction
    shared.pipe(ackOnCommit(slow)).subscribe();
    expect(feedback.acknowledged.toString()).toBe('0/D2');
  });

  it('a consumer that errors fails the source feedback with ConsumerFailedError, acknowledging nothing it had not finished', async () => {
    const feedback = new LsnFeedback();
    const [failing, other] = splitFeedback(feedback, 2);
    const failure = firstValueFrom(feedback.failure$);
    const shared = events();
    shared.pipe(map(() => { throw new Error('index down'); }), ackOnCommit(failing)).subscribe({ error: () => {} });
    shared.pipe(ackOnCommit(other)).subscribe();
    const err = await failure;
    expect(err).toBeInstanceOf(ConsumerFailedError);
    expect(err.message).toContain('index down');
    // Nothing the failed consumer had not finished was acknowledged.
    expect(feedback.acknowledged.isZero()).toBe(true);
  });

  it('the source fails with ConsumerFailedError, before connecting, when its feedback has failed', async () => {
    const feedback = new LsnFeedback();
    feedback.fail(new Error('audit log full'));
    const source = logicalReplication({ host: '127.0.0.1', port: 1, slot: 's', publications: 'p', feedback });
    await expect(firstValueFrom(source)).rejects.toBeInstanceOf(ConsumerFailedError);
  });
});
