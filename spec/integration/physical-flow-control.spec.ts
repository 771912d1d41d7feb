import type { Subscription } from 'rxjs';
import type { LocalServer } from '../../src/embedded';
import { Lsn, LsnFeedback, physicalReplication } from '../../src';
import { sqlClient, waitFor } from '../support/server';
import { destroyWhenIdle, startPhysicalServer } from '../support/physical';

// Issue 11, item 8: physical replication keeps bounded memory under a slow consumer. With
// `feedback` and no acknowledgment, the source stops reading once the window is full (never less
// than two segments), and reads on once the consumer acknowledges.

const MiB = 1024 * 1024;

describe('physical replication flow control', () => {
  let server: LocalServer;
  beforeAll(async () => {
    server = await startPhysicalServer();
  }, 60_000);
  afterAll(async () => {
    await destroyWhenIdle(server);
  });

  /** Writes `segments` segments of WAL: a row, then a switch to the next segment, each time. */
  async function fillSegments(segments: number): Promise<void> {
    const sql = await sqlClient(server.url);
    try {
      await sql.query('CREATE TABLE IF NOT EXISTS fc (id int)');
      for (let i = 0; i < segments; i++) {
        await sql.query('INSERT INTO fc VALUES (1)');
        await sql.query('SELECT pg_switch_wal()');
      }
    } finally {
      await sql.end();
    }
  }

  it('stops reading at the window while nothing is acknowledged, and reads on after an acknowledgment', async () => {
    const feedback = new LsnFeedback();
    let segmentSize = 0;
    let start = 0n;
    let end = 0n;
    let acknowledging = false;
    const sub: Subscription = physicalReplication({ connectionString: server.url, feedback, flowControl: { maxPendingBytes: 1 }, statusInterval: 500 }).subscribe((f) => {
      if (f.type === 'streamStart') {
        segmentSize = f.walSegmentSize;
        start = f.startLsn.value;
        end = start;
      } else if (f.type === 'xlogdata') {
        const e = f.walStart.value + BigInt(f.data.length);
        if (e > end) end = e;
      }
      if (acknowledging) feedback.acknowledge(Lsn.from(end));
    });
    try {
      await waitFor(() => segmentSize > 0, 20_000, 'the stream to start');
      await fillSegments(6);
      const window = 2 * segmentSize; // maxPendingBytes 1 is raised to two segments
      // Reading stops: the received position settles at the window, far below the six segments written.
      let last = -1n;
      await waitFor(async () => {
        const settled = end === last && end - start >= BigInt(window);
        last = end;
        if (!settled) await new Promise((r) => setTimeout(r, 500));
        return settled;
      }, 30_000, 'the stream to stop at the window');
      const pending = Number(end - start);
      expect(pending).toBeGreaterThanOrEqual(window);
      expect(pending).toBeLessThan(window + 4 * MiB);
      // The consumer acknowledges what it has, and from now on each frame: reading resumes and the rest arrives.
      feedback.acknowledge(Lsn.from(end));
      acknowledging = true;
      await waitFor(() => Number(end - start) >= 5 * segmentSize, 30_000, 'the stream to read on');
    } finally {
      sub.unsubscribe();
    }
  }, 90_000);
});
