import { Observable, type Subscription } from 'rxjs';
import { ConfigurationError, ConnectionError, ProtocolError, WalstreamError, streamFailure } from '../errors';
import { Lsn } from '../lsn';
import { quoteLiteral } from '../sql';
import { type ConnectionOptions, resolveConfig } from '../wire/config';
import { PgConnection, type QueryResult } from '../wire/connection';
import type { Backpressure } from './backpressure';
import { checkArchiveName } from './safe-paths';

/** Server-side compression methods of BASE_BACKUP (PostgreSQL 15+; lz4 and zstd where the server was built with them). */
export type BackupCompression = 'none' | 'gzip' | 'lz4' | 'zstd';

/** Options of BASE_BACKUP, named as in "Streaming Replication Protocol". */
export interface BaseBackupCommandOptions {
  /** Backup label. Default `pg-walstream base backup`. */
  label?: string;
  /** Ask for size estimates and progress reports. Default true. */
  progress?: boolean;
  /** `fast` checkpoints at once; `spread` (default) waits for a spread checkpoint. */
  checkpoint?: 'fast' | 'spread';
  /** Include the WAL needed to make the backup consistent in the main archive (pg_basebackup `-X fetch`). Default false. */
  wal?: boolean;
  /** Wait until the WAL needed is archived (with `wal: false`). Default true, as the server's default. */
  wait?: boolean;
  /** Server-side compression (15+). Default none. */
  compression?: BackupCompression;
  /** Compression detail, e.g. `level=5` or `level=3,workers=2` (15+). */
  compressionDetail?: string;
  /** Rate limit in kB/s (32 to 1048576). */
  maxRate?: number;
  /** Include `tablespace_map` instead of symlinks in the main archive. */
  tablespaceMap?: boolean;
  /** Verify data page checksums while reading. Default true (when checksums are on). */
  verifyChecksums?: boolean;
  /** `yes` (default, as pg_basebackup; the server's own default is no manifest), `no`, or `force-encode` (hex-encode every file name). */
  manifest?: 'yes' | 'no' | 'force-encode';
  /** Checksum of each file in the manifest: `NONE`, `CRC32C` (default), `SHA224`, `SHA256`, `SHA384`, `SHA512`. */
  manifestChecksums?: string;
  /** An incremental backup against the manifest uploaded before (PostgreSQL 17+ with `summarize_wal = on`). */
  incremental?: boolean;
}

/**
 * BASE_BACKUP in the syntax of `serverVersion`: the parenthesized option list on 15+, keywords on
 * 14 and older (`src/backend/replication/repl_gram.y`).
 * @throws {ConfigurationError} for an option the server version lacks, or a value out of range.
 */
export function baseBackupCommand(options: BaseBackupCommandOptions, serverVersion: number): string {
  const label = options.label ?? 'pg-walstream base backup';
  const progress = options.progress ?? true;
  const compression = options.compression ?? 'none';
  if (!['none', 'gzip', 'lz4', 'zstd'].includes(compression)) throw new ConfigurationError(`unknown compression method ${JSON.stringify(compression)}`);
  if (options.maxRate !== undefined && !(Number.isInteger(options.maxRate) && options.maxRate >= 32 && options.maxRate <= 1048576)) {
    throw new ConfigurationError(`maxRate must be an integer from 32 to 1048576 kB/s, got ${options.maxRate}`);
  }
  if (options.checkpoint !== undefined && !['fast', 'spread'].includes(options.checkpoint)) throw new ConfigurationError(`checkpoint must be 'fast' or 'spread'`);
  if (options.incremental && serverVersion < 170000) throw new ConfigurationError('incremental backups need PostgreSQL 17 or later');
  if (serverVersion >= 150000) {
    const list = [`LABEL ${quoteLiteral(label)}`];
    if (progress) list.push('PROGRESS');
    if (options.checkpoint) list.push(`CHECKPOINT ${quoteLiteral(options.checkpoint)}`);
    if (options.wal) list.push('WAL');
    if (options.wait === false) list.push('WAIT false');
    if (compression !== 'none') list.push(`COMPRESSION ${quoteLiteral(compression)}`);
    if (options.compressionDetail) list.push(`COMPRESSION_DETAIL ${quoteLiteral(options.compressionDetail)}`);
    if (options.maxRate !== undefined) list.push(`MAX_RATE ${options.maxRate}`);
    if (options.tablespaceMap) list.push('TABLESPACE_MAP');
    if (options.verifyChecksums === false) list.push('VERIFY_CHECKSUMS false');
    list.push(`MANIFEST ${quoteLiteral(options.manifest ?? 'yes')}`);
    if (options.manifestChecksums) list.push(`MANIFEST_CHECKSUMS ${quoteLiteral(options.manifestChecksums)}`);
    if (options.incremental) list.push('INCREMENTAL');
    return `BASE_BACKUP (${list.join(', ')})`;
  }
  if (compression !== 'none' || options.compressionDetail) throw new ConfigurationError('server-side compression needs PostgreSQL 15 or later');
  let sql = `BASE_BACKUP LABEL ${quoteLiteral(label)}`;
  if (progress) sql += ' PROGRESS';
  if (options.checkpoint === 'fast') sql += ' FAST';
  if (options.wal) sql += ' WAL';
  if (options.wait === false) sql += ' NOWAIT';
  if (options.maxRate !== undefined) sql += ` MAX_RATE ${options.maxRate}`;
  if (options.tablespaceMap) sql += ' TABLESPACE_MAP';
  if (options.verifyChecksums === false) sql += ' NOVERIFY_CHECKSUMS';
  if (serverVersion >= 130000) {
    sql += ` MANIFEST ${quoteLiteral(options.manifest ?? 'yes')}`;
    if (options.manifestChecksums) sql += ` MANIFEST_CHECKSUMS ${quoteLiteral(options.manifestChecksums)}`;
  }
  return sql;
}

