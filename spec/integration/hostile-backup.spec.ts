import { existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import * as tar from 'tar-stream';
import { writeBaseBackup } from '../../operators/write-base-backup';
import { UnsafeBackupPathError } from '../../src/errors';
import { baseBackup } from '../../src/physical/base-backup';
import { type HostileServer, cstr, hostileServer, resultSet } from '../support/hostile-server';

type Entry = { name: string; type?: 'file' | 'directory' | 'symlink' | 'link'; linkname?: string; content?: string };

async function tarOf(entries: Entry[]): Promise<Buffer> {
  const pack = tar.pack();
  const chunks: Buffer[] = [];
  pack.on('data', (c) => void chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve) => pack.on('end', () => resolve()));
  for (const e of entries) {
    const content = e.content === undefined ? undefined : Buffer.from(e.content);
    const header = { name: e.name, type: e.type ?? 'file', linkname: e.linkname, mode: 0o600, size: content?.length ?? 0 };
    if (content === undefined) pack.entry(header, () => undefined).end(Buffer.alloc(0));
    else pack.entry(header, content);
  }
  pack.finalize();
  await ended;
  return Buffer.concat(chunks);
}

/** A replication "server" that answers BASE_BACKUP (PostgreSQL 15+ stream format) with one crafted archive. */
function backupServer(archiveName: string, archive: Buffer): Promise<HostileServer> {
  return hostileServer({
    query: (sql, send) => {
      if (!sql.startsWith('BASE_BACKUP')) throw new Error(`unexpected ${sql}`);
      resultSet(send, ['recptr', 'tli'], [['0/2000028', '1']]);
      resultSet(send, ['spcoid', 'spclocation', 'size'], [[null, null, '1']]);
      send('H', Buffer.from([0, 0, 0]));
      send('d', Buffer.concat([Buffer.from('n'), cstr(archiveName), cstr('')]));
      for (let i = 0; i < archive.length; i += 1000) send('d', Buffer.concat([Buffer.from('d'), archive.subarray(i, i + 1000)]));
      send('c');
      resultSet(send, ['recptr', 'tli'], [['0/2000100', '1']]);
    },
  });
}

describe('a hostile server cannot make a base backup write outside its directory', () => {
  let root: string;
  let target: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'walstream-hostile-'));
    target = join(root, 'backup');
    outside = join(root, 'outside');
    mkdirSync(outside);
    writeFileSync(join(outside, 'victim'), 'original');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  /** Runs the backup against the hostile server and returns the error it must end with. */
  async function attempt(archiveName: string, entries: Entry[], format: 'plain' | 'tar' = 'plain'): Promise<Error> {
    const server = await backupServer(archiveName, await tarOf(entries));
    try {
      const run = lastValueFrom(baseBackup({ host: '127.0.0.1', port: server.port, user: 'x', database: 'x', sslMode: 'disable' }).pipe(writeBaseBackup({ directory: target, format, sync: false })));
      return await run.then(
        () => {
          throw new Error('the backup succeeded');
        },
        (err: Error) => err,
      );
    } finally {
      await server.close();
    }
  }
  /** Everything under `outside` is as before: the victim file untouched, nothing added. */
  function expectOutsideUntouched(): void {
    expect(readdirSync(outside)).toEqual(['victim']);
    expect(lstatSync(join(outside, 'victim')).isFile()).toBe(true);
    expect(readdirSync(root).sort()).toEqual(['backup', 'outside']);
  }

  it.each([['../evil.tar'], ['.hidden.tar'], ['sub/evil.tar'], ['sub\\evil.tar'], ['']])('refuses the archive name %j, as pg_basebackup does', async (name) => {
    const err = await attempt(name, [{ name: 'PG_VERSION', content: '18\n' }], 'tar');
    expect(err).toBeInstanceOf(UnsafeBackupPathError);
    expect(err.message).toContain('invalid archive name');
    expectOutsideUntouched();
    expect(readdirSync(target)).toEqual([]);
  });

  it('extracts an honest archive (the server works)', async () => {
    const server = await backupServer('base.tar', await tarOf([{ name: 'global', type: 'directory' }, { name: 'global/x', content: 'ok' }, { name: 'PG_VERSION', content: '18\n' }]));
    try {
      await lastValueFrom(baseBackup({ host: '127.0.0.1', port: server.port, user: 'x', database: 'x', sslMode: 'disable' }).pipe(writeBaseBackup({ directory: target, format: 'plain', sync: false })));
    } finally {
      await server.close();
    }
    expect(readdirSync(target).sort()).toEqual(['PG_VERSION', 'global']);
  });

  const cases: [string, (outside: string) => Entry[], RegExp][] = [
    ['a "../" entry', () => [{ name: '../outside/victim', content: 'pwned' }], /"\.\." component/],
    ['a ".." hidden in the middle', () => [{ name: 'global/../../outside/new', content: 'pwned' }], /"\.\." component/],
    ['an absolute name', (o) => [{ name: `${o}/new`, content: 'pwned' }], /absolute name/],
    ['a file written through a symlink to a directory outside', (o) => [{ name: 'pg_tblspc/1', type: 'symlink', linkname: o }, { name: 'pg_tblspc/1/new', content: 'pwned' }], /through a symbolic link/],
    ['a symlink to ".." then a file below it', () => [{ name: 'up', type: 'symlink', linkname: '..' }, { name: 'up/outside/victim', content: 'pwned' }], /through a symbolic link/],
    ['a file entry that reuses a symlink pointing outside', (o) => [{ name: 'x', type: 'symlink', linkname: `${o}/victim` }, { name: 'x', content: 'pwned' }], /symbolic link/],
    ['a directory entry that reuses a symlink (chmod would follow it)', (o) => [{ name: 'd', type: 'symlink', linkname: o }, { name: 'd', type: 'directory' }], /symbolic link/],
    ['a hard link to a file outside', (o) => [{ name: 'h', type: 'link', linkname: `${o}/victim` }, { name: 'h', content: 'pwned' }], /hard link/],
    ['a symlink named backup_manifest', (o) => [{ name: 'backup_manifest', type: 'symlink', linkname: `${o}/victim` }, { name: 'backup_manifest', content: 'x' }], /symbolic link/],
  ];
  it.each(cases)('refuses %s and writes nothing outside', async (_what, entries, reason) => {
    const err = await attempt('base.tar', entries(outside));
    expect(err).toBeInstanceOf(UnsafeBackupPathError);
    expect(err.message).toMatch(reason);
    expect((err as UnsafeBackupPathError).archiveName).toBe('base.tar');
    expectOutsideUntouched();
    expect(existsSync(join(root, 'new'))).toBe(false);
  });
});
