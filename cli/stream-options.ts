import { InvalidArgumentError } from 'commander';
import type { CreateReplicationSlotOptions } from '../src/control/client';
import type { PgoutputOptions, ProtoVersion } from '../src/source/start-replication';

/** The pgoutput and slot flags of `pg-walstream stream`, as commander parses them. */
export interface StreamFlags extends Omit<PgoutputOptions, 'publications'> {
  createSlot?: boolean;
  temporary?: boolean;
  failover?: boolean;
}

/** `--proto-version 1|2|3|4|auto`. */
export function protoVersionArg(value: string): ProtoVersion | 'auto' {
  if (value === 'auto') return 'auto';
  if (/^[1-4]$/.test(value)) return Number(value) as ProtoVersion;
  throw new InvalidArgumentError('expected 1, 2, 3, 4 or auto');
}

/**
 * The START_REPLICATION options the flags ask for. Only the flags given are sent, so the server's
 * defaults apply otherwise; the library checks them against the server version before sending.
 */
export function pgoutputOptionsFrom(flags: StreamFlags): Omit<PgoutputOptions, 'publications'> {
  const o: Omit<PgoutputOptions, 'publications'> = {};
  if (flags.protoVersion !== undefined) o.protoVersion = flags.protoVersion;
  if (flags.binary) o.binary = true;
  if (flags.messages) o.messages = true;
  if (flags.streaming !== undefined) o.streaming = flags.streaming;
  if (flags.twoPhase) o.twoPhase = true;
  if (flags.origin !== undefined) o.origin = flags.origin;
  return o;
}

/**
 * The slot `--create-slot` creates: temporary, two-phase (with `--two-phase`, which also asks for
 * two-phase decoding) and failover as flagged; `undefined` without `--create-slot`.
 * @throws {InvalidArgumentError} for `--temporary` or `--failover` without `--create-slot`.
 */
export function createSlotFrom(flags: StreamFlags): CreateReplicationSlotOptions | undefined {
  if (!flags.createSlot) {
    if (flags.temporary) throw new InvalidArgumentError('--temporary needs --create-slot');
    if (flags.failover) throw new InvalidArgumentError('--failover needs --create-slot');
    return undefined;
  }
  const o: CreateReplicationSlotOptions = { temporary: Boolean(flags.temporary) };
  if (flags.twoPhase) o.twoPhase = true;
  if (flags.failover) o.failover = true;
  return o;
}

/**
 * A whole number of milliseconds, 0 or more (`--status-interval`, `--fsync-interval`), where 0 means
 * off, as pg_recvlogical's `-s 0` and `-F 0`.
 * @throws {InvalidArgumentError} for anything else (`abc`, `-1`, `1.5`, ``).
 */
export function millisecondsArg(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError('expected a whole number of milliseconds, 0 for off');
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n > 2_147_483_647) throw new InvalidArgumentError('expected at most 2147483647 milliseconds');
  return n;
}

/** The command-line flag behind each START_REPLICATION option the library names in its errors. */
const FLAG_OF: Record<string, string> = {
  protoVersion: '--proto-version',
  binary: '--binary',
  messages: '--messages',
  streaming: '--streaming',
  twoPhase: '--two-phase',
  origin: '--origin',
};

/**
 * An option the library names (`twoPhase true`, `streaming 'on'`, `protoVersion 3`) as the flag a
 * user typed (`--two-phase`, `--streaming on`, `--proto-version 3`).
 */
export function flagOf(option: string): string {
  const [name, value] = option.split(' ', 2) as [string, string | undefined];
  const flag = FLAG_OF[name];
  if (flag === undefined) return option;
  if (value === undefined || value === 'true') return flag;
  return `${flag} ${value.replace(/^'|'$/g, '')}`;
}
