/**
 * A structured logger with pino's calling convention: a fields object first, then the message.
 * pino, bunyan-style wrappers and `console`-backed adapters fit; winston fits through a small adapter.
 * pg-walstream logs connection, retry, slot and flow-control events through it, never a password:
 * connection targets are `host:port`, and errors are logged as their name, message and SQLSTATE.
 *
 * @example
 * import pino from 'pino';
 * logicalReplication({ connectionString: url, slot: 'app', publications: 'app', logger: pino() });
 */
export interface Logger {
  debug(fields: object, message: string): void;
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
  error(fields: object, message: string): void;
}

/** What a log line says about an error: enough to act on, nothing from a connection string. */
export interface LoggedError {
  /** The class name, e.g. `PgError`, `ConnectionError`. */
  type: string;
  message: string;
  /** SQLSTATE of a `PgError`, or the system code of a `ConnectionError` (`ECONNREFUSED`). */
  code?: string;
}

/** The fields of `err` that go into logs and metrics labels. */
export function loggedError(err: unknown): LoggedError {
  if (!(err instanceof Error)) return { type: typeof err, message: String(err) };
  const code = (err as { code?: unknown }).code;
  return { type: err.name, message: err.message, ...(typeof code === 'string' ? { code } : {}) };
}
