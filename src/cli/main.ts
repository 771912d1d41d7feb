import { Command, InvalidArgumentError, Option } from 'commander';
import { Lsn } from '../lsn';
import { LsnFormatError } from '../errors';
import { runDemo } from './demo';
import { reportError } from './errors';
import { openOutput } from './output';
import { registerPhysicalCommands } from './physical';
import { writeSnapshot } from './snapshot';
import { runStream } from './stream';
import { createSlotFrom, pgoutputOptionsFrom, protoVersionArg } from './stream-options';

function lsnArg(value: string): Lsn {
  try {
    return Lsn.parse(value);
  } catch (err) {
    throw new InvalidArgumentError(err instanceof LsnFormatError ? 'expected an LSN such as 0/16B3748' : String(err));
  }
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
    .showHelpAfterError()
    .exitOverride((err) => {
      process.exit(err.exitCode);
    });

  program
    .command('stream')
    .description('stream a logical replication slot as JSON lines, like pg_recvlogical but decoded')
    .option('-d, --dbname <url>', 'connection string; libpq keywords such as sslmode, sslrootcert, sslcert, sslkey, channel_binding, require_auth go in its query (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE, ... and ~/.pgpass fill the gaps; see docs/security.md)')
    .requiredOption('-S, --slot <name>', 'replication slot')
    .requiredOption('-P, --publication <name>', 'publication (repeatable)', collect)
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
    .option('-f, --output <file>', 'output file, or - for standard output', '-')
    .option('--raw', 'print column values as sent (text, or base64 for binary) instead of typed JSON values')
    .option('--snapshot', 'with --create-slot: first print every existing row of the publications as {"type":"snapshot",...}, then stream from the slot (docs/snapshot.md)')
    .addOption(new Option('-s, --status-interval <ms>', 'milliseconds between standby status updates').default(10_000).argParser(Number))
    .action(async (opts) => {
      const output = openOutput(opts.output);
      const stop = stopSignal();
      try {
        const snapshotted = !opts.snapshot || (await writeSnapshot({ connectionString: opts.dbname, slot: opts.slot, publications: opts.publication, createSlot: createSlotFrom(opts), output, raw: Boolean(opts.raw), stopSignal: stop }));
        if (snapshotted) await runStream({
          connectionString: opts.dbname,
          slot: opts.slot,
          publications: opts.publication,
          ...pgoutputOptionsFrom(opts),
          createSlot: createSlotFrom(opts),
          startLsn: opts.start,
          endpos: opts.endpos,
          statusInterval: opts.statusInterval,
          raw: Boolean(opts.raw),
          output,
          stopSignal: stop,
        });
      } finally {
        if (output !== process.stdout) output.end();
      }
      process.exit(process.exitCode ?? 0);
    });

  program
    .command('demo')
    .description('start an embedded PostgreSQL 18, write some changes, and print what streams out')
    .action(async () => {
      process.exitCode = await runDemo();
    });

  registerPhysicalCommands(program, stopSignal, lsnArg);
  return program;
}

/** The `pg-walstream` command. Expected failures print one line on stderr and exit 1. */
export function main(argv: string[]): void {
  buildProgram()
    .parseAsync(argv)
    .catch((err: unknown) => {
      reportError(err);
      process.exit(1);
    });
}
