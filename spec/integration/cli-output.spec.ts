import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Client } from 'pg';
import { ReplicationClient } from '../../src';
import { BIN, cli } from '../support/cli';
import { defaultServer, sqlClient, uniqueName, waitFor } from '../support/server';

const run = promisify(execFile);

// What `pg-walstream stream` prints and how it talks (issue 15): json null vs SQL NULL, a
// transaction the server refuses part way, the command line, and the progress line on a terminal.
describe('pg-walstream stream: output, flags and progress', () => {
  const server = defaultServer();
  let sql: Client;
  let version: number;
  const slots: string[] = [];
  const drops: string[] = [];
  const dir = mkdtempSync(join(tmpdir(), 'walstream-cli-'));

  const newSlot = async () => {
    const slot = uniqueName('slot');
    const client = await ReplicationClient.connect(server.url);
    await client.createReplicationSlot(slot);
    await client.close();
    slots.push(slot);
    return slot;
  };
  const currentLsn = async () => (await sql.query('SELECT pg_current_wal_lsn()::text AS l')).rows[0].l as string;
  const table = async (columns: string) => {
    const name = uniqueName('t');
    await sql.query(`CREATE TABLE ${name} (${columns}); CREATE PUBLICATION ${name}_pub FOR TABLE ${name}`);
    drops.push(`DROP PUBLICATION ${name}_pub; DROP TABLE ${name}`);
    return name;
  };
  const lines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);

  beforeAll(async () => {
    sql = await sqlClient(server.url);
    version = Number((await sql.query('SHOW server_version_num')).rows[0].server_version_num);
  });
  afterAll(async () => {
    for (const slot of slots) {
      await waitFor(async () => (await sql.query('SELECT 1 FROM pg_replication_slots WHERE slot_name = $1 AND active', [slot])).rowCount === 0, 10_000);
      await sql.query('SELECT pg_drop_replication_slot($1)', [slot]);
    }
    for (const d of drops) await sql.query(d);
    await sql.end();
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints a json or jsonb null document distinctly from SQL NULL', async () => {
    const t = await table('id int PRIMARY KEY, j json, jb jsonb');
    const slot = await newSlot();
    await sql.query(`INSERT INTO ${t} VALUES (1, 'null', 'null'), (2, NULL, NULL), (3, '{"a": null}', '[null]')`);
    const { code, stdout } = await cli(['stream', '-d', server.url, '-S', slot, '-P', `${t}_pub`, '-E', await currentLsn()]);
    expect(code).toBe(0);
    const inserts = lines(stdout).filter((l) => l.type === 'insert');
    expect(inserts.map((l) => [l.new, l.jsonNull])).toEqual([
      [{ id: 1, j: null, jb: null }, { new: ['j', 'jb'] }],
      [{ id: 2, j: null, jb: null }, undefined],
      [{ id: 3, j: { a: null }, jb: [null] }, undefined],
    ]);
  });

  const binaryVersion = 140000;
  it('ends a transaction the server refuses part way with an incomplete line and an error that says what to do', async () => {
    if (version < binaryVersion) return; // binary mode needs PostgreSQL 14 (allServers runs older ones only elsewhere)
    const t = await table('id int PRIMARY KEY, acl aclitem[]');
    const after = await table('id int PRIMARY KEY');
    const slot = await newSlot();
    await sql.query(`INSERT INTO ${t} VALUES (1, '{postgres=r/postgres}')`);
    await sql.query(`INSERT INTO ${after} VALUES (7)`);
    const end = await currentLsn();
    const flags = ['stream', '-d', server.url, '-S', slot, '-P', `${t}_pub`, '-P', `${after}_pub`, '--binary', '-E', end];
    const refused = await cli(flags);
    expect(refused.code).toBe(1);
    expect(refused.stderr.trim().split('\n')).toHaveLength(1);
    expect(refused.stderr).toMatch(/the server stopped sending transaction \d+ \(commit at [0-9A-F]+\/[0-9A-F]+\) part way: .*aclitem.* \(SQLSTATE 42883\); stream in text mode \(without --binary\), or skip this transaction with --start [0-9A-F]+\/[0-9A-F]+$/m);
    const out = lines(refused.stdout);
    expect(out[0]).toMatchObject({ type: 'begin' });
    expect(out.at(-1)).toMatchObject({ type: 'incomplete', xid: out[0].xid, lsn: out[0].lsn, reason: expect.stringContaining('42883') });
    // The suggested --start skips that transaction and goes on.
    const start = /--start (\S+)$/m.exec(refused.stderr)![1];
    const skipped = await cli([...flags, '--start', start]);
    expect(skipped.code).toBe(0);
    const next = lines(skipped.stdout);
    expect(next.filter((l) => l.type === 'insert').map((l) => [l.table, l.new])).toEqual([[after, { id: 7 }]]);
  });

  it('validates numeric flags and names CLI flags in errors (exit 2 for a wrong command line)', async () => {
    for (const [flag, value] of [['--status-interval', 'abc'], ['--status-interval', '-1'], ['--fsync-interval', '1.5'], ['-F', ''], ['-s', '1e3']]) {
      const { code, stderr, stdout } = await cli(['stream', '-d', server.url, '-S', 's', '-P', 'p', flag, value]);
      expect({ flag, value, code, stdout }).toEqual({ flag, value, code: 2, stdout: '' });
      expect(stderr).toMatch(/option '-(s|F), --(status|fsync)-interval <ms>' argument '.*' is invalid\. expected a whole number of milliseconds, 0 for off/);
    }
    const twoPhase = await cli(['stream', '-d', server.url, '-S', 's', '-P', 'p', '--two-phase', '--proto-version', '1']);
    expect(twoPhase.code).toBe(1);
    expect(twoPhase.stderr.trim()).toMatch(/^pg-walstream: error: --two-phase needs (--proto-version 3 or later|PostgreSQL 15 or later)/);
    const missing = await cli(['stream', '-d', server.url, '-P', 'p']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/required option '-S, --slot <name>' not specified/);
  });

  it('prints --version and a --help that names the required flags, says -f appends, and points to the format', async () => {
    const pkg = JSON.parse(readFileSync(join(__dirname, '../../package.json'), 'utf8')) as { version: string };
    const version = await cli(['--version']);
    expect(version).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const help = await cli(['stream', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toMatch(/--slot <name>\s+replication slot \(required\)/);
    expect(help.stdout).toMatch(/--publication <name>\s+publication \(required; repeatable\)/);
    expect(help.stdout).toContain('Required: --slot and --publication');
    expect(help.stdout).toMatch(/-f appends to the\s+file/);
    expect(help.stdout).toContain('docs/json-output.md');
    expect(help.stdout).toMatch(/Exit codes: 0 .*\n?.*1 .*2 .*3 /s);
  });

  const hasScript = existsSync('/usr/bin/script');
  if (!hasScript && process.env.CI === 'true') throw new Error('cli-output: the progress test needs script(1) (util-linux) for a pseudo-terminal');
  if (!hasScript) console.warn('cli-output: script(1) is missing; the progress line on a terminal is not tested');

  (hasScript ? it : it.skip)('shows a progress line on a terminal, and nothing when stderr is not a terminal or with --quiet', async () => {
    const t = await table('id int PRIMARY KEY, note text');
    const slot = await newSlot();
    for (let i = 0; i < 20; i++) await sql.query(`INSERT INTO ${t} SELECT g, repeat('x', 100) FROM generate_series(${i * 500}, ${i * 500 + 499}) g`);
    const base = ['stream', '-d', server.url, '-S', slot, '-P', `${t}_pub`, '-s', '200'];
    const out = join(dir, 'progress.jsonl');
    // In a pseudo-terminal for 4 s (no --endpos: the stream then stays caught up), stopped by SIGINT.
    const quote = (a: string) => `'${a.replace(/'/g, "'\\''")}'`;
    const command = (extra: string[]) => ['timeout', '--preserve-status', '-s', 'INT', '4', process.execPath, BIN, ...base, '-f', out, ...extra].map(quote).join(' ');
    const onTty = await run('script', ['-qec', command([]), '/dev/null'], { timeout: 30_000 });
    expect(onTty.stdout).toMatch(/[0-9A-F]+\/[0-9A-F]+ \| lag \d+(\.\d)? [kMG]?B, \d+ s \| \d+(\.\d)? [kMG]?B\/s \| (ETA \S+|caught up)/);
    const quiet = await run('script', ['-qec', command(['--quiet']), '/dev/null'], { timeout: 30_000 });
    expect(quiet.stdout).not.toMatch(/lag/);
    const piped = await cli([...base, '-f', out, '-E', await currentLsn()]);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
  });
});
