import { Observable, type OperatorFunction } from 'rxjs';
import { ProtocolError, WalstreamError } from '../src/errors';
import type { Lsn } from '../src/lsn';
import type {
  ChangeMessage,
  CommitPreparedMessage,
  LogicalMessage,
  PgoutputMessage,
  PrepareMessage,
  RollbackPreparedMessage,
  StreamAbortMessage,
} from '../src/pgoutput/messages';
import type { Row } from '../src/pgoutput/row';
import { AckEpoch, type AckTicket } from './ack-ticket';

/**
 * A whole transaction, as {@link bufferTransaction} emits it once its Commit (or Stream Commit,
 * Prepare, Stream Prepare) has arrived.
 *
 * Acknowledge `endLsn` once its work is done (`ackOnCommit` does). Times are `bigint`
 * microseconds since 2000-01-01 UTC (see `pgTimestampToDate`).
 */
export interface Transaction {
  readonly type: 'transaction';
  /**
   * `committed`, or `prepared` for PREPARE TRANSACTION (two_phase): its outcome follows later as a
   * `commitPrepared` or `rollbackPrepared` event with the same `xid` and `gid`.
   */
  readonly state: 'committed' | 'prepared';
  /** The top-level transaction id (unsigned 32-bit). */
  readonly xid: number;
  /** The prepared transaction's GID; undefined for a committed transaction. */
  readonly gid: string | undefined;
  /** Where the transaction's first message arrived: its Begin, Begin Prepare or first Stream Start. */
  readonly beginLsn: Lsn;
  /** The commit (or prepare) record's LSN as Begin announced it; for a streamed transaction, `commitLsn`. */
  readonly finalLsn: Lsn;
  /** The commit record's LSN (the prepare record's for a prepared transaction). */
  readonly commitLsn: Lsn;
  /** The LSN just past the commit (or prepare) record: what to acknowledge once the work is done. */
  readonly endLsn: Lsn;
  /** Commit (or prepare) time, µs since 2000-01-01 UTC. */
  readonly commitTime: bigint;
  /** The replication origin the transaction came from, when it was replayed from another node. */
  readonly origin: { readonly name: string; readonly lsn: Lsn } | undefined;
  /** Received in Stream Start/Stop blocks before it committed (protocol v2+ `streaming`). */
  readonly streamed: boolean;
  /**
   * True when earlier changes of this transaction were already emitted as
   * {@link TransactionChunk}s (`onOverflow: 'chunk'`); `changes` then holds only the rest.
   */
  readonly partial: boolean;
  /** Insert, Update, Delete and Truncate, in the order the server sent them. */
  readonly changes: readonly ChangeMessage[];
  /** Transactional logical decoding messages (`pg_logical_emit_message(true, ...)`). */
  readonly messages: readonly LogicalMessage[];
  /** Its place in the emission order, for `ackOnCommit`: keep it when you copy the event. */
  readonly ticket: AckTicket;
}

/**
 * With `onOverflow: 'chunk'`: the changes of a transaction too large to hold, emitted before its
 * end. The transaction itself follows with `partial: true`, or, if it aborts, a `streamAbort`
 * message with its `xid` (its `subXid` names the subtransaction when only that one aborted).
 * A chunk carries no LSN to acknowledge: it is only done when its transaction is.
 */
export interface TransactionChunk {
  readonly type: 'transactionChunk';
  readonly xid: number;
  /** 0 for the first chunk of the transaction. */
  readonly index: number;
  readonly beginLsn: Lsn;
  readonly streamed: boolean;
  readonly changes: readonly ChangeMessage[];
  readonly messages: readonly LogicalMessage[];
  readonly ticket: AckTicket;
}

/** A pgoutput message passed on by {@link bufferTransaction}, with its place in the emission order (`ticket`). */
export type Ticketed<M> = M & { readonly ticket: AckTicket };

