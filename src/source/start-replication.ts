import { Lsn } from '../lsn';
import { quoteIdent, quoteLiteral, quoteSlotName } from '../sql';

/** pgoutput's START_REPLICATION options ("Logical Streaming Replication Parameters"). */
export interface PgoutputOptions {
  /** One or more publication names. */
  publications: string | readonly string[];
  /** pgoutput protocol version, 1 to 4. Default 1. */
  protoVersion?: 1 | 2 | 3 | 4;
  /** Send column values in binary format where the type allows (PostgreSQL 14+). */
  binary?: boolean;
  /** Send `pg_logical_emit_message` messages (PostgreSQL 14+). */
  messages?: boolean;
  /** Stream large in-progress transactions: `on` needs protocol 2, `parallel` protocol 4 (PostgreSQL 16+). */
  streaming?: 'off' | 'on' | 'parallel';
  /** Decode prepared transactions at PREPARE (protocol 3, PostgreSQL 15+; the slot must be two-phase). */
  twoPhase?: boolean;
  /** `none` sends only changes without a replication origin; `any` (the server's default) sends all (PostgreSQL 16+). */
  origin?: 'none' | 'any';
}

/** Builds `START_REPLICATION SLOT "s" LOGICAL X/Y (...)` with every name and value quoted. */
export function startLogicalReplicationCommand(slot: string, start: Lsn, o: PgoutputOptions, serverVersion: number): string {
  const pubs = typeof o.publications === 'string' ? [o.publications] : o.publications;
  const opts = [`proto_version ${quoteLiteral(String(o.protoVersion ?? 1))}`, `publication_names ${quoteLiteral(pubs.map(quoteIdent).join(','))}`];
  if (o.binary !== undefined) opts.push(`binary ${quoteLiteral(onOff(o.binary))}`);
  if (o.messages !== undefined) opts.push(`messages ${quoteLiteral(onOff(o.messages))}`);
  if (o.streaming !== undefined) {
    // PostgreSQL 14 and 15 take only a boolean for streaming.
    const value = o.streaming === 'parallel' || serverVersion >= 160000 ? o.streaming : o.streaming === 'on' ? 'on' : 'off';
    opts.push(`streaming ${quoteLiteral(value)}`);
  }
  if (o.twoPhase !== undefined) opts.push(`two_phase ${quoteLiteral(onOff(o.twoPhase))}`);
  if (o.origin !== undefined) opts.push(`origin ${quoteLiteral(o.origin)}`);
  return `START_REPLICATION SLOT ${quoteSlotName(slot)} LOGICAL ${start.toString()} (${opts.join(', ')})`;
}

function onOff(b: boolean): string {
  return b ? 'on' : 'off';
}
