import { ConfigurationError, PgError, UnsupportedOptionError } from '../errors';
import { Lsn } from '../lsn';
import { quoteIdent, quoteSlotName } from '../sql';
import { type ConnectionOptions, resolveConfig } from '../wire/config';
import { PgConnection, type QueryResult, type ReplicationMode } from '../wire/connection';
import {
  type ReplicationSlotInfo,
  type SystemIdentity,
  type TimelineHistory,
  firstRow,
  identifySystem,
  readReplicationSlot,
  timelineHistory,
} from './commands';

export type { ReplicationSlotInfo, SystemIdentity, TimelineHistory, TimelineHistoryEntry } from './commands';
export { parseTimelineHistory } from './commands';

/** Options of CREATE_REPLICATION_SLOT ("Streaming Replication Protocol"). */
export interface CreateReplicationSlotOptions {
  /** A physical slot (WAL for a standby or pg_receivewal) instead of a logical one. Default false. */
  physical?: boolean;
  /** Output plugin of a logical slot. Default `pgoutput`. */
  plugin?: string;
  /** Dropped when the connection closes or errors. */
  temporary?: boolean;
  /**
   * Logical slots: what to do with the snapshot at the slot's consistent point: `export` it for
   * other sessions (`SET TRANSACTION SNAPSHOT`, valid until the next command on this connection),
   * `use` it in this connection's open transaction, or `nothing` (the default, which is the cheapest).
   */
  snapshot?: 'export' | 'use' | 'nothing';
  /** Logical slots: decode prepared transactions at PREPARE TRANSACTION (PostgreSQL 15+). */
  twoPhase?: boolean;
  /** Physical slots: reserve WAL from now on, instead of from the first connection of a standby. */
  reserveWal?: boolean;
  /** Logical slots: synchronize the slot to standbys, so replication can continue after failover (PostgreSQL 17+; not with `temporary`). */
  failover?: boolean;
}

/** CREATE_REPLICATION_SLOT's answer. */
export interface CreatedSlot {
  slotName: string;
  /** The LSN from which the slot decodes. */
  consistentPoint: Lsn;
  /** The exported snapshot's name, when `snapshot: 'export'`. */
  snapshotName: string | null;
  outputPlugin: string | null;
}

/**
 * A replication connection for commands ("Streaming Replication Protocol": IDENTIFY_SYSTEM,
 * CREATE_REPLICATION_SLOT, DROP_REPLICATION_SLOT, ...), speaking the syntax of the connected
 * server's version. Close it when done.
 *
 * @example
 * const client = await ReplicationClient.connect('postgres://repl@localhost/app');
 * try {
 *   const { xlogPos } = await client.identifySystem();
 *   await client.createReplicationSlot('app', { temporary: true });
 * } finally {
 *   await client.close();
 * }
 */
export class ReplicationClient {
  private constructor(private readonly connection: PgConnection) {}

  /**
   * Connects with `replication=database` (or `true` for physical replication).
   * @throws {PgError} on refusal (e.g. 28P01 wrong password, 28000 no pg_hba.conf entry, 3D000 unknown database).
   * @throws {ConnectionError} when the server cannot be reached.
   */
  static async connect(options: ConnectionOptions | string, mode: ReplicationMode = 'database'): Promise<ReplicationClient> {
    return new ReplicationClient(await PgConnection.connect(resolveConfig(options), mode));
  }

  /** `server_version_num` of the connected server, e.g. 180004. */
  get serverVersion(): number {
    return this.connection.serverVersionNum;
  }

  /** Runs IDENTIFY_SYSTEM. */
  async identifySystem(): Promise<SystemIdentity> {
    return identifySystem(this.connection);
  }

  /**
   * Creates a logical (default) or physical slot with the syntax the server accepts: the option
   * list on PostgreSQL 15+, keywords on 14 (`src/backend/replication/repl_gram.y`).
   * @throws {UnsupportedOptionError} before sending, for an option the server cannot take (`twoPhase` before 15, `failover` before 17).
   * @throws {ConfigurationError} before sending, for options that do not go together (`reserveWal` on a logical slot, `failover` on a temporary one).
   * @throws {PgError} 42710 when the slot exists, 55000 when `wal_level` is too low, 53400 when no slot is free.
   */
  async createReplicationSlot(name: string, options: CreateReplicationSlotOptions = {}): Promise<CreatedSlot> {
    const row = firstRow(await this.connection.query(createSlotCommand(name, options, this.serverVersion)), 'CREATE_REPLICATION_SLOT');
    return { slotName: row[0] ?? name, consistentPoint: Lsn.parse(row[1] ?? '0/0'), snapshotName: row[2] ?? null, outputPlugin: row[3] ?? null };
  }

  /**
   * Creates the slot, or leaves an existing one as it is. "Exists" is recognized by SQLSTATE 42710,
   * never by the (translated) message. Resolves to the new slot, or `undefined` when it existed.
   */
  async ensureReplicationSlot(name: string, options: CreateReplicationSlotOptions = {}): Promise<CreatedSlot | undefined> {
    try {
      return await this.createReplicationSlot(name, options);
    } catch (err) {
      if (err instanceof PgError && err.code === '42710') return undefined;
      throw err;
    }
  }

  /**
   * READ_REPLICATION_SLOT (PostgreSQL 15+): a physical slot's type, restart LSN and its timeline.
   * Resolves to `undefined` when no slot has that name.
   * @throws {UnsupportedOptionError} before sending, on PostgreSQL 14.
   * @throws {PgError} 0A000 for a logical slot, which the command does not describe.
   */
  async readReplicationSlot(name: string): Promise<ReplicationSlotInfo | undefined> {
    requireServer('READ_REPLICATION_SLOT', 150000, this.serverVersion);
    return readReplicationSlot(this.connection, name);
  }

