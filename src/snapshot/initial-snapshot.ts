import { Observable } from 'rxjs';
import { type CreateReplicationSlotOptions, createSlotCommand } from '../control/client';
import { ConfigurationError, ConnectionError, PgError, WalstreamError } from '../errors';
import { Lsn } from '../lsn';
import type { Row } from '../pgoutput/row';
import { quoteLiteral, quoteSlotName } from '../sql';
import { type TypeOptions, TypeRegistry } from '../values/registry';
import { type ConnectionOptions, resolveConfig } from '../wire/config';
import { PgConnection } from '../wire/connection';
import { type CopyFormat, CopyRowParser } from './copy-rows';
import { SnapshotError } from './errors';
import type { SnapshotEvent, SnapshotProgress, SnapshotRowsEvent } from './events';
import { forgetSettled, onSettled, settleSnapshotEvent } from './settle';
import { type StateStore, PostgresStateStore } from './state-store';
import { type PublishedTable, copyCommand, publishedTables } from './tables';

/** Flow control of the snapshot: how many emitted rows may wait for their work before COPY reading pauses. */
export interface SnapshotFlowControl {
  /** Pause when this many rows are emitted and not yet done. Default 50 000. */
  maxPendingRows?: number;
  /** Pause when the COPY bytes of the rows not yet done reach this. Default 32 MiB. */
  maxPendingBytes?: number;
}

/** Options of {@link initialSnapshot}; pass the same object to `logicalReplication`. */
export interface InitialSnapshotOptions extends ConnectionOptions {
  /** The logical slot to create (permanent; the stream continues from it). */
  slot: string;
  /** The publications whose tables are read. */
  publications: string | readonly string[];
  /** Tables read at once, each on its own connection. Default 2. */
  parallel?: number;
  /**
   * COPY format: `text` (default), `binary`, or `auto`: binary for a table whose every column type
   * decodes from binary to the same value as from text, text otherwise. Values decode alike either
   * way; binary did not read faster in docs/benchmarks.md, so text is the default.
   */
  copyFormat?: CopyFormat | 'auto';
  /** How column values decode, as for `parsePgoutput` (see docs/types.md). */
  types?: TypeOptions | TypeRegistry;
  /** Rows per `snapshotRows` event. Default 1000. */
  batchSize?: number;
  /**
   * Someone acknowledges (`ackOnCommit(feedback)` at the end of the pipeline): turns on flow
   * control, and the snapshot's completion is recorded only once every snapshot event is done.
   * Without it, completion is recorded once the last event is emitted, and flow control is off.
   */
  feedback?: unknown;
  /** Flow control; default on when `feedback` is given, off otherwise. */
  snapshotFlowControl?: SnapshotFlowControl | false;
  /** Where completion is recorded. Default: a {@link PostgresStateStore} in the source database. */
  stateStore?: StateStore;
  /** Options of the slot created (`twoPhase`, `failover`). `temporary` is refused: the stream needs the slot after the snapshot. */
  slotOptions?: Pick<CreateReplicationSlotOptions, 'twoPhase' | 'failover'>;
}

interface SnapshotRecord {
  state: 'started' | 'done';
  consistentPoint?: string;
  rows?: number;
}

/** The state-store key of a slot's snapshot. */
export function snapshotStateKey(slot: string): string {
  return `snapshot:${slot}`;
}

/**
 * Copies every table of the publications as it was when the slot was created, so that the stream
 * from the slot continues it with no gap and no duplicate: a cold Observable of
 * {@link SnapshotEvent}s that completes once the snapshot is done and recorded.
 *
 * On subscribe it looks at the slot and the state store:
 * - no slot: records `started`, creates the slot with an exported snapshot (its consistent point
 *   is where the stream begins), imports the snapshot on `parallel` regular connections
 *   (`SET TRANSACTION SNAPSHOT`, REPEATABLE READ) before the replication connection runs anything
 *   else, and reads each table with `COPY ... TO STDOUT`;
 * - the slot and a `done` record: the snapshot was completed before; completes at once;
 * - the slot and a `started` record: an earlier snapshot did not finish, so the slot's position
 *   says nothing about what the consumer has; drops the slot and starts over;
 * - the slot and no record: refuses with {@link SnapshotError} (the slot was made elsewhere; its
 *   changes since creation are not covered by any snapshot).
 *
 * Rows come in `snapshotRows` events as `Row`s, decoded like streamed rows (same `types`). With
 * `feedback`, COPY reading pauses while `maxPendingRows`/`maxPendingBytes` of emitted rows are not
 * done (an event is done when it reaches `ackOnCommit`, or `settleSnapshotEvent` is called), and
 * the `done` record is written only after every event is done, just before completing.
 * Follows "Streaming Replication Protocol" (CREATE_REPLICATION_SLOT ... EXPORT_SNAPSHOT) and
 * "Snapshot Synchronization Functions" (SET TRANSACTION SNAPSHOT).
 *
 * Errors: {@link SnapshotError} naming the table (and SQLSTATE) for a failed read, malformed COPY
 * data, a missing publication or a slot it cannot take; {@link PgError} when the slot cannot be
 * created (55000 wal_level, 53400 no free slot); {@link ConnectionError}.
 * A failed snapshot leaves the `started` record, so the next run starts over.
 *
 * @example
 * const feedback = new LsnFeedback();
 * const options = { connectionString: url, slot: 'app', publications: 'app', feedback };
 * concat(initialSnapshot(options), logicalReplication(options).pipe(parsePgoutput(), bufferTransaction()))
 *   .pipe(concatMap(async (e) => { await apply(e); return e; }), ackOnCommit(feedback))
 *   .subscribe();
 */
