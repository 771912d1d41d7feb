import type { Redis } from 'ioredis';
import { type MonoTypeOperatorFunction, defer } from 'rxjs';
import type { Transaction, TransactionEvent } from '../../operators/buffer-transaction';
import { ConfigurationError } from '../../src/errors';
import { SinkError } from '../internal/errors';
import { transactionToWrite } from '../internal/events';
import { type ChangeRecord, changeRecords, defaultPayload, recordMetadata } from '../internal/records';
import { writeInOrder } from '../internal/write-in-order';

export { SinkError, UnsupportedEventError } from '../internal/errors';
export type { ChangeRecord } from '../internal/records';

/** How the stream is trimmed on each XADD. */
export type RedisTrim =
  /** `MAXLEN [~] n`: keep the newest n entries (`exact: false`, the default, lets Redis trim whole nodes). */
  | { maxLen: number; exact?: boolean }
  /** `MINID [~] id`: drop entries below an ID, e.g. `${lsn.value}-0` to drop what is older than an LSN. */
  | { minId: string; exact?: boolean };

/** Options of {@link redisSink}. */
export interface RedisSinkOptions {
  /** A connected ioredis client. `maxRetriesPerRequest: null` lets it ride out a restart of Redis. */
  redis: Redis;
  /** The stream key, or a function choosing it per record (a key per table, for example). */
  key: string | ((record: ChangeRecord) => string);
  /** Payload of the entry's `data` field. Default: the change as `pg-walstream stream --raw` prints it, JSON. */
  payload?: (record: ChangeRecord, tx: Transaction) => string | Buffer;
  /** Trim policy applied with each XADD. Default: none (the stream grows). */
  trim?: RedisTrim;
  /** Transactions sent (MULTI … EXEC) and not yet answered, at most. Default 64. */
  maxInFlight?: number;
  /**
   * ms a transaction may keep failing or go unanswered (Redis down; ioredis with
   * `maxRetriesPerRequest: null` queues commands meanwhile) before the sink errors with
   * {@link SinkError}. Default 60 000.
   */
  retryFor?: number;
  /** Called for each entry found already written (a replay after a crash). */
  onDuplicate?(): void;
}

/**
 * The entry ID of a record: `<commit LSN as a decimal 64-bit integer>-<index>`. Redis IDs are two
 * unsigned 64-bit integers, so the whole LSN fits in the first; commit LSNs grow in commit order, so
 * IDs grow in the order the sink writes them.
 */
export function entryId(commitLsn: { value: bigint }, index: number): string {
  return `${commitLsn.value}-${index}`;
}

/** Redis's answer to an XADD whose ID is not above the stream's last one (t_stream.c, `streamAppendItem` failing with EDOM). */
const ID_NOT_ABOVE_TOP = 'equal or smaller than the target stream top item';

/**
 * Appends each committed transaction to Redis Streams, one entry per change, and passes the event
 * on (the same object) after Redis has answered: place it after `bufferTransaction` (and
 * `retryWithBackoff`) and before `ackOnCommit`.
 *
 * - **Entries:** ID {@link entryId} (`<commitLsn>-<index>`), fields `op`, `table`
 *   (`schema.table`), `commit-lsn`, `end-lsn`, `xid`, `commit-time`, `index`, `data`.
 * - **Atomic per transaction:** its XADDs go in one MULTI … EXEC, so a reader never sees half a
 *   transaction, and Redis's AOF replays it whole or not at all.
 * - **Exactly once:** a replay after a crash sends the same IDs; Redis refuses an ID not above the
 *   stream's top, and the sink takes that refusal as "already written" only after `XRANGE id id`
 *   finds the entry. A missing one is a gap ({@link SinkError}), unless `trim` is set (it may have
 *   been trimmed). Keep this sink the only writer of its keys.
 * - **Order:** entries are in commit order per key, so per table and per primary key.
 * - **Backpressure:** at most `maxInFlight` transactions await Redis's reply.
 *
 * Durability is Redis's: with `appendonly yes` and `appendfsync always` an answered XADD survives a
 * crash of Redis; with `everysec`, up to a second of answered writes can be lost on a crash of the
 * machine, and are not written again, since the slot has moved on.
 *
 * @example
 * const redis = new Redis('redis://127.0.0.1:6379', { maxRetriesPerRequest: null });
 * source.pipe(parsePgoutput(), bufferTransaction(), retryWithBackoff(),
 *   redisSink({ redis, key: 'cdc' }), ackOnCommit(feedback)).subscribe();
 */
