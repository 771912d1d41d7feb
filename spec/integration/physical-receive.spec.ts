import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { type LocalServer } from '../../src/embedded';
import { Lsn, LsnFeedback, physicalReplication } from '../../src';
import { receiveWal } from '../../src/physical';
import { sqlClient, waitFor } from '../support/server';
import { itWithDebianTools } from '../support/debian-tools';
import { DEBIAN_15, EMBEDDED_18, completeSegments, destroyWhenIdle, hasDebian15, spawnTool, startPhysicalServer, tempDir, toolConnString } from '../support/physical';

const CLI = join(__dirname, '..', '..', 'bin', 'pg-walstream.js');

/** Writes WAL for `rounds` rounds, switching segments after each, so segments complete. */
async function workload(url: string, rounds: number): Promise<void> {
  const sql = await sqlClient(url);
  try {
    await sql.query('CREATE TABLE IF NOT EXISTS wal_load (id serial PRIMARY KEY, payload text)');
    for (let i = 0; i < rounds; i++) {
      await sql.query("INSERT INTO wal_load (payload) SELECT repeat(md5(g::text), 20) FROM generate_series(1, 2000) g");
      await sql.query('SELECT pg_switch_wal()');
    }
  } finally {
    await sql.end();
  }
}

describe('physical replication: WAL receiver', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });
  const dir = () => {
    const d = tempDir();
    dirs.push(d);
    return d;
  };

  // pg_receivewal 15 is the reference where Debian's PostgreSQL 15 is installed (CI installs it).
  itWithDebianTools(['postgres', 'pg_receivewal'], 'writes segments byte-identical to pg_receivewal 15 on the same server and workload', async () => {
    const server = await startPhysicalServer(DEBIAN_15);
    const ours = dir();
    const theirs = dir();
    const tool = spawnTool('pg_receivewal', ['-D', theirs, '-d', toolConnString(server), '--no-loop', '-s', '1'], server);
    let toolErr = '';
    tool.stderr!.on('data', (d: Buffer) => (toolErr += d.toString()));
    const sub = receiveWal({ connectionString: server.url, directory: ours, statusInterval: 1000 }).subscribe();
    try {
      await new Promise((r) => setTimeout(r, 1000)); // both connected and streaming
      await workload(server.url, 4);
      await waitFor(() => completeSegments(ours).length >= 4 && completeSegments(theirs).length >= 4, 30_000, 'complete segments');
      const common = completeSegments(ours).filter((n) => completeSegments(theirs).includes(n));
      expect(common.length).toBeGreaterThanOrEqual(4);
      for (const name of common) expect(readFileSync(join(ours, name)).equals(readFileSync(join(theirs, name)))).toBe(true);
      // The open segment is .partial in both, at the same name.
      const partial = (d: string) => readdirSync(d).filter((n) => n.endsWith('.partial'));
      expect(partial(ours)).toEqual(partial(theirs));
    } finally {
      sub.unsubscribe();
      tool.kill('SIGINT');
      await once(tool, 'exit');
      await server.destroy();
    }
    expect(toolErr).not.toMatch(/error/i);
  });

  it('lets the server shut down at once: receivewal confirms the last WAL, then reports the end', async () => {
    const server = await startPhysicalServer();
    const ours = dir();
    // In a process of its own, as in production: pg_ctl stop below blocks this one.
    const child = spawn(process.execPath, [CLI, 'receivewal', '-D', ours, '-d', server.url, '--no-loop', '--flush-interval', '200'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = once(child, 'exit');
    try {
      await waitFor(() => readdirSync(ours).some((n) => n.endsWith('.partial')), 10_000, 'streaming');
      await workload(server.url, 1);
      const t0 = Date.now();
      await server.stop(); // a fast shutdown waits for walsenders until their client has confirmed the WAL
      expect(Date.now() - t0).toBeLessThan(10_000); // wal_sender_timeout is 60 s
      const [code] = await exited;
      expect(code).toBe(1);
      expect(stderr).toMatch(/pg-walstream: error: the server ended the replication stream \(shutdown\)/);
      expect(completeSegments(ours).length).toBeGreaterThanOrEqual(1);
    } finally {
      child.kill('SIGKILL');
      await server.destroy();
    }
  });

  describe('against PostgreSQL 18', () => {
    let server: LocalServer;
    beforeAll(async () => {
      server = await startPhysicalServer(EMBEDDED_18);
    });
    afterAll(async () => {
      await destroyWhenIdle(server);
    });

    it('resumes from the directory with a slot, and every complete segment equals the server\'s own pg_wal file', async () => {
      const ours = dir();
      const options = { connectionString: server.url, directory: ours, slot: 'archiver', createSlot: true, statusInterval: 200, flushInterval: 200 };
      const sql = await sqlClient(server.url);
      try {
        let sub = receiveWal(options).subscribe();
        await waitFor(async () => (await sql.query("SELECT 1 FROM pg_stat_replication WHERE state = 'streaming'")).rowCount === 1, 10_000, 'streaming');
        await workload(server.url, 2);
        await waitFor(() => completeSegments(ours).length >= 2, 20_000, 'first segments');
        sub.unsubscribe();
        await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND NOT active', ['archiver'])).rowCount === 1, 10_000, 'slot release');
        const before = completeSegments(ours);
        // WAL written while no receiver runs is held by the slot and fetched on resume.
        await workload(server.url, 2);
        sub = receiveWal(options).subscribe();
        await waitFor(() => completeSegments(ours).length >= before.length + 2, 20_000, 'resumed segments');
        const { rows } = await sql.query('SELECT restart_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', ['archiver']);
        sub.unsubscribe();
        const names = completeSegments(ours);
        // Contiguous: no segment is missing between the first and the last.
        const numbers = names.map((n) => BigInt(`0x${n.slice(8)}`));
        expect(numbers).toEqual(numbers.map((_, i) => numbers[0] + BigInt(i)));
        for (const name of names) expect(readFileSync(join(ours, name)).equals(readFileSync(join(server.dataDir, 'pg_wal', name)))).toBe(true);
        // The slot's restart_lsn followed the fsynced position: at least past the segments completed before the restart.
        const lastBefore = BigInt(`0x${before[before.length - 1].slice(8)}`);
        expect(Lsn.parse(rows[0].lsn).value).toBeGreaterThanOrEqual((lastBefore + 1n) * 16n * 1024n * 1024n);
      } finally {
        await sql.end();
      }
    });

    it('receivewal CLI: creates the slot, streams segments, and stops cleanly on SIGINT leaving the open segment partial', async () => {
      const ours = dir();
      const child = spawn(process.execPath, [CLI, 'receivewal', '-D', ours, '-d', server.url, '--slot', 'cli_slot', '--create-slot', '-v', '--flush-interval', '200'], {
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stderr = '';
      child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
      const sql = await sqlClient(server.url);
      try {
        await waitFor(async () => (await sql.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cli_slot' AND active")).rowCount === 1, 10_000, 'active slot');
        await workload(server.url, 2);
        await waitFor(() => completeSegments(ours).length >= 2, 20_000, 'segments');
        child.kill('SIGINT');
        const [code] = await once(child, 'exit');
        expect(code).toBe(0);
        expect(stderr).toMatch(/finished segment [0-9A-F]{24} \(timeline 1\)/);
        expect(readdirSync(ours).filter((n) => n.endsWith('.partial'))).toHaveLength(1);
        await waitFor(async () => (await sql.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'cli_slot' AND NOT active")).rowCount === 1, 10_000, 'slot released');
      } finally {
        child.kill('SIGKILL');
        await sql.end();
      }
    });

    it('sends hot standby feedback that shows as backend_xmin in pg_stat_replication', async () => {
      const sql = await sqlClient(server.url);
      try {
        const { rows } = await sql.query('SELECT txid_current()::text AS txid');
        const txid = BigInt(rows[0].txid);
        const xmin = Number(txid & 0xffffffffn);
        const sub = physicalReplication({
          connectionString: server.url,
          statusInterval: 100,
          hotStandbyFeedback: { xmin, xminEpoch: Number(txid >> 32n) },
        }).subscribe();
        try {
          await waitFor(
            async () => (await sql.query('SELECT backend_xmin::text AS x FROM pg_stat_replication')).rows.some((r) => r.x === String(xmin)),
            10_000,
            'backend_xmin',
          );
        } finally {
          sub.unsubscribe();
        }
      } finally {
        await sql.end();
      }
    });

    it('with a slot, hot standby feedback sets the slot\'s xmin', async () => {
      const sql = await sqlClient(server.url);
      try {
        const txid = BigInt((await sql.query('SELECT txid_current()::text AS txid')).rows[0].txid);
        const xmin = Number(txid & 0xffffffffn);
        const sub = physicalReplication({
          connectionString: server.url,
          slot: 'feedback_slot',
          createSlot: true,
          statusInterval: 100,
          hotStandbyFeedback: () => ({ xmin, xminEpoch: Number(txid >> 32n) }),
        }).subscribe();
        try {
          await waitFor(
            async () => (await sql.query("SELECT xmin::text AS x FROM pg_replication_slots WHERE slot_name = 'feedback_slot'")).rows[0]?.x === String(xmin),
            10_000,
            'slot xmin',
          );
        } finally {
          sub.unsubscribe();
        }
        await waitFor(async () => (await sql.query("SELECT 1 FROM pg_replication_slots WHERE slot_name = 'feedback_slot' AND NOT active")).rowCount === 1, 10_000, 'slot release');
        await sql.query("SELECT pg_drop_replication_slot('feedback_slot')");
      } finally {
        await sql.end();
      }
    });

    it('starts at the server position rounded down to its segment and streams contiguous WAL', async () => {
      const feedback = new LsnFeedback();
      const frames = firstValueFrom(
        physicalReplication({ connectionString: server.url, feedback }).pipe(
          filter((f) => f.type === 'streamStart' || f.type === 'xlogdata'),
          take(3),
          toArray(),
        ),
      );
      await new Promise((r) => setTimeout(r, 300));
      await workload(server.url, 1);
      const [start, a, b] = await frames;
      if (start.type !== 'streamStart' || a.type !== 'xlogdata' || b.type !== 'xlogdata') throw new Error('unexpected frames');
      expect(start.walSegmentSize).toBe(16 * 1024 * 1024);
      expect(start.startLsn.value % BigInt(start.walSegmentSize)).toBe(0n);
      expect(a.walStart.equals(start.startLsn)).toBe(true);
      expect(b.walStart.equals(a.walStart.add(a.data.length))).toBe(true);
    });
  });
});
