import { InvalidArgumentError } from 'commander';
import type { CreateReplicationSlotOptions } from '../control/client';
import type { PgoutputOptions, ProtoVersion } from '../source/start-replication';

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
