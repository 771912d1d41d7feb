import { type MonoTypeOperatorFunction, Observable } from 'rxjs';
import type { Transaction, TransactionEvent } from '../../operators/buffer-transaction';
import { PgError, WalstreamError } from '../../src/errors';
import { Lsn } from '../../src/lsn';
import type { RelationInfo } from '../../src/pgoutput/messages';
import { quoteIdent, quoteLiteral } from '../../src/sql';
import { pgTimestampToIso } from '../../src/time';
import { type ConnectionOptions, resolveConfig } from '../../src/wire/config';
import { PgConnection } from '../../src/wire/connection';
import { SinkError } from '../internal/errors';
import { transactionToWrite } from '../internal/events';
import { writeInOrder } from '../internal/write-in-order';
import { ApplyConflictError, SchemaDriftError } from './errors';
import { type TargetColumns, changeStatement } from './statements';
import { targetColumns } from './target';

export { SinkError, UnsupportedEventError } from '../internal/errors';
export { ApplyConflictError, SchemaDriftError } from './errors';
export { changeStatement, type TargetColumns } from './statements';

/** Options of {@link postgresApply}. */
export interface PostgresApplyOptions {
  /** The target server: a URL or connection options (libpq keywords, TLS, `PG*` variables, as everywhere in pg-walstream). */
  connection: ConnectionOptions | string;
  /** This applier's row in the progress table, so several appliers can share one target. Default `default`. */
  name?: string;
  /** The progress table, created when missing. Default `public.pg_walstream_apply_progress`. */
  progressTable?: { schema: string; table: string };
}

const DEFAULT_PROGRESS = { schema: 'public', table: 'pg_walstream_apply_progress' };

function progressSql(options: PostgresApplyOptions): { table: string; name: string } {
  const p = options.progressTable ?? DEFAULT_PROGRESS;
  return { table: `${quoteIdent(p.schema)}.${quoteIdent(p.table)}`, name: quoteLiteral(options.name ?? 'default') };
}

async function ensureProgress(conn: PgConnection, options: PostgresApplyOptions): Promise<Lsn | undefined> {
  const { table, name } = progressSql(options);
  const results = await conn.query(
    `CREATE TABLE IF NOT EXISTS ${table} (name text PRIMARY KEY, commit_lsn pg_lsn NOT NULL, end_lsn pg_lsn NOT NULL, ` +
      `xid bigint NOT NULL, commit_time timestamptz NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()); ` +
      `SELECT end_lsn FROM ${table} WHERE name = ${name}`,
  );
  const value = results[results.length - 1].rows[0]?.[0];
  return value == null ? undefined : Lsn.parse(value);
}

/**
 * The end LSN of the last source transaction applied to the target under `options.name`, or
 * undefined when none was. Start the stream there (`startLsn`) to skip what the target already has;
 * the sink skips it anyway.
 * @throws {PgError} or `ConnectionError` (from `pg-walstream`) when the target cannot be read.
 */
export async function readApplyProgress(options: PostgresApplyOptions): Promise<Lsn | undefined> {
  const conn = await PgConnection.connect(resolveConfig(options.connection));
  try {
    return await ensureProgress(conn, options);
  } finally {
    await conn.end();
  }
}

/**
 * Applies each committed source transaction to another PostgreSQL as one transaction, and passes
 * the event on (the same object) after the target's COMMIT: place it after `bufferTransaction`
 * (and `retryWithBackoff`) and before `ackOnCommit`.
 *
 * - **Exactly once:** the same target transaction upserts this applier's row in the progress table
 *   (commit and end LSN, xid, commit time). On subscription the sink reads it and skips every
 *   transaction whose end LSN is at or below it, so a replay after a crash applies nothing twice.
 * - **Values** are the server's own text (pgoutput text mode), sent as SQL literals that the target
 *   column's input function reads; comparisons cast them to the target column's type. No value
 *   passes through a JavaScript number or Date. Binary mode is refused ({@link UnsupportedEventError}).
 * - **Rows** are found by the replica identity key (DEFAULT or INDEX), or, with REPLICA IDENTITY
 *   FULL, by every column's text, changing exactly one of several identical rows (by `ctid`).
 *   Unchanged TOASTed columns are left as they are; TRUNCATE is applied with its CASCADE and
 *   RESTART IDENTITY options.
 * - **Order:** one transaction at a time, in commit order.
 *
 * Errors (the target transaction is rolled back, nothing of it applied, nothing acknowledged):
 * {@link SchemaDriftError} when a table or column is missing on the target or a built-in type
 * differs; {@link ApplyConflictError} when an UPDATE or DELETE finds no row; {@link SinkError} with
 * the target's {@link PgError} as `cause` for any other refusal or a lost connection. Each carries
 * the source transaction's commit LSN.
 *
 * @example
 * source.pipe(parsePgoutput(), bufferTransaction(), retryWithBackoff(),
 *   postgresApply({ connection: 'postgres://app@replica/app' }), ackOnCommit(feedback)).subscribe();
 */
