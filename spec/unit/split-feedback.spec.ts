import { LsnFeedback } from '../../src';
import { splitFeedback } from '../../operators';

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