  /**
   * ALTER_REPLICATION_SLOT (PostgreSQL 17+; `twoPhase` 18+): changes a logical slot's failover
   * or two-phase property. The slot must not be in use.
   * @throws {UnsupportedOptionError} before sending, for a server too old for the command or option.
   * @throws {ConfigurationError} when no option is given.
   * @throws {PgError} 42704 when the slot does not exist, 55006 when it is active.
   */
  async alterReplicationSlot(name: string, options: { failover?: boolean; twoPhase?: boolean }): Promise<void> {
    requireServer('ALTER_REPLICATION_SLOT', 170000, this.serverVersion);
    const opts: string[] = [];
    if (options.failover !== undefined) opts.push(`FAILOVER ${options.failover}`);
    if (options.twoPhase !== undefined) {
      requireServer('ALTER_REPLICATION_SLOT (TWO_PHASE)', 180000, this.serverVersion);
      opts.push(`TWO_PHASE ${options.twoPhase}`);
    }
    if (opts.length === 0) throw new ConfigurationError('alterReplicationSlot needs failover or twoPhase');
    await this.connection.query(`ALTER_REPLICATION_SLOT ${quoteSlotName(name)} (${opts.join(', ')})`);
  }

  /**
   * TIMELINE_HISTORY: the history file of timeline `tli` (2 or later; timeline 1 has none).
   * @throws {PgError} 58P01 when the server has no history file for it.
   */
  async timelineHistory(tli: number): Promise<TimelineHistory> {
    return timelineHistory(this.connection, tli);
  }

  /** SHOW on the replication connection: a setting's current value, e.g. `show('wal_segment_size')` → `'16MB'`. */
  async show(name: string): Promise<string | null> {
    return firstRow(await this.connection.query(`SHOW ${quoteIdent(name)}`), 'SHOW')[0] ?? null;
  }

  /**
   * Drops a slot. With `wait`, waits for a walsender still using it instead of failing with 55006.
   * @throws {PgError} 42704 when the slot does not exist, 55006 when it is active and `wait` is false.
   */
  async dropReplicationSlot(name: string, options: { wait?: boolean } = {}): Promise<void> {
    await this.connection.query(`DROP_REPLICATION_SLOT ${quoteSlotName(name)}${options.wait ? ' WAIT' : ''}`);
  }

  /** Runs a command or SQL query and returns its result sets as text (only replication commands on a physical connection). */
  query(sql: string): Promise<QueryResult[]> {
    return this.connection.query(sql);
  }

  /** Closes the connection (Terminate). A temporary slot created here is dropped by the server. */
  close(): Promise<void> {
    return this.connection.end();
  }
}

/**
 * CREATE_REPLICATION_SLOT in the syntax of `serverVersion`: the option list from PostgreSQL 15
 * (`SNAPSHOT`, `TWO_PHASE`, `RESERVE_WAL`, `FAILOVER`), the keywords before (`EXPORT_SNAPSHOT`,
 * `NOEXPORT_SNAPSHOT`, `USE_SNAPSHOT`, `RESERVE_WAL`).
 * @throws {UnsupportedOptionError} for an option `serverVersion` does not have.
 * @throws {ConfigurationError} for an unknown snapshot action or options that do not go together.
 * @internal
 */
export function createSlotCommand(name: string, options: CreateReplicationSlotOptions, serverVersion: number): string {
  const o = options;
  const temporary = o.temporary ? ' TEMPORARY' : '';
  if (o.physical) {
    for (const key of ['plugin', 'snapshot', 'twoPhase', 'failover'] as const) {
      if (o[key] !== undefined) throw new ConfigurationError(`${key} applies to logical slots, not to physical slot "${name}"`);
    }
    const sql = `CREATE_REPLICATION_SLOT ${quoteSlotName(name)}${temporary} PHYSICAL`;
    if (!o.reserveWal) return sql;
    return serverVersion >= 150000 ? `${sql} (RESERVE_WAL true)` : `${sql} RESERVE_WAL`;
  }
  if (o.reserveWal !== undefined) throw new ConfigurationError(`reserveWal applies to physical slots; logical slot "${name}" reserves WAL when it is created`);
  const snapshot = o.snapshot ?? 'nothing';
  if (!['export', 'use', 'nothing'].includes(snapshot)) throw new ConfigurationError(`invalid snapshot option ${JSON.stringify(snapshot)}`);
  // PostgreSQL 14 decodes two-phase slots (pg_create_logical_replication_slot), but its replication grammar has no TWO_PHASE.
  if (o.twoPhase) requireServer('twoPhase', 150000, serverVersion);
  if (o.failover) {
    requireServer('failover', 170000, serverVersion);
    if (o.temporary) throw new ConfigurationError(`failover cannot be enabled on temporary slot "${name}"`);
  }
  const sql = `CREATE_REPLICATION_SLOT ${quoteSlotName(name)}${temporary} LOGICAL ${quoteIdent(o.plugin ?? 'pgoutput')}`;
  if (serverVersion >= 150000) {
    const opts = [`SNAPSHOT '${snapshot}'`];
    if (o.twoPhase) opts.push('TWO_PHASE true');
    if (o.failover) opts.push('FAILOVER true');
    return `${sql} (${opts.join(', ')})`;
  }
  return sql + { export: ' EXPORT_SNAPSHOT', use: ' USE_SNAPSHOT', nothing: ' NOEXPORT_SNAPSHOT' }[snapshot];
}

function requireServer(option: string, needed: number, serverVersion: number): void {
  if (serverVersion !== 0 && serverVersion < needed) {
    throw new UnsupportedOptionError(option, { serverVersion: needed }, `the server is PostgreSQL ${Math.floor(serverVersion / 10000)}`);
  }
}