export function redisSink(options: RedisSinkOptions): MonoTypeOperatorFunction<TransactionEvent> {
  const keyOf = typeof options.key === 'string' ? ((k: string) => () => k)(options.key) : options.key;
  if (typeof options.key === 'string' && options.key.length === 0) throw new ConfigurationError('the Redis stream key is empty');
  const payload = options.payload ?? ((r: ChangeRecord) => defaultPayload(r));
  const trimArgs: (string | number)[] =
    options.trim === undefined ? [] : 'maxLen' in options.trim ? ['MAXLEN', options.trim.exact ? '=' : '~', options.trim.maxLen] : ['MINID', options.trim.exact ? '=' : '~', options.trim.minId];
  const retryFor = options.retryFor ?? 60_000;
  const redis = options.redis;

  const writeOnce = async (tx: Transaction, entries: { key: string; id: string; fields: (string | Buffer)[] }[]) => {
    const multi = redis.multi();
    for (const e of entries) multi.xadd(e.key, ...trimArgs, e.id, ...e.fields);
    const results = await multi.exec();
    if (results === null) throw new SinkError(`Redis discarded the MULTI of transaction ${tx.xid}`, 'redis', tx.commitLsn);
    for (let i = 0; i < results.length; i++) {
      const [err] = results[i];
      if (err === null) continue;
      if (!err.message.includes(ID_NOT_ABOVE_TOP)) throw new SinkError(`Redis refused XADD ${entries[i].key} ${entries[i].id}: ${err.message}`, 'redis', tx.commitLsn, { cause: err });
      const found = await redis.xrange(entries[i].key, entries[i].id, entries[i].id);
      if (found.length === 1 || options.trim !== undefined) {
        options.onDuplicate?.();
        continue;
      }
      throw new SinkError(
        `entry ${entries[i].id} of ${entries[i].key} is missing below the stream's top: another producer wrote a higher ID, or entries were trimmed or lost`,
        'redis',
        tx.commitLsn,
        { cause: err },
      );
    }
  };

  /** `previous`: the write of the transaction before, settled (a retry waits for it). */
  const write = async (event: TransactionEvent, previous: Promise<unknown>): Promise<void> => {
    const tx = transactionToWrite(event, 'redis');
    if (tx === undefined) return;
    const records = changeRecords(tx);
    if (records.length === 0) return;
    const entries = records.map((r) => {
      const fields: (string | Buffer)[] = [];
      for (const [k, v] of Object.entries(recordMetadata(tx, r))) fields.push(k, v);
      fields.push('data', payload(r, tx));
      return { key: keyOf(r), id: entryId(tx.commitLsn, r.index), fields };
    });
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      try {
        // An attempt may hang rather than fail: with `maxRetriesPerRequest: null`, ioredis keeps
        // commands queued while Redis is down. So the remaining budget bounds each attempt too.
        return await withinMs(writeOnce(tx, entries), retryFor - (Date.now() - started));
      } catch (err) {
        if (err instanceof SinkError) throw err;
        // Retry only once every earlier transaction is written: MULTIs are pipelined, and a later
        // one retried first would take a higher ID, after which Redis refuses this one's for good.
        await previous;
        if (Date.now() - started >= retryFor) {
          throw new SinkError(`Redis did not take transaction ${tx.xid} within ${retryFor} ms: ${err instanceof Error ? err.message : String(err)}`, 'redis', tx.commitLsn, { cause: err });
        }
        await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** attempt, 1000, Math.max(0, retryFor - (Date.now() - started)))));
      }
    }
  };
  return (source) =>
    defer(() => {
      let last: Promise<unknown> = Promise.resolve();
      return writeInOrder((event: TransactionEvent) => {
        const mine = write(event, last);
        last = mine.catch(() => undefined);
        return mine;
      }, options.maxInFlight ?? 64)(source);
    });
}

/** `work`, or a rejection once `ms` have passed (the work itself goes on: a late MULTI only writes IDs a replay would find). */
function withinMs<T>(work: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer from Redis within ${ms} ms`)), Math.max(0, ms));
    work.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
