import { type OperatorFunction, type Subscription, filter, pipe, tap } from 'rxjs';
import { ackLsnOf, ackOnCommit } from '../operators/ack-on-commit';
import { type TransactionEvent, bufferTransaction } from '../operators/buffer-transaction';
import { parsePgoutput } from '../operators/parse-pgoutput';
import { PgError } from '../src/errors';
import { JSON_TYPE_OPTIONS } from '../src/json';
import { Lsn } from '../src/lsn';
import type { PgoutputMessage } from '../src/pgoutput/messages';
import { LsnFeedback } from '../src/source/feedback';
import { type LogicalReplicationOptions, logicalReplication } from '../src/source/logical';
import type { ReplicationObserver } from '../src/source/observer';
import { encodeJsonLine } from './json-encoder';
import { LineWriter } from './line-writer';
import type { OutputSink } from './output';
import type { StreamProgress } from './progress';
import { lastWhenWritten, whenWritten } from './when-written';

/**
 * The CLI's flow-control window: at most this many finished transactions (and their XLogData
 * bytes) written but not yet durable, i.e. waiting for an fsync, before the source stops reading;
 * enough that fsyncs are batched. The lines themselves are not held: they are written as they
 * arrive, and the output's own backpressure (the writer's pending bytes, {@link CLI_OUTPUT_LIMIT})
 * stops reading too, also inside a transaction.
 */
export const CLI_FLOW_CONTROL = Object.freeze({ maxPendingTransactions: 1000, maxPendingBytes: 8 << 20 });

/**
 * Most bytes of JSON lines the CLI keeps that the output has not accepted yet (a pipe to a slow
 * reader): past it the source stops reading from the walsender until the output takes half.
 */
export const CLI_OUTPUT_LIMIT = 4 << 20;

export interface StreamCommandOptions extends LogicalReplicationOptions {
  /** Stop after the transaction whose end LSN reaches this position (pg_recvlogical -E). */
  endpos?: Lsn;
  /** Where JSON lines go (see openOutput). */
  output: OutputSink;
  /** Most milliseconds between fsyncs of a regular-file output; 0 = never (pg_recvlogical -F). Default 10000. */
  fsyncInterval?: number;
  /** Resolves to stop cleanly (Ctrl-C). */
  stopSignal?: Promise<void>;
  /** Print column values as sent (text, or base64 for binary) instead of typed values. */
  raw?: boolean;
  /** Turns a message into its output line, newline included. Default: the JSON line of docs/json-output.md. */
  format?: (msg: PgoutputMessage) => string;
  /** Told about every frame and every durable transaction (the progress line on a terminal). */
  progress?: StreamProgress;
  /** Told the bytes of every line written (cli/v8-flags.ts, socketMemoryReclaimer). */
  lineBytes?: (bytes: number) => void;
  /** A stage after `bufferTransaction()` that may push lines (`--backfill`, see cli/backfill.ts). */
  stage?: (writer: LineWriter, feedback: LsnFeedback) => OperatorFunction<TransactionEvent, unknown>;
}

/** What was open when the stream stopped part way through a transaction. */
interface OpenTransaction {
  xid: number;
  lsn: Lsn;
  finalLsn: Lsn | undefined;
}

/**
 * Streams a slot as JSON lines until the end position, a stop signal, or an error.
 *
 * Each message's line is written as it arrives, in large batches; a transaction (or a
 * non-transactional message) is acknowledged once its last line, the Commit's, is written, and
 * fsync'd when the output is a regular file and `fsyncInterval` is not 0, as pg_recvlogical does;
 * `ackOnCommit` (in arrival order: the lines are one sequential stream) then acknowledges it.
 * Nothing waits for a transaction's end in memory, so a large transaction costs no more than a
 * small one. Two limits stop reading from the walsender: finished transactions waiting for an
 * fsync ({@link CLI_FLOW_CONTROL}), and lines the output has not accepted yet
 * ({@link CLI_OUTPUT_LIMIT}: a slow reader of a pipe), which also applies inside a transaction.
 * An interrupted run resumes without losing a transaction (it may repeat the ones not yet
 * acknowledged). A stream that stops inside a transaction ends with an `incomplete` line.
 * A prepared transaction is acknowledged at its PREPARE once written, as pg_recvlogical does: a
 * restart then sends only its COMMIT PREPARED or ROLLBACK PREPARED.
 *
 * @throws {OutputError} when the output cannot be written; nothing unwritten is acknowledged.
 * @throws {StreamRefusedError} when the server fails part way through a transaction.
 */
