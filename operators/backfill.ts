import { randomUUID } from 'node:crypto';
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { ConnectionError, PgError, WalstreamError } from '../src/errors';
import { Lsn } from '../src/lsn';
import type { ChangeMessage, LogicalMessage } from '../src/pgoutput/messages';
import type { Row } from '../src/pgoutput/row';
import { quoteLiteral } from '../src/sql';
import { type TypeOptions, TypeRegistry } from '../src/values/registry';
import { type ConnectionOptions, resolveConfig } from '../src/wire/config';
import { PgConnection } from '../src/wire/connection';
import type { BackfillEvent, BackfillProgress, BackfillRequest, BackfillRowsEvent } from '../src/snapshot/backfill-events';
import { type KeyChanges, type XidSnapshot, collectKeys, mergeChunk, noChanges, parseXidSnapshot } from '../src/snapshot/backfill-merge';
import { type BackfillTable, backfillTable, chunkCommand, splitTableName } from '../src/snapshot/backfill-table';
import { CopyRowParser } from '../src/snapshot/copy-rows';
import { BackfillError, SnapshotError } from '../src/snapshot/errors';
import { forgetSettled, onSettled, settleSnapshotEvent } from '../src/snapshot/settle';
import { PostgresStateStore, type StateStore } from '../src/snapshot/state-store';
import type { TransactionEvent } from './buffer-transaction';

/** Options of {@link backfill}. The connection options are those of the stream (a regular connection is opened). */
export interface BackfillOptions extends ConnectionOptions {
  /** The stream's slot: names the state records (`backfill:<slot>:<id>`). */
  slot: string;
  /** The stream's publications: a table must be published to be backfilled. */
  publications: string | readonly string[];
  /** Backfills to run from the start (`schema.table` or requests). Finished ones are skipped. */
  tables?: readonly (string | BackfillRequest)[];
  /** More backfills, requested while streaming. */
  requests?: Observable<string | BackfillRequest>;
  /** Rows per chunk. Default 1000. */
  chunkSize?: number;
  /**
   * Prefix of the watermark messages (`pg_logical_emit_message`). Default `walstream.backfill`.
   * A transactional message with prefix `<prefix>.request` and content `schema.table` (or JSON
   * `{"table":…,"id":…}`) requests a backfill through the WAL itself; its default id is
   * `schema.table@<commit LSN>`, so a replayed request is not run twice.
   */
  watermarkPrefix?: string;
  /** Where chunk progress and completion are recorded. Default: a `PostgresStateStore` in the source database. */
  stateStore?: StateStore;
  /** How column values decode, as for `parsePgoutput` (see docs/types.md). */
  types?: TypeOptions | TypeRegistry;
  /**
   * Someone acknowledges (`ackOnCommit(feedback)` at the end of the pipeline): a chunk then counts
   * as finished, and the next one is read, only once its `backfillRows` event reached `ackOnCommit`.
   * Without it, an event counts as done once emitted.
   */
  feedback?: unknown;
  /**
   * Milliseconds to wait for a watermark while the stream delivers nothing at all; `false` waits
   * forever. Default 300 000. A watermark that the stream passes without sending fails at once.
   */
  watermarkTimeout?: number | false;
}

interface BackfillRecord {
  state: 'running' | 'done' | 'failed';
  table: string;
  lastKey?: string[] | null;
  rows?: number;
  chunks?: number;
  error?: string;
}

/**
 * The state-store key under which {@link backfill} records a backfill's progress:
 * `backfill:<slot>:<id>` (the id defaults to `schema.table`). Delete it to run a finished backfill again.
 * @example
 * await new PostgresStateStore(url).delete(backfillStateKey('app', 'public.orders'));
 */
export function backfillStateKey(slot: string, id: string): string {
  return `backfill:${slot}:${id}`;
}

interface Watermark {
  run: string;
  chunk: number;
  mark: 'low' | 'high';
}

/** The chunk in flight: from just before its low watermark is written until its event is done. */
interface Chunk {
  readonly no: number;
  /** Identifies its watermarks within the run (a chunk read again gets a new one). */
  readonly mark: number;
  /** Progress before this chunk. */
  readonly base: BackfillProgress;
  readonly table: BackfillTable;
  readonly id: string;
  lowSeen: boolean;
  highSeen: boolean;
  /** The WAL insert position read after the low watermark committed: a transaction past it without the watermark means messages are off. */
  afterLow?: Lsn;
  readonly inside: KeyChanges;
  readonly before: { xid: number; changes: KeyChanges }[];
  rows?: Row[];
  snapshot?: XidSnapshot;
  /** Resolves with the rows emitted (undefined: read the chunk again), once the event is done. */
  done: (emitted: number | undefined) => void;
  fail: (err: unknown) => void;
}

