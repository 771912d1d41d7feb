import { ConfigurationError, UnsupportedOptionError } from '../errors';
import { Lsn } from '../lsn';
import { quoteIdent, quoteLiteral, quoteSlotName } from '../sql';

/** pgoutput protocol versions: 1 (PostgreSQL 10+), 2 streaming (14+), 3 two-phase (15+), 4 parallel streaming (16+). */
export type ProtoVersion = 1 | 2 | 3 | 4;

/** pgoutput's START_REPLICATION options ("Logical Streaming Replication Parameters"). */
export interface PgoutputOptions {
  /** One or more publication names. */
  publications: string | readonly string[];
  /**
   * pgoutput protocol version, 1 to 4, or `auto` for the highest the server supports
   * (PostgreSQL 14 → 2, 15 → 3, 16+ → 4). Default 1.
   */
  protoVersion?: ProtoVersion | 'auto';
  /** Send column values in binary format where the type allows (PostgreSQL 14+). */
  binary?: boolean;
  /** Send `pg_logical_emit_message` messages (PostgreSQL 14+). */
  messages?: boolean;
  /** Stream large in-progress transactions (PostgreSQL 14+): `on` needs protocol 2, `parallel` protocol 4 and PostgreSQL 16+. */
  streaming?: 'off' | 'on' | 'parallel';
  /** Decode prepared transactions at PREPARE (protocol 3, PostgreSQL 15+; the slot must be two-phase). */
  twoPhase?: boolean;
  /** `none` sends only changes without a replication origin; `any` (the server's default) sends all (PostgreSQL 16+). */
  origin?: 'none' | 'any';
}

/** The highest pgoutput protocol version of each server release (`LOGICALREP_PROTO_MAX_VERSION_NUM`). */
export function maxProtoVersion(serverVersion: number): ProtoVersion {
  if (serverVersion >= 160000) return 4;
  if (serverVersion >= 150000) return 3;
  if (serverVersion >= 140000) return 2;
  return 1;
}

/** The server release that introduced each protocol version. */
const PROTO_SERVER: Record<ProtoVersion, number> = { 1: 100000, 2: 140000, 3: 150000, 4: 160000 };

/**
 * Checks pgoutput options against the server's `server_version_num` and the protocol version, and
 * resolves `protoVersion: 'auto'`, the way pgoutput's `parse_output_parameters` and
 * `pgoutput_startup` would, but before anything is sent. A `serverVersion` of 0 (unknown) skips
 * the server checks.
 * @throws {UnsupportedOptionError} naming the server or protocol version an option needs.
 * @throws {ConfigurationError} for a value no version accepts (no publication, protocol 5).
 */
export function resolvePgoutputOptions(o: PgoutputOptions, serverVersion: number): PgoutputOptions & { protoVersion: ProtoVersion } {
  const pubs = typeof o.publications === 'string' ? [o.publications] : o.publications;
  if (pubs === undefined || pubs.length === 0 || pubs.some((p) => typeof p !== 'string' || p === '')) {
    throw new ConfigurationError('publications: at least one non-empty publication name is required');
  }
  const on = `the server is PostgreSQL ${Math.floor(serverVersion / 10000)}`;
  let proto: ProtoVersion;
  if (o.protoVersion === 'auto') {
    if (serverVersion === 0) throw new ConfigurationError("protoVersion 'auto' needs the server's version, which it did not report");
    proto = maxProtoVersion(serverVersion);
  } else {
    const v = o.protoVersion ?? 1;
    if (![1, 2, 3, 4].includes(v)) throw new ConfigurationError(`protoVersion must be 1, 2, 3, 4 or 'auto', not ${JSON.stringify(v)}`);
    proto = v;
    if (serverVersion !== 0 && serverVersion < PROTO_SERVER[proto]) throw new UnsupportedOptionError(`protoVersion ${proto}`, { serverVersion: PROTO_SERVER[proto] }, on);
  }
  const needs = (option: string, server: number, protocol = 1) => {
    if (serverVersion !== 0 && serverVersion < server) throw new UnsupportedOptionError(option, { serverVersion: server }, on);
    if (proto < protocol) throw new UnsupportedOptionError(option, { protoVersion: protocol }, `with proto_version ${proto}`);
  };
  const oneOf = (option: string, value: unknown, allowed: readonly unknown[]) => {
    if (!allowed.includes(value)) throw new ConfigurationError(`${option} must be ${allowed.map((a) => JSON.stringify(a)).join(', ')}, not ${JSON.stringify(value)}`);
  };
  if (o.binary !== undefined) {
    oneOf('binary', o.binary, [true, false]);
    needs('binary', 140000);
  }
  if (o.messages !== undefined) {
    oneOf('messages', o.messages, [true, false]);
    needs('messages', 140000);
  }
  if (o.streaming !== undefined) {
    oneOf('streaming', o.streaming, ['off', 'on', 'parallel']);
    if (o.streaming === 'parallel') needs("streaming 'parallel'", 160000, 4);
    else needs(`streaming '${o.streaming}'`, 140000, o.streaming === 'on' ? 2 : 1);
  }
  if (o.twoPhase !== undefined) {
    oneOf('twoPhase', o.twoPhase, [true, false]);
    needs(`twoPhase ${o.twoPhase}`, 150000, o.twoPhase ? 3 : 1);
  }
  if (o.origin !== undefined) {
    oneOf('origin', o.origin, ['none', 'any']);
    needs('origin', 160000);
  }
  return { ...o, protoVersion: proto };
}

/**
 * Builds `START_REPLICATION SLOT "s" LOGICAL X/Y (...)` with every name and value quoted, after
 * checking the options with {@link resolvePgoutputOptions}.
 * @throws {UnsupportedOptionError} or {@link ConfigurationError}, before anything is sent.
 */
export function startLogicalReplicationCommand(slot: string, start: Lsn, options: PgoutputOptions, serverVersion: number): string {
  const o = resolvePgoutputOptions(options, serverVersion);
  const pubs = typeof o.publications === 'string' ? [o.publications] : o.publications;
  const opts = [`proto_version ${quoteLiteral(String(o.protoVersion))}`, `publication_names ${quoteLiteral(pubs.map(quoteIdent).join(','))}`];
  if (o.binary !== undefined) opts.push(`binary ${quoteLiteral(onOff(o.binary))}`);
  if (o.messages !== undefined) opts.push(`messages ${quoteLiteral(onOff(o.messages))}`);
  // 'on' and 'off' are also the booleans PostgreSQL 14 and 15 expect.
  if (o.streaming !== undefined) opts.push(`streaming ${quoteLiteral(o.streaming)}`);
  if (o.twoPhase !== undefined) opts.push(`two_phase ${quoteLiteral(onOff(o.twoPhase))}`);
  if (o.origin !== undefined) opts.push(`origin ${quoteLiteral(o.origin)}`);
  return `START_REPLICATION SLOT ${quoteSlotName(slot)} LOGICAL ${start.toString()} (${opts.join(', ')})`;
}

function onOff(b: boolean): string {
  return b ? 'on' : 'off';
}
