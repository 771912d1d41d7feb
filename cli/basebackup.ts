import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Presets, SingleBar } from 'cli-progress';
import { lastValueFrom, tap } from 'rxjs';
import { ConfigurationError } from '../src/errors';
import type { BackupCompression, BaseBackupEvent } from '../src/physical/base-backup';
import { type BackupToDirectoryOptions, backupToDirectory } from '../src/physical/backup-to-directory';

export interface BasebackupCommandOptions extends BackupToDirectoryOptions {
  /** Show progress: a bar on a terminal, one line a second otherwise. */
  progress?: boolean;
  /** Where progress and messages go. Default process.stderr. */
  log?: NodeJS.WriteStream | NodeJS.WritableStream;
  /** Resolves to abort (Ctrl-C). */
  stopSignal?: Promise<void>;
  /** Keep what was written when the backup fails (pg_basebackup --no-clean). Default false: remove it. */
  noClean?: boolean;
}

/**
 * Parses pg_basebackup's `--compress` value for server-side compression:
 * `[server-]METHOD[:DETAIL]` with METHOD gzip, lz4, zstd or none, DETAIL `level=N,...` or a bare level.
 * @throws {ConfigurationError} for client-side compression or an unknown method.
 */
export function parseCompress(value: string): { compression: BackupCompression; compressionDetail?: string } {
  let spec = value;
  if (spec.startsWith('client-')) throw new ConfigurationError('client-side compression is not supported; use server-gzip, server-lz4 or server-zstd');
  if (spec.startsWith('server-')) spec = spec.slice('server-'.length);
  const [method, detail] = spec.split(/:(.*)/s, 2);
  if (/^\d+$/.test(method)) return method === '0' ? { compression: 'none' } : { compression: 'gzip', compressionDetail: `level=${method}` };
  if (!['gzip', 'lz4', 'zstd', 'none'].includes(method)) throw new ConfigurationError(`unknown compression method ${JSON.stringify(method)}: expected gzip, lz4, zstd or none`);
  const compressionDetail = detail === undefined || detail === '' ? undefined : /^\d+$/.test(detail) ? `level=${detail}` : detail;
  return { compression: method as BackupCompression, compressionDetail };
}

/** Runs a base backup into a directory, like pg_basebackup, with optional progress. Resolves when it is complete. */
export async function runBasebackup(options: BasebackupCommandOptions): Promise<void> {
  // Like pg_basebackup, remove what a failed backup wrote: the directory if it was created here,
  // else its contents (it had to be empty).
  const existed = existsSync(options.directory);
  try {
    await backupOnce(options);
  } catch (err) {
    if (!options.noClean) {
      const log = options.log ?? process.stderr;
      log.write(`pg-walstream: removing ${existed ? 'contents of ' : ''}directory "${options.directory}"\n`);
      if (existed) for (const name of readdirSync(options.directory)) rmSync(join(options.directory, name), { recursive: true, force: true });
      else rmSync(options.directory, { recursive: true, force: true });
    }
    throw err;
  }
}

async function backupOnce(options: BasebackupCommandOptions): Promise<void> {
  const log = options.log ?? process.stderr;
  const report = options.progress ? progressReporter(log) : undefined;
  const backup = backupToDirectory(options).pipe(tap((e) => report?.(e)));
  if (options.stopSignal === undefined) {
    await lastValueFrom(backup, { defaultValue: undefined });
    return;
  }
  await new Promise<void>((resolve, reject) => {
    const sub = backup.subscribe({ error: reject, complete: resolve });
    void options.stopSignal!.then(() => {
      sub.unsubscribe();
      reject(new ConfigurationError('base backup interrupted; the target directory is incomplete'));
    });
  });
}

function kB(bytes: number): number {
  return Math.floor(bytes / 1024);
}

/** Progress: cli-progress's bar on a terminal, a plain line at most once a second otherwise. */
export function progressReporter(log: NodeJS.WriteStream | NodeJS.WritableStream): (e: BaseBackupEvent) => void {
  const tty = (log as NodeJS.WriteStream).isTTY === true;
  let bar: SingleBar | undefined;
  let lastLine = 0;
  let total = 0;
  return (e) => {
    switch (e.type) {
      case 'backupStart':
        total = e.totalEstimate ?? 0;
        log.write(`pg-walstream: backup started at ${e.startLsn} on timeline ${e.timeline}\n`);
        if (tty) {
          bar = new SingleBar({
            stream: log as NodeJS.WritableStream,
            format: '{bar} {percentage}% | {value}/{total} kB | {tablespace}',
            hideCursor: true,
            clearOnComplete: false,
          }, Presets.shades_classic);
          bar.start(kB(total), 0, { tablespace: 'base' });
        }
        return;
      case 'progress': {
        const t = e.bytesTotal ?? total;
        if (bar !== undefined) {
          if (t > total) bar.setTotal(kB((total = t)));
          bar.update(kB(e.bytesDone), { tablespace: e.tablespace ?? 'base' });
        } else if (Date.now() - lastLine >= 1000) {
          lastLine = Date.now();
          const pct = t > 0 ? ` (${Math.min(100, Math.floor((e.bytesDone * 100) / t))}%)` : '';
          log.write(`${kB(e.bytesDone)}/${kB(t)} kB${pct}, tablespace ${e.tablespace ?? 'base'}\n`);
        }
        return;
      }
      case 'backupEnd':
        if (bar !== undefined) {
          bar.update(bar.getTotal());
          bar.stop();
        } else {
          log.write(`${kB(total)}/${kB(total)} kB (100%), done\n`);
        }
        log.write(`pg-walstream: backup ended at ${e.endLsn} on timeline ${e.timeline}\n`);
        return;
      default:
        return;
    }
  };
}
