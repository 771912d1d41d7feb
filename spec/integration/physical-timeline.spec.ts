import { readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { lastValueFrom, takeWhile, toArray } from 'rxjs';
import { type LocalServer, startPostgresFromBinaries } from '../../src/embedded';
import { physicalReplication } from '../../src';
import { type BaseBackupEvent, backupToDirectory, receiveWal } from '../../src/physical';
import { sqlClient, waitFor } from '../support/server';
import { EMBEDDED_18, PHYSICAL_SETTINGS, completeSegments, destroyWhenIdle, startPhysicalServer, tempDir } from '../support/physical';

describe('timeline switch', () => {
  let primary: LocalServer;
  let standby: LocalServer | undefined;
  const dirs: string[] = [];
  afterAll(async () => {
    await destroyWhenIdle(standby);
    await destroyWhenIdle(primary);
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('streams across the switch of a standby, built from our backup, promoted to timeline 2', async () => {
    primary = await startPhysicalServer(EMBEDDED_18);
    const sql = await sqlClient(primary.url);
    await sql.query('CREATE TABLE t (id int)');
    await sql.query('INSERT INTO t SELECT generate_series(1, 1000)');
    await sql.end();

    // A standby from our base backup (WAL streamed), started in standby mode, then promoted.
    const root = tempDir();
    dirs.push(root);
    const dataDir = join(root, 'standby');
    const events = await lastValueFrom(backupToDirectory({ connectionString: primary.url, directory: dataDir, checkpoint: 'fast', sync: false }).pipe(toArray()));
    const start = events.find((e) => e.type === 'backupStart') as Extract<BaseBackupEvent, { type: 'backupStart' }>;
    writeFileSync(join(dataDir, 'standby.signal'), '');
    standby = await startPostgresFromBinaries(EMBEDDED_18, { dataDir, password: primary.password, settings: PHYSICAL_SETTINGS });
    const s = await sqlClient(standby.url);
    try {
      expect((await s.query('SELECT pg_is_in_recovery() AS r')).rows[0].r).toBe(true);
      await s.query('SELECT pg_promote()');
      await waitFor(async () => (await s.query('SELECT timeline_id FROM pg_control_checkpoint()')).rows[0].timeline_id === 2, 20_000, 'timeline 2');
      await s.query('INSERT INTO t SELECT generate_series(1001, 2000)');
      await s.query('SELECT pg_switch_wal()');
      await s.query('INSERT INTO t SELECT generate_series(2001, 3000)');
      await s.query('SELECT pg_switch_wal()');
    } finally {
      await s.end();
    }
    const history = readFileSync(join(dataDir, 'pg_wal', '00000002.history'), 'utf8');
    const switchPoint = /^1\t([0-9A-F]+\/[0-9A-F]+)/m.exec(history)![1];

    // Stream timeline 1 from the backup's start: the server ends it at the switch point, and the
    // receiver goes on with timeline 2 from the start of that segment.
    const wal = join(root, 'wal');
    const walEvents = await lastValueFrom(
      receiveWal({ connectionString: standby.url, directory: wal, startLsn: start.startLsn, timeline: 1, sync: false }).pipe(
        takeWhile(() => completeSegments(wal).filter((n) => n.startsWith('00000002')).length < 2, true),
        toArray(),
      ),
    );
    const switchEvent = walEvents.find((e) => e.type === 'timelineSwitch');
    expect(switchEvent).toMatchObject({ timeline: 1, nextTimeline: 2 });
    expect(switchEvent!.type === 'timelineSwitch' && switchEvent!.nextTimelineStart.toString()).toBe(switchPoint);
    expect(readFileSync(join(wal, '00000002.history'), 'utf8')).toBe(history);
    // A segment of timeline 1 cut by the switch would stay partial, as with pg_receivewal (here the
    // backup's final WAL switch puts the fork at a segment boundary, so there is none); every
    // complete segment of both timelines is the server's own file, byte for byte.
    const names = readdirSync(wal);
    const segmentSize = 16n * 1024n * 1024n;
    const [hi, lo] = switchPoint.split('/').map((h) => BigInt(`0x${h}`));
    const switchLsn = (hi << 32n) + lo;
    const cut = `00000001${(switchLsn / segmentSize).toString(16).toUpperCase().padStart(16, '0')}.partial`;
    expect(names.includes(cut)).toBe(switchLsn % segmentSize !== 0n);
    const tl1 = completeSegments(wal).filter((n) => n.startsWith('00000001'));
    const tl2 = completeSegments(wal).filter((n) => n.startsWith('00000002'));
    expect(tl1.length).toBeGreaterThanOrEqual(1);
    expect(tl2.length).toBeGreaterThanOrEqual(2);
    for (const name of [...tl1, ...tl2]) expect(readFileSync(join(wal, name)).equals(readFileSync(join(dataDir, 'pg_wal', name)))).toBe(true);

    // Starting exactly at the fork point of timeline 1, the server answers with the next timeline
    // at once (no CopyBoth); the source switches and streams timeline 2.
    const frames = await lastValueFrom(
      physicalReplication({ connectionString: standby.url, startLsn: switchPoint, timeline: 1 }).pipe(
        takeWhile((f) => f.type !== 'xlogdata', true),
        toArray(),
      ),
    );
    expect(frames.map((f) => f.type)).toEqual(['streamStart', 'timelineSwitch', 'timelineHistory', 'xlogdata']);
    const last = frames[3];
    expect(last.type === 'xlogdata' && last.walStart.value % (16n * 1024n * 1024n)).toBe(0n);
  });
});