/**
 * What {@link bufferTransaction} emits: whole transactions, the outcome of prepared transactions,
 * non-transactional logical messages as they arrive, and, only with `onOverflow: 'chunk'`, chunks
 * of large transactions and the aborts that undo chunks already emitted.
 */
export type TransactionEvent =
  | Transaction
  | TransactionChunk
  | Ticketed<PrepareMessage>
  | Ticketed<CommitPreparedMessage>
  | Ticketed<RollbackPreparedMessage>
  | Ticketed<LogicalMessage>
  | Ticketed<StreamAbortMessage>;

/** Options of {@link bufferTransaction}. */
export interface BufferTransactionOptions {
  /** Most changes held at once, over all open transactions. Default 1 000 000. */
  maxChanges?: number;
  /**
   * Most bytes of tuples (as received: each column's kind, length and value; `Row#byteLength`)
   * held at once, over all open transactions, counting 64 bytes of overhead per change. Default 256 MiB.
   */
  maxBytes?: number;
  /**
   * What to do when a limit is reached: `error` (default) fails with
   * {@link TransactionTooLargeError}; `chunk` emits what is held as {@link TransactionChunk}s and
   * goes on, so the consumer sees the transaction in pieces, before it is known to commit.
   */
  onOverflow?: 'error' | 'chunk';
  /**
   * Prepared transactions (two-phase decoding: the stream's `twoPhase` option, or a slot created
   * with `twoPhase`):
   * - `hold` (default): a prepared transaction is held until its outcome. COMMIT PREPARED emits it
   *   as a `committed` transaction, in commit order; ROLLBACK PREPARED drops it and emits the
   *   `rollbackPrepared` message (nothing to undo). The PREPARE itself passes on as a `prepare`
   *   (or `streamPrepare`) message without changes. Acknowledgments stop at the PREPARE's LSN
   *   until nothing is held any more (prepared transactions that overlap keep them at the first
   *   one), so a restarted consumer or server sends every held prepared transaction again, whole.
   * - `emit`: for consumers that manage prepared transactions themselves: the transaction is
   *   emitted at PREPARE with `state: 'prepared'` and acknowledged then; `commitPrepared` and
   *   `rollbackPrepared` follow as their own events. After a restart the server sends only the
   *   outcome, so the consumer must have made the prepared transaction durable.
   */
  prepared?: 'hold' | 'emit';
}

/**
 * A COMMIT PREPARED arrived for a transaction whose PREPARE this subscription never received, so
 * its changes are unknown. It happens when the slot was confirmed past the PREPARE earlier (a
 * consumer with `prepared: 'emit'`). Not retryable: the changes cannot be read from this slot again.
 */
export class UnknownPreparedTransactionError extends WalstreamError {
  override name = 'UnknownPreparedTransactionError';
  constructor(
    readonly gid: string,
    readonly xid: number,
    readonly lsn: Lsn,
  ) {
    super(`COMMIT PREPARED of '${gid}' (xid ${xid}) at ${lsn.toString()}, but its PREPARE was never received: its changes are unknown`);
  }
}

/** A transaction (or several open at once) outgrew `maxChanges` or `maxBytes` of {@link bufferTransaction}. */
export class TransactionTooLargeError extends WalstreamError {
  override name = 'TransactionTooLargeError';
  constructor(
    readonly xid: number,
    readonly changes: number,
    readonly bytes: number,
    readonly lsn: Lsn,
  ) {
    super(
      `transaction ${xid} outgrew bufferTransaction's limits (${changes} changes, ${bytes} bytes held, at ${lsn.toString()}); ` +
        "raise maxChanges/maxBytes or use onOverflow: 'chunk'",
    );
  }
}

const CHANGE_OVERHEAD = 64;

interface OpenTransaction {
  readonly xid: number;
  readonly beginLsn: Lsn;
  readonly finalLsn: Lsn | undefined;
  readonly streamed: boolean;
  readonly gid: string | undefined;
  origin: { name: string; lsn: Lsn } | undefined;
  changes: ChangeMessage[];
  messages: LogicalMessage[];
  bytes: number;
  chunks: number;
}