/** A tablespace of the backup, from BASE_BACKUP's second result set. */
export interface BackupTablespace {
  /** The tablespace's OID, or null for the main data directory. */
  oid: number | null;
  /** Its directory on the server, or null for the main data directory. */
  location: string | null;
  /** The server's size estimate in bytes (with `progress`), else null. */
  sizeEstimate: number | null;
}

/** What {@link baseBackup} emits, in this order: start, then per archive start/data/end, the manifest, end. */
export type BaseBackupEvent =
  | {
      readonly type: 'backupStart';
      readonly startLsn: Lsn;
      readonly timeline: number;
      readonly tablespaces: readonly BackupTablespace[];
      /** Sum of the size estimates in bytes, when progress was requested. */
      readonly totalEstimate: number | null;
      readonly serverVersion: number;
    }
  /** A tar archive begins: `base.tar` for the main directory, `<oid>.tar` per tablespace, with `.gz`/`.lz4`/`.zst` when server-compressed. */
  | { readonly type: 'archiveStart'; readonly archiveName: string; readonly tablespace: BackupTablespace }
  /** Archive bytes (a view that stays valid). */
  | { readonly type: 'archiveData'; readonly archiveName: string; readonly data: Buffer }
  | { readonly type: 'archiveEnd'; readonly archiveName: string }
  | { readonly type: 'manifestStart' }
  /** Backup manifest bytes (JSON), never compressed. */
  | { readonly type: 'manifestData'; readonly data: Buffer }
  | { readonly type: 'manifestEnd' }
  /**
   * Progress: `bytesDone` of the estimated `bytesTotal` (null without estimate), in the tablespace
   * being sent (`location`, null for the main directory). Server reports when it sends them
   * (about once a second, 15+), otherwise the bytes received.
   */
  | { readonly type: 'progress'; readonly bytesDone: number; readonly bytesTotal: number | null; readonly tablespace: string | null; readonly archiveName: string | null }
  | { readonly type: 'backupEnd'; readonly endLsn: Lsn; readonly timeline: number };

/** Options of {@link baseBackup}. */
export interface BaseBackupOptions extends ConnectionOptions, BaseBackupCommandOptions {
  /** Stop reading from the server while this is paused (a slow sink; see `writeBaseBackup`). */
  backpressure?: Backpressure;
  /**
   * The previous backup's `backup_manifest`, for `incremental: true` (sent with UPLOAD_MANIFEST
   * first). Requires PostgreSQL 17+.
   */
  incrementalManifest?: Buffer;
}

const PROGRESS_STEP = 1024 * 1024;

