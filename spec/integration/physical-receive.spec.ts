import { once } from 'node:events';
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { filter, firstValueFrom, take, toArray } from 'rxjs';
import { type LocalServer } from '../../src/embedded';
import { Lsn, LsnFeedback, physicalReplication, receiveWal } from '../../src';
import { sqlClient, waitFor } from '../support/server';
import { DEBIAN_15, EMBEDDED_18, completeSegments, hasDebian15, spawnTool, startPhysicalServer, tempDir, toolConnString } from '../support/physical';

/** Writes about `mb` MB of WAL and switches segments after each MB, so segments complete. */
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

  it('writes segments byte-identical to pg_receivewal 15 on the same server and workload', async () => {
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
});