export function runStream(options: StreamCommandOptions): Promise<void> {
  const feedback = options.feedback ?? new LsnFeedback();
  const raw = options.raw === true;
  const format = options.format;
  const endpos = options.endpos;
  const writer = new LineWriter(options.output, { fsyncInterval: options.fsyncInterval, maxPendingBytes: CLI_OUTPUT_LIMIT });
  const progress = options.progress;
  const lineBytes = options.lineBytes;
  const window = options.flowControl ?? CLI_FLOW_CONTROL;
  const flowControl = window === false ? false : { ...window, backpressure: writer.backpressure };
  const syncAt = window === false ? 500 : Math.max(1, Math.floor((window.maxPendingTransactions ?? 1000) / 2));
  let openBegin: { xid: number; lsn: Lsn } | undefined; // the Begin (or Begin Prepare) of the open transaction
  let openFinal: Lsn | undefined;
  const open = (): OpenTransaction | undefined => (openBegin === undefined ? undefined : { xid: openBegin.xid, lsn: openBegin.lsn, finalLsn: openFinal });
  let block: number | undefined; // xid of the open Stream Start block
  let stopping = false;

  return new Promise<void>((resolve, reject) => {
    let subscription: Subscription | undefined;
    let settled = false;

    /** Writes what is queued, lets the acknowledgments through, then ends the stream (CopyDone carries them). */
    const finish = (err?: unknown) => {
      if (stopping) return;
      stopping = true;
      const cut = open();
      if (err === undefined && cut !== undefined) writer.push(incompleteLine(cut, 'stopped'));
      else if (err !== undefined && !(err as { target?: unknown }).target) {
        const refused = cut ?? (block === undefined ? undefined : { xid: block, lsn: Lsn.ZERO, finalLsn: undefined });
        if (refused !== undefined) {
          err = explainRefusal(err, refused, options);
          writer.push(incompleteLine(refused, (err as Error).message));
        }
      }
      writer.end().then(
        () => settle(err),
        (writeErr: unknown) => settle(err ?? writeErr),
      );
    };

    const settle = (err?: unknown) => {
      if (settled) return;
      settled = true;
      subscription?.unsubscribe();
      progress?.stop();
      if (err === undefined) resolve();
      else reject(err);
    };

    const inTransaction = () => openBegin !== undefined || block !== undefined;
    // parsePgoutput() sits straight on the source, so XLogData is decoded in place in the socket
    // chunk (no frame objects). The end position and the progress line hear keepalives from the
    // observer; frames are built only for a progress line (a terminal) or the metrics observer.
    const user = options.observer;
    const observer: ReplicationObserver = {
      ...(user === undefined ? {} : bind(user)),
      frame: progress === undefined && user?.frame === undefined ? undefined : (frame, bytes) => (user?.frame?.(frame, bytes), progress?.frame(frame)),
      keepalive(frame) {
        user?.keepalive?.(frame);
        // Nothing before the server's WAL end is still to come: endpos is reached.
        if (!stopping && endpos !== undefined && !inTransaction() && frame.walEnd.value >= endpos.value) finish();
      },
    };

    /** Writes the message's line; false once stopping (nothing unwritten may reach ackOnCommit). */
    const write = (msg: PgoutputMessage): boolean => {
      if (stopping) return false;
      // A transaction (or message) that starts past endpos is not written, as pg_recvlogical -E does.
      // A Stream Commit, Abort or Prepare starts nothing: it ends a streamed transaction whose blocks
      // came before it, and carries the commit's end LSN, so it is written like the Commit of an open
      // transaction (the transaction that reaches endpos is written whole).
      if (endpos !== undefined && !inTransaction() && !endsStream(msg) && Lsn.after(msg.lsn.hi, msg.lsn.lo, endpos)) {
        finish();
        return false;
      }
      switch (msg.type) {
        // The open transaction is its Begin and final LSN: no object is built per transaction.
        case 'begin':
          openBegin = msg;
          openFinal = msg.finalLsn;
          break;
        case 'beginPrepare':
          openBegin = msg;
          openFinal = msg.prepareLsn;
          break;
        case 'commit':
        case 'prepare':
          openBegin = undefined;
          break;
        case 'streamStart':
          block = msg.xid;
          break;
        case 'streamStop':
          block = undefined;
          break;
        default:
          break;
      }
      if (format !== undefined) writer.push(format(msg));
      else if (writer.accepting) {
        const start = writer.out.pos;
        try {
          encodeJsonLine(writer.out, msg, raw);
        } catch (err) {
          writer.out.pos = start; // no half line
          throw err;
        }
        const bytes = writer.out.pos - start;
        writer.endLine();
        lineBytes?.(bytes);
      }
      if (endpos !== undefined) {
        const end = ackLsnOf(msg);
        if (end !== undefined && !Lsn.after(endpos.hi, endpos.lo, end)) finish();
      }
      return true;
    };

    // Each message's line is written as it arrives. The messages that end a unit (commit, prepare,
    // a non-transactional message) wait until their line is durable, the last of each write only
    // (lastWhenWritten), then ackOnCommit acknowledges it in arrival order: the lines are one
    // sequential stream, so it covers the units before it. With a stage (--backfill), whose
    // chunks must hold the slot, bufferTransaction gives the events their place in commit order.
    const acknowledge: OperatorFunction<PgoutputMessage, unknown> =
      options.stage === undefined
        ? pipe(lastWhenWritten(writer, syncAt), ackOnCommit(feedback, { arrivalOrder: true }))
        : pipe(
            bufferTransaction({ onOverflow: 'chunk', maxBytes: 4 << 20, maxChanges: 20_000 }),
            options.stage(writer, feedback),
            whenWritten(writer, syncAt),
            ackOnCommit(feedback),
          );

    subscription = logicalReplication({ ...options, feedback, flowControl, observer })
      .pipe(
        parsePgoutput({ types: JSON_TYPE_OPTIONS }),
        filter(write),
        acknowledge,
        tap((event) => progress?.done(event)),
      )
      .subscribe({ error: (err: unknown) => finish(err), complete: () => finish() });
    if (settled) subscription.unsubscribe();
    void options.stopSignal?.then(() => finish());
  });
}