/**
 * Re-reads tables in primary-key chunks while the stream flows, and merges each chunk into the
 * stream without ever emitting a row older than the stream (DBLog; Debezium's incremental
 * snapshots). Place it after `bufferTransaction()`; it passes every event on and adds
 * `backfillStart`, `backfillRows` and `backfillEnd` events ({@link BackfillEvent}).
 *
 * Per chunk, on a regular connection of its own: a low watermark
 * (`pg_logical_emit_message(true, '<prefix>', …)`, its own transaction), then the chunk
 * (`COPY (SELECT … WHERE (pk) > (last) ORDER BY pk LIMIT chunkSize)` in a REPEATABLE READ
 * transaction that also reads `pg_current_snapshot()`), then a high watermark. The stream must
 * carry logical messages (`messages: true`, PostgreSQL 14+). When the high
 * watermark's transaction comes through, the chunk's rows whose key a transaction between the
 * watermarks changed are dropped (the stream already has a version at least as new), and so are
 * those changed by a transaction seen before the low watermark that the chunk's snapshot does not
 * see; the rest are emitted as one `backfillRows` event *in place of* that transaction (its
 * `endLsn` and `ticket`), so every change before the high watermark precedes them, and
 * `ackOnCommit` confirms the slot past the chunk only once the chunk's work is done. No snapshot
 * is held between chunks, so `xmin` is not pinned.
 *
 * Progress (the last key of the last finished chunk) is saved to `stateStore` after each chunk is
 * done, so a restarted consumer resumes after it; a finished backfill (by request `id`) is never
 * run again. One table is backfilled at a time, in request order.
 *
 * Errors: {@link BackfillError} for a table without a primary key, one not published, one whose
 * replica identity does not carry the key, or watermarks the stream does not send;
 * {@link SnapshotError} for a failed chunk read; {@link ConnectionError}; upstream errors.
 * A request made by a WAL message that fails is recorded as failed, so it is not retried forever.
 *
 * @example
 * const feedback = new LsnFeedback();
 * const options = { connectionString: url, slot: 'app', publications: 'app' };
 * logicalReplication({ ...options, feedback, messages: true }).pipe(
 *   parsePgoutput(),
 *   bufferTransaction(),
 *   backfill({ ...options, tables: ['public.orders'], feedback }),
 *   concatMap(async (event) => {
 *     if (event.type === 'backfillRows') await upsertAll(event.rows.map((r) => r.toObject()));
 *     if (event.type === 'transaction') await applyAll(event.changes);
 *     return event;
 *   }),
 *   ackOnCommit(feedback),
 * ).subscribe();
 * @see ackOnCommit
 * @see initialSnapshot
 */
