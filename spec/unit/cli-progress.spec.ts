import { formatBytes, formatSeconds, progressFields } from '../../cli/progress';

describe('the progress line of pg-walstream stream', () => {
  const base = { start: 0n, lastCommitMs: 1_000, nowMs: 4_000 };

  it('shows the position, the lag in bytes and seconds, the rate and the ETA to the target', () => {
    const f = progressFields({ ...base, position: 0x1_0000_0000n, target: 0x1_0000_0000n + 30n * 1024n * 1024n, serverEnd: 0x1_0000_0000n + 30n * 1024n * 1024n, bytesPerSecond: 3 * 1024 * 1024 });
    expect(f).toEqual({ walPosition: '1/0', lagText: 'lag 30.0 MB, 3 s', rateText: '3.0 MB/s', etaText: 'ETA 10 s' });
  });

  it('aims at --endpos when it is before the server end, and says when it is caught up', () => {
    const behind = progressFields({ ...base, position: 1000n, target: 2000n, serverEnd: 1_000_000n, bytesPerSecond: 100 });
    expect(behind.etaText).toBe('ETA 10 s');
    const done = progressFields({ ...base, position: 5000n, target: 5000n, serverEnd: 5000n, bytesPerSecond: 0 });
    expect(done).toMatchObject({ lagText: 'lag 0 B, 0 s', etaText: 'caught up' });
    expect(progressFields({ ...base, position: 0n, target: 10n, serverEnd: 10n, bytesPerSecond: 0 }).etaText).toBe('ETA ?');
  });

  it('formats sizes and durations', () => {
    expect([formatBytes(0), formatBytes(1023), formatBytes(1536), formatBytes(5 * 2 ** 30)]).toEqual(['0 B', '1023 B', '1.5 kB', '5.0 GB']);
    expect([formatSeconds(0), formatSeconds(59.4), formatSeconds(185), formatSeconds(7800), formatSeconds(Infinity)]).toEqual(['0 s', '59 s', '3 min 5 s', '2 h 10 min', '?']);
  });
});