/**
 * Takes a base backup over a replication connection (`replication=true`): a cold Observable that
 * runs BASE_BACKUP on subscribe and emits the start LSN and tablespaces, each archive's tar bytes,
 * progress, the manifest and the end LSN, then completes. Unsubscribing closes the connection,
 * which aborts the backup on the server.
 * Follows "Streaming Replication Protocol" (BASE_BACKUP: the CopyOut stream of 'n' new archive,
 * 'm' manifest, 'd' data and 'p' progress messages on PostgreSQL 15+; one CopyOut per tablespace
 * and one for the manifest before) and pg_basebackup.
 *
 * Errors: `PgError` from the server (42501 without REPLICATION, 55000 when `wal_level` is
 * minimal, 0A000 for an unsupported compression), {@link ConfigurationError} for options the
 * server version lacks, {@link ConnectionError} when the connection breaks, {@link ProtocolError}
 * for a malformed message, {@link UnsafeBackupPathError} for an archive name pg_basebackup would
 * refuse (empty, a leading dot, `/` or `\\`).
 *
 * @example
 * baseBackup({ connectionString: url, checkpoint: 'fast', wal: true })
 *   .pipe(writeBaseBackup({ directory: '/var/lib/restore', format: 'plain' }))
 *   .subscribe((e) => e.type === 'progress' && console.log(`${e.bytesDone} / ${e.bytesTotal}`));
 */