/** The observer's hooks bound to it (a class instance such as ReplicationMetrics keeps its `this`). */
function bind(observer: ReplicationObserver): ReplicationObserver {
  const bound: ReplicationObserver = {};
  for (const key of ['connected', 'statusSent', 'paused', 'resumed', 'error', 'closed'] as const) {
    const hook = observer[key] as ((...args: unknown[]) => void) | undefined;
    if (hook !== undefined) (bound as Record<string, unknown>)[key] = hook.bind(observer);
  }
  return bound;
}

/** The last line of a transaction the stream stopped inside. */
function incompleteLine(tx: OpenTransaction, reason: string): string {
  return `${JSON.stringify({ type: 'incomplete', xid: tx.xid, lsn: tx.lsn.isZero() ? undefined : tx.lsn.toString(), reason })}\n`;
}

/** The server refused a transaction part way through (its Begin was written, its Commit never came). */
export class StreamRefusedError extends Error {
  override name = 'StreamRefusedError';
  constructor(
    message: string,
    readonly xid: number,
    cause: unknown,
  ) {
    super(message, { cause });
  }
}

/** Turns a server error inside a transaction into one that says what to do. */
function explainRefusal(err: unknown, tx: OpenTransaction, options: StreamCommandOptions): unknown {
  if (!(err instanceof PgError)) return err;
  const where = tx.finalLsn === undefined ? '' : ` (commit at ${tx.finalLsn.toString()})`;
  const skip = tx.finalLsn === undefined ? '' : `, or skip this transaction with --start ${Lsn.from(tx.finalLsn.value + 1n).toString()}`;
  const fix =
    err.code === '42883' && options.binary
      ? `; stream in text mode (without --binary)${skip}`
      : skip === '' ? '' : `; to go on without it${skip.slice(1)}`;
  return new StreamRefusedError(`the server stopped sending transaction ${tx.xid}${where} part way: ${err.message} (SQLSTATE ${err.code})${fix}`, tx.xid, err);
}

/** A message that ends a streamed transaction (protocol version 2+), outside any stream block. */
function endsStream(msg: PgoutputMessage): boolean {
  return msg.type === 'streamCommit' || msg.type === 'streamAbort' || msg.type === 'streamPrepare';
}
