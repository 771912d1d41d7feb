import { ConfigurationError, PgError } from '../errors';
import { Lsn } from '../lsn';
import { quoteIdent, quoteSlotName } from '../sql';
import { type ConnectionOptions, resolveConfig } from '../wire/config';
import { PgConnection, type QueryResult, type ReplicationMode } from '../wire/connection';

/** IDENTIFY_SYSTEM's answer. */
export interface SystemIdentity {
  /** The cluster's unique system identifier, a 64-bit number as a decimal string. */
  systemId: string;
  /** The current timeline ID. */
  timeline: number;
  /** The current WAL flush position. */
  xlogPos: Lsn;
  /** The connected database, or null on a physical replication connection. */
  dbName: string | null;
}

/** Options of CREATE_REPLICATION_SLOT ... LOGICAL. */
export interface CreateLogicalSlotOptions {
  /** Output plugin. Default `pgoutput`. */
  plugin?: string;
  /** Dropped when the connection closes or errors. */
  temporary?: boolean;
  /**
   * What to do with the snapshot at the slot's consistent point: `export` it for other sessions
   * (`SET TRANSACTION SNAPSHOT`, valid until the next command on this connection), `use` it in
   * this connection's transaction, or `nothing` (the default, which is the cheapest).
   */
  snapshot?: 'export' | 'use' | 'nothing';
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
  private constructor(readonly connection: PgConnection) {}

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
    const row = firstRow(await this.connection.query('IDENTIFY_SYSTEM'), 'IDENTIFY_SYSTEM');
    return { systemId: row[0] ?? '', timeline: Number(row[1]), xlogPos: Lsn.parse(row[2] ?? ''), dbName: row[3] ?? null };
  }

  /**
   * Creates a logical slot with the syntax the server accepts: the option list on PostgreSQL 15+,
   * keywords on 14 (`src/backend/replication/repl_gram.y`).
   * @throws {PgError} 42710 when the slot exists, 55000 when `wal_level` is not `logical`, 53400 when no slot is free.
   */
  async createReplicationSlot(name: string, options: CreateLogicalSlotOptions = {}): Promise<CreatedSlot> {
    const row = firstRow(await this.connection.query(createSlotCommand(name, options, this.serverVersion)), 'CREATE_REPLICATION_SLOT');
    return { slotName: row[0] ?? name, consistentPoint: Lsn.parse(row[1] ?? '0/0'), snapshotName: row[2] ?? null, outputPlugin: row[3] ?? null };
  }

  /**
   * Creates the slot, or leaves an existing one as it is. "Exists" is recognized by SQLSTATE 42710,
   * never by the (translated) message. Resolves to the new slot, or `undefined` when it existed.
   */
  async ensureReplicationSlot(name: string, options: CreateLogicalSlotOptions = {}): Promise<CreatedSlot | undefined> {
    try {
      return await this.createReplicationSlot(name, options);
    } catch (err) {
      if (err instanceof PgError && err.code === '42710') return undefined;
      throw err;
    }
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
 * CREATE_REPLICATION_SLOT for a logical slot in the syntax of `serverVersion`.
 * @throws {ConfigurationError} for an unknown snapshot action.
 * @internal
 */
export function createSlotCommand(name: string, options: CreateLogicalSlotOptions, serverVersion: number): string {
  const plugin = options.plugin ?? 'pgoutput';
  const snapshot = options.snapshot ?? 'nothing';
  if (!['export', 'use', 'nothing'].includes(snapshot)) throw new ConfigurationError(`invalid snapshot option ${JSON.stringify(snapshot)}`);
  const sql = `CREATE_REPLICATION_SLOT ${quoteSlotName(name)}${options.temporary ? ' TEMPORARY' : ''} LOGICAL ${quoteIdent(plugin)}`;
  if (serverVersion >= 150000) return `${sql} (SNAPSHOT '${snapshot}')`;
  return sql + { export: ' EXPORT_SNAPSHOT', use: ' USE_SNAPSHOT', nothing: ' NOEXPORT_SNAPSHOT' }[snapshot];
}

function firstRow(results: QueryResult[], command: string): (string | null)[] {
  const row = results.find((r) => r.rows.length > 0)?.rows[0];
  if (row === undefined) throw new PgError({ code: 'XX000', message: `${command} returned no row` });
  return row;
}
