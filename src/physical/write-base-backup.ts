import { chmodSync, createWriteStream, mkdirSync, readdirSync } from 'node:fs';
import { chmod, mkdir, open, symlink, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { Observable, type OperatorFunction } from 'rxjs';
import * as tar from 'tar-stream';
import { ConfigurationError, ProtocolError, UnsafeBackupPathError, WalstreamError } from '../errors';
import type { Backpressure } from './backpressure';
import type { BackupTablespace, BaseBackupEvent } from './base-backup';
import { checkArchiveName, checkTablespaceLocation, safeEntryPath } from './safe-paths';
import { createZstdDecompress } from './zstd-stream';

/** Options of {@link writeBaseBackup}. */
export interface WriteBaseBackupOptions {
  /** The target directory: must be missing or empty. Created with mode 0700, as PostgreSQL requires of a data directory. */
  directory: string;
  /**
   * `plain` extracts the archives (the main one into `directory`, each tablespace into its
   * location or `tablespaceMapping`); `tar` keeps `base.tar`, `<oid>.tar` (compressed as the
   * server sent them unless `decompress`) in `directory`. The manifest goes to `backup_manifest`.
   */
  format: 'plain' | 'tar';
  /** With `tar`: write gzip- or zstd-compressed archives decompressed. (`plain` always decompresses.) */
  decompress?: boolean;
  /** Server tablespace location → local directory, for `plain`. Default: the same path. */
  tablespaceMapping?: Record<string, string>;
  /** fsync every file written. Default true. */
  sync?: boolean;
  /** Paused while the archive being written is backed up, so the source stops reading (pass the same one to `baseBackup`). */
  backpressure?: Backpressure;
}

interface ArchiveSink {
  input: PassThrough;
  done: Promise<void>;
}

/**
 * Writes a `baseBackup` (pg-walstream/physical) to disk, passing its events through; completes once every file is
 * written (and fsynced, unless `sync: false`). Archives go through tar-stream for `plain`;
 * gzip archives are decompressed with zlib, zstd ones with fzstd. lz4 archives can be kept
 * (`tar`) but not decompressed (no well-kept streaming lz4 frame decoder for Node.js): that fails
 * at `archiveStart` with a {@link ConfigurationError}.
 * Nothing is written outside the target directories: archive names are checked as pg_basebackup
 * checks them, and plain extraction refuses absolute names, `..` components, paths through a link
 * the archive created, hard links and special files, with an {@link UnsafeBackupPathError} (no
 * file is ever opened through a link: files are created with `O_EXCL`).
 * With `backpressure` (shared with `baseBackup`), the source stops reading while an archive's
 * write stream is full, so a disk slower than the network does not fill memory.
 *
 * @example
 * baseBackup({ connectionString: url, checkpoint: 'fast', wal: true })
 *   .pipe(writeBaseBackup({ directory: 'restore', format: 'plain' }))
 *   .subscribe({ complete: () => console.log('restorable') });
 */
export function writeBaseBackup(options: WriteBaseBackupOptions): OperatorFunction<BaseBackupEvent, BaseBackupEvent> {
  const sync = options.sync ?? true;
  return (source) =>
    new Observable<BaseBackupEvent>((subscriber) => {
      let failed = false;
      let current: ArchiveSink | undefined;
      const pending: Promise<void>[] = [];
      let manifest: Buffer[] = [];
      try {
        prepareDirectory(options.directory);
      } catch (err) {
        subscriber.error(err);
        return;
      }
      const ready = Promise.resolve();

      const fail = (err: unknown) => {
        if (failed) return;
        failed = true;
        current?.input.destroy();
        subscription.unsubscribe();
        subscriber.error(err instanceof WalstreamError ? err : new WalstreamError(`writing the base backup failed: ${(err as Error).message ?? err}`, { cause: err }));
      };
      const track = (p: Promise<void>) => {
        p.catch(fail);
        pending.push(p);
      };

      const startArchive = (name: string, tablespace: BackupTablespace): ArchiveSink => {
        checkArchiveName(name);
        const compression = compressionOf(name);
        const decompress = options.format === 'plain' || options.decompress === true;
        if (decompress && compression === 'lz4') {
          throw new ConfigurationError(`cannot decompress lz4 archive ${name}: only gzip and zstd can be decompressed here; use the tar format without decompress`);
        }
        const input = new PassThrough({ highWaterMark: 1024 * 1024 });
        input.on('drain', () => {
          if (current?.input === input) options.backpressure?.resume();
        });
        const stages: (Readable | Writable)[] = [input];
        if (decompress && compression === 'gzip') stages.push(createGunzip());
        if (decompress && compression === 'zstd') stages.push(createZstdDecompress());
        let done: Promise<void>;
        if (options.format === 'tar') {
          const path = join(options.directory, decompress ? name.replace(/\.(gz|zst)$/, '') : name);
          done = ready.then(async () => {
            await pipeline([...stages, createWriteStream(path, { mode: 0o600, flags: 'wx' })] as unknown as NodeJS.ReadWriteStream[]).catch((err: NodeJS.ErrnoException) => {
              throw err.code === 'EEXIST' ? new UnsafeBackupPathError(`archive ${name} already exists in "${options.directory}"`, name) : err;
            });
            if (sync) await fsyncFile(path);
          });
        } else {
          const mapped = tablespace.location === null ? undefined : options.tablespaceMapping?.[tablespace.location];
          if (tablespace.location !== null && mapped === undefined) checkTablespaceLocation(tablespace.location, name);
          const target = tablespace.location === null ? options.directory : (mapped ?? tablespace.location);
          const extract = tar.extract();
          done = ready.then(async () => {
            if (target !== options.directory) prepareDirectory(target);
            // The extractor's own error (an unsafe entry) wins over the broken pipe it causes.
            const settled = await Promise.allSettled([
              extractEntries(extract, target, name, options.tablespaceMapping ?? {}, sync),
              pipeline([...stages, extract] as unknown as NodeJS.ReadWriteStream[]),
            ]);
            for (const r of settled) if (r.status === 'rejected') throw r.reason;
          });
        }
        track(done);
        return { input, done };
      };

      const subscription = source.subscribe({
        next: (event) => {
          if (failed) return;
          try {
            switch (event.type) {
              case 'archiveStart':
                current = startArchive(event.archiveName, event.tablespace);
                break;
              case 'archiveData':
                if (current !== undefined && !current.input.write(event.data)) options.backpressure?.pause();
                break;
              case 'archiveEnd':
                options.backpressure?.resume();
                current?.input.end();
                current = undefined;
                break;
              case 'manifestStart':
                manifest = [];
                break;
              case 'manifestData':
                manifest.push(event.data);
                break;
              case 'manifestEnd': {
                const path = join(options.directory, 'backup_manifest');
                const content = Buffer.concat(manifest);
                // O_EXCL: an archive may have put a link named backup_manifest in the directory.
                track(ready.then(() => writeFile(path, content, { mode: 0o600, flag: 'wx' })).then(() => (sync ? fsyncFile(path) : undefined)));
                break;
              }
              default:
                break;
            }
          } catch (err) {
            return fail(err);
          }
          subscriber.next(event);
        },
        error: (err: unknown) => {
          if (failed) return;
          failed = true;
          current?.input.destroy();
          subscriber.error(err);
        },
        complete: () => {
          Promise.all(pending)
            .then(async () => {
              if (sync) await fsyncFile(options.directory);
              if (!failed) subscriber.complete();
            })
            .catch(fail);
        },
      });
      return () => {
        subscription.unsubscribe();
        current?.input.destroy();
      };
    });
}

function compressionOf(name: string): 'gzip' | 'lz4' | 'zstd' | undefined {
  if (name.endsWith('.gz')) return 'gzip';
  if (name.endsWith('.lz4')) return 'lz4';
  if (name.endsWith('.zst')) return 'zstd';
  return undefined;
}

/** Creates `dir` (0700), or checks that it is empty, as pg_basebackup does. Synchronous, so it happens at subscribe. */
function prepareDirectory(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (readdirSync(dir).length > 0) throw new ConfigurationError(`directory "${dir}" exists and is not empty`);
  chmodSync(dir, 0o700);
}

async function extractEntries(extract: tar.Extract, target: string, archiveName: string, mapping: Record<string, string>, sync: boolean): Promise<void> {
  for await (const entry of extract) {
    const h = entry.header;
    const path = await safeEntryPath(target, h.name, archiveName);
    const mode = (h.mode ?? 0o600) & 0o7777;
    switch (h.type) {
      case 'directory':
        await mkdir(path, { recursive: true, mode: mode || 0o700 });
        await chmod(path, mode || 0o700);
        entry.resume();
        break;
      case 'symlink':
        // pg_tblspc/<oid> → the tablespace, remapped like pg_basebackup --tablespace-mapping.
        // Later entries never go through it (safeEntryPath), so its target cannot redirect writes.
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        await symlink(mapping[h.linkname ?? ''] ?? h.linkname ?? '', path).catch((err: NodeJS.ErrnoException) => {
          throw err.code === 'EEXIST' ? new UnsafeBackupPathError(`archive ${archiveName}: entry ${JSON.stringify(h.name)} already exists`, archiveName, h.name) : err;
        });
        entry.resume();
        break;
      case 'file':
      case 'contiguous-file':
      case undefined:
      case null: {
        await mkdir(dirname(path), { recursive: true, mode: 0o700 });
        // O_EXCL: never open an existing file or a link (a symlink's target, a hard link's inode).
        const out = createWriteStream(path, { mode: mode || 0o600, flags: 'wx' });
        await pipeline(entry, out).catch((err: NodeJS.ErrnoException) => {
          throw err.code === 'EEXIST' ? new UnsafeBackupPathError(`archive ${archiveName}: entry ${JSON.stringify(h.name)} already exists`, archiveName, h.name) : err;
        });
        if (sync) await fsyncFile(path);
        break;
      }
      case 'link':
        // PostgreSQL never sends hard links; one could alias a file outside the directory.
        throw new UnsafeBackupPathError(`archive ${archiveName}: entry ${JSON.stringify(h.name)} is a hard link to ${JSON.stringify(h.linkname)}; nothing was written for it`, archiveName, h.name);
      default:
        // Devices and FIFOs: PostgreSQL's tar writer never sends them; skipping would lose data silently.
        throw new ProtocolError(`archive ${archiveName}: entry ${JSON.stringify(h.name)} has unsupported tar type ${JSON.stringify(h.type)}`);
    }
  }
}

async function fsyncFile(path: string): Promise<void> {
  const handle = await open(path, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
