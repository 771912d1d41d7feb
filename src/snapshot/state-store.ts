import { quoteIdent, quoteLiteral } from '../sql';
import { type ConnectionOptions, resolveConfig } from '../wire/config';
import { PgConnection } from '../wire/connection';

/**
 * Where the snapshot records that it completed, and backfills their last finished chunk: a small
 * key-value store of JSON values. Writes must be durable when `save` resolves.
 * The default, {@link PostgresStateStore}, is a table of the source database; pass your own (a
 * file, Redis, your sink's database) with the `stateStore` option.
 */
export interface StateStore {
  /** The value saved under `key`, or `undefined`. */
  load(key: string): Promise<unknown>;
  /** Saves `value` (JSON-serializable) under `key`, replacing what was there. */
  save(key: string, value: unknown): Promise<void>;
  /** Removes `key`. */
  delete(key: string): Promise<void>;
  /** `schema.table` of a table this store keeps in the source database, left out of snapshots. */
  readonly table?: string;
  /** Releases connections. */
  close?(): Promise<void>;
}

/** A {@link StateStore} in memory: for tests, or a process that never restarts. */
export class MemoryStateStore implements StateStore {
  readonly values = new Map<string, string>();
  async load(key: string): Promise<unknown> {
    const v = this.values.get(key);
    return v === undefined ? undefined : JSON.parse(v);
  }
  async save(key: string, value: unknown): Promise<void> {
    this.values.set(key, JSON.stringify(value));
  }
  async delete(key: string): Promise<void> {
    this.values.delete(key);
  }
}

/**
 * A {@link StateStore} in a table of the source database (default `public.walstream_state`,
 * columns `key text primary key, value jsonb, updated_at timestamptz`), created on first use.
 * It opens one regular connection on first use; close it with `close()`.
 * If a publication is `FOR ALL TABLES`, this table's own changes stream too; the snapshot leaves
 * the table out.
 *
 * @example
 * const store = new PostgresStateStore(url, { table: 'cdc.walstream_state' });
 */
export class PostgresStateStore implements StateStore {
  readonly table: string;
  private conn: Promise<PgConnection> | undefined;
  private readonly qualified: string;

  constructor(
    private readonly connection: ConnectionOptions | string,
    options: { table?: string } = {},
  ) {
    const [schema, name] = (options.table ?? 'public.walstream_state').includes('.') ? (options.table ?? 'public.walstream_state').split('.', 2) : ['public', options.table!];
    this.table = `${schema}.${name}`;
    this.qualified = `${quoteIdent(schema)}.${quoteIdent(name)}`;
  }

  async load(key: string): Promise<unknown> {
    const [result] = await (await this.connect()).query(`SELECT value::text FROM ${this.qualified} WHERE key = ${quoteLiteral(key)}`);
    const v = result.rows[0]?.[0];
    return v === undefined || v === null ? undefined : JSON.parse(v);
  }

  async save(key: string, value: unknown): Promise<void> {
    await (await this.connect()).query(
      `INSERT INTO ${this.qualified} (key, value, updated_at) VALUES (${quoteLiteral(key)}, ${quoteLiteral(JSON.stringify(value))}, now())
       ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
    );
  }

  async delete(key: string): Promise<void> {
    await (await this.connect()).query(`DELETE FROM ${this.qualified} WHERE key = ${quoteLiteral(key)}`);
  }

  async close(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (conn !== undefined) await (await conn.catch(() => undefined))?.end();
  }

  private connect(): Promise<PgConnection> {
    this.conn ??= (async () => {
      const conn = await PgConnection.connect(resolveConfig(this.connection));
      await conn.query(`CREATE TABLE IF NOT EXISTS ${this.qualified} (key text PRIMARY KEY, value jsonb NOT NULL, updated_at timestamptz NOT NULL DEFAULT now())`);
      return conn;
    })();
    this.conn.catch(() => (this.conn = undefined));
    return this.conn;
  }
}