export function backfill(options: BackfillOptions): OperatorFunction<TransactionEvent, TransactionEvent | BackfillEvent> {
  return (source) =>
    new Observable<TransactionEvent | BackfillEvent>((subscriber) => {
      const prefix = options.watermarkPrefix ?? 'walstream.backfill';
      const requestPrefix = `${prefix}.request`;
      const publications = typeof options.publications === 'string' ? [options.publications] : [...options.publications];
      const chunkSize = Math.max(1, Math.floor(options.chunkSize ?? 1000));
      const types = options.types instanceof TypeRegistry ? options.types : new TypeRegistry(options.types);
      const acknowledged = options.feedback !== undefined;
      const timeout = options.watermarkTimeout ?? 300_000;
      const ownStore = options.stateStore === undefined;
      const store = options.stateStore ?? new PostgresStateStore(options);
      const run = randomUUID();
      const queue: { id: string; table: string; signalled: boolean }[] = [];
      const known = new Set<string>();
      const pending = new Set<number>();
      let conn: PgConnection | undefined;
      let chunk: Chunk | undefined;
      let wake: (() => void) | undefined;
      let finished = false;
      let marks = 0;
      let timer: NodeJS.Timeout | undefined;
      let lastActivity = 0;
      let requestSubscription: Subscription | undefined;

      const stop = () => {
        finished = true;
        if (timer !== undefined) clearTimeout(timer);
        requestSubscription?.unsubscribe();
        forgetSettled(pending);
        conn?.destroy();
        if (ownStore) void store.close?.();
      };
      const fail = (err: unknown) => {
        if (finished) return;
        stop();
        subscriber.error(err instanceof WalstreamError ? err : new ConnectionError(String(err), { cause: err }));
      };

      const enqueue = (request: string | BackfillRequest, signalled = false, defaultId?: string) => {
        const req = typeof request === 'string' ? { table: request } : request;
        const { schema, table } = splitTableName(req.table);
        const name = `${schema}.${table}`;
        const id = req.id ?? defaultId ?? name;
        if (known.has(id)) return;
        known.add(id);
        queue.push({ id, table: name, signalled });
        wake?.();
      };

      /** Emits a backfill event with a settle id; `onDone` runs when it is done. */
      const emit = (event: DistributiveOmit<BackfillEvent, 'settleId'>, onDone: () => void = () => {}): void => {
        const settleId = onSettled(() => {
          pending.delete(settleId);
          onDone();
        });
        pending.add(settleId);
        const full = { ...event, settleId } as unknown as BackfillEvent;
        subscriber.next(full);
        if (!acknowledged) settleSnapshotEvent(full);
      };

      /** Fails the chunk when no watermark came while the stream delivered nothing for `timeout` ms. */
      const armTimer = () => {
        lastActivity = Date.now();
        if (timer !== undefined || timeout === false) return;
        const check = () => {
          timer = undefined;
          const c = chunk;
          if (c === undefined || c.highSeen || finished) return;
          const idle = Date.now() - lastActivity;
          if (idle < timeout) {
            timer = setTimeout(check, timeout - idle);
            timer.unref?.();
            return;
          }
          c.fail(
            new BackfillError(
              `no watermark of the backfill of ${c.table.schema}.${c.table.name} came through the stream in ${timeout} ms: start the stream with pgoutput messages (messages: true)`,
              { table: `${c.table.schema}.${c.table.name}`, reason: 'watermark-timeout' },
            ),
          );
        };
        timer = setTimeout(check, timeout);
        timer.unref?.();
      };

      const watermarkOf = (m: LogicalMessage): Watermark | undefined => {
        if (m.prefix !== prefix) return undefined;
        try {
          const w = JSON.parse(m.content.toString('utf8')) as Watermark;
          return w.run === run ? w : undefined;
        } catch {
          return undefined;
        }
      };

      /**
       * Keys changed by transactions not yet committed, emitted in `transactionChunk`s, by xid, for
       * the table being backfilled; `fromStart` when its first chunk was seen.
       */
      let open = new Map<number, { changes: KeyChanges; fromStart: boolean }>();
      let active: BackfillTable | undefined;

      const recordOpen = (xid: number, index: number, changes: readonly ChangeMessage[]) => {
        if (active === undefined) return;
        let entry = open.get(xid);
        if (entry === undefined) {
          entry = { changes: noChanges(), fromStart: index === 0 };
          open.set(xid, entry);
        }
        collectKeys(changes, active.schema, active.name, active.primaryKey, entry.changes);
      };

      /** A committed transaction while chunk `c` is in flight (before its high watermark). */
      const record = (c: Chunk, tx: Extract<TransactionEvent, { type: 'transaction' }>) => {
        const t = c.table;
        const into = c.lowSeen ? c.inside : noChanges();
        collectKeys(tx.changes, t.schema, t.name, t.primaryKey, into);
        if (tx.partial) {
          // Its earlier changes came in chunks: they count too, and if some were not seen, the chunk is read again.
          const entry = open.get(tx.xid);
          if (entry === undefined || !entry.fromStart) into.unknown = true;
          else {
            for (const k of entry.changes.keys) into.keys.add(k);
            into.all ||= entry.changes.all;
            into.unknown ||= entry.changes.unknown;
          }
        }
        if (!c.lowSeen && (into.keys.size > 0 || into.all || into.unknown)) c.before.push({ xid: tx.xid, changes: into });
      };

      /** The high watermark's transaction arrived: the chunk's surviving rows take its place. */
      const emitChunk = (c: Chunk, tx: Extract<TransactionEvent, { type: 'transaction' }>) => {
        c.highSeen = true;
        armTimer();
        if (c.rows === undefined || c.snapshot === undefined) throw new WalstreamError('backfill: the high watermark arrived before its chunk was read');
        const rows = mergeChunk(c.rows, c.table.primaryKey, { inside: c.inside, before: c.before }, c.snapshot);
        const t = c.table;
        const emitted = rows?.length;
        const event: Omit<BackfillRowsEvent, 'settleId'> = {
          type: 'backfillRows',
          id: c.id,
          schema: t.schema,
          table: t.name,
          relation: t.relation,
          rows: rows ?? [],
          chunk: c.no,
          read: rows === undefined ? 0 : c.rows.length,
          endLsn: tx.endLsn,
          ticket: tx.ticket,
          progress: { rows: c.base.rows + (emitted ?? 0), chunks: c.base.chunks + (emitted === undefined ? 0 : 1) },
        };
        emit(event, () => c.done(emitted));
      };

      const handle = (event: TransactionEvent) => {
        if (event.type === 'streamAbort') {
          // A subtransaction's abort undoes changes whose keys cannot be told apart: read the chunk again.
          const entry = open.get(event.xid);
          if (event.subXid === event.xid || event.subXid === 0) open.delete(event.xid);
          else if (entry !== undefined) entry.changes.unknown = true;
        }
        if (event.type === 'transactionChunk') recordOpen(event.xid, event.index, event.changes);
        if (event.type !== 'transaction' && event.type !== 'transactionChunk') return subscriber.next(event);
        const c = chunk;
        if (event.type === 'transaction') {
          for (const m of event.messages) {
            if (m.prefix === requestPrefix && event.state === 'committed') requestFromMessage(m, event.commitLsn);
          }
        }
        if (c !== undefined && !c.highSeen) {
          if (event.type === 'transaction') {
            for (const m of event.messages) {
              const w = watermarkOf(m);
              if (w === undefined || w.chunk !== c.mark) continue;
              if (w.mark === 'low') c.lowSeen = true;
              else if (c.lowSeen) return emitChunk(c, event);
            }
            if (!c.lowSeen && c.afterLow !== undefined && event.commitLsn.value > c.afterLow.value) {
              throw new BackfillError(
                `the stream passed the backfill's low watermark (before ${c.afterLow.toString()}) without sending it: start the stream with pgoutput messages (messages: true)`,
                { table: `${c.table.schema}.${c.table.name}`, reason: 'watermark-timeout' },
              );
            }
          }
          if (event.type === 'transaction') record(c, event);
          armTimer();
        }
        if (event.type === 'transaction' && event.partial) open.delete(event.xid);
        subscriber.next(event);
      };

      const requestFromMessage = (m: LogicalMessage, commitLsn: Lsn) => {
        const text = m.content.toString('utf8').trim();
        let req: BackfillRequest;
        try {
          req = text.startsWith('{') ? (JSON.parse(text) as BackfillRequest) : { table: text };
        } catch {
          return; // not ours to judge: leave it in the stream
        }
        if (typeof req.table !== 'string' || req.table === '') return;
        const { schema, table } = splitTableName(req.table);
        enqueue(req, true, `${schema}.${table}@${commitLsn.toString()}`);
      };

      /** Reads one chunk after `after`: its rows (text COPY) and the snapshot that read them. */
      const readChunk = async (c: PgConnection, t: BackfillTable, after: string[] | null): Promise<{ rows: Row[]; snapshot: XidSnapshot; insertLsn: Lsn }> => {
        const name = `${t.schema}.${t.name}`;
        try {
          const results = await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_catalog.pg_current_snapshot()::text, pg_catalog.pg_current_wal_insert_lsn()::text');
          const [snapshotText, insertLsn] = results[results.length - 1].rows[0];
          const snapshot = parseXidSnapshot(snapshotText!);
          const parser = new CopyRowParser(t.relation, 'text', types, name);
          const rows: Row[] = [];
          await new Promise<void>((resolve, reject) => {
            c.startCopy(chunkCommand(t, after, chunkSize), { onData: (buf, start, end) => parser.parse(buf, start, end, rows), onComplete: resolve, onError: reject }).catch(reject);
          });
          await c.query('COMMIT');
          return { rows, snapshot, insertLsn: Lsn.parse(insertLsn!) };
        } catch (err) {
          if (err instanceof SnapshotError) throw err;
          throw new SnapshotError(`backfill chunk of ${name} failed: ${err instanceof Error ? err.message : String(err)}`, { table: name, code: err instanceof PgError ? err.code : undefined, cause: err });
        }
      };

      const emitWatermark = async (c: PgConnection, no: number, mark: 'low' | 'high'): Promise<void> => {
        const content = JSON.stringify({ run, chunk: no, mark } satisfies Watermark);
        await c.query(`SELECT pg_catalog.pg_logical_emit_message(true, ${quoteLiteral(prefix)}, ${quoteLiteral(content)})`);
      };

      const runOne = async (c: PgConnection, req: { id: string; table: string; signalled: boolean }) => {
        const key = backfillStateKey(options.slot, req.id);
        const rec = (await store.load(key)) as BackfillRecord | undefined;
        if (rec?.state === 'done' || rec?.state === 'failed') return;
        const { schema, table } = splitTableName(req.table);
        let t: BackfillTable;
        try {
          t = await backfillTable(c, publications, schema, table, types);
        } catch (err) {
          if (req.signalled) await store.save(key, { state: 'failed', table: req.table, error: (err as Error).message } satisfies BackfillRecord);
          throw err;
        }
        active = t;
        open = new Map(); // chunks of another table's keys say nothing about this one
        let lastKey = rec?.lastKey ?? null;
        let progress: BackfillProgress = { rows: rec?.rows ?? 0, chunks: rec?.chunks ?? 0 };
        if (rec === undefined) await store.save(key, { state: 'running', table: req.table, lastKey, ...progress } satisfies BackfillRecord);
        emit({ type: 'backfillStart', id: req.id, schema, table, relation: t.relation, primaryKey: t.primaryKey, progress, estimatedRows: t.estimatedRows });
        for (;;) {
          let done!: (emitted: number | undefined) => void;
          let failChunk!: (err: unknown) => void;
          const finishedChunk = new Promise<number | undefined>((resolve, reject) => {
            done = resolve;
            failChunk = reject;
          });
          finishedChunk.catch(() => {}); // awaited below; a failure before then must not count as unhandled
          const ch: Chunk = { no: progress.chunks, mark: ++marks, base: progress, table: t, id: req.id, lowSeen: false, highSeen: false, inside: noChanges(), before: [], done, fail: failChunk };
          chunk = ch;
          armTimer();
          await emitWatermark(c, ch.mark, 'low');
          const read = await readChunk(c, t, lastKey);
          ch.rows = read.rows;
          ch.snapshot = read.snapshot;
          ch.afterLow = read.insertLsn;
          await emitWatermark(c, ch.mark, 'high');
          const emitted = await finishedChunk;
          chunk = undefined;
          if (finished) return;
          if (emitted === undefined) continue; // a change's key was unreadable: read the chunk again
          const last = read.rows[read.rows.length - 1];
          if (last !== undefined) lastKey = t.primaryKey.map((k) => last.raw(k) as string);
          progress = { rows: progress.rows + emitted, chunks: progress.chunks + 1 };
          if (read.rows.length < chunkSize) break;
          await store.save(key, { state: 'running', table: req.table, lastKey, ...progress } satisfies BackfillRecord);
        }
        active = undefined;
        open.clear();
        await store.save(key, { state: 'done', table: req.table, rows: progress.rows, chunks: progress.chunks } satisfies BackfillRecord);
        emit({ type: 'backfillEnd', id: req.id, schema, table, progress });
      };

      const work = async () => {
        conn = await PgConnection.connect(resolveConfig(options));
        // The walsender sends only flushed WAL: a watermark committed asynchronously would wait
        // for the WAL writer (wal_writer_delay, 200 ms) before the stream carries it.
        await conn.query('SET synchronous_commit = local');
        for (;;) {
          if (finished) return;
          const req = queue.shift();
          if (req === undefined) {
            await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            continue;
          }
          await runOne(conn, req);
        }
      };

      for (const t of options.tables ?? []) enqueue(t);
      const subscription = source.subscribe({
        next(event) {
          if (finished) return;
          try {
            handle(event);
          } catch (err) {
            fail(err);
          }
        },
        error: (err) => {
          if (finished) return;
          stop();
          subscriber.error(err);
        },
        complete: () => {
          if (finished) return;
          stop();
          subscriber.complete();
        },
      });
      requestSubscription = options.requests?.subscribe({ next: (r) => enqueue(r), error: fail });
      work().catch(fail);
      return () => {
        subscription.unsubscribe();
        if (!finished) stop();
      };
    });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;