export function initialSnapshot(options: InitialSnapshotOptions): Observable<SnapshotEvent> {
  return new Observable<SnapshotEvent>((subscriber) => {
    const config = resolveConfig(options);
    const publications = typeof options.publications === 'string' ? [options.publications] : [...options.publications];
    const parallel = Math.max(1, options.parallel ?? 2);
    const batchSize = Math.max(1, options.batchSize ?? 1000);
    const types = options.types instanceof TypeRegistry ? options.types : new TypeRegistry(options.types);
    const acknowledged = options.feedback !== undefined;
    const flowOptions = options.snapshotFlowControl ?? (acknowledged ? {} : false);
    const maxRows = flowOptions === false ? Infinity : (flowOptions.maxPendingRows ?? 50_000);
    const maxBytes = flowOptions === false ? Infinity : (flowOptions.maxPendingBytes ?? 32 * 1024 * 1024);
    const ownStore = options.stateStore === undefined;
    const store = options.stateStore ?? new PostgresStateStore(options);
    const key = snapshotStateKey(options.slot);
    const connections: PgConnection[] = [];
    let finished = false;
    let pendingRows = 0;
    let pendingBytes = 0;
    let unsettled = 0;
    let paused = false;
    let allEmitted: (() => void) | undefined;
    const pending = new Set<number>(); // settle ids of emitted events not yet done

    const fail = (err: unknown) => {
      if (finished) return;
      finished = true;
      forgetSettled(pending);
      for (const c of connections) c.destroy();
      if (ownStore) void store.close?.();
      subscriber.error(err instanceof WalstreamError ? err : new ConnectionError(String(err), { cause: err }));
    };

    const resumeIfDrained = () => {
      if (paused && pendingRows <= maxRows / 2 && pendingBytes <= maxBytes / 2) {
        paused = false;
        for (const c of connections) c.resume();
      }
    };

    const emit = (unsettledEvent: DistributiveOmit<SnapshotEvent, 'settleId'>, rows = 0, bytes = 0) => {
      if (finished) return;
      unsettled++;
      pendingRows += rows;
      pendingBytes += bytes;
      const settleId = onSettled(() => {
        pending.delete(settleId);
        unsettled--;
        pendingRows -= rows;
        pendingBytes -= bytes;
        resumeIfDrained();
        if (unsettled === 0) allEmitted?.();
      });
      pending.add(settleId);
      const event = { ...unsettledEvent, settleId } as SnapshotEvent;
      subscriber.next(event);
      // Without acknowledgments an event is done once emitted: a synchronous subscriber has finished with it.
      if (!acknowledged) settleSnapshotEvent(event);
      if (!paused && (pendingRows > maxRows || pendingBytes > maxBytes)) {
        paused = true;
        for (const c of connections) c.pause();
      }
    };

    const copyTable = (conn: PgConnection, table: PublishedTable, format: CopyFormat): Promise<SnapshotProgress> => {
      const name = `${table.schema}.${table.name}`;
      const parser = new CopyRowParser(table.relation, format, types, name);
      const progress = { rows: 0, bytes: 0 };
      let batch: Row[] = [];
      let batchBytes = 0;
      const flush = () => {
        if (batch.length === 0) return;
        progress.rows += batch.length;
        const event: Omit<SnapshotRowsEvent, 'settleId'> = { type: 'snapshotRows', schema: table.schema, table: table.name, relation: table.relation, rows: batch, progress: { ...progress } };
        const bytes = batchBytes;
        batch = [];
        batchBytes = 0;
        emit(event, event.rows.length, bytes);
      };
      return new Promise<SnapshotProgress>((resolve, reject) => {
        conn
          .startCopy(copyCommand(table, format), {
            onData(buf, start, end) {
              if (finished) return;
              try {
                parser.parse(buf, start, end, batch);
              } catch (err) {
                return reject(err);
              }
              progress.bytes += end - start;
              batchBytes += end - start;
              if (batch.length >= batchSize) flush();
            },
            onComplete() {
              if (!parser.complete) return reject(new SnapshotError(`binary COPY of ${name} ended without its trailer`, { table: name }));
              flush();
              resolve(progress);
            },
            onError: reject,
          })
          .catch(reject);
      }).catch((err: unknown) => {
        if (err instanceof SnapshotError) throw err;
        const pg = err instanceof PgError ? err : undefined;
        throw new SnapshotError(`snapshot of ${name} failed: ${err instanceof Error ? err.message : String(err)}`, { table: name, code: pg?.code, cause: err });
      });
    };

    const formatOf = (table: PublishedTable): CopyFormat => {
      const f = options.copyFormat ?? 'text';
      if (f !== 'auto') return f;
      return table.relation.columns.every((c) => types.binaryKnown(c.typeOid)) ? 'binary' : 'text';
    };

    const run = async () => {
      quoteSlotName(options.slot);
      if ((options.slotOptions as { temporary?: boolean } | undefined)?.temporary) throw new ConfigurationError('initialSnapshot needs a permanent slot: the stream continues from it after the snapshot');
      const control = await PgConnection.connect(config);
      connections.push(control);
      if (finished) return;
      const record = (await store.load(key)) as SnapshotRecord | undefined;
      const [slots] = await control.query(
        `SELECT active FROM pg_catalog.pg_replication_slots WHERE slot_name = ${quoteLiteral(options.slot)}`,
      );
      const slotExists = slots.rows.length > 0;
      if (slotExists && record?.state === 'done') return finish();
      if (slotExists && record?.state !== 'started') {
        throw new SnapshotError(
          `slot "${options.slot}" exists but no snapshot was started for it (no record in the state store): drop the slot, or stream it without a snapshot`,
        );
      }
      if (slotExists) {
        // An earlier snapshot did not finish: what the consumer has is unknown, so start over.
        try {
          await control.query(`SELECT pg_catalog.pg_drop_replication_slot(${quoteLiteral(options.slot)})`);
        } catch (err) {
          throw new SnapshotError(`slot "${options.slot}" of an unfinished snapshot cannot be dropped to start over: ${(err as Error).message}`, { code: (err as PgError).code, cause: err });
        }
      }
      await store.save(key, { state: 'started' } satisfies SnapshotRecord);
      const readers = [control];
      while (readers.length < parallel) {
        const c = await PgConnection.connect(config);
        connections.push(c);
        readers.push(c);
      }
      if (finished) return;
      const repl = await PgConnection.connect(config, 'database');
      connections.push(repl);
      const [created] = await repl.query(createSlotCommand(options.slot, { ...options.slotOptions, snapshot: 'export' }, repl.serverVersionNum));
      const [, consistent, snapshotName] = created.rows[0] ?? [];
      if (snapshotName === null || snapshotName === undefined) throw new SnapshotError(`CREATE_REPLICATION_SLOT "${options.slot}" exported no snapshot`);
      const consistentPoint = Lsn.parse(consistent ?? '0/0');
      // The exported snapshot lives until the replication connection's next command: every reader imports it first.
      await Promise.all(readers.map((c) => c.query(`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT ${quoteLiteral(snapshotName)}`)));
      await repl.end();
      if (finished) return;
      const exclude = store.table === undefined ? [] : [store.table];
      const tables = await publishedTables(control, publications, types, exclude);
      emit({
        type: 'snapshotStart',
        slot: options.slot,
        consistentPoint,
        snapshotName,
        tables: tables.map((t) => `${t.schema}.${t.name}`),
        estimatedRows: tables.reduce((n, t) => n + (t.estimatedRows ?? 0), 0),
      });
      const total = { rows: 0, bytes: 0 };
      const queue = [...tables];
      await Promise.all(
        readers.map(async (conn) => {
          for (let table = queue.shift(); table !== undefined && !finished; table = queue.shift()) {
            emit({ type: 'snapshotTableStart', schema: table.schema, table: table.name, relation: table.relation, estimatedRows: table.estimatedRows });
            const progress = await copyTable(conn, table, formatOf(table));
            total.rows += progress.rows;
            total.bytes += progress.bytes;
            emit({ type: 'snapshotTableEnd', schema: table.schema, table: table.name, progress });
          }
          await conn.query('COMMIT');
        }),
      );
      if (finished) return;
      emit({ type: 'snapshotComplete', slot: options.slot, consistentPoint, progress: total });
      if (unsettled > 0) await new Promise<void>((resolve) => (allEmitted = resolve));
      if (finished) return;
      await store.save(key, { state: 'done', consistentPoint: consistentPoint.toString(), rows: total.rows } satisfies SnapshotRecord);
      finish();
    };

    const finish = () => {
      if (finished) return;
      finished = true;
      for (const c of connections) void c.end();
      const closing = ownStore ? (store.close?.() ?? Promise.resolve()) : Promise.resolve();
      closing.then(
        () => subscriber.complete(),
        () => subscriber.complete(),
      );
    };

    run().catch(fail);

    return () => {
      if (finished) return;
      finished = true;
      forgetSettled(pending);
      for (const c of connections) c.destroy();
      if (ownStore) void store.close?.();
    };
  });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
