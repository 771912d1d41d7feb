// Benchmark client: the `pg-walstream stream` command, as a user runs it: the command line of a
// client entry in bench/run.mjs. It writes JSON lines to /dev/null and stops at --endpos, as
// pg_recvlogical -f /dev/null -E does; the process measured is the CLI itself (no wrapper).
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BIN = join(dirname(fileURLToPath(import.meta.url)), '../../bin/pg-walstream.js');

/**
 * The argv of `pg-walstream stream` for a bench config ({ url, slot, publication, endLsn, options });
 * `nodeFlags` go to node itself (as NODE_OPTIONS would), e.g. `--max-semi-space-size=1`.
 */
export function cliCommand(cfg, extra = [], nodeFlags = []) {
  const o = cfg.options;
  const args = [BIN, 'stream', '-d', cfg.url, '-S', cfg.slot, '-P', cfg.publication, '-E', cfg.endLsn, '-f', '/dev/null', '--quiet'];
  if (o.protoVersion !== undefined) args.push('--proto-version', String(o.protoVersion));
  if (o.binary) args.push('--binary');
  if (o.streaming) args.push('--streaming', o.streaming);
  return [process.execPath, [...nodeFlags, ...args, ...extra]];
}
