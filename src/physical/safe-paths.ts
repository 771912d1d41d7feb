import { lstat } from 'node:fs/promises';
import { isAbsolute, join, posix } from 'node:path';
import { UnsafeBackupPathError } from '../errors';

/**
 * Checks an archive name sent by the server in BASE_BACKUP's new-archive message as pg_basebackup
 * does (`ReceiveArchiveStreamChunk` in `src/bin/pg_basebackup/pg_basebackup.c`): not empty, no
 * leading dot, no `/` or `\`. The name becomes a file name in the target directory.
 * @throws {UnsafeBackupPathError} for any other name.
 * @example
 * checkArchiveName('base.tar.gz'); // ok
 * checkArchiveName('../x.tar');    // throws
 */
export function checkArchiveName(name: string): void {
  if (name === '' || name.startsWith('.') || name.includes('/') || name.includes('\\') || name.includes('\0')) {
    throw new UnsafeBackupPathError(`invalid archive name: ${JSON.stringify(name)}`, name);
  }
}

/**
 * Checks a tablespace location announced by the server before plain-format extraction writes to
 * it (when `tablespaceMapping` does not map it): an absolute path without `.` or `..` components,
 * as PostgreSQL's `CREATE TABLESPACE` requires.
 * @throws {UnsafeBackupPathError} for a relative or non-canonical location.
 */
export function checkTablespaceLocation(location: string, archiveName: string): void {
  if (!posix.isAbsolute(location) || location.includes('\0') || location.split('/').some((c) => c === '.' || c === '..')) {
    throw new UnsafeBackupPathError(`archive ${archiveName}: invalid tablespace location ${JSON.stringify(location)}`, archiveName);
  }
}

/**
 * Where a tar entry of a plain-format extraction may be written: `root` joined with `name`, after
 * refusing what could escape `root` (as pg_basebackup's extractor must, and as tar's own
 * `--no-overwrite-dir`/`-P` rules do): an absolute name, a `..` component, or a parent that is a
 * symbolic link. The target directory starts empty, so every link under it was created by the
 * archive itself. Returns the path; the caller creates files with `O_EXCL` so that the entry
 * itself cannot be a link either.
 * @throws {UnsafeBackupPathError} naming the archive and the entry.
 */
export async function safeEntryPath(root: string, name: string, archiveName: string): Promise<string> {
  const unsafe = (why: string) => new UnsafeBackupPathError(`archive ${archiveName}: entry ${JSON.stringify(name)} ${why}; nothing was written for it`, archiveName, name);
  if (name.includes('\0') || name.includes('\\')) throw unsafe('has a NUL or backslash in its name');
  if (isAbsolute(name)) throw unsafe('has an absolute name');
  const components = name.split('/').filter((c) => c !== '' && c !== '.');
  if (components.includes('..')) throw unsafe('has a ".." component');
  if (components.length === 0) return root;
  let path = root;
  for (let i = 0; i < components.length; i++) {
    path = join(path, components[i]);
    const st = await lstat(path).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return undefined;
      throw err;
    });
    if (st === undefined) break; // nothing below a missing directory exists yet
    if (st.isSymbolicLink()) throw unsafe(i === components.length - 1 ? 'would replace or follow a symbolic link' : 'goes through a symbolic link');
    if (i < components.length - 1 && !st.isDirectory()) throw unsafe('goes through a file that is not a directory');
  }
  return join(root, ...components);
}
