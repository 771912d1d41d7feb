import { ConfigurationError } from './errors';

/**
 * Quotes an identifier (slot, publication, plugin name) as the replication grammar reads it:
 * double quotes, with embedded double quotes doubled (`src/backend/replication/repl_scanner.l`).
 * @throws {ConfigurationError} for an empty name or one containing a NUL byte.
 */
export function quoteIdent(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new ConfigurationError(`invalid identifier ${JSON.stringify(name)}`);
  return `"${name.replace(/"/g, '""')}"`;
}

/**
 * Quotes a string literal: single quotes, embedded single quotes doubled. The replication grammar
 * has no backslash escapes, so backslashes pass through as they are.
 * @throws {ConfigurationError} for a value containing a NUL byte.
 */
export function quoteLiteral(value: string): string {
  if (value.includes('\0')) throw new ConfigurationError(`invalid literal ${JSON.stringify(value)}`);
  return `'${value.replace(/'/g, "''")}'`;
}

/**
 * Quotes a replication slot name after checking it against the server's rule
 * (`ReplicationSlotValidateName` in `src/backend/replication/slot.c`): 1 to 63 characters of
 * lower-case letters, digits and underscores. Checking here turns a bad name into a clear error
 * before anything is sent.
 * @throws {ConfigurationError} for any other name.
 */
export function quoteSlotName(name: string): string {
  if (!/^[a-z0-9_]{1,63}$/.test(name)) {
    throw new ConfigurationError(`invalid replication slot name ${JSON.stringify(name)}: use 1 to 63 lower-case letters, digits and underscores`);
  }
  return quoteIdent(name);
}