/**
 * Collects pgoutput messages into {@link Transaction}s: Begin, the changes, Commit in; one
 * `Transaction` out, emitted when the Commit arrives.
 *
 * - **Streamed transactions** (protocol v2+ `streaming`): the interleaved Stream Start/Stop blocks
 *   are collected per xid; the transaction is emitted once, at Stream Commit, and dropped at Stream
 *   Abort. A Stream Abort naming a subtransaction (`subXid !== xid`) drops only the changes that
 *   carry that subtransaction's xid.
 * - **Two-phase** (protocol v3+ `two_phase`): by default a prepared transaction never looks
 *   committed: it is held until COMMIT PREPARED, then emitted as a `committed` transaction, or
 *   dropped at ROLLBACK PREPARED (see the `prepared` option; `emit` hands it on at PREPARE).
 * - **Order for `ackOnCommit`**: every event carries a `ticket` (see `AckTicket`), its place in the
 *   emission order; copies keep it.
 * - **Non-transactional logical messages** pass through at once; Relation, Type and stream block
 *   boundaries are consumed.
 * - **Memory** is bounded by `maxChanges` and `maxBytes` over everything held.
 *
 * Each subscription starts empty, so place `retryWithBackoff` *after* this operator: a
 * reconnection then discards a transaction the broken connection left half received (the server
 * sends it again from the acknowledged position). Empty transactions are emitted too: acknowledging
 * them is what lets the slot advance.
 * Follows "Logical Replication Message Formats" and the apply worker's handling of streamed
 * transactions (`src/backend/replication/logical/worker.c`).
 *
 * @throws {TransactionTooLargeError} when a limit is reached and `onOverflow` is `error`.
 * @throws {ProtocolError} for a change or Commit outside any transaction.
 * @throws {UnknownPreparedTransactionError} for COMMIT PREPARED of a transaction it holds nothing of (`prepared: 'hold'`).
 *
 * @example
 * const feedback = new LsnFeedback();
 * logicalReplication({ ...conn, slot: 'app', publications: 'app', feedback }).pipe(
 *   parsePgoutput(),
 *   bufferTransaction({ maxBytes: 64 * 1024 * 1024 }),
 *   retryWithBackoff(),
 *   concatMap(async (event) => {
 *     if (event.type === 'transaction') await saveAll(event.changes);
 *     return event;
 *   }),
 *   ackOnCommit(feedback),
 * ).subscribe();
 */
