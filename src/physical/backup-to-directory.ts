import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, lstatSync, mkdirSync, openSync, closeSync, fsyncSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { Observable, type Subscription } from 'rxjs';
import * as tar from 'tar-stream';
import { writeBaseBackup } from './write-base-backup';
import { writeWalSegments } from './write-wal-segments';
import { UnsafeBackupPathError, WalstreamError } from '../errors';
import type { Lsn } from '../lsn';
import { physicalReplication } from '../source/physical';
import { resolveConfig } from '../wire/config';
import { PgConnection } from '../wire/connection';
import { showWalSegmentSize } from './commands';
import { Backpressure } from './backpressure';
import { type BaseBackupEvent, type BaseBackupOptions, baseBackup } from './base-backup';
import { roundDownToSegment } from './wal-names';

/** Options of {@link backupToDirectory}. */
export interface BackupToDirectoryOptions extends Omit<BaseBackupOptions, 'wal'> {
  /** Must be missing or empty. */
  directory: string;
  /** `plain` (a data directory) or `tar` (`base.tar`, `<oid>.tar`, `pg_wal.tar`). Default `plain`. */
  format?: 'plain' | 'tar';
  /**
   * How the WAL that makes the backup consistent gets there (pg_basebackup `-X`): `fetch` in the
   * main archive at the end, `stream` over a second replication connection while the backup runs
   * (default; safe even when the server recycles WAL quickly), or `none`.
   */
  walMethod?: 'fetch' | 'stream' | 'none';
  /** With `stream`: stream through this existing physical slot instead of a temporary one. */
  slot?: string;
  /** With `tar`: write gzip- or zstd-compressed archives decompressed. */
  decompress?: boolean;
  /** Server tablespace location → local directory, for `plain`. */
  tablespaceMapping?: Record<string, string>;
  /** fsync what is written. Default true. */
  sync?: boolean;
}

/**
 * pg_basebackup as an Observable: runs {@link baseBackup}, writes it with {@link writeBaseBackup},
 * and with `walMethod: 'stream'` receives the WAL from the backup's start to its end LSN into
 * `pg_wal` (or `pg_wal.tar`) as pg_basebackup does: from the start of the start LSN's segment on
 * its timeline, through a temporary physical slot, final segment names at once, zero-padded.
 * Emits the backup's events and completes when every file is written, so the directory can be
 * started as a PostgreSQL data directory (plain) or extracted (tar).
 *
 * Errors: those of {@link baseBackup}, {@link writeBaseBackup} and {@link physicalReplication}.
 *
 * @example
 * backupToDirectory({ connectionString: url, directory: '/srv/restore', checkpoint: 'fast' })
 *   .subscribe({ next: (e) => e.type === 'backupEnd' && console.log('end LSN', e.endLsn.toString()) });
 */