export function postgresApply(options: PostgresApplyOptions): MonoTypeOperatorFunction<TransactionEvent> {
  return (source) =>
    new Observable<TransactionEvent>((subscriber) => {
      let conn: Promise<PgConnection> | undefined;
      let progress: Lsn | undefined;
      const tables = new WeakMap<RelationInfo, TargetColumns>();
      const progressTable = progressSql(options);

      const connection = () =>
        (conn ??= PgConnection.connect(resolveConfig(options.connection)).then(async (c) => {
          progress = await ensureProgress(c, options);
          return c;
        }));

      const apply = async (c: PgConnection, tx: Transaction) => {
        const statements = ['BEGIN'];
        for (const change of tx.changes) {
          const relations = change.type === 'truncate' ? change.relations : [change.relation];
          let target: TargetColumns | undefined;
          for (const r of relations) {
            target = tables.get(r);
            if (target === undefined) tables.set(r, (target = await targetColumns(c, r, tx.commitLsn)));
          }
          statements.push(changeStatement(change, target!, tx.commitLsn));
        }
        statements.push(
          `INSERT INTO ${progressTable.table} (name, commit_lsn, end_lsn, xid, commit_time) VALUES (${progressTable.name}, ` +
            `'${tx.commitLsn.toString()}', '${tx.endLsn.toString()}', ${tx.xid}, '${pgTimestampToIso(tx.commitTime)}') ` +
            `ON CONFLICT (name) DO UPDATE SET commit_lsn = EXCLUDED.commit_lsn, end_lsn = EXCLUDED.end_lsn, xid = EXCLUDED.xid, ` +
            `commit_time = EXCLUDED.commit_time, applied_at = now()`,
        );
        let results;
        try {
          results = await c.query(statements.join(';\n'));
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw err;
        }
        // results[0] is BEGIN; results[i] answers tx.changes[i - 1].
        for (let i = 1; i <= tx.changes.length; i++) {
          const change = tx.changes[i - 1];
          if ((change.type === 'update' || change.type === 'delete') && / 0$/.test(results[i].command)) {
            await c.query('ROLLBACK');
            throw new ApplyConflictError(
              `${change.type} of ${change.relation.schema}.${change.relation.name} found no row on the target (transaction ${tx.xid}, commit ${tx.commitLsn.toString()})`,
              tx.commitLsn,
              change.relation.schema,
              change.relation.name,
            );
          }
        }
        await c.query('COMMIT');
      };

      const write = async (event: TransactionEvent): Promise<void> => {
        const tx = transactionToWrite(event, 'postgres');
        if (tx === undefined || tx.changes.length === 0) return;
        const c = await connection().catch((err: unknown) => {
          throw new SinkError(`cannot open the apply target: ${String(err)}`, 'postgres', tx.commitLsn, { cause: err });
        });
        if (progress !== undefined && tx.endLsn.value <= progress.value) return; // applied before a restart
        try {
          await apply(c, tx);
        } catch (err) {
          throw asSinkError(err, tx);
        }
        progress = tx.endLsn;
      };

      const subscription = writeInOrder(write, 1)(source).subscribe(subscriber);
      return () => {
        subscription.unsubscribe();
        conn?.then((c) => c.end()).catch(() => undefined);
      };
    });
}

/** Undefined table and column (42P01, 42703) are schema drift; anything else keeps its cause. */
function asSinkError(err: unknown, tx: Transaction): WalstreamError {
  if (err instanceof SinkError) return err;
  if (err instanceof PgError && (err.code === '42P01' || err.code === '42703')) {
    return new SchemaDriftError(`the target refused transaction ${tx.xid} (commit ${tx.commitLsn.toString()}): ${err.message}`, tx.commitLsn, '', '', undefined);
  }
  return new SinkError(`the target refused transaction ${tx.xid} (commit ${tx.commitLsn.toString()}): ${err instanceof Error ? err.message : String(err)}`, 'postgres', tx.commitLsn, {
    cause: err,
  });
}

