import { type Command, InvalidArgumentError, Option } from 'commander';
import { ConfigurationError } from '../src/errors';
import type { Lsn } from '../src/lsn';
// The commands' modules load only when a command runs: `pg-walstream stream` starts faster.
import type { parseCompress } from './basebackup';

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

/** `--max-rate` as pg_basebackup takes it: kB/s, or with a k or M suffix. */
function maxRate(value: string): number {
  const m = /^(\d+)([kM]?)$/.exec(value);
  if (m === null) throw new InvalidArgumentError('expected a rate in kB/s, e.g. 512, 512k or 10M');
  return Number(m[1]) * (m[2] === 'M' ? 1024 : 1);
}

function compress(value: string): ReturnType<typeof parseCompress> {
  try {
    return (require('./basebackup') as typeof import('./basebackup')).parseCompress(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

/** Registers `receivewal` and `basebackup` (physical replication). */
export function registerPhysicalCommands(program: Command, stopSignal: () => Promise<void>, lsnArg: (value: string) => Lsn): void {
  program
    .command('receivewal')
    .description('stream physical WAL into segment files, like pg_receivewal')
    .requiredOption('-D, --directory <dir>', 'directory for the WAL segment files (created if missing)')
    .option('-d, --dbname <url>', 'connection string (PGHOST, PGPORT, PGUSER, PGPASSWORD fill the gaps)')
    .option('-S, --slot <name>', 'physical replication slot')
    .option('--create-slot', 'create the slot first if it does not exist (then stream)')
    .option('-E, --endpos <lsn>', 'stop once WAL up to this LSN is written', lsnArg)
    .option('-n, --no-loop', 'do not reconnect when the connection is lost')
    .addOption(new Option('-s, --status-interval <ms>', 'milliseconds between standby status updates').default(10_000).argParser(positiveInt))
    .addOption(new Option('--flush-interval <ms>', 'milliseconds between fsyncs of the open segment').default(1000).argParser(positiveInt))
    .option('--no-sync', 'do not fsync (testing only: acknowledged WAL may be lost on a crash)')
    .option('-v, --verbose', 'report finished segments and timeline switches')
    .action(async (opts) => {
      if (opts.createSlot && opts.slot === undefined) throw new ConfigurationError('--create-slot needs --slot');
      const { runReceivewal } = require('./receivewal') as typeof import('./receivewal');
      await runReceivewal({
        connectionString: opts.dbname,
        directory: opts.directory,
        slot: opts.slot,
        createSlot: opts.createSlot === true,
        endpos: opts.endpos,
        loop: opts.loop,
        statusInterval: opts.statusInterval,
        flushInterval: opts.flushInterval,
        sync: opts.sync,
        verbose: opts.verbose,
        stopSignal: stopSignal(),
      });
      process.exit(process.exitCode ?? 0);
    });

  program
    .command('basebackup')
    .description('take a base backup into a directory, like pg_basebackup (server-side compression only)')
    .requiredOption('-D, --pgdata <dir>', 'target directory (missing or empty)')
    .option('-d, --dbname <url>', 'connection string (PGHOST, PGPORT, PGUSER, PGPASSWORD fill the gaps)')
    .addOption(new Option('-F, --format <format>', 'plain (a data directory) or tar').choices(['plain', 'tar', 'p', 't']).default('plain'))
    .addOption(new Option('-X, --wal-method <method>', 'how to include the WAL').choices(['fetch', 'stream', 'none', 'f', 's', 'n']).default('stream'))
    .addOption(new Option('-c, --checkpoint <mode>', 'checkpoint mode').choices(['fast', 'spread']).default('spread'))
    .option('-Z, --compress <[server-]method[:detail]>', 'server-side compression: gzip, lz4, zstd or none, e.g. server-zstd:level=3', compress)
    .option('--decompress', 'with --format tar: write compressed archives decompressed (gzip, zstd)')
    .option('-P, --progress', 'show progress (a bar on a terminal)')
    .option('-l, --label <label>', 'backup label', 'pg-walstream base backup')
    .option('-r, --max-rate <rate>', 'maximum transfer rate in kB/s (or with k/M suffix)', maxRate)
    .option('-S, --slot <name>', 'with --wal-method stream: use this physical slot instead of a temporary one')
    .option('-T, --tablespace-mapping <old=new>', 'relocate a tablespace (plain format; repeatable)', collect)
    .option('--no-manifest', 'do not write backup_manifest')
    .option('--manifest-force-encode', 'hex-encode every file name in the manifest')
    .option('--manifest-checksums <algorithm>', 'NONE, CRC32C, SHA224, SHA256, SHA384 or SHA512')
    .option('--no-verify-checksums', 'do not verify data page checksums')
    .option('--no-sync', 'do not fsync the files written')
    .option('-n, --no-clean', 'keep what was written when the backup fails')
    .action(async (opts) => {
      const mapping: Record<string, string> = {};
      for (const m of (opts.tablespaceMapping as string[] | undefined) ?? []) {
        const i = m.indexOf('=');
        if (i <= 0) throw new ConfigurationError(`invalid tablespace mapping ${JSON.stringify(m)}: expected OLDDIR=NEWDIR`);
        mapping[m.slice(0, i)] = m.slice(i + 1);
      }
      const walMethod = ({ f: 'fetch', s: 'stream', n: 'none' } as Record<string, string>)[opts.walMethod] ?? opts.walMethod;
      const { runBasebackup } = require('./basebackup') as typeof import('./basebackup');
      await runBasebackup({
        connectionString: opts.dbname,
        directory: opts.pgdata,
        format: opts.format.startsWith('t') ? 'tar' : 'plain',
        walMethod,
        checkpoint: opts.checkpoint,
        ...(opts.compress ?? {}),
        decompress: opts.decompress,
        progress: opts.progress,
        label: opts.label,
        maxRate: opts.maxRate,
        slot: opts.slot,
        tablespaceMapping: mapping,
        manifest: opts.manifest === false ? 'no' : opts.manifestForceEncode ? 'force-encode' : 'yes',
        manifestChecksums: opts.manifestChecksums,
        verifyChecksums: opts.verifyChecksums,
        sync: opts.sync,
        noClean: opts.clean === false,
        stopSignal: stopSignal(),
      });
      process.exit(process.exitCode ?? 0);
    });
}