export function backupToDirectory(options: BackupToDirectoryOptions): Observable<BaseBackupEvent> {
  return new Observable<BaseBackupEvent>((subscriber) => {
    const format = options.format ?? 'plain';
    const walMethod = options.walMethod ?? 'stream';
    const sync = options.sync ?? true;
    let walSubscription: Subscription | undefined;
    let walWritten: Lsn | undefined;
    let walEnd: Lsn | undefined;
    let walFinished: () => void = () => {};
    const walDone = new Promise<void>((resolve) => (walFinished = resolve));
    let walDir = '';
    let failed = false;

    const fail = (err: unknown) => {
      if (failed) return;
      failed = true;
      walSubscription?.unsubscribe();
      backupSubscription?.unsubscribe();
      subscriber.error(err);
    };
    const checkWalEnd = () => {
      if (walEnd !== undefined && walWritten !== undefined && walWritten.value >= walEnd.value) {
        walSubscription?.unsubscribe(); // flushes and closes the last segment
        walFinished();
      }
    };
    const startWalStream = (start: Lsn, timeline: number, segmentSize: number) => {
      // A fresh directory of our own (mkdir without `recursive` fails on anything already there,
      // links included): the archive being extracted beside it cannot redirect the WAL writes.
      walDir = join(options.directory, `.pg_wal.stream-${randomBytes(8).toString('hex')}`);
      mkdirSync(walDir, { mode: 0o700 });
      const slot = options.slot ?? `pg_walstream_${process.pid}_${randomBytes(4).toString('hex')}`;
      walSubscription = physicalReplication({
        ...options,
        slot,
        createSlot: options.slot === undefined ? { temporary: true } : false,
        startLsn: roundDownToSegment(start, segmentSize),
        timeline,
        statusInterval: 1000,
      })
        .pipe(writeWalSegments({ directory: walDir, partialSuffix: '', sync }))
        .subscribe({
          next: (e) => {
            if (e.type === 'written') {
              walWritten = e.lsn;
              checkWalEnd();
            }
          },
          error: fail,
        });
    };

    let segmentSize = 16 * 1024 * 1024;
    const backpressure = new Backpressure();
    const backupSubscription: Subscription = baseBackup({ ...options, wal: walMethod === 'fetch', wait: walMethod === 'none' ? options.wait : false, backpressure })
      .pipe(writeBaseBackup({ directory: options.directory, format, decompress: options.decompress, tablespaceMapping: options.tablespaceMapping, sync, backpressure }))
      .subscribe({
        next: (event) => {
          if (event.type === 'backupStart' && walMethod === 'stream') {
            void walSegmentSizeOf(options).then(
              (size) => {
                segmentSize = size;
                if (!failed) startWalStream(event.startLsn, event.timeline, segmentSize);
              },
              fail,
            );
          }
          if (event.type === 'backupEnd') {
            walEnd = event.endLsn;
            checkWalEnd();
          }
          subscriber.next(event);
        },
        error: fail,
        complete: () => {
          const finish = async () => {
            if (walMethod === 'stream') {
              await walDone;
              if (format === 'tar') await packDirectory(walDir, join(options.directory, 'pg_wal.tar'));
              else moveSegments(walDir, join(options.directory, 'pg_wal'), sync);
              rmSync(walDir, { recursive: true, force: true });
            }
          };
          finish().then(
            () => {
              if (!failed) subscriber.complete();
            },
            (err: unknown) => fail(err instanceof WalstreamError ? err : new WalstreamError(String(err), { cause: err })),
          );
        },
      });

    return () => {
      failed = true;
      backupSubscription.unsubscribe();
      walSubscription?.unsubscribe();
    };
  });
}

async function walSegmentSizeOf(options: BaseBackupOptions): Promise<number> {
  const conn = await PgConnection.connect(resolveConfig(options), 'true');
  try {
    return await showWalSegmentSize(conn);
  } finally {
    await conn.end();
  }
}

/**
 * Moves the streamed segments into the extracted data directory's `pg_wal`, which must be a real
 * directory (a link there came from the archive, and would take the WAL elsewhere).
 * @throws {UnsafeBackupPathError} when `pg_wal` is a link or not a directory.
 */
function moveSegments(from: string, walDir: string, sync: boolean): void {
  let st = lstatSync(walDir, { throwIfNoEntry: false });
  if (st === undefined) {
    mkdirSync(walDir, { mode: 0o700 });
    st = lstatSync(walDir);
  }
  if (st.isSymbolicLink() || !st.isDirectory()) throw new UnsafeBackupPathError(`the backup's pg_wal is not a directory (a link from the archive?); the streamed WAL stays out of it`, 'base.tar', 'pg_wal');
  for (const name of readdirSync(from).sort()) renameSync(join(from, name), join(walDir, name));
  if (sync) {
    const fd = openSync(walDir, 'r');
    try {
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
  }
}

/** Packs the files of `dir` into a tar file, as pg_basebackup's `pg_wal.tar`. */
async function packDirectory(dir: string, tarPath: string): Promise<void> {
  const pack = tar.pack();
  const out = pipeline(pack, createWriteStream(tarPath, { mode: 0o600, flags: 'wx' }));
  for (const name of readdirSync(dir).sort()) {
    const path = join(dir, name);
    const st = statSync(path);
    const entry = pack.entry({ name, size: st.size, mode: 0o600, mtime: st.mtime });
    await pipeline(createReadStream(path), entry);
  }
  pack.finalize();
  await out;
}