export function baseBackup(options: BaseBackupOptions): Observable<BaseBackupEvent> {
  return new Observable<BaseBackupEvent>((subscriber) => {
    let conn: PgConnection | undefined;
    let done = false;
    let pausing: Subscription | undefined;
    const fail = (err: unknown) => {
      if (done) return;
      done = true;
      pausing?.unsubscribe();
      conn?.destroy();
      subscriber.error(err);
    };

    const run = async () => {
      conn = await PgConnection.connect(resolveConfig(options), 'true');
      if (done) return void conn.destroy();
      const c = conn;
      pausing = options.backpressure?.paused$.subscribe((paused) => (paused ? c.pause() : c.resume()));
      const serverVersion = c.serverVersionNum;
      const sql = baseBackupCommand(options, serverVersion);
      if (options.incremental) {
        if (options.incrementalManifest === undefined) throw new ConfigurationError('incremental: true needs incrementalManifest, the previous backup_manifest');
        await c.copyIn('UPLOAD_MANIFEST', options.incrementalManifest);
      }
      const newProtocol = serverVersion >= 150000;
      const results: QueryResult[] = [];
      let tablespaces: BackupTablespace[] = [];
      let totalEstimate: number | null = null;
      let bytesDone = 0;
      let lastProgress = 0;
      let archiveIndex = 0; // old protocol: archives in tablespace order, then the manifest
      let current: { kind: 'archive'; name: string; tablespace: BackupTablespace } | { kind: 'manifest' } | undefined;

      const progress = (force = false) => {
        if (!force && bytesDone - lastProgress < PROGRESS_STEP) return;
        lastProgress = bytesDone;
        const ts = current?.kind === 'archive' ? current.tablespace.location : null;
        subscriber.next({
          type: 'progress',
          bytesDone,
          bytesTotal: totalEstimate === null ? null : Math.max(totalEstimate, bytesDone),
          tablespace: ts,
          archiveName: current?.kind === 'archive' ? current.name : null,
        });
      };
      const endCurrent = () => {
        if (current === undefined) return;
        if (current.kind === 'archive') {
          subscriber.next({ type: 'archiveEnd', archiveName: current.name });
          progress(true);
        } else {
          subscriber.next({ type: 'manifestEnd' });
        }
        current = undefined;
        archiveIndex++;
      };
      const onResult = (result: QueryResult) => {
        results.push(result);
        if (results.length === 1) return;
        if (results.length === 2) {
          tablespaces = result.rows.map((r) => ({
            oid: r[0] === null ? null : Number(r[0]),
            location: r[1] === null || r[1] === '' ? null : r[1],
            sizeEstimate: r[2] === null ? null : Number(r[2]) * 1024,
          }));
          if (tablespaces.length > 0 && tablespaces.every((t) => t.sizeEstimate !== null)) totalEstimate = tablespaces.reduce((a, t) => a + t.sizeEstimate!, 0);
          const [startLsn, timeline] = positionOf(results[0]);
          subscriber.next({ type: 'backupStart', startLsn, timeline, tablespaces, totalEstimate, serverVersion });
        }
      };
      // Old protocol: each CopyOut is the next archive; the first data of a copy opens it.
      const openOld = () => {
        if (archiveIndex < tablespaces.length) {
          const tablespace = tablespaces[archiveIndex];
          const name = tablespace.oid === null ? 'base.tar' : `${tablespace.oid}.tar`;
          current = { kind: 'archive', name, tablespace };
          subscriber.next({ type: 'archiveStart', archiveName: name, tablespace });
        } else {
          current = { kind: 'manifest' };
          subscriber.next({ type: 'manifestStart' });
        }
      };

      const onData = (buf: Buffer, s: number, e: number) => {
        if (done) return;
        if (!newProtocol) {
          if (current === undefined) openOld();
          const data = buf.subarray(s, e);
          if (current!.kind === 'archive') {
            subscriber.next({ type: 'archiveData', archiveName: current!.name, data });
            bytesDone += data.length;
            progress();
          } else {
            subscriber.next({ type: 'manifestData', data });
          }
          return;
        }
        const tag = e > s ? buf[s] : -1;
        switch (tag) {
          case 0x6e: {
            // 'n': new archive: archive name, tablespace path ('' for the main directory)
            const nameEnd = buf.indexOf(0, s + 1);
            const pathEnd = nameEnd < 0 || nameEnd >= e ? -1 : buf.indexOf(0, nameEnd + 1);
            if (nameEnd < 0 || pathEnd < 0 || pathEnd >= e) throw new ProtocolError('malformed new-archive message in BASE_BACKUP stream');
            endCurrent();
            const name = buf.toString('utf8', s + 1, nameEnd);
            checkArchiveName(name); // the name becomes a file name in the target directory
            const path = buf.toString('utf8', nameEnd + 1, pathEnd);
            const tablespace = tablespaces.find((t) => (t.location ?? '') === path) ?? { oid: null, location: path === '' ? null : path, sizeEstimate: null };
            current = { kind: 'archive', name, tablespace };
            subscriber.next({ type: 'archiveStart', archiveName: name, tablespace });
            return;
          }
          case 0x6d: // 'm': the manifest follows
            endCurrent();
            current = { kind: 'manifest' };
            subscriber.next({ type: 'manifestStart' });
            return;
          case 0x64: {
            // 'd': archive or manifest data
            const data = buf.subarray(s + 1, e);
            if (current === undefined) throw new ProtocolError('BASE_BACKUP data before any archive');
            if (current.kind === 'manifest') return subscriber.next({ type: 'manifestData', data });
            subscriber.next({ type: 'archiveData', archiveName: current.name, data });
            if (!options.compression || options.compression === 'none') {
              bytesDone += data.length;
              progress();
            }
            return;
          }
          case 0x70: // 'p': progress, Int64 bytes done so far
            if (e - s < 9) throw new ProtocolError('truncated progress message in BASE_BACKUP stream');
            bytesDone = Math.max(bytesDone, Number(buf.readBigInt64BE(s + 1)));
            progress(true);
            return;
          default:
            throw new ProtocolError(`unknown BASE_BACKUP stream message ${tag < 0 ? '(empty)' : JSON.stringify(String.fromCharCode(tag))}`);
        }
      };

      await c.startCopy(sql, {
        onData(buf, s, e) {
          try {
            onData(buf, s, e);
          } catch (err) {
            fail(err instanceof WalstreamError ? err : new ProtocolError(String(err)));
          }
        },
        onServerCopyDone() {
          endCurrent();
        },
        onResult(result) {
          try {
            onResult(result);
          } catch (err) {
            fail(err instanceof WalstreamError ? err : new ProtocolError(String(err)));
          }
        },
        onComplete() {
          if (done) return;
          let end: [Lsn, number];
          try {
            if (results.length < 3) throw new ProtocolError(`BASE_BACKUP ended after ${results.length} of 3 result sets`);
            end = positionOf(results[results.length - 1]);
          } catch (err) {
            return fail(err as WalstreamError);
          }
          done = true;
          pausing?.unsubscribe();
          subscriber.next({ type: 'backupEnd', endLsn: end[0], timeline: end[1] });
          subscriber.complete();
          void c.end();
        },
        onError(err) {
          fail(err);
        },
      });
    };

    run().catch((err: unknown) => fail(streamFailure(err)));
    return () => {
      pausing?.unsubscribe();
      if (done) return;
      done = true;
      conn?.destroy();
    };
  });
}

function positionOf(result: QueryResult | undefined): [Lsn, number] {
  const row = result?.rows[0];
  if (row == null || row[0] == null) throw new ProtocolError('BASE_BACKUP returned no WAL position');
  return [Lsn.parse(row[0]), Number(row[1] ?? 0)];
}