export function bufferTransaction(options: BufferTransactionOptions = {}): OperatorFunction<PgoutputMessage, TransactionEvent> {
  const maxChanges = options.maxChanges ?? 1_000_000;
  const maxBytes = options.maxBytes ?? 256 * 1024 * 1024;
  const chunked = options.onOverflow === 'chunk';
  const holdPrepared = (options.prepared ?? 'hold') === 'hold';
  return (source) =>
    new Observable<TransactionEvent>((subscriber) => {
      const epoch = new AckEpoch();
      let current: OpenTransaction | undefined; // a transaction between Begin and Commit
      const streams = new Map<number, OpenTransaction>(); // streamed transactions by xid
      let block: OpenTransaction | undefined; // the streamed transaction of the current block
      let heldChanges = 0;
      let heldBytes = 0;
      // Prepared transactions held until their outcome (prepared: 'hold'), by GID.
      const prepared = new Map<string, { tx: OpenTransaction; prepareLsn: Lsn }>();
      // Acknowledgments stop at the first PREPARE held since nothing was held, until nothing is
      // held again. Not at the lowest one still held: a slot confirmed between a transaction's
      // PREPARE and its COMMIT PREPARED makes the server send that COMMIT PREPARED alone after a
      // restart, and its changes would be unknown.
      let holdFrom: Lsn | undefined;
      const limit = (): Lsn | undefined => holdFrom;
      const resolve = (gid: string) => {
        const held = prepared.get(gid);
        prepared.delete(gid);
        if (prepared.size === 0) holdFrom = undefined;
        return held;
      };

      const stamp = () => epoch.issue(limit());
      /** Passes a pgoutput message on, as a copy carrying its ticket. */
      const emit = (event: DistributiveOmit<TransactionEvent, 'ticket'>) => {
        subscriber.next({ ...event, ticket: stamp() } as TransactionEvent);
      };

      const release = (tx: OpenTransaction) => {
        heldChanges -= tx.changes.length;
        heldBytes -= tx.bytes;
      };

      const open = (xid: number, beginLsn: Lsn, finalLsn: Lsn | undefined, streamed: boolean, gid?: string): OpenTransaction => ({
        xid, beginLsn, finalLsn, streamed, gid, origin: undefined, changes: [], messages: [], bytes: 0, chunks: 0,
      });

      const flushChunk = (tx: OpenTransaction) => {
        if (tx.changes.length === 0 && tx.messages.length === 0) return;
        release(tx);
        const chunk: TransactionChunk = {
          type: 'transactionChunk', xid: tx.xid, index: tx.chunks++, beginLsn: tx.beginLsn, streamed: tx.streamed, changes: tx.changes, messages: tx.messages, ticket: stamp(),
        };
        tx.changes = [];
        tx.messages = [];
        tx.bytes = 0;
        subscriber.next(chunk);
      };

      const finish = (tx: OpenTransaction, state: 'committed' | 'prepared', commitLsn: Lsn, endLsn: Lsn, commitTime: bigint, gid: string | undefined, finalLsn = tx.finalLsn ?? commitLsn) => {
        release(tx);
        subscriber.next({
          type: 'transaction', state, xid: tx.xid, gid, beginLsn: tx.beginLsn, finalLsn, commitLsn, endLsn, commitTime,
          origin: tx.origin, streamed: tx.streamed, partial: tx.chunks > 0, changes: tx.changes, messages: tx.messages, ticket: stamp(),
        });
      };

      /** Prepare or Stream Prepare: emit the transaction as prepared, or hold it until its outcome. */
      const prepare = (tx: OpenTransaction, msg: PrepareMessage) => {
        if (!holdPrepared) return finish(tx, 'prepared', msg.prepareLsn, msg.endLsn, msg.prepareTime, msg.gid);
        if (prepared.size === 0) holdFrom = msg.prepareLsn;
        prepared.set(msg.gid, { tx, prepareLsn: msg.prepareLsn }); // its bytes stay counted while held
        emit(msg);
      };

      const target = (msg: { inStream: boolean; lsn: Lsn }, what: string): OpenTransaction => {
        const tx = msg.inStream ? block : current;
        if (tx === undefined) throw new ProtocolError(`${what} at ${msg.lsn.toString()} outside any transaction`);
        return tx;
      };

      const hold = (tx: OpenTransaction, change: ChangeMessage) => {
        const size = changeSize(change);
        tx.changes.push(change);
        tx.bytes += size;
        heldChanges += 1;
        heldBytes += size;
        if (heldChanges < maxChanges && heldBytes < maxBytes) return;
        if (!chunked) throw new TransactionTooLargeError(tx.xid, heldChanges, heldBytes, change.lsn);
        if (current !== undefined) flushChunk(current);
        for (const open of streams.values()) flushChunk(open);
      };

      const handle = (msg: PgoutputMessage) => {
        switch (msg.type) {
          case 'begin':
            // A Begin inside a transaction only follows a reconnection that cut the previous one
            // short; the server sends that one again, so drop what was held.
            if (current !== undefined) release(current);
            current = open(msg.xid, msg.lsn, msg.finalLsn, false);
            return;
          case 'beginPrepare':
            if (current !== undefined) release(current);
            current = open(msg.xid, msg.lsn, msg.prepareLsn, false, msg.gid);
            return;
          case 'origin': {
            const tx = block ?? current;
            if (tx !== undefined) tx.origin = { name: msg.name, lsn: msg.originLsn };
            return;
          }
          case 'relation':
          case 'type':
            return;
          case 'insert':
          case 'update':
          case 'delete':
          case 'truncate':
            return hold(target(msg, msg.type), msg);
          case 'message':
            if (!msg.transactional) return emit(msg);
            target(msg, 'transactional message').messages.push(msg);
            return;
          case 'commit': {
            const tx = current;
            if (tx === undefined) throw new ProtocolError(`Commit at ${msg.lsn.toString()} without Begin`);
            current = undefined;
            return finish(tx, 'committed', msg.commitLsn, msg.endLsn, msg.commitTime, undefined);
          }
          case 'prepare': {
            const tx = current;
            if (tx === undefined) throw new ProtocolError(`Prepare at ${msg.lsn.toString()} without Begin Prepare`);
            current = undefined;
            return prepare(tx, msg);
          }
          case 'streamStart': {
            let tx = streams.get(msg.xid);
            if (tx !== undefined && msg.firstSegment) {
              release(tx); // sent again from its start after a reconnection
              tx = undefined;
            }
            if (tx === undefined) {
              tx = open(msg.xid, msg.lsn, undefined, true);
              streams.set(msg.xid, tx);
            }
            block = tx;
            return;
          }
          case 'streamStop':
            block = undefined;
            return;
          case 'streamCommit':
          case 'streamPrepare': {
            const tx = streams.get(msg.xid) ?? open(msg.xid, msg.lsn, undefined, true);
            streams.delete(msg.xid);
            if (msg.type === 'streamCommit') return finish(tx, 'committed', msg.commitLsn, msg.endLsn, msg.commitTime, undefined);
            return prepare(tx, msg);
          }
          case 'streamAbort': {
            const tx = streams.get(msg.xid);
            if (tx === undefined) return; // nothing held (or the unsolicited abort PG18 sends to v1 consumers)
            if (msg.subXid === msg.xid) {
              streams.delete(msg.xid);
              release(tx);
            } else {
              release(tx);
              tx.changes = tx.changes.filter((c) => c.xid !== msg.subXid);
              tx.messages = tx.messages.filter((m) => m.xid !== msg.subXid);
              tx.bytes = tx.changes.reduce((n, c) => n + changeSize(c), 0);
              heldChanges += tx.changes.length;
              heldBytes += tx.bytes;
            }
            // Chunks already emitted cannot be taken back: tell the consumer to undo them.
            if (tx.chunks > 0) emit(msg);
            return;
          }
          case 'commitPrepared': {
            if (!holdPrepared) return emit(msg);
            const held = resolve(msg.gid);
            if (held === undefined) throw new UnknownPreparedTransactionError(msg.gid, msg.xid, msg.commitLsn);
            return finish(held.tx, 'committed', msg.commitLsn, msg.endLsn, msg.commitTime, msg.gid, msg.commitLsn);
          }
          case 'rollbackPrepared': {
            const held = resolve(msg.gid);
            if (held !== undefined) release(held.tx);
            return emit(msg);
          }
        }
      };

      return source.subscribe({
        next(msg) {
          try {
            handle(msg);
          } catch (err) {
            subscriber.error(err);
          }
        },
        error: (err) => subscriber.error(err),
        complete: () => subscriber.complete(),
      });
    });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** Bytes a change holds: its column values as received, plus a fixed overhead for the objects. */
function changeSize(change: ChangeMessage): number {
  switch (change.type) {
    case 'insert':
      return CHANGE_OVERHEAD + rowSize(change.new);
    case 'update':
      return CHANGE_OVERHEAD + rowSize(change.new) + rowSize(change.key ?? change.old);
    case 'delete':
      return CHANGE_OVERHEAD + rowSize(change.key ?? change.old);
    case 'truncate':
      return CHANGE_OVERHEAD + 4 * change.relations.length;
  }
}

/** The tuple's wire size, which the decoder already knows: reading every column's bytes here would undo the Row's laziness. */
function rowSize(row: Row | undefined): number {
  return row === undefined ? 0 : row.byteLength;
}
