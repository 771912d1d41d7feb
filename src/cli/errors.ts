import { PgError, WalstreamError } from '../errors';

/** One readable line for an expected failure; a stack trace only for bugs. */
export function describeError(err: unknown): string {
  if (err instanceof PgError) {
    const extra = [err.detail, err.hint].filter(Boolean).join(' ');
    return `${err.message} (SQLSTATE ${err.code})${extra ? ` ${extra}` : ''}`;
  }
  if (err instanceof WalstreamError) return err.message;
  if (err instanceof Error) return err.stack ?? err.message;
  return String(err);
}

/** Prints `pg-walstream: error: ...` and sets a failing exit code. */
export function reportError(err: unknown): void {
  process.stderr.write(`pg-walstream: error: ${describeError(err)}\n`);
  process.exitCode = 1;
}
